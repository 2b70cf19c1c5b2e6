/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <tss2/tss2_mu.h>

#include "basic/fileio.h"
#include "basic/log.h"
#include "basic/secure-mem.h"
#include "basic/string-util.h"
#include "tpm2/tpm2-ak.h"
#include "tpm2/tpm2-context-internal.h"
#include "tpm2/tpm2-ek.h"
#include "tpm2/tpm2-object.h"
#include "tpm2/tpm2-session.h"
#include "tpm2/tpm2-srk.h"
#include "tpm2/tpm2-util.h"

#define AK_ATTRIBUTES                                                                       \
        (TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN | \
         TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT)

#define AK_BLOB_MAX (4 + 2 + 2 + sizeof(TPM2B_PUBLIC) + sizeof(TPM2B_PRIVATE))

bool tpm2_ak_name_valid(const char *name) {
        size_t n;

        if (!name)
                return false;
        n = strlen(name);
        if (n == 0 || n > 64)
                return false;
        for (size_t i = 0; i < n; i++) {
                char ch = name[i];
                if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                      ch == '_' || ch == '-'))
                        return false;
        }
        return true;
}

int tpm2_ak_template(uint16_t alg, TPM2B_PUBLIC *ret) {
        TPM2B_PUBLIC t = {
                .publicArea = {
                        .type = alg,
                        .nameAlg = TPM2_ALG_SHA256,
                        .objectAttributes = AK_ATTRIBUTES,
                },
        };

        assert(ret);

        switch (alg) {
        case TPM2_ALG_ECC:
                t.publicArea.parameters.eccDetail = (TPMS_ECC_PARMS){
                        .symmetric.algorithm = TPM2_ALG_NULL,
                        .scheme = { .scheme = TPM2_ALG_ECDSA, .details.ecdsa.hashAlg = TPM2_ALG_SHA256 },
                        .curveID = TPM2_ECC_NIST_P256,
                        .kdf.scheme = TPM2_ALG_NULL,
                };
                break;
        case TPM2_ALG_RSA:
                t.publicArea.parameters.rsaDetail = (TPMS_RSA_PARMS){
                        .symmetric.algorithm = TPM2_ALG_NULL,
                        .scheme = { .scheme = TPM2_ALG_RSASSA, .details.rsassa.hashAlg = TPM2_ALG_SHA256 },
                        .keyBits = 2048,
                        .exponent = 0,
                };
                break;
        default:
                return -EINVAL;
        }

        *ret = t;
        return 0;
}

bool tpm2_ak_public_is_valid(const TPM2B_PUBLIC *pub) {
        TPM2B_PUBLIC t, copy;

        assert(pub);

        if (tpm2_ak_template(pub->publicArea.type, &t) < 0)
                return false;
        copy = *pub;
        copy.publicArea.unique = t.publicArea.unique;
        return tpm2_public_equal(&copy, &t);
}

static const char *ak_state_dir(const char *state_dir) {
        const char *e;

        if (state_dir)
                return state_dir;
        e = secure_getenv("TRUSTED_PLATFORM_STATE_DIR");
        return isempty(e) ? PKGSTATEDIR : e;
}

static int ak_path(const char *state_dir, const char *name, char **ret) {
        if (!tpm2_ak_name_valid(name))
                return -EINVAL;
        if (asprintf(ret, "%s/ak-%s.blob", ak_state_dir(state_dir), name) < 0)
                return -ENOMEM;
        return 0;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir);

