/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <dirent.h>
#include <fcntl.h>
#include <openssl/pem.h>
#include <stdio.h>

#include "basic/errno-util.h"
#include "basic/fileio.h"
#include "basic/log.h"
#include "basic/string-util.h"
#include "ca/ca-index.h"
#include "shared/json-util.h"
#include "shared/openssl-util.h"

#define RECORD_SIZE_MAX (256U * 1024U)

static const char *const status_table[_CA_CERT_STATUS_MAX] = {
        [CA_CERT_VALID] = "valid",
        [CA_CERT_REVOKED] = "revoked",
};

static const char *const reason_table[_CA_REASON_MAX] = {
        [CA_REASON_UNSPECIFIED] = "unspecified",
        [CA_REASON_KEY_COMPROMISE] = "keyCompromise",
        [CA_REASON_CA_COMPROMISE] = "cACompromise",
        [CA_REASON_AFFILIATION_CHANGED] = "affiliationChanged",
        [CA_REASON_SUPERSEDED] = "superseded",
        [CA_REASON_CESSATION_OF_OPERATION] = "cessationOfOperation",
        [CA_REASON_CERTIFICATE_HOLD] = "certificateHold",
        [CA_REASON_REMOVE_FROM_CRL] = "removeFromCRL",
        [CA_REASON_PRIVILEGE_WITHDRAWN] = "privilegeWithdrawn",
        [CA_REASON_AA_COMPROMISE] = "aACompromise",
};

const char *ca_cert_status_to_string(CaCertStatus s) {
        return s >= 0 && s < _CA_CERT_STATUS_MAX ? status_table[s] : NULL;
}

CaCertStatus ca_cert_status_from_string(const char *s) {
        for (CaCertStatus i = 0; s && i < _CA_CERT_STATUS_MAX; i++)
                if (streq(status_table[i], s))
                        return i;
        return _CA_CERT_STATUS_INVALID;
}

const char *ca_revocation_reason_to_string(CaRevocationReason r) {
        return r >= 0 && r < _CA_REASON_MAX ? reason_table[r] : NULL;
}

CaRevocationReason ca_revocation_reason_from_string(const char *s) {
        for (CaRevocationReason i = 0; s && i < _CA_REASON_MAX; i++)
                if (reason_table[i] && streq(reason_table[i], s))
                        return i;
        return _CA_REASON_INVALID;
}

CaIndexEntry *ca_index_entry_free(CaIndexEntry *e) {
        if (!e)
                return NULL;
        free(e->subject);
        strv_free(e->sans);
        free(e->profile);
        free(e);
        return NULL;
}

void ca_index_entry_array_free(CaIndexEntry **l, size_t n) {
        for (size_t i = 0; l && i < n; i++)
                ca_index_entry_free(l[i]);
        free(l);
}

/* Serials name files: only the exact canonical form gets near a path. */
static bool serial_is_valid(const char *s) {
        return s && strlen(s) == 2 * CA_SERIAL_SIZE && strspn(s, "0123456789ABCDEF") == 2 * CA_SERIAL_SIZE;
}

static int record_path(const char *dir, const char *sub, const char *serial, const char *suffix, char **ret) {
        if (!serial_is_valid(serial))
                return -EINVAL;
        if (asprintf(ret, "%s/%s/%s%s", dir, sub, serial, suffix) < 0)
                return -ENOMEM;
        return 0;
}

int ca_index_prepare(const char *dir) {
        _cleanup_free_ char *a = NULL, *b = NULL;
        int r;

        if (asprintf(&a, "%s/index", dir) < 0 || asprintf(&b, "%s/certs", dir) < 0)
                return -ENOMEM;
        r = mkdir_p_secure(a, 0700);
        if (r < 0)
                return r;
        r = mkdir_p_secure(b, 0700);
        return r < 0 ? r : 0;
}

/* One directory fd, closed on free. */
static int open_subdir(const char *dir, const char *sub) {
        _cleanup_free_ char *path = NULL;
        int fd;

        if (asprintf(&path, "%s/%s", dir, sub) < 0)
                return -ENOMEM;
        fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        return fd < 0 ? log_debug_errno(errno, "Failed to open '%s': %m", path) : fd;
}

