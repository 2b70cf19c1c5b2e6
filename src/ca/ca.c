/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <fcntl.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <sys/file.h>

#include "basic/errno-util.h"
#include "basic/fileio.h"
#include "basic/log.h"
#include "basic/string-util.h"
#include "ca/ca-internal.h"
#include "ca/ca-name.h"
#include "shared/openssl-util.h"

#define CA_CERT_SIZE_MAX (64U * 1024U)
#define ROOT_ID "root"
#define INTERMEDIATE_ID "intermediate"

static int default_random(void *buf, size_t n, void *userdata) {
        if (n > INT_MAX || RAND_bytes(buf, (int) n) != 1)
                return openssl_errno();
        return 0;
}

time_t ca_now(Ca *ca) {
        return ca->now ? ca->now() : time(NULL);
}

int ca_random_serial(Ca *ca, uint8_t ret[static CA_SERIAL_SIZE]) {
        int r;

        r = ca->random(ret, CA_SERIAL_SIZE, ca->random_userdata);
        if (r < 0)
                return log_debug_errno(r, "Failed to get random bytes for a serial number: %m");
        for (size_t i = 0; i < CA_SERIAL_SIZE; i++)
                if (ret[i] != 0)
                        return 0;
        /* An all-zero serial is not a valid one (RFC 5280 4.1.2.2 wants it positive). */
        return -EAGAIN;
}

Ca *ca_free(Ca *ca) {
        if (!ca)
                return NULL;
        X509_free(ca->root);
        X509_free(ca->intermediate);
        EVP_PKEY_free(ca->signing_key);
        X509_free(ca->ocsp_signer);
        EVP_PKEY_free(ca->ocsp_signer_key);
        free(ca->dir);
        free(ca->crl_url);
        free(ca->ca_issuers_url);
        free(ca->ocsp_url);
        safe_close(ca->lock_fd);
        free(ca);
        return NULL;
}

void ca_set_random(Ca *ca, CaRandomFunc func, void *userdata) {
        assert(ca);
        ca->random = func ?: default_random;
        ca->random_userdata = func ? userdata : NULL;
}

void ca_set_clock(Ca *ca, time_t (*now)(void)) {
        assert(ca);
        ca->now = now;
}

X509 *ca_get_root(Ca *ca) {
        return ca->root;
}

X509 *ca_get_intermediate(Ca *ca) {
        return ca->intermediate;
}

const char *ca_get_directory(Ca *ca) {
        return ca->dir;
}

int ca_asn1_time_to_time_t(const ASN1_TIME *t, time_t *ret) {
        struct tm tm;
        time_t v;

        if (ASN1_TIME_to_tm(t, &tm) != 1)
                return -EINVAL;
        v = timegm(&tm);
        if (v == (time_t) -1)
                return -ERANGE;
        *ret = v;
        return 0;
}

static int check_level(const CaLevelConfig *l, X509_NAME **ret_subject) {
        if (!ca_key_type_to_string(l->key_type) || l->validity_days == 0 ||
            l->validity_days > CA_VALIDITY_DAYS_MAX || l->pathlen > 16)
                return -EINVAL;
        return ca_name_parse(l->subject, ret_subject);
}

static int check_dns_list(char *const *l) {
        if (strv_length(l) > CA_NAME_CONSTRAINTS_MAX)
                return -E2BIG;
        for (char *const *i = l; i && *i; i++)
                if (!ca_dns_name_is_valid(*i, false))
                        return log_debug_errno(EINVAL, "Invalid DNS name constraint '%s'.", *i);
        return 0;
}

static int check_config(const CaConfig *c, X509_NAME **ret_root, X509_NAME **ret_intermediate);

int ca_config_check(const CaConfig *c) {
        _cleanup_(X509_NAME_freep) X509_NAME *root = NULL, *intermediate = NULL;

        assert(c);
        return check_config(c, &root, &intermediate);
}

static int check_config(const CaConfig *c, X509_NAME **ret_root, X509_NAME **ret_intermediate) {
        _cleanup_(X509_NAME_freep) X509_NAME *root = NULL, *intermediate = NULL;
        int r;

        r = check_level(&c->root, &root);
        if (r < 0)
                return log_debug_errno(r, "Invalid root configuration: %m");
        r = check_level(&c->intermediate, &intermediate);
        if (r < 0)
                return log_debug_errno(r, "Invalid intermediate configuration: %m");
        if (X509_NAME_cmp(root, intermediate) == 0)
                return log_debug_errno(EINVAL, "Root and intermediate need different subjects.");
        if (c->root.pathlen == 0)
                return log_debug_errno(EINVAL, "A root with path length 0 cannot have an intermediate.");
        r = check_dns_list(c->permitted_dns);
        if (r >= 0)
                r = check_dns_list(c->excluded_dns);
        if (r < 0)
                return r;
        if ((c->crl_url && !ca_url_is_valid(c->crl_url)) ||
            (c->ca_issuers_url && !ca_url_is_valid(c->ca_issuers_url)) ||
            (c->ocsp_url && !ca_url_is_valid(c->ocsp_url)))
                return log_debug_errno(EINVAL, "Invalid URL in the CA configuration.");

        *ret_root = TAKE_PTR(root);
        *ret_intermediate = TAKE_PTR(intermediate);
        return 0;
}

