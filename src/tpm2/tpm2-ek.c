/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <dirent.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <tss2/tss2_mu.h>

#include "basic/fileio.h"
#include "basic/log.h"
#include "shared/openssl-util.h"
#include "tpm2/tpm2-capability.h"
#include "tpm2/tpm2-context-internal.h"
#include "tpm2/tpm2-ek.h"
#include "tpm2/tpm2-object.h"
#include "tpm2/tpm2-pubkey.h"
#include "tpm2/tpm2-session.h"
#include "tpm2/tpm2-srk.h"
#include "tpm2/tpm2-util.h"

#define EK_ATTRIBUTES                                                                       \
        (TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN | \
         TPMA_OBJECT_ADMINWITHPOLICY | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT)

/* TCG EK Credential Profile 2.0, policy A: TPM2_PolicySecret(TPM_RH_ENDORSEMENT), SHA-256. */
static const uint8_t ek_policy_a_sha256[32] = {
        0x83, 0x71, 0x97, 0x67, 0x44, 0x84, 0xb3, 0xf8, 0x1a, 0x90, 0xcc, 0x8d, 0x46, 0xa5, 0xd7, 0x24,
        0xfd, 0x52, 0xd7, 0x6e, 0x06, 0x52, 0x0b, 0x64, 0xf2, 0xa1, 0xda, 0x1b, 0x33, 0x14, 0x69, 0xaa,
};

/* OIDs the TCG EK profile puts into EK certificates. */
#define OID_TCG_SUBJECT_DIRECTORY_ATTRIBUTES "2.5.29.9"
#define OID_TCG_AT_TPM_MANUFACTURER "2.23.133.2.1"
#define OID_TCG_AT_TPM_MODEL "2.23.133.2.2"
#define OID_TCG_AT_TPM_VERSION "2.23.133.2.3"