int ca_index_recover(const char *dir) {
        _cleanup_close_ int top_fd = -EBADF, index_fd = -EBADF, certs_fd = -EBADF;
        struct dirent *de;
        DIR *d;
        int r = 0;

        assert(dir);

        top_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (top_fd < 0)
                return negative_errno();
        index_fd = open_subdir(dir, "index");
        if (index_fd < 0)
                return index_fd;
        certs_fd = open_subdir(dir, "certs");
        if (certs_fd < 0)
                return certs_fd;
        remove_stale_tmp_files(top_fd, NULL);
        remove_stale_tmp_files(index_fd, NULL);
        remove_stale_tmp_files(certs_fd, NULL);

        /* Every record has its PEM copy (a crash after the record, before the copy, leaves none). Only
         * names are compared: records are read just for the copies that are missing. */
        d = fdopendir(TAKE_FD(index_fd));
        if (!d)
                return negative_errno();
        while ((de = readdir(d)) && r >= 0) {
                _cleanup_(X509_freep) X509 *cert = NULL;
                _cleanup_free_ char *pem = NULL, *serial = NULL, *name = NULL;
                const char *suffix = endswith(de->d_name, ".json");

                if (!suffix)
                        continue;
                serial = strndup(de->d_name, (size_t) (suffix - de->d_name));
                if (!serial || asprintf(&name, "%s.pem", serial) < 0) {
                        r = -ENOMEM;
                        break;
                }
                if (!serial_is_valid(serial) || faccessat(certs_fd, name, F_OK, AT_SYMLINK_NOFOLLOW) >= 0)
                        continue;
                r = ca_index_lookup(dir, serial, NULL, &cert);
                if (r >= 0)
                        r = ca_cert_to_pem(cert, &pem);
                if (r >= 0) {
                        NewFile f = { certs_fd, name, pem, strlen(pem), 0644 };
                        r = write_files_new(&f, 1, NULL);
                        log_debug("Restored the PEM copy of %s.", serial);
                }
        }
        closedir(d);
        if (r < 0)
                return r;

        /* And no PEM copy is without its record. */
        d = fdopendir(TAKE_FD(certs_fd));
        if (!d)
                return negative_errno();
        while ((de = readdir(d))) {
                _cleanup_free_ char *serial = NULL;
                const char *suffix = endswith(de->d_name, ".pem");

                if (!suffix)
                        continue;
                serial = strndup(de->d_name, (size_t) (suffix - de->d_name));
                if (!serial) {
                        closedir(d);
                        return -ENOMEM;
                }
                if (ca_index_exists(dir, serial) == 0 && unlinkat(dirfd(d), de->d_name, 0) >= 0)
                        log_debug("Removed '%s', a certificate copy without an index record.", de->d_name);
        }
        closedir(d);
        return 0;
}

int ca_index_exists(const char *dir, const char *serial) {
        _cleanup_free_ char *path = NULL;
        int r;

        r = record_path(dir, "index", serial, ".json", &path);
        if (r < 0)
                return r;
        if (faccessat(AT_FDCWD, path, F_OK, AT_SYMLINK_NOFOLLOW) >= 0)
                return 1;
        return errno == ENOENT ? 0 : negative_errno();
}

static int entry_to_json(const CaIndexEntry *e, const char *pem, json_t **ret) {
        _cleanup_(json_decrefp) json_t *o = NULL, *sans = NULL;

        sans = json_array();
        if (!sans)
                return -ENOMEM;
        for (char **s = e->sans; s && *s; s++)
                if (json_array_append_new(sans, json_string(*s)) < 0)
                        return -ENOMEM;

        o = json_pack("{s:s, s:s, s:O, s:s, s:I, s:I, s:s, s:s}", "serial", e->serial, "subject", e->subject,
                      "sans", sans, "profile", e->profile, "notBefore", (json_int_t) e->not_before,
                      "notAfter", (json_int_t) e->not_after, "status", ca_cert_status_to_string(e->status),
                      "certificate", pem);
        if (!o)
                return -ENOMEM;
        if (e->status == CA_CERT_REVOKED &&
            (json_object_set_new(o, "revokedAt", json_integer((json_int_t) e->revoked_at)) < 0 ||
             json_object_set_new(o, "reason", json_string(ca_revocation_reason_to_string(e->reason))) < 0))
                return -ENOMEM;
        *ret = TAKE_PTR(o);
        return 0;
}

static int write_record(const char *dir, const CaIndexEntry *e, const char *pem) {
        _cleanup_(json_decrefp) json_t *o = NULL;
        _cleanup_free_ char *path = NULL, *text = NULL;
        int r;

        r = record_path(dir, "index", e->serial, ".json", &path);
        if (r < 0)
                return r;
        r = entry_to_json(e, pem, &o);
        if (r < 0)
                return r;
        text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
        if (!text)
                return -ENOMEM;
        return write_file_atomic(path, text, strlen(text), 0600);
}