static int load_cert(const char *path, X509 **ret) {
        _cleanup_free_ char *data = NULL;
        _cleanup_(BIO_free_allp) BIO *bio = NULL;
        size_t n;
        X509 *cert;
        int r;

        r = read_full_file(path, CA_CERT_SIZE_MAX, &data, &n);
        if (r < 0)
                return r;
        bio = BIO_new_mem_buf(data, (int) n);
        if (!bio)
                return -ENOMEM;
        cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
        if (!cert) {
                (void) openssl_errno();
                return log_debug_errno(EBADMSG, "'%s' is not a PEM certificate.", path);
        }
        *ret = cert;
        return 0;
}

static int save_cert(const char *path, X509 *cert) {
        _cleanup_free_ char *pem = NULL;
        int r;

        r = ca_cert_to_pem(cert, &pem);
        if (r < 0)
                return r;
        return write_file_atomic(path, pem, strlen(pem), 0644);
}

/* Loads the key id, or generates it if it does not exist. Returns 1 if generated. */
static int get_key(CaKeyStore *store, const char *id, CaKeyType type, EVP_PKEY **ret) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
        int r;

        r = ca_keystore_exists(store, id);
        if (r < 0)
                return r;
        if (r == 0) {
                r = ca_keystore_generate(store, id, type, ret);
                return r < 0 ? r : 1;
        }
        r = ca_keystore_load(store, id, &key);
        if (r < 0)
                return r;
        if (ca_key_type_of(key) != type)
                return log_debug_errno(EEXIST, "Existing key '%s' is not of type %s.", id,
                                       ca_key_type_to_string(type));
        *ret = TAKE_PTR(key);
        return 0;
}

/* Compares an existing CA certificate with what config asks for. */
static int check_existing(X509 *cert, EVP_PKEY *key, const X509_NAME *subject, const CaLevelConfig *l,
                          const char *what) {
        if (X509_NAME_cmp(X509_get_subject_name(cert), subject) != 0)
                return log_debug_errno(EEXIST, "The existing %s certificate has another subject.", what);
        if (ca_key_type_of(X509_get0_pubkey(cert)) != l->key_type)
                return log_debug_errno(EEXIST, "The existing %s certificate has a key of another type.", what);
        if (X509_check_private_key(cert, key) != 1) {
                (void) openssl_errno();
                return log_debug_errno(EEXIST, "The existing %s certificate is not for the stored key.", what);
        }
        if ((X509_get_extension_flags(cert) & EXFLAG_CA) == 0)
                return log_debug_errno(EEXIST, "The existing %s certificate is not a CA certificate.", what);
        if (l->pathlen != (int) X509_get_pathlen(cert))
                return log_debug_errno(EEXIST, "The existing %s certificate has another path length.", what);
        return 0;
}

static int make_ca_cert(Ca *ca, const X509_NAME *subject, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key,
                        const CaLevelConfig *l, const CaConfig *c, X509 **ret) {
        CaCertTemplate t = {
                .subject = subject,
                .subject_key = key,
                .issuer = issuer,
                .issuer_key = issuer_key,
                .ca = true,
                .pathlen = l->pathlen,
                .key_usage = CA_KU_KEY_CERT_SIGN | CA_KU_CRL_SIGN | CA_KU_DIGITAL_SIGNATURE,
                .permitted_dns = issuer ? c->permitted_dns : NULL,
                .excluded_dns = issuer ? c->excluded_dns : NULL,
        };
        time_t now = ca_now(ca);
        int r;

        r = ca_random_serial(ca, t.serial);
        if (r < 0)
                return r;
        t.not_before = now - CA_BACKDATE_SEC;
        t.not_after = now + (time_t) l->validity_days * 24 * 3600;
        if (issuer) {
                time_t limit;
                r = ca_asn1_time_to_time_t(X509_get0_notAfter(issuer), &limit);
                if (r < 0)
                        return r;
                t.not_after = MIN(t.not_after, limit);
        }
        return ca_cert_build(&t, ret);
}

static int ca_lock(const char *dir, int *ret_fd) {
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int fd = -EBADF;

        if (asprintf(&path, "%s/lock", dir) < 0)
                return -ENOMEM;
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
        if (fd < 0)
                return log_debug_errno(errno, "Failed to open '%s': %m", path);
        if (flock(fd, LOCK_EX | LOCK_NB) < 0)
                return errno == EWOULDBLOCK ? log_debug_errno(EBUSY, "CA '%s' is in use.", dir)
                                            : negative_errno();
        *ret_fd = TAKE_FD(fd);
        return 0;
}

