/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <sys/stat.h>
#include <tss2/tss2_mu.h>

#include "basic/fileio.h"
#include "basic/hexdecoct.h"
#include "basic/log.h"
#include "tpm2/tpm2-capability.h"
#include "tpm2/tpm2-context-internal.h"
#include "tpm2/tpm2-session.h"
#include "tpm2/tpm2-srk.h"
#include "tpm2/tpm2-util.h"

#define SRK_PIN_FILE "srk.pub"

#define SRK_ATTRIBUTES                                                                                 \
        (TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT | TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | \
         TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_NODA)

void tpm2_srk_info_done(Tpm2SrkInfo *i) {
        if (!i)
                return;
        i->name_hex = mfree(i->name_hex);
}

bool tpm2_public_is_storage_key(const TPMT_PUBLIC *p) {
        assert(p);

        if ((p->objectAttributes & SRK_ATTRIBUTES) != SRK_ATTRIBUTES)
                return false;
        if (p->objectAttributes & TPMA_OBJECT_SIGN_ENCRYPT)
                return false;

        switch (p->type) {
        case TPM2_ALG_ECC:
                return p->parameters.eccDetail.symmetric.algorithm == TPM2_ALG_AES;
        case TPM2_ALG_RSA:
                return p->parameters.rsaDetail.symmetric.algorithm == TPM2_ALG_AES;
        default:
                return false;
        }
}

int tpm2_public_name(const TPM2B_PUBLIC *pub, TPM2B_NAME *ret) {
        uint8_t buf[sizeof(TPMT_PUBLIC)];
        const EVP_MD *md;
        unsigned int dlen = 0;
        size_t off = 0, noff = 0;
        TSS2_RC rc;

        assert(pub);
        assert(ret);

        switch (pub->publicArea.nameAlg) {
        case TPM2_ALG_SHA1:
                md = EVP_sha1();
                break;
        case TPM2_ALG_SHA256:
                md = EVP_sha256();
                break;
        case TPM2_ALG_SHA384:
                md = EVP_sha384();
                break;
        case TPM2_ALG_SHA512:
                md = EVP_sha512();
                break;
        default:
                return -EOPNOTSUPP;
        }

        rc = Tss2_MU_TPMT_PUBLIC_Marshal(&pub->publicArea, buf, sizeof(buf), &off);
        if (rc != TSS2_RC_SUCCESS)
                return tss2_rc_to_errno(rc);

        rc = Tss2_MU_UINT16_Marshal(pub->publicArea.nameAlg, ret->name, sizeof(ret->name), &noff);
        if (rc != TSS2_RC_SUCCESS)
                return tss2_rc_to_errno(rc);

        if (EVP_Digest(buf, off, ret->name + noff, &dlen, md, NULL) != 1)
                return -EIO;

        ret->size = (uint16_t) (noff + dlen);
        return 0;
}

static bool name_equal(const TPM2B_NAME *a, const TPM2B_NAME *b) {
        return a->size == b->size && a->size <= sizeof(a->name) && memcmp(a->name, b->name, a->size) == 0;
}

/* The TCG "TPM 2.0 Provisioning Guidance" SRK templates, which systemd and tpm2-tools use too. */
static void srk_template(TPM2_ALG_ID type, TPM2B_PUBLIC *ret) {
        *ret = (TPM2B_PUBLIC) {
                .publicArea = {
                        .type = type,
                        .nameAlg = TPM2_ALG_SHA256,
                        .objectAttributes = SRK_ATTRIBUTES,
                },
        };

        if (type == TPM2_ALG_ECC)
                ret->publicArea.parameters.eccDetail = (TPMS_ECC_PARMS) {
                        .symmetric = { .algorithm = TPM2_ALG_AES, .keyBits.aes = 128, .mode.aes = TPM2_ALG_CFB },
                        .scheme.scheme = TPM2_ALG_NULL,
                        .curveID = TPM2_ECC_NIST_P256,
                        .kdf.scheme = TPM2_ALG_NULL,
                };
        else
                ret->publicArea.parameters.rsaDetail = (TPMS_RSA_PARMS) {
                        .symmetric = { .algorithm = TPM2_ALG_AES, .keyBits.aes = 128, .mode.aes = TPM2_ALG_CFB },
                        .scheme.scheme = TPM2_ALG_NULL,
                        .keyBits = 2048,
                        .exponent = 0,
                };
}

static int tpm_has_p256(Tpm2Context *c) {
        _cleanup_(esys_freep) TPMS_CAPABILITY_DATA *data = NULL;
        int r;

        r = tpm2_get_capability(c, TPM2_CAP_ECC_CURVES, TPM2_ECC_NIST_P256, 1, &data, NULL);
        if (r < 0)
                return r;
        if (data->data.eccCurves.count > TPM2_MAX_ECC_CURVES)
                return -EBADMSG;
        for (uint32_t i = 0; i < data->data.eccCurves.count; i++)
                if (data->data.eccCurves.eccCurves[i] == TPM2_ECC_NIST_P256)
                        return 1;
        return 0;
}