int ca_index_add(const char *dir, const CaIndexEntry *e, X509 *cert) {
        _cleanup_free_ char *pem = NULL, *pem_path = NULL;
        int r;

        assert(dir);
        assert(e);
        assert(cert);

        r = ca_index_exists(dir, e->serial);
        if (r < 0)
                return r;
        if (r > 0)
                return log_debug_errno(EEXIST, "Serial %s is already in the index.", e->serial);

        r = ca_cert_to_pem(cert, &pem);
        if (r < 0)
                return r;
        r = write_record(dir, e, pem);
        if (r < 0)
                return log_debug_errno(r, "Failed to record certificate %s: %m", e->serial);

        r = record_path(dir, "certs", e->serial, ".pem", &pem_path);
        if (r < 0)
                return r;
        return write_file_atomic(pem_path, pem, strlen(pem), 0644);
}

int ca_index_add_batch(const char *dir, const CaIndexEntry *const *entries, X509 *const *certs, size_t n,
                       int *ret_results) {
        _cleanup_close_ int index_fd = -EBADF, certs_fd = -EBADF;
        _cleanup_free_ NewFile *files = NULL;
        _cleanup_free_ int *results = NULL;
        char **texts = NULL;
        size_t n_texts = 0;
        int r;

        assert(dir);
        assert(entries || n == 0);
        assert(certs || n == 0);
        assert(ret_results || n == 0);

        if (n == 0)
                return 0;
        if (n > CA_INDEX_BATCH_MAX)
                return -E2BIG;

        index_fd = open_subdir(dir, "index");
        if (index_fd < 0)
                return index_fd;
        certs_fd = open_subdir(dir, "certs");
        if (certs_fd < 0)
                return certs_fd;

        files = calloc(2 * n, sizeof(NewFile));
        results = calloc(2 * n, sizeof(int));
        texts = calloc(4 * n, sizeof(char *)); /* per entry: record, record name, PEM, PEM name */
        if (!files || !results || !texts) {
                r = -ENOMEM;
                goto finish;
        }
        n_texts = 4 * n;

        /* Records first: a crash between the two links leaves a record without its PEM copy (which is
         * derived: lookups read the record), never a certificate without a record. */
        for (size_t i = 0; i < n; i++) {
                _cleanup_(json_decrefp) json_t *o = NULL;
                char **t = texts + 4 * i;

                if (!serial_is_valid(entries[i]->serial)) {
                        r = -EINVAL;
                        goto finish;
                }
                r = ca_cert_to_pem(certs[i], &t[2]);
                if (r < 0)
                        goto finish;
                r = entry_to_json(entries[i], t[2], &o);
                if (r < 0)
                        goto finish;
                t[0] = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
                if (!t[0] || asprintf(&t[1], "%s.json", entries[i]->serial) < 0 ||
                    asprintf(&t[3], "%s.pem", entries[i]->serial) < 0) {
                        r = -ENOMEM;
                        goto finish;
                }
                files[i] = (NewFile){ index_fd, t[1], t[0], strlen(t[0]), 0600 };
                files[n + i] = (NewFile){ certs_fd, t[3], t[2], strlen(t[2]), 0644 };
        }

        r = write_files_new(files, 2 * n, results);
        if (r < 0)
                goto finish;
        for (size_t i = 0; i < n; i++)
                ret_results[i] = results[i];
        r = 0;

finish:
        for (size_t i = 0; i < n_texts; i++)
                free(texts[i]);
        free(texts);
        return r;
}

static int read_record(const char *dir, const char *serial, json_t **ret) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        size_t n;
        int r;

        r = record_path(dir, "index", serial, ".json", &path);
        if (r < 0)
                return r;
        r = read_full_file(path, RECORD_SIZE_MAX, &text, &n);
        if (r == -ENOENT)
                return -ENOENT;
        if (r < 0)
                return r;
        r = json_parse_strict(text, n, ret);
        return r == -E2BIG ? -EBADMSG : r;
}