/* One level: adopt or create key and certificate. Returns 1 if anything was created. */
static int init_level(Ca *ca, CaKeyStore *store, const char *id, const char *path, const X509_NAME *subject,
                      const CaLevelConfig *l, const CaConfig *c, X509 *issuer, EVP_PKEY *issuer_key,
                      X509 **ret_cert, EVP_PKEY **ret_key) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
        _cleanup_(X509_freep) X509 *cert = NULL;
        bool created = false;
        int r;

        r = load_cert(path, &cert);
        if (r < 0 && r != -ENOENT)
                return r;
        if (cert) {
                /* Never generate a key for an existing certificate: that CA would be unusable. */
                r = ca_keystore_load(store, id, &key);
                if (r == -ENOENT)
                        return log_debug_errno(ENOKEY, "The %s certificate exists but its key does not.", id);
                if (r < 0)
                        return r;
        } else {
                r = get_key(store, id, l->key_type, &key);
                if (r < 0)
                        return r;
                created = r > 0;
        }

        if (cert) {
                r = check_existing(cert, key, subject, l, id);
                if (r < 0)
                        return r;
                if (X509_verify(cert, issuer_key ?: key) != 1) {
                        (void) openssl_errno();
                        return log_debug_errno(EEXIST, "The existing %s certificate is not signed by %s.",
                                               id, issuer ? "the root" : "itself");
                }
        } else {
                r = make_ca_cert(ca, subject, key, issuer, issuer_key ?: key, l, c, &cert);
                if (r < 0)
                        return r;
                r = save_cert(path, cert);
                if (r < 0)
                        return r;
                created = true;
        }

        *ret_cert = TAKE_PTR(cert);
        *ret_key = TAKE_PTR(key);
        return created;
}

static int strdup_opt(const char *s, char **ret) {
        if (!s) {
                *ret = NULL;
                return 0;
        }
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

int ca_init(const char *dir, CaKeyStore *store, const CaConfig *config, Ca **ret) {
        _cleanup_(X509_NAME_freep) X509_NAME *root_subject = NULL, *intermediate_subject = NULL;
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *root_key = NULL;
        _cleanup_free_ char *root_path = NULL, *intermediate_path = NULL;
        _cleanup_(ca_freep) Ca *ca = NULL;
        int r, created;

        assert(dir);
        assert(store);
        assert(config);
        assert(ret);

        r = check_config(config, &root_subject, &intermediate_subject);
        if (r < 0)
                return r;

        r = mkdir_p_secure(dir, 0700);
        if (r < 0)
                return log_debug_errno(r, "CA directory '%s' is not usable: %m", dir);

        ca = calloc(1, sizeof(Ca));
        if (!ca)
                return -ENOMEM;
        ca->lock_fd = -EBADF;
        ca->random = default_random;
        ca->dir = strdup(dir);
        if (!ca->dir)
                return -ENOMEM;
        if (strdup_opt(config->crl_url, &ca->crl_url) < 0 ||
            strdup_opt(config->ca_issuers_url, &ca->ca_issuers_url) < 0 ||
            strdup_opt(config->ocsp_url, &ca->ocsp_url) < 0)
                return -ENOMEM;

        r = ca_lock(dir, &ca->lock_fd);
        if (r < 0)
                return r;

        if (asprintf(&root_path, "%s/root.pem", dir) < 0 ||
            asprintf(&intermediate_path, "%s/intermediate.pem", dir) < 0)
                return -ENOMEM;

        r = init_level(ca, store, ROOT_ID, root_path, root_subject, &config->root, config, NULL, NULL,
                       &ca->root, &root_key);
        if (r < 0)
                return log_debug_errno(r, "Failed to set up the root CA: %m");
        created = r;

        r = init_level(ca, store, INTERMEDIATE_ID, intermediate_path, intermediate_subject,
                       &config->intermediate, config, ca->root, root_key, &ca->intermediate, &ca->signing_key);
        if (r < 0)
                return log_debug_errno(r, "Failed to set up the intermediate CA: %m");
        created = created || r;

        r = ca_index_prepare(dir);
        if (r < 0)
                return r;
        r = ca_index_recover(dir);
        if (r < 0)
                return log_debug_errno(r, "Failed to recover the certificate index in '%s': %m", dir);

        *ret = TAKE_PTR(ca);
        return created;
}

int ca_lookup(Ca *ca, const char *serial, CaIndexEntry **ret_entry, X509 **ret_cert) {
        assert(ca);
        return ca_index_lookup(ca->dir, serial, ret_entry, ret_cert);
}

int ca_list(Ca *ca, CaIndexEntry ***ret, size_t *ret_n) {
        assert(ca);
        return ca_index_list(ca->dir, ret, ret_n);
}

int ca_revoke(Ca *ca, const char *serial, CaRevocationReason reason) {
        assert(ca);
        return ca_index_revoke(ca->dir, serial, reason, ca_now(ca));
}