static int srk_is_present(Tpm2Context *c) {
        _cleanup_(esys_freep) TPMS_CAPABILITY_DATA *data = NULL;
        int r;

        r = tpm2_get_capability(c, TPM2_CAP_HANDLES, TPM2_SRK_HANDLE, 1, &data, NULL);
        if (r < 0)
                return r;
        if (data->data.handles.count > TPM2_MAX_CAP_HANDLES)
                return -EBADMSG;
        return data->data.handles.count > 0 && data->data.handles.handle[0] == TPM2_SRK_HANDLE;
}

static const char *srk_state_dir(const char *state_dir) {
        const char *e;

        if (state_dir)
                return state_dir;
        e = secure_getenv("TRUSTED_PLATFORM_STATE_DIR");
        return isempty(e) ? PKGSTATEDIR : e;
}

/* Reads the pin file. -ENOENT when there is none yet. */
static int pin_read(const char *path, TPM2B_PUBLIC *ret) {
        _cleanup_close_ int fd = -EBADF;
        uint8_t buf[sizeof(TPM2B_PUBLIC) + 1];
        TPM2B_PUBLIC pub = {};
        struct stat st;
        size_t off = 0, n = 0;
        TSS2_RC rc;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EBADMSG;

        /* Read one byte more than any TPM2B_PUBLIC can take, so an oversized file is noticed. */
        while (n < sizeof(buf)) {
                ssize_t k = read(fd, buf + n, sizeof(buf) - n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        break;
                n += (size_t) k;
        }
        if (n == 0 || n >= sizeof(buf))
                return log_debug_errno(EBADMSG, "SRK pin file '%s' has a bad size.", path);

        rc = Tss2_MU_TPM2B_PUBLIC_Unmarshal(buf, n, &off, &pub);
        if (rc != TSS2_RC_SUCCESS || off != n)
                return log_debug_errno(EBADMSG, "SRK pin file '%s' does not parse.", path);

        *ret = pub;
        return 0;
}

static int pin_write(const char *path, const TPM2B_PUBLIC *pub) {
        uint8_t buf[sizeof(TPM2B_PUBLIC)];
        size_t off = 0;
        TSS2_RC rc;

        rc = Tss2_MU_TPM2B_PUBLIC_Marshal(pub, buf, sizeof(buf), &off);
        if (rc != TSS2_RC_SUCCESS)
                return tss2_rc_to_errno(rc);

        return write_file_atomic(path, buf, off, 0600);
}

/* Compares the SRK's public area against the pin, or pins it when there is no pin yet. */
static int pin_check(const char *dir, const char *path, const TPM2B_PUBLIC *pub, const TPM2B_NAME *name,
                     bool *ret_pinned_now) {
        TPM2B_PUBLIC pinned;
        TPM2B_NAME pinned_name;
        int r;

        r = pin_read(path, &pinned);
        if (r == -ENOENT) {
                *ret_pinned_now = true;
                return 0;
        }
        if (r < 0)
                return r;

        r = tpm2_public_name(&pinned, &pinned_name);
        if (r < 0)
                return r;
        if (!name_equal(&pinned_name, name))
                return log_debug_errno(EKEYREJECTED, "SRK does not match the key pinned in '%s'.", path);

        *ret_pinned_now = false;
        return 0;
}

/* The resource type tag of a key in ESYS's serialized ESYS_TR (IESYSC_KEY_RSRC in tpm2-tss's
 * esys_types.h; the serialization is ESYS's stable on-disk format for ESYS_TRs). */
#define IESYS_KEY_RSRC UINT32_C(1)

/* The public area and name of an ESYS_TR exactly as ESYS stored them, which is the key salted sessions are
 * encrypted to: read back through Esys_TR_Serialize() (handle | TPM2B_NAME | type | TPM2B_PUBLIC) rather
 * than by a second TPM2_ReadPublic, which costs a round trip on the boot path and checks a second answer
 * of the TPM instead of what ESYS will use (Esys_TR_FromTPMPublic() does not hold the public area it got
 * to the name it got). The stored public area must hash to the stored name; the caller compares that
 * name. An object whose name algorithm we cannot hash gets an empty name (it is no SRK of ours). */
static int read_public_checked(Tpm2Context *c, ESYS_TR handle, TPM2B_PUBLIC *ret_pub, TPM2B_NAME *ret_name) {
        _cleanup_free_ uint8_t *buf = NULL;
        TPM2B_PUBLIC pub = {};
        TPM2B_NAME stored = {}, computed;
        size_t size = 0, off = 0;
        uint32_t tpm_handle, type;
        TSS2_RC rc;
        int r;

        rc = Esys_TR_Serialize(tpm2_context_esys(c), handle, &buf, &size);
        if (rc != TSS2_RC_SUCCESS)
                return log_debug_errno(tss2_rc_to_errno(rc), "Failed to read back the ESYS object: %m");
        if (Tss2_MU_UINT32_Unmarshal(buf, size, &off, &tpm_handle) != TSS2_RC_SUCCESS ||
            Tss2_MU_TPM2B_NAME_Unmarshal(buf, size, &off, &stored) != TSS2_RC_SUCCESS ||
            Tss2_MU_UINT32_Unmarshal(buf, size, &off, &type) != TSS2_RC_SUCCESS || type != IESYS_KEY_RSRC ||
            Tss2_MU_TPM2B_PUBLIC_Unmarshal(buf, size, &off, &pub) != TSS2_RC_SUCCESS || off != size)
                return log_debug_errno(EBADMSG, "The ESYS object does not parse as a key.");

        r = tpm2_public_name(&pub, &computed);
        if (r == -EOPNOTSUPP) {
                *ret_pub = pub;
                *ret_name = (TPM2B_NAME) {};
                return 0;
        }
        if (r < 0)
                return r;
        if (!name_equal(&computed, &stored))
                return log_debug_errno(EBADMSG, "TPM object name does not match its public area.");

        *ret_pub = pub;
        *ret_name = computed;
        return 0;
}

static int srk_adopt(Tpm2Context *c, ESYS_TR *ret_handle, TPM2B_PUBLIC *ret_pub, TPM2B_NAME *ret_name) {
        ESYS_TR handle = ESYS_TR_NONE;
        TPM2B_PUBLIC pub;
        TPM2B_NAME name;
        TSS2_RC rc;
        int r;

        rc = Esys_TR_FromTPMPublic(tpm2_context_esys(c), TPM2_SRK_HANDLE, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                   &handle);
        if (rc != TSS2_RC_SUCCESS)
                return log_debug_errno(tss2_rc_to_errno(rc), "Failed to open persistent handle 0x%x: %m",
                                       TPM2_SRK_HANDLE);

        r = read_public_checked(c, handle, &pub, &name);
        if (r >= 0 && (name.size == 0 || !tpm2_public_is_storage_key(&pub.publicArea)))
                r = log_debug_errno(EEXIST, "Persistent handle 0x%x holds something that is not a storage key.",
                                    TPM2_SRK_HANDLE);
        if (r < 0) {
                tpm2_flush(c, &handle);
                return r;
        }

        *ret_handle = handle;
        *ret_pub = pub;
        *ret_name = name;
        return 0;
}

/* Creates the SRK as transient primary; the caller decides whether to persist it. */
static int srk_create_primary(Tpm2Context *c, ESYS_TR *ret_handle, TPM2B_PUBLIC *ret_pub, TPM2B_NAME *ret_name) {
        static const TPM2B_SENSITIVE_CREATE sensitive = {};
        static const TPML_PCR_SELECTION no_pcrs = {};
        static const TPM2B_DATA no_data = {};
        ESYS_TR handle = ESYS_TR_NONE;
        TPM2B_PUBLIC template;
        TSS2_RC rc;
        int r;

        r = tpm_has_p256(c);
        if (r < 0)
                return r;
        srk_template(r > 0 ? TPM2_ALG_ECC : TPM2_ALG_RSA, &template);

        rc = Esys_CreatePrimary(tpm2_context_esys(c), ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                                &sensitive, &template, &no_data, &no_pcrs, &handle, NULL, NULL, NULL, NULL);
        if (rc != TSS2_RC_SUCCESS)
                return log_debug_errno(tss2_rc_to_errno(rc), "Failed to create SRK: %m");

        r = tpm2_context_track(c, handle);
        if (r < 0) {
                (void) Esys_FlushContext(tpm2_context_esys(c), handle);
                return r;
        }

        r = read_public_checked(c, handle, ret_pub, ret_name);
        if (r >= 0 && (ret_name->size == 0 || !tpm2_public_is_storage_key(&ret_pub->publicArea)))
                r = log_debug_errno(EBADMSG, "TPM created an SRK that is not the storage key asked for.");
        if (r < 0) {
                tpm2_flush(c, &handle);
                return r;
        }

        *ret_handle = handle;
        return 0;
}

static int srk_persist(Tpm2Context *c, ESYS_TR *transient, ESYS_TR *ret_handle) {
        ESYS_TR persistent = ESYS_TR_NONE;
        TSS2_RC rc;

        rc = Esys_EvictControl(tpm2_context_esys(c), ESYS_TR_RH_OWNER, *transient, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                               ESYS_TR_NONE, TPM2_SRK_HANDLE, &persistent);
        tpm2_flush(c, transient);
        if (rc != TSS2_RC_SUCCESS)
                return log_debug_errno(tss2_rc_to_errno(rc), "Failed to persist SRK at 0x%x: %m", TPM2_SRK_HANDLE);

        *ret_handle = persistent;
        return 0;
}

int tpm2_srk_open_expected(Tpm2Context *c, const TPM2B_NAME *expected, ESYS_TR *ret_handle) {
        ESYS_TR handle = ESYS_TR_NONE;
        TPM2B_PUBLIC pub;
        TPM2B_NAME name;
        int r;

        assert(c);
        assert(expected);
        assert(ret_handle);

        /* No TPM2_GetCapability first (this is on the boot path): a missing handle is TPM_RC_HANDLE from
         * the ReadPublic in srk_adopt(), which ties the name to the public area ESYS salts sessions to, so
         * comparing the name is enough; an object that is not a storage key is refused like a wrong name. */
        r = srk_adopt(c, &handle, &pub, &name);
        if (r == -ENOENT)
                return log_debug_errno(ENOKEY, "No SRK at 0x%x.", TPM2_SRK_HANDLE);
        if (r == -EEXIST || r == -EBADMSG)
                return log_debug_errno(EKEYREJECTED, "The object at 0x%x is not a usable SRK.",
                                       TPM2_SRK_HANDLE);
        if (r < 0)
                return r;
        if (!name_equal(&name, expected)) {
                tpm2_flush(c, &handle);
                return log_debug_errno(EKEYREJECTED,
                                       "The SRK at 0x%x is not the one the secret was sealed under.",
                                       TPM2_SRK_HANDLE);
        }

        *ret_handle = handle;
        return 0;
}

int tpm2_srk_provision(Tpm2Context *c, const char *state_dir, bool provision, ESYS_TR *ret_handle,
                       Tpm2SrkInfo *ret_info) {
        _cleanup_free_ char *path = NULL, *name_hex = NULL;
        ESYS_TR handle = ESYS_TR_NONE;
        TPM2B_PUBLIC pub;
        TPM2B_NAME name;
        bool created = false, pin_now = false;
        const char *dir;
        int r;

        assert(c);

        dir = srk_state_dir(state_dir);
        if (asprintf(&path, "%s/%s", dir, SRK_PIN_FILE) < 0)
                return -ENOMEM;

        /* Without provisioning no TPM2_GetCapability first (every unseal comes here): a missing handle is
         * TPM_RC_HANDLE from the ReadPublic in srk_adopt(), as in tpm2_srk_open_expected(). */
        r = provision ? srk_is_present(c) : 1;
        if (r < 0)
                return log_debug_errno(r, "Failed to look for the SRK: %m");
        if (r > 0) {
                r = srk_adopt(c, &handle, &pub, &name);
                if (r == -ENOENT && !provision)
                        return log_debug_errno(ENOKEY, "No SRK at 0x%x and provisioning was not asked for.",
                                               TPM2_SRK_HANDLE);
        } else {
                r = srk_create_primary(c, &handle, &pub, &name);
                created = true;
        }
        if (r < 0)
                return r;

        /* The state directory first: a pin in a directory others can write to proves nothing, and a
         * directory we refuse (-EPERM: mode wider than 0700 or not ours) must leave the TPM untouched.
         * StateDirectory= with StateDirectoryMode=0700 makes it right in production. */
        r = mkdir_p_secure(dir, 0700);
        if (r < 0) {
                log_debug_errno(r, "State directory '%s' is not usable: %m", dir);
                goto fail;
        }

        /* Check the pin before persisting a new key, so a rejected key leaves the TPM untouched. */
        r = pin_check(dir, path, &pub, &name, &pin_now);
        if (r < 0)
                goto fail;

        if (created) {
                r = srk_persist(c, &handle, &handle);
                if (r < 0)
                        goto fail;
        }

        if (pin_now) {
                r = pin_write(path, &pub);
                if (r < 0) {
                        log_debug_errno(r, "Failed to write SRK pin '%s': %m", path);
                        goto fail;
                }
        }

        r = hexmem(name.name, name.size, &name_hex);
        if (r < 0)
                goto fail;

        if (ret_info)
                *ret_info = (Tpm2SrkInfo) {
                        .created = created,
                        .algorithm = pub.publicArea.type,
                        .name_hex = TAKE_PTR(name_hex),
                };
        if (ret_handle)
                *ret_handle = handle;
        else
                tpm2_flush(c, &handle);
        return 0;

fail:
        tpm2_flush(c, &handle);
        return r;
}