DEFINE_TRIVIAL_CLEANUP_FUNC(GENERAL_NAMES *, GENERAL_NAMES_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(ASN1_OBJECT *, ASN1_OBJECT_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir);

/* Reads a DER tag-length header: definite length only, at most 4 length bytes, content within size. */
static int der_header(const uint8_t *p, size_t size, uint8_t tag, size_t *ret_hdr, size_t *ret_len) {
        size_t hdr, len = 0;

        if (size < 2 || p[0] != tag)
                return -EBADMSG;
        if (p[1] < 0x80) {
                len = p[1];
                hdr = 2;
        } else {
                size_t nlen = p[1] & 0x7f;

                if (nlen == 0 || nlen > 4 || size < 2 + nlen)
                        return -EBADMSG;
                for (size_t i = 0; i < nlen; i++)
                        len = (len << 8) | p[2 + i];
                hdr = 2 + nlen;
        }
        if (len > size - hdr)
                return -EBADMSG;

        *ret_hdr = hdr;
        *ret_len = len;
        return 0;
}

int tpm2_ek_certificate_from_der(const void *data, size_t size, X509 **ret) {
        const uint8_t *p = data, *q;
        size_t hdr = 0, len = 0, total;
        X509 *cert;

        assert(data || size == 0);
        assert(ret);

        /* Some provisioning tools stored the certificate wrapped in a DER OCTET STRING: unwrap exactly
         * one such layer, whose content must then be the certificate alone. */
        if (size >= 2 && p[0] == 0x04) {
                if (der_header(p, size, 0x04, &hdr, &len) < 0)
                        return log_debug_errno(EBADMSG,
                                               "EK certificate's OCTET STRING wrapping is malformed.");
                total = hdr + len;
                p += hdr;
        } else {
                if (der_header(p, size, 0x30, &hdr, &len) < 0)
                        return log_debug_errno(EBADMSG,
                                               "EK certificate does not start with a complete DER "
                                               "SEQUENCE.");
                total = hdr + len;
        }

        for (size_t i = total; i < size; i++)
                if (((const uint8_t *) data)[i] != 0x00 && ((const uint8_t *) data)[i] != 0xff)
                        return log_debug_errno(EBADMSG,
                                               "EK certificate is followed by %zu bytes that are not "
                                               "padding (0x%02x at offset %zu).",
                                               size - total, ((const uint8_t *) data)[i], i);

        if (p != data) {
                /* The wrapped certificate fills the OCTET STRING exactly. */
                size_t inner_hdr = 0, inner_len = 0;

                if (der_header(p, len, 0x30, &inner_hdr, &inner_len) < 0 || inner_hdr + inner_len != len)
                        return log_debug_errno(EBADMSG,
                                               "EK certificate's OCTET STRING does not hold exactly "
                                               "one certificate.");
                total = len;
        }

        q = p;
        cert = d2i_X509(NULL, &q, (long) total);
        if (!cert) {
                ERR_clear_error();
                return log_debug_errno(EBADMSG, "EK certificate does not parse as X.509.");
        }
        if (q != p + total) {
                X509_free(cert);
                return log_debug_errno(EBADMSG, "EK certificate's DER length disagrees with its contents.");
        }

        *ret = cert;
        return 0;
}

static int nv_read_all(Tpm2Context *c, TPM2_HANDLE index, uint8_t **ret, size_t *ret_size) {
        _cleanup_(esys_freep) TPM2B_NV_PUBLIC *nv_public = NULL;
        _cleanup_(esys_freep) TPM2B_NAME *nv_name = NULL;
        _cleanup_free_ uint8_t *buf = NULL;
        ESYS_TR nv = ESYS_TR_NONE, auth;
        size_t size, chunk = 0, off = 0;
        TPMA_NV attrs;
        TSS2_RC rc;
        int r;

        r = tpm2_handle_present(c, index);
        if (r < 0)
                return log_debug_errno(r, "Failed to look for NV index 0x%08x: %m", index);
        if (r == 0)
                return log_debug_errno(ENOENT, "NV index 0x%08x is not defined.", index);

        r = tpm2_get_nv_buffer_max(c, &chunk);
        if (r < 0)
                return r;

        rc = Esys_TR_FromTPMPublic(tpm2_context_esys(c), index, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &nv);
        if (rc != TSS2_RC_SUCCESS)
                return log_debug_errno(tss2_rc_to_errno(rc), "Failed to open NV index 0x%08x: %m", index);

        rc = Esys_NV_ReadPublic(tpm2_context_esys(c), nv, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                &nv_public, &nv_name);
        if (rc != TSS2_RC_SUCCESS) {
                r = log_debug_errno(tss2_rc_to_errno(rc), "TPM2_NV_ReadPublic of 0x%08x failed: %m", index);
                goto finish;
        }
        if (!nv_public || nv_public->nvPublic.nvIndex != index) {
                r = log_debug_errno(EBADMSG, "TPM2_NV_ReadPublic answered for another index.");
                goto finish;
        }

        attrs = nv_public->nvPublic.attributes;
        size = nv_public->nvPublic.dataSize;
        if (((attrs & TPMA_NV_TPM2_NT_MASK) >> TPMA_NV_TPM2_NT_SHIFT) != TPM2_NT_ORDINARY) {
                r = log_debug_errno(EBADMSG, "NV index 0x%08x is not an ordinary index.", index);
                goto finish;
        }
        if (!(attrs & TPMA_NV_WRITTEN)) {
                r = log_debug_errno(ENODATA, "NV index 0x%08x was never written.", index);
                goto finish;
        }
        if (size == 0 || size > TPM2_EK_CERT_MAX) {
                r = log_debug_errno(EBADMSG, "NV index 0x%08x has an implausible size %zu.", index, size);
                goto finish;
        }

        /* EK certificate indexes are readable with their own (empty) auth; owner read is the fallback. */
        if (attrs & TPMA_NV_AUTHREAD)
                auth = nv;
        else if (attrs & TPMA_NV_OWNERREAD)
                auth = ESYS_TR_RH_OWNER;
        else {
                r = log_debug_errno(EACCES, "NV index 0x%08x is neither AUTHREAD nor OWNERREAD.", index);
                goto finish;
        }

        buf = malloc(size);
        if (!buf) {
                r = -ENOMEM;
                goto finish;
        }

        while (off < size) {
                _cleanup_(esys_freep) TPM2B_MAX_NV_BUFFER *data = NULL;
                uint16_t n = (uint16_t) MIN(chunk, size - off);

                rc = Esys_NV_Read(tpm2_context_esys(c), auth, nv, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                  ESYS_TR_NONE, n, (uint16_t) off, &data);
                if (rc != TSS2_RC_SUCCESS) {
                        r = log_debug_errno(tss2_rc_to_errno(rc), "TPM2_NV_Read of 0x%08x at %zu failed: %m",
                                            index, off);
                        goto finish;
                }
                if (!data || data->size != n) {
                        r = log_debug_errno(EBADMSG, "TPM2_NV_Read returned %u bytes, %u asked.",
                                            data ? data->size : 0, n);
                        goto finish;
                }
                memcpy(buf + off, data->buffer, n);
                off += n;
        }

        *ret = TAKE_PTR(buf);
        *ret_size = size;
        r = 0;

finish:
        tpm2_flush(c, &nv);
        return r;
}

int tpm2_ek_read_certificate(Tpm2Context *c, uint16_t alg, X509 **ret) {
        _cleanup_free_ uint8_t *buf = NULL;
        TPM2_HANDLE index;
        size_t size = 0;
        int r;

        assert(c);
        assert(ret);

        switch (alg) {
        case TPM2_ALG_RSA:
                index = TPM2_EK_RSA_CERT_NV_INDEX;
                break;
        case TPM2_ALG_ECC:
                index = TPM2_EK_ECC_CERT_NV_INDEX;
                break;
        default:
                return -EINVAL;
        }

        r = nv_read_all(c, index, &buf, &size);
        if (r < 0)
                return r;

        return tpm2_ek_certificate_from_der(buf, size, ret);
}

int tpm2_ek_certificate_from_data(const void *data, size_t size, X509 **ret) {
        assert(data || size == 0);
        assert(ret);

        if (size >= 10 && memmem(data, size, "-----BEGIN", 10)) {
                _cleanup_(BIO_free_allp) BIO *bio = NULL;
                X509 *cert;

                if (size > TPM2_EK_CERT_MAX * 2)
                        return log_debug_errno(EBADMSG, "PEM certificate of %zu bytes is too large.", size);
                bio = BIO_new_mem_buf(data, (int) size);
                if (!bio)
                        return -ENOMEM;
                cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
                if (!cert) {
                        ERR_clear_error();
                        return log_debug_errno(EBADMSG, "No PEM certificate in the data.");
                }
                *ret = cert;
                return 0;
        }

        return tpm2_ek_certificate_from_der(data, size, ret);
}

int tpm2_ek_certificate_from_file(const char *path, X509 **ret) {
        _cleanup_free_ char *data = NULL;
        size_t size = 0;
        int r;

        assert(path);
        assert(ret);

        r = read_full_file(path, TPM2_EK_CERT_MAX * 2, &data, &size);
        if (r < 0)
                return log_debug_errno(r, "Failed to read certificate file '%s': %m", path);

        r = tpm2_ek_certificate_from_data(data, size, ret);
        if (r < 0)
                return log_debug_errno(r, "'%s' holds no usable certificate: %m", path);
        return 0;
}

int tpm2_ek_template(uint16_t alg, TPM2B_PUBLIC *ret) {
        TPM2B_PUBLIC t = {
                .publicArea = {
                        .type = alg,
                        .nameAlg = TPM2_ALG_SHA256,
                        .objectAttributes = EK_ATTRIBUTES,
                        .authPolicy.size = sizeof(ek_policy_a_sha256),
                },
        };

        assert(ret);

        memcpy(t.publicArea.authPolicy.buffer, ek_policy_a_sha256, sizeof(ek_policy_a_sha256));

        switch (alg) {
        case TPM2_ALG_RSA:
                t.publicArea.parameters.rsaDetail = (TPMS_RSA_PARMS){
                        .symmetric = { .algorithm = TPM2_ALG_AES, .keyBits.aes = 128, .mode.aes = TPM2_ALG_CFB },
                        .scheme.scheme = TPM2_ALG_NULL,
                        .keyBits = 2048,
                        .exponent = 0,
                };
                t.publicArea.unique.rsa.size = 256;
                break;
        case TPM2_ALG_ECC:
                t.publicArea.parameters.eccDetail = (TPMS_ECC_PARMS){
                        .symmetric = { .algorithm = TPM2_ALG_AES, .keyBits.aes = 128, .mode.aes = TPM2_ALG_CFB },
                        .scheme.scheme = TPM2_ALG_NULL,
                        .curveID = TPM2_ECC_NIST_P256,
                        .kdf.scheme = TPM2_ALG_NULL,
                };
                t.publicArea.unique.ecc.x.size = 32;
                t.publicArea.unique.ecc.y.size = 32;
                break;
        default:
                return -EINVAL;
        }

        *ret = t;
        return 0;
}

bool tpm2_ek_public_is_template(const TPM2B_PUBLIC *pub) {
        TPM2B_PUBLIC t, copy;

        assert(pub);

        if (tpm2_ek_template(pub->publicArea.type, &t) < 0)
                return false;

        copy = *pub;
        copy.publicArea.unique = t.publicArea.unique;
        return tpm2_public_equal(&copy, &t);
}

static TPM2_HANDLE ek_persistent_handle(uint16_t alg) {
        return alg == TPM2_ALG_RSA ? TPM2_EK_RSA_HANDLE : TPM2_EK_ECC_HANDLE;
}

int tpm2_ek_create(Tpm2Context *c, uint16_t alg, ESYS_TR *ret_handle, TPM2B_PUBLIC **ret_public) {
        static const TPM2B_SENSITIVE_CREATE sensitive = {};
        static const TPML_PCR_SELECTION no_pcrs = {};
        static const TPM2B_DATA no_data = {};
        _cleanup_(esys_freep) TPM2B_PUBLIC *out_public = NULL;
        _cleanup_(esys_freep) TPM2B_NAME *esys_name = NULL;
        _cleanup_free_ TPM2B_PUBLIC *copy = NULL;
        ESYS_TR handle = ESYS_TR_NONE;
        TPM2B_PUBLIC template, pub;
        TPM2B_NAME name;
        TSS2_RC rc;
        int r;

        assert(c);
        assert(ret_handle);

        r = tpm2_ek_template(alg, &template);
        if (r < 0)
                return r;

        if (ret_public) {
                copy = malloc(sizeof(TPM2B_PUBLIC));
                if (!copy)
                        return -ENOMEM;
        }

        r = tpm2_handle_present(c, ek_persistent_handle(alg));
        if (r < 0)
                return log_debug_errno(r, "Failed to look for a persistent EK: %m");
        if (r > 0) {
                r = tpm2_persistent_open(c, ek_persistent_handle(alg), &handle, &pub, NULL);
                if (r < 0)
                        return r;
                if (pub.publicArea.type == alg && tpm2_ek_public_is_template(&pub)) {
                        log_debug("Using the persistent EK at 0x%x.", ek_persistent_handle(alg));
                        goto done;
                }
                /* Someone else's object: leave it alone and make the EK as a transient key. */
                log_debug("Persistent handle 0x%x holds no EK made from the TCG template, ignoring it.",
                          ek_persistent_handle(alg));
                tpm2_flush(c, &handle);
        }

        rc = Esys_CreatePrimary(tpm2_context_esys(c), ESYS_TR_RH_ENDORSEMENT, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                ESYS_TR_NONE, &sensitive, &template, &no_data, &no_pcrs, &handle,
                                &out_public, NULL, NULL, NULL);
        if (rc != TSS2_RC_SUCCESS)
                return log_debug_errno(tss2_rc_to_errno(rc), "Failed to create the EK: %m");

        r = tpm2_context_track(c, handle);
        if (r < 0) {
                (void) Esys_FlushContext(tpm2_context_esys(c), handle);
                return r;
        }

        if (!out_public || out_public->publicArea.type != alg || !tpm2_ek_public_is_template(out_public)) {
                r = log_debug_errno(EBADMSG, "TPM created an EK that does not follow the template.");
                goto fail;
        }
        pub = *out_public;

        /* The name ESYS computed from the response must be the one of the public area we got. */
        r = tpm2_public_name(&pub, &name);
        if (r < 0)
                goto fail;
        rc = Esys_TR_GetName(tpm2_context_esys(c), handle, &esys_name);
        if (rc != TSS2_RC_SUCCESS) {
                r = tss2_rc_to_errno(rc);
                goto fail;
        }
        if (!tpm2_name_equal(&name, esys_name)) {
                r = log_debug_errno(EBADMSG, "EK name does not match its public area.");
                goto fail;
        }

done:
        if (copy) {
                *copy = pub;
                *ret_public = TAKE_PTR(copy);
        }
        *ret_handle = handle;
        return 0;

fail:
        tpm2_flush(c, &handle);
        return r;
}

int tpm2_ek_persist(Tpm2Context *c, ESYS_TR ek, ESYS_TR *ret_handle) {
        ESYS_TR persistent = ESYS_TR_NONE;
        TPM2B_PUBLIC pub, existing;
        TPM2_HANDLE target, tpm_handle = 0;
        TSS2_RC rc;
        int r;

        assert(c);

        r = tpm2_read_public_verified(c, ek, &pub, NULL);
        if (r < 0)
                return r;
        if (!tpm2_ek_public_is_template(&pub))
                return log_debug_errno(EINVAL,
                                       "Refusing to persist a key that is not an EK from the template.");
        target = ek_persistent_handle(pub.publicArea.type);

        rc = Esys_TR_GetTpmHandle(tpm2_context_esys(c), ek, &tpm_handle);
        if (rc != TSS2_RC_SUCCESS)
                return tss2_rc_to_errno(rc);

        r = tpm2_handle_present(c, target);
        if (r < 0)
                return r;
        if (r > 0) {
                r = tpm2_persistent_open(c, target, &persistent, &existing, NULL);
                if (r < 0)
                        return r;
                if (!tpm2_public_equal(&existing, &pub)) {
                        tpm2_flush(c, &persistent);
                        return log_debug_errno(EEXIST, "Persistent handle 0x%x holds another object.", target);
                }
                log_debug("The EK is already persistent at 0x%x.", target);
        } else {
                if (tpm_handle >> TPM2_HR_SHIFT != TPM2_HT_TRANSIENT)
                        return -EINVAL;
                rc = Esys_EvictControl(tpm2_context_esys(c), ESYS_TR_RH_OWNER, ek, ESYS_TR_PASSWORD,
                                       ESYS_TR_NONE, ESYS_TR_NONE, target, &persistent);
                if (rc != TSS2_RC_SUCCESS)
                        return log_debug_errno(tss2_rc_to_errno(rc), "Failed to persist the EK at 0x%x: %m",
                                               target);
        }

        if (ret_handle)
                *ret_handle = persistent;
        else
                tpm2_flush(c, &persistent);
        return 0;
}

int tpm2_ek_matches_certificate(const TPM2B_PUBLIC *pub, X509 *cert) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
        EVP_PKEY *cert_key;
        int r;

        assert(pub);
        assert(cert);

        r = tpm2_public_to_evp_pkey(pub, &key);
        if (r < 0)
                return r;

        cert_key = X509_get0_pubkey(cert);
        if (!cert_key) {
                ERR_clear_error();
                return log_debug_errno(EBADMSG, "EK certificate has no usable public key.");
        }
        if (EVP_PKEY_eq(key, cert_key) != 1) {
                ERR_clear_error();
                return log_debug_errno(EKEYREJECTED, "EK certificate is for another key than the TPM's EK.");
        }
        return 0;
}