static int entry_from_json(json_t *o, CaIndexEntry **ret_entry, X509 **ret_cert) {
        _cleanup_(ca_index_entry_freep) CaIndexEntry *e = NULL;
        const char *serial, *subject, *profile, *status, *pem, *reason = NULL;
        json_int_t nb, na, revoked_at = 0;
        json_t *sans, *v;
        json_error_t err;
        size_t i;
        int r;

        if (json_unpack_ex(o, &err, JSON_STRICT, "{s:s, s:s, s:o, s:s, s:I, s:I, s:s, s:s, s?I, s?s}",
                           "serial", &serial, "subject", &subject, "sans", &sans, "profile", &profile,
                           "notBefore", &nb, "notAfter", &na, "status", &status, "certificate", &pem,
                           "revokedAt", &revoked_at, "reason", &reason) < 0)
                return log_debug_errno(EBADMSG, "Malformed index record: %s", err.text);
        if (!serial_is_valid(serial) || !json_is_array(sans))
                return -EBADMSG;

        e = calloc(1, sizeof(CaIndexEntry));
        if (!e)
                return -ENOMEM;
        memcpy(e->serial, serial, sizeof(e->serial));
        e->subject = strdup(subject);
        e->profile = strdup(profile);
        if (!e->subject || !e->profile)
                return -ENOMEM;
        json_array_foreach(sans, i, v) {
                if (!json_is_string(v))
                        return -EBADMSG;
                r = strv_extend(&e->sans, json_string_value(v));
                if (r < 0)
                        return r;
        }
        e->not_before = (time_t) nb;
        e->not_after = (time_t) na;
        e->status = ca_cert_status_from_string(status);
        if (e->status < 0)
                return -EBADMSG;
        if (e->status == CA_CERT_REVOKED) {
                e->reason = ca_revocation_reason_from_string(reason);
                if (e->reason < 0)
                        return -EBADMSG;
                e->revoked_at = (time_t) revoked_at;
        }

        if (ret_cert) {
                _cleanup_(BIO_free_allp) BIO *bio = BIO_new_mem_buf(pem, -1);
                X509 *cert;

                if (!bio)
                        return -ENOMEM;
                cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
                if (!cert) {
                        (void) openssl_errno();
                        return -EBADMSG;
                }
                *ret_cert = cert;
        }
        if (ret_entry)
                *ret_entry = TAKE_PTR(e);
        return 0;
}

int ca_index_lookup(const char *dir, const char *serial, CaIndexEntry **ret_entry, X509 **ret_cert) {
        _cleanup_(json_decrefp) json_t *o = NULL;
        int r;

        r = read_record(dir, serial, &o);
        if (r < 0)
                return r;
        return entry_from_json(o, ret_entry, ret_cert);
}

static int entry_cmp(const void *a, const void *b) {
        return strcmp((*(CaIndexEntry *const *) a)->serial, (*(CaIndexEntry *const *) b)->serial);
}

int ca_index_list(const char *dir, CaIndexEntry ***ret, size_t *ret_n) {
        _cleanup_free_ char *path = NULL;
        CaIndexEntry **l = NULL;
        size_t n = 0;
        struct dirent *de;
        DIR *d;
        int r = 0;

        assert(ret);
        assert(ret_n);

        if (asprintf(&path, "%s/index", dir) < 0)
                return -ENOMEM;
        d = opendir(path);
        if (!d)
                return log_debug_errno(errno, "Failed to open '%s': %m", path);

        while ((de = readdir(d))) {
                _cleanup_free_ char *serial = NULL;
                CaIndexEntry **nl;
                const char *suffix = endswith(de->d_name, ".json");

                /* Only final names: temporary files of write_file_atomic() start with ".#". */
                if (!suffix)
                        continue;
                serial = strndup(de->d_name, (size_t) (suffix - de->d_name));
                if (!serial) {
                        r = -ENOMEM;
                        break;
                }
                if (!serial_is_valid(serial))
                        continue;
                nl = reallocarray(l, n + 1, sizeof(CaIndexEntry *));
                if (!nl) {
                        r = -ENOMEM;
                        break;
                }
                l = nl;
                r = ca_index_lookup(dir, serial, &l[n], NULL);
                if (r < 0)
                        break;
                n++;
        }
        closedir(d);
        if (r < 0) {
                ca_index_entry_array_free(l, n);
                return r;
        }

        if (n > 0)
                qsort(l, n, sizeof(CaIndexEntry *), entry_cmp);
        *ret = l;
        *ret_n = n;
        return 0;
}

int ca_index_revoke(const char *dir, const char *serial, CaRevocationReason reason, time_t t) {
        _cleanup_(ca_index_entry_freep) CaIndexEntry *e = NULL;
        _cleanup_(X509_freep) X509 *cert = NULL;
        _cleanup_free_ char *pem = NULL;
        int r;

        if (!ca_revocation_reason_to_string(reason) || reason == CA_REASON_REMOVE_FROM_CRL)
                return -EINVAL;

        r = ca_index_lookup(dir, serial, &e, &cert);
        if (r < 0)
                return r;
        if (e->status == CA_CERT_REVOKED)
                return -EALREADY;

        e->status = CA_CERT_REVOKED;
        e->reason = reason;
        e->revoked_at = t;
        r = ca_cert_to_pem(cert, &pem);
        if (r < 0)
                return r;
        return write_record(dir, e, pem);
}