static int strcmp_ptr(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

int tpm2_ak_list(const char *state_dir, char ***ret) {
        _cleanup_strv_free_ char **names = NULL;
        _cleanup_(closedirp) DIR *d = NULL;
        size_t n = 0;

        assert(ret);

        names = calloc(1, sizeof(char *));
        if (!names)
                return -ENOMEM;

        d = opendir(ak_state_dir(state_dir));
        if (!d) {
                if (errno != ENOENT)
                        return log_debug_errno(errno, "Failed to open the state directory: %m");
                *ret = TAKE_PTR(names);
                return 0;
        }

        for (;;) {
                _cleanup_free_ char *name = NULL;
                const char *stem, *end;
                struct dirent *de;
                struct stat st;
                char **l;

                errno = 0;
                de = readdir(d);
                if (!de) {
                        if (errno != 0)
                                return -errno;
                        break;
                }

                stem = startswith(de->d_name, "ak-");
                end = stem ? endswith(stem, ".blob") : NULL;
                if (!end)
                        continue;
                name = strndup(stem, (size_t) (end - stem));
                if (!name)
                        return -ENOMEM;
                if (!tpm2_ak_name_valid(name))
                        continue;
                /* Only regular files: a symlink planted in the state directory is not an AK of ours. */
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
                        continue;

                l = reallocarray(names, n + 2, sizeof(char *));
                if (!l)
                        return -ENOMEM;
                names = l;
                names[n++] = TAKE_PTR(name);
                names[n] = NULL;
        }

        qsort(names, n, sizeof(char *), strcmp_ptr);
        *ret = TAKE_PTR(names);
        return 0;
}

/* A policy session that satisfies the EK's policy A: PolicySecret(TPM_RH_ENDORSEMENT), empty auth. */
static int ek_policy_session(Tpm2Context *c, ESYS_TR *ret) {
        static const TPMT_SYM_DEF no_symmetric = { .algorithm = TPM2_ALG_NULL };
        _cleanup_(esys_freep) TPM2B_TIMEOUT *timeout = NULL;
        _cleanup_(esys_freep) TPMT_TK_AUTH *ticket = NULL;
        ESYS_TR session = ESYS_TR_NONE;
        TSS2_RC rc;
        int r;

        rc = Esys_StartAuthSession(tpm2_context_esys(c), ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                   ESYS_TR_NONE, ESYS_TR_NONE, NULL, TPM2_SE_POLICY, &no_symmetric,
                                   TPM2_ALG_SHA256, &session);
        if (rc != TSS2_RC_SUCCESS)
                return log_debug_errno(tss2_rc_to_errno(rc), "Failed to start a policy session: %m");

        r = tpm2_context_track(c, session);
        if (r < 0) {
                (void) Esys_FlushContext(tpm2_context_esys(c), session);
                return r;
        }

        rc = Esys_PolicySecret(tpm2_context_esys(c), ESYS_TR_RH_ENDORSEMENT, session, ESYS_TR_PASSWORD,
                               ESYS_TR_NONE, ESYS_TR_NONE, NULL, NULL, NULL, 0, &timeout, &ticket);
        if (rc != TSS2_RC_SUCCESS) {
                r = log_debug_errno(tss2_rc_to_errno(rc), "TPM2_PolicySecret(endorsement) failed: %m");
                tpm2_flush(c, &session);
                return r;
        }

        *ret = session;
        return 0;
}

static int blob_marshal(uint16_t ek_alg, const TPM2B_PUBLIC *pub, const TPM2B_PRIVATE *priv, uint8_t *buf,
                        size_t size, size_t *ret_size) {
        size_t off = 4;
        TSS2_RC rc;

        memcpy(buf, TPM2_AK_BLOB_MAGIC, 4);
        rc = Tss2_MU_UINT16_Marshal(TPM2_AK_BLOB_VERSION, buf, size, &off);
        if (rc == TSS2_RC_SUCCESS)
                rc = Tss2_MU_UINT16_Marshal(ek_alg, buf, size, &off);
        if (rc == TSS2_RC_SUCCESS)
                rc = Tss2_MU_TPM2B_PUBLIC_Marshal(pub, buf, size, &off);
        if (rc == TSS2_RC_SUCCESS)
                rc = Tss2_MU_TPM2B_PRIVATE_Marshal(priv, buf, size, &off);
        if (rc != TSS2_RC_SUCCESS)
                return tss2_rc_to_errno(rc);

        *ret_size = off;
        return 0;
}

static int blob_unmarshal(const uint8_t *buf, size_t size, uint16_t *ret_ek_alg, TPM2B_PUBLIC *ret_pub,
                          TPM2B_PRIVATE *ret_priv) {
        uint16_t version = 0, ek_alg = 0;
        size_t off = 4;
        TSS2_RC rc;

        if (size < 8 || memcmp(buf, TPM2_AK_BLOB_MAGIC, 4) != 0)
                return log_debug_errno(EBADMSG, "AK blob has no magic.");

        rc = Tss2_MU_UINT16_Unmarshal(buf, size, &off, &version);
        if (rc != TSS2_RC_SUCCESS || version != TPM2_AK_BLOB_VERSION)
                return log_debug_errno(EBADMSG, "AK blob has unknown version %u.", version);
        rc = Tss2_MU_UINT16_Unmarshal(buf, size, &off, &ek_alg);
        if (rc != TSS2_RC_SUCCESS || !IN_SET(ek_alg, TPM2_ALG_RSA, TPM2_ALG_ECC))
                return log_debug_errno(EBADMSG, "AK blob names an unknown EK algorithm.");

        *ret_pub = (TPM2B_PUBLIC){};
        *ret_priv = (TPM2B_PRIVATE){};
        rc = Tss2_MU_TPM2B_PUBLIC_Unmarshal(buf, size, &off, ret_pub);
        if (rc == TSS2_RC_SUCCESS)
                rc = Tss2_MU_TPM2B_PRIVATE_Unmarshal(buf, size, &off, ret_priv);
        if (rc != TSS2_RC_SUCCESS)
                return log_debug_errno(EBADMSG, "AK blob does not parse.");
        if (off != size)
                return log_debug_errno(EBADMSG, "AK blob has %zu trailing bytes.", size - off);
        if (ret_priv->size == 0)
                return log_debug_errno(EBADMSG, "AK blob has an empty private part.");
        if (!tpm2_ak_public_is_valid(ret_pub))
                return log_debug_errno(EBADMSG, "AK blob's public area is not an attestation key.");

        *ret_ek_alg = ek_alg;
        return 0;
}

int tpm2_ak_create(Tpm2Context *c, const char *state_dir, const char *name, uint16_t ek_alg, uint16_t ak_alg,
                   TPM2B_PUBLIC *ret_public, TPM2B_NAME *ret_name) {
        static const TPM2B_SENSITIVE_CREATE sensitive = {};
        static const TPML_PCR_SELECTION no_pcrs = {};
        static const TPM2B_DATA no_data = {};
        _cleanup_(esys_freep) TPM2B_PRIVATE *out_private = NULL;
        _cleanup_(esys_freep) TPM2B_PUBLIC *out_public = NULL;
        _cleanup_free_ char *path = NULL;
        ESYS_TR ek = ESYS_TR_NONE, session = ESYS_TR_NONE;
        uint8_t buf[AK_BLOB_MAX];
        TPM2B_PUBLIC template;
        TPM2B_NAME ak_name;
        size_t size = 0;
        struct stat st;
        TSS2_RC rc;
        int r;

        assert(c);

        if (ek_alg == 0)
                ek_alg = TPM2_ALG_ECC;
        if (ak_alg == 0)
                ak_alg = TPM2_ALG_ECC;
        if (!IN_SET(ek_alg, TPM2_ALG_RSA, TPM2_ALG_ECC))
                return -EINVAL;
        r = tpm2_ak_template(ak_alg, &template);
        if (r < 0)
                return r;
        r = ak_path(state_dir, name, &path);
        if (r < 0)
                return r;

        if (lstat(path, &st) >= 0)
                return log_debug_errno(EEXIST, "AK '%s' exists already.", name);
        if (errno != ENOENT)
                return -errno;

        r = tpm2_ek_create(c, ek_alg, &ek, NULL);
        if (r < 0)
                return r;

        r = ek_policy_session(c, &session);
        if (r < 0)
                goto finish;

        rc = Esys_Create(tpm2_context_esys(c), ek, session, ESYS_TR_NONE, ESYS_TR_NONE, &sensitive,
                         &template, &no_data, &no_pcrs, &out_private, &out_public, NULL, NULL, NULL);
        tpm2_flush(c, &session);
        if (rc != TSS2_RC_SUCCESS) {
                r = log_debug_errno(tss2_rc_to_errno(rc), "Failed to create the AK: %m");
                goto finish;
        }

        if (!out_public || !out_private || out_public->publicArea.type != ak_alg ||
            !tpm2_ak_public_is_valid(out_public) || out_private->size == 0) {
                r = log_debug_errno(EBADMSG, "TPM created an AK that is not the one asked for.");
                goto finish;
        }

        r = tpm2_public_name(out_public, &ak_name);
        if (r < 0)
                goto finish;

        r = blob_marshal(ek_alg, out_public, out_private, buf, sizeof(buf), &size);
        if (r < 0)
                goto finish;

        r = mkdir_p_secure(ak_state_dir(state_dir), 0700);
        if (r < 0) {
                log_debug_errno(r, "Failed to create the state directory: %m");
                goto finish;
        }

        r = write_file_atomic(path, buf, size, 0600);
        if (r < 0) {
                log_debug_errno(r, "Failed to write AK blob '%s': %m", path);
                goto finish;
        }

        if (ret_public)
                *ret_public = *out_public;
        if (ret_name)
                *ret_name = ak_name;
        r = 0;

finish:
        tpm2_flush(c, &session);
        tpm2_flush(c, &ek);
        return r;
}

int tpm2_ak_load(Tpm2Context *c, const char *state_dir, const char *name, ESYS_TR *ret_handle,
                 TPM2B_PUBLIC *ret_public, TPM2B_NAME *ret_name) {
        _cleanup_(esys_freep) TPM2B_NAME *esys_name = NULL;
        _cleanup_free_ char *path = NULL, *data = NULL;
        ESYS_TR ek = ESYS_TR_NONE, session = ESYS_TR_NONE, ak = ESYS_TR_NONE;
        TPM2B_PRIVATE priv;
        TPM2B_PUBLIC pub;
        TPM2B_NAME ak_name;
        uint16_t ek_alg = 0;
        size_t size = 0;
        TSS2_RC rc;
        int r;

        assert(c);
        assert(ret_handle);

        r = ak_path(state_dir, name, &path);
        if (r < 0)
                return r;

        r = read_full_file(path, AK_BLOB_MAX, &data, &size);
        if (r == -E2BIG)
                return log_debug_errno(EBADMSG, "AK blob '%s' is too large.", path);
        if (r < 0)
                return log_debug_errno(r, "Failed to read AK blob '%s': %m", path);

        r = blob_unmarshal((const uint8_t *) data, size, &ek_alg, &pub, &priv);
        if (r < 0)
                return r;

        r = tpm2_public_name(&pub, &ak_name);
        if (r < 0)
                return r;

        r = tpm2_ek_create(c, ek_alg, &ek, NULL);
        if (r < 0)
                return r;

        r = ek_policy_session(c, &session);
        if (r < 0)
                goto finish;

        rc = Esys_Load(tpm2_context_esys(c), ek, session, ESYS_TR_NONE, ESYS_TR_NONE, &priv, &pub, &ak);
        tpm2_flush(c, &session);
        if (rc != TSS2_RC_SUCCESS) {
                r = log_debug_errno(tss2_rc_to_errno(rc), "Failed to load AK '%s': %m", name);
                goto finish;
        }
        r = tpm2_context_track(c, ak);
        if (r < 0) {
                (void) Esys_FlushContext(tpm2_context_esys(c), ak);
                ak = ESYS_TR_NONE;
                goto finish;
        }

        /* ESYS holds the name from the TPM's Load response. */
        rc = Esys_TR_GetName(tpm2_context_esys(c), ak, &esys_name);
        if (rc != TSS2_RC_SUCCESS) {
                r = tss2_rc_to_errno(rc);
                goto finish;
        }
        if (!tpm2_name_equal(esys_name, &ak_name)) {
                r = log_debug_errno(EBADMSG, "TPM reports another name for AK '%s' than its public area's.",
                                    name);
                goto finish;
        }

        if (ret_public)
                *ret_public = pub;
        if (ret_name)
                *ret_name = ak_name;
        *ret_handle = ak;
        ak = ESYS_TR_NONE;
        r = 0;

finish:
        erase_mem(&priv, sizeof(priv));
        tpm2_flush(c, &ak);
        tpm2_flush(c, &session);
        tpm2_flush(c, &ek);
        return r;
}

int tpm2_ak_certify(Tpm2Context *c, ESYS_TR ak, ESYS_TR object, const void *qualifying_data,
                    size_t qualifying_size, TPM2B_ATTEST **ret_attest, TPMT_SIGNATURE **ret_signature) {
        static const TPMT_SIG_SCHEME null_scheme = { .scheme = TPM2_ALG_NULL };
        _cleanup_(esys_freep) TPM2B_ATTEST *attest = NULL;
        _cleanup_(esys_freep) TPMT_SIGNATURE *signature = NULL;
        _cleanup_(esys_freep) TPM2B_NAME *object_name = NULL;
        _cleanup_free_ TPM2B_ATTEST *ret_a = NULL;
        _cleanup_free_ TPMT_SIGNATURE *ret_s = NULL;
        TPM2B_DATA qualifying = {};
        TPM2B_PUBLIC ak_pub;
        TPMS_ATTEST info = {};
        TPM2_ALG_ID scheme;
        size_t off = 0;
        TSS2_RC rc;
        int r;

        assert(c);
        assert(ret_attest);
        assert(ret_signature);

        if (qualifying_size > 64 || (qualifying_size > 0 && !qualifying_data))
                return -EINVAL;
        qualifying.size = (uint16_t) qualifying_size;
        if (qualifying_size > 0)
                memcpy(qualifying.buffer, qualifying_data, qualifying_size);

        r = tpm2_read_public_verified(c, ak, &ak_pub, NULL);
        if (r < 0)
                return r;
        if (!tpm2_ak_public_is_valid(&ak_pub))
                return log_debug_errno(EINVAL, "The signing key is not an attestation key.");
        scheme = ak_pub.publicArea.type == TPM2_ALG_ECC ? TPM2_ALG_ECDSA : TPM2_ALG_RSASSA;

        rc = Esys_TR_GetName(tpm2_context_esys(c), object, &object_name);
        if (rc != TSS2_RC_SUCCESS)
                return log_debug_errno(tss2_rc_to_errno(rc),
                                       "Failed to get the name of the object to certify: %m");

        rc = Esys_Certify(tpm2_context_esys(c), object, ak, ESYS_TR_PASSWORD, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                          &qualifying, &null_scheme, &attest, &signature);
        if (rc != TSS2_RC_SUCCESS)
                return log_debug_errno(tss2_rc_to_errno(rc), "TPM2_Certify failed: %m");
        if (!attest || !signature)
                return -EBADMSG;

        rc = Tss2_MU_TPMS_ATTEST_Unmarshal(attest->attestationData, attest->size, &off, &info);
        if (rc != TSS2_RC_SUCCESS || off != attest->size)
                return log_debug_errno(EBADMSG, "TPM2_Certify returned an attestation that does not parse.");
        if (info.magic != TPM2_GENERATED_VALUE)
                return log_debug_errno(EBADMSG, "TPM2_Certify attestation has a bad magic 0x%08x.",
                                       info.magic);
        if (info.type != TPM2_ST_ATTEST_CERTIFY)
                return log_debug_errno(EBADMSG, "TPM2_Certify attestation has type 0x%04x.", info.type);
        if (info.extraData.size != qualifying.size ||
            memcmp(info.extraData.buffer, qualifying.buffer, qualifying.size) != 0)
                return log_debug_errno(EBADMSG, "TPM2_Certify attestation carries other qualifying data.");
        if (!tpm2_name_equal(&info.attested.certify.name, object_name))
                return log_debug_errno(EBADMSG, "TPM2_Certify attestation names another object.");
        if (signature->sigAlg != scheme ||
            (scheme == TPM2_ALG_ECDSA && signature->signature.ecdsa.hash != TPM2_ALG_SHA256) ||
            (scheme == TPM2_ALG_RSASSA && signature->signature.rsassa.hash != TPM2_ALG_SHA256))
                return log_debug_errno(EBADMSG, "TPM2_Certify signature is not in the AK's scheme.");

        ret_a = malloc(sizeof(*ret_a));
        ret_s = malloc(sizeof(*ret_s));
        if (!ret_a || !ret_s)
                return -ENOMEM;
        *ret_a = *attest;
        *ret_s = *signature;

        *ret_attest = TAKE_PTR(ret_a);
        *ret_signature = TAKE_PTR(ret_s);
        return 0;
}