/* Adds every certificate in one file (PEM, any number of them, or one DER) to the store. */
static int store_add_file(X509_STORE *store, int dir_fd, const char *fn, unsigned *n_added) {
        _cleanup_free_ char *data = NULL;
        _cleanup_close_ int fd = -EBADF;
        _cleanup_(BIO_free_allp) BIO *bio = NULL;
        struct stat st;
        size_t size = 0;
        unsigned n = 0;
        ssize_t k;

        fd = openat(dir_fd, fn, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode) || st.st_size <= 0 || st.st_size > 1024 * 1024)
                return 0;

        data = malloc((size_t) st.st_size);
        if (!data)
                return -ENOMEM;
        while (size < (size_t) st.st_size) {
                k = read(fd, data + size, (size_t) st.st_size - size);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        break;
                size += (size_t) k;
        }

        bio = BIO_new_mem_buf(data, (int) size);
        if (!bio)
                return -ENOMEM;

        for (;;) {
                _cleanup_(X509_freep) X509 *cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
                if (!cert)
                        break;
                if (X509_STORE_add_cert(store, cert) != 1) {
                        ERR_clear_error();
                        continue; /* duplicates are fine */
                }
                n++;
        }
        ERR_clear_error();

        if (n == 0) {
                const unsigned char *p = (const unsigned char *) data;
                _cleanup_(X509_freep) X509 *cert = d2i_X509(NULL, &p, (long) size);

                if (cert && p == (const unsigned char *) data + size && X509_STORE_add_cert(store, cert) == 1)
                        n++;
                ERR_clear_error();
        }

        if (n == 0)
                log_debug("CA directory file '%s' holds no certificate, ignored.", fn);
        *n_added += n;
        return 0;
}

