/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* bench-ca DIR N BATCH [tpm]: in-process issuance from CSRs with a file key store, or with "tpm" the TPM
 * key store ($TRUSTED_PLATFORM_TCTI; ECDSA P-256 root and intermediate), every certificate durable (its index record fsync'd or group-committed) before it
 * counts. Creates the CA in DIR (which must be on the disk under test, not tmpfs), then times:
 *   one by one:  ca_issue() per certificate, N / 4 of them (at least 20)
 *   batched:     ca_issue_batch() in batches of BATCH, N in all
 * The CSRs (fresh P-256 keys) are made before the clock starts. Also writes DIR/int.pem, DIR/int.key
 * (the intermediate, for the openssl anchor) and DIR/csr.pem. Prints tab-separated: certificates/s one
 * by one, certificates/s batched. */

#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "basic/log.h"
#include "basic/macro.h"
#include "basic/string-util.h"
#include "bench-util.h"
#include "ca/ca.h"
#include "shared/openssl-util.h"

#define PASSPHRASE "bench passphrase"

static uint8_t *make_csr(size_t *ret_size) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        _cleanup_(X509_REQ_freep) X509_REQ *req = X509_REQ_new();
        X509_NAME *name = X509_REQ_get_subject_name(req);
        STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
        X509_EXTENSION *san = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, "DNS:host.example.com");
        uint8_t *der = NULL;
        int n;

        if (!key || !req || !exts || !san || X509_REQ_set_pubkey(req, key) != 1 ||
            X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *) "host.example.com",
                                       -1, -1, 0) != 1 ||
            sk_X509_EXTENSION_push(exts, san) <= 0 || X509_REQ_add_extensions(req, exts) != 1 ||
            X509_REQ_sign(req, key, EVP_sha256()) <= 0)
                abort();
        sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
        n = i2d_X509_REQ(req, &der);
        if (n <= 0)
                abort();
        *ret_size = (size_t) n;
        return der;
}

static void write_pem(const char *dir, const char *name, int (*write)(FILE *f, void *obj), void *obj) {
        _cleanup_free_ char *path = NULL;
        FILE *f;

        if (asprintf(&path, "%s/%s", dir, name) < 0)
                abort();
        f = fopen(path, "we");
        if (!f || fchmod(fileno(f), 0600) < 0 || write(f, obj) != 1 || fclose(f) != 0)
                abort();
}

static int write_cert(FILE *f, void *x) {
        return PEM_write_X509(f, x);
}
static int write_key(FILE *f, void *k) {
        return PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
}
static int write_req(FILE *f, void *r) {
        return PEM_write_X509_REQ(f, r);
}

int main(int argc, char *argv[]) {
        _cleanup_(ca_keystore_freep) CaKeyStore *store = NULL;
        _cleanup_(ca_freep) Ca *ca = NULL;
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *int_key = NULL;
        _cleanup_free_ char *ca_dir = NULL, *keys = NULL;
        _cleanup_free_ CaIssueBatchItem *items = NULL;
        uint8_t **csrs;
        size_t *sizes, n, batch, n_single;
        CaConfig config = {
                .root = { "/CN=Bench Root/O=Trusted Platform", CA_KEY_ECDSA_P256, 3650, -1 },
                .intermediate = { "/CN=Bench Issuing CA/O=Trusted Platform", CA_KEY_ECDSA_P256, 1825, 0 },
                .crl_url = "http://ca.example.test/issuing.crl",
                .ocsp_url = "http://ocsp.example.test/",
        };
        CaIssueRequest req = { .profile = CA_PROFILE_TLS_SERVER };
        uint64_t t0, single_ns, batch_ns;
        int r;

        log_parse_environment();
        if (argc != 4 && !(argc == 5 && streq(argv[4], "tpm")))
                return log_error("Usage: bench-ca DIR N BATCH [tpm]"), EXIT_FAILURE;
        n = strtoul(argv[2], NULL, 10);
        batch = strtoul(argv[3], NULL, 10);
        if (n == 0 || batch == 0 || batch > CA_ISSUE_BATCH_MAX)
                return log_error("N must be > 0, BATCH 1..%u.", CA_ISSUE_BATCH_MAX), EXIT_FAILURE;
        n_single = MAX(n / 4, (size_t) 20);

        if (asprintf(&ca_dir, "%s/ca", argv[1]) < 0 || asprintf(&keys, "%s/ca/keys", argv[1]) < 0)
                return EXIT_FAILURE;
        r = argc == 5 ? ca_keystore_tpm_new(keys, getenv("TRUSTED_PLATFORM_TCTI"), &store)
                      : ca_keystore_file_new(keys, PASSPHRASE, strlen(PASSPHRASE), &store);
        if (r >= 0)
                r = ca_init(ca_dir, store, &config, &ca);
        if (r >= 0 && argc == 4)
                r = ca_keystore_load(store, "intermediate", &int_key);
        if (r < 0)
                return log_error_errno(r, "Failed to create the CA in '%s': %m", argv[1]), EXIT_FAILURE;

        csrs = calloc(n + n_single, sizeof(uint8_t *));
        sizes = calloc(n + n_single, sizeof(size_t));
        items = calloc(batch, sizeof(CaIssueBatchItem));
        if (!csrs || !sizes || !items)
                return EXIT_FAILURE;
        for (size_t i = 0; i < n + n_single; i++)
                csrs[i] = make_csr(&sizes[i]);

        /* The anchor's inputs. */
        {
                const uint8_t *p = csrs[0];
                _cleanup_(X509_REQ_freep) X509_REQ *x = d2i_X509_REQ(NULL, &p, (long) sizes[0]);
                if (!x)
                        return EXIT_FAILURE;
                write_pem(argv[1], "csr.pem", write_req, x);
                write_pem(argv[1], "int.pem", write_cert, ca_get_intermediate(ca));
                if (int_key)
                        write_pem(argv[1], "int.key", write_key, int_key);
        }

        t0 = now_ns();
        for (size_t i = 0; i < n_single; i++) {
                _cleanup_(X509_freep) X509 *cert = NULL;

                r = ca_issue(ca, csrs[n + i], sizes[n + i], &req, &cert, NULL);
                if (r < 0)
                        return log_error_errno(r, "Failed to issue: %m"), EXIT_FAILURE;
        }
        single_ns = now_ns() - t0;

        t0 = now_ns();
        for (size_t i = 0; i < n; i += batch) {
                size_t m = MIN(batch, n - i);

                for (size_t k = 0; k < m; k++)
                        items[k] = (CaIssueBatchItem){ .csr = csrs[i + k],
                                                       .csr_size = sizes[i + k],
                                                       .request = req };
                r = ca_issue_batch(ca, items, m);
                if (r < 0 || (size_t) r != m)
                        return log_error_errno(r < 0 ? r : -EIO, "Failed to issue a batch: %m"), EXIT_FAILURE;
                for (size_t k = 0; k < m; k++) {
                        X509_free(items[k].cert);
                        free(items[k].serial);
                }
        }
        batch_ns = now_ns() - t0;

        printf("%.0f\t%.0f\n", (double) n_single / ((double) single_ns / 1e9),
               (double) n / ((double) batch_ns / 1e9));
        for (size_t i = 0; i < n + n_single; i++)
                OPENSSL_free(csrs[i]);
        free(csrs);
        free(sizes);
        return EXIT_SUCCESS;
}