static bool oid_is(const ASN1_OBJECT *obj, const char *oid) {
        _cleanup_(ASN1_OBJECT_freep) ASN1_OBJECT *o = OBJ_txt2obj(oid, 1);
        return o && OBJ_cmp(obj, o) == 0;
}

/* The subjectAltName of an EK certificate must parse; when it carries a directoryName, every attribute
 * of it must be one of the TCG TPM attributes. OpenSSL itself only checks SANs against name
 * constraints, so this is where a malformed TCG SAN is caught. */
static int check_tcg_san(X509 *cert) {
        _cleanup_(GENERAL_NAMES_freep) GENERAL_NAMES *names = NULL;
        int crit = -1, idx = -1;

        names = X509_get_ext_d2i(cert, NID_subject_alt_name, &crit, &idx);
        if (!names) {
                ERR_clear_error();
                /* crit == -1: absent. Otherwise present but unparseable (or duplicated). */
                return crit == -1
                        ? 0
                        : log_debug_errno(EBADMSG, "EK certificate has a malformed subjectAltName.");
        }

        for (int i = 0; i < sk_GENERAL_NAME_num(names); i++) {
                const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
                X509_NAME *dn;

                if (g->type != GEN_DIRNAME)
                        continue;
                dn = g->d.directoryName;
                for (int j = 0; j < X509_NAME_entry_count(dn); j++) {
                        const ASN1_OBJECT *o = X509_NAME_ENTRY_get_object(X509_NAME_get_entry(dn, j));

                        if (!oid_is(o, OID_TCG_AT_TPM_MANUFACTURER) && !oid_is(o, OID_TCG_AT_TPM_MODEL) &&
                            !oid_is(o, OID_TCG_AT_TPM_VERSION))
                                return log_debug_errno(EBADMSG,
                                                       "EK certificate's subjectAltName directoryName "
                                                       "has a non-TCG attribute.");
                }
        }
        return 0;
}

/* Tolerates exactly the TCG EK profile's critical subjectDirectoryAttributes on the leaf. Any other
 * unhandled critical extension keeps failing the verification. */
static int verify_cb(int ok, X509_STORE_CTX *ctx) {
        X509 *cert;

        if (ok || X509_STORE_CTX_get_error(ctx) != X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION)
                return ok;
        if (X509_STORE_CTX_get_error_depth(ctx) != 0)
                return 0;

        cert = X509_STORE_CTX_get_current_cert(ctx);
        if (!cert)
                return 0;

        for (int i = 0; i < X509_get_ext_count(cert); i++) {
                X509_EXTENSION *ext = X509_get_ext(cert, i);

                if (!X509_EXTENSION_get_critical(ext) || X509_supported_extension(ext))
                        continue;
                if (oid_is(X509_EXTENSION_get_object(ext), OID_TCG_SUBJECT_DIRECTORY_ATTRIBUTES))
                        continue;
                return 0;
        }

        X509_STORE_CTX_set_error(ctx, X509_V_OK);
        return 1;
}

int tpm2_ek_verify_chain(X509 *cert, const char *ca_dir) {
        _cleanup_(X509_STORE_freep) X509_STORE *store = NULL;
        _cleanup_(X509_STORE_CTX_freep) X509_STORE_CTX *ctx = NULL;
        _cleanup_(closedirp) DIR *d = NULL;
        unsigned n = 0;
        int r, err;

        assert(cert);
        assert(ca_dir);

        r = check_tcg_san(cert);
        if (r < 0)
                return r;

        d = opendir(ca_dir);
        if (!d)
                return log_debug_errno(errno, "Failed to open CA directory '%s': %m", ca_dir);

        store = X509_STORE_new();
        if (!store)
                return -ENOMEM;

        for (struct dirent *de; (de = readdir(d));) {
                if (de->d_name[0] == '.')
                        continue;
                r = store_add_file(store, dirfd(d), de->d_name, &n);
                if (r < 0)
                        return log_debug_errno(r, "Failed to read '%s/%s': %m", ca_dir, de->d_name);
        }
        if (n == 0)
                return log_debug_errno(ENOKEY, "CA directory '%s' holds no certificate.", ca_dir);

        /* No X509_V_FLAG_PARTIAL_CHAIN: an intermediate in the directory is no trust anchor by itself. */
        X509_STORE_set_verify_cb(store, verify_cb);

        ctx = X509_STORE_CTX_new();
        if (!ctx)
                return -ENOMEM;
        if (X509_STORE_CTX_init(ctx, store, cert, NULL) != 1)
                return -ENOMEM;

        if (X509_verify_cert(ctx) != 1) {
                err = X509_STORE_CTX_get_error(ctx);
                ERR_clear_error();
                return log_debug_errno(EKEYREJECTED, "EK certificate chain does not verify: %s (depth %d).",
                                       X509_verify_cert_error_string(err),
                                       X509_STORE_CTX_get_error_depth(ctx));
        }

        return 0;
}
