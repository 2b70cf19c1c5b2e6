/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The TPM key store: keys created in the TPM under the owner hierarchy's standard ECC SRK by the
 * tpm2-openssl provider and kept as "TSS2 PRIVATE KEY" PEM files (the TPM-wrapped private part and the
 * public area; useless without this TPM), one "<id>.pem" per key, 0600, in a 0700 directory. Signing
 * goes through the provider (TPM2_Sign), so the same files work with `openssl ... -provider tpm2
 * -provider default`. */

#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/pem.h>
#include <openssl/provider.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "basic/errno-util.h"
#include "basic/fileio.h"
#include "basic/log.h"
#include "basic/string-util.h"
#include "ca/ca-keystore.h"
#include "shared/openssl-util.h"

#define KEY_FILE_SIZE_MAX (16U * 1024U)

typedef struct TpmStore {
        CaKeyStore base;
        char *dir;
} TpmStore;

static const CaKeyStoreOps tpm_store_ops;

static OSSL_PROVIDER *default_provider, *tpm2_provider;

/* Loads the providers into the default library context once per process. Loading any provider by
 * hand turns off the implicit default provider, so it is loaded first and preferred for everything
 * that is not an operation on a TPM key: without "?provider=default" the tpm2 provider's digests
 * would send every SHA-256 of the process to the TPM. A TPM key's own operations still go to the
 * tpm2 provider (OpenSSL falls back to the key's provider when the preferred one cannot use it). */
static int load_providers(const char *tcti) {
        if (tpm2_provider)
                return 0;

        /* The provider reads its TCTI from the environment when it is loaded, and only then. */
        if (tcti && setenv("TPM2OPENSSL_TCTI", tcti, 1) < 0)
                return negative_errno();
        if (!default_provider) {
                default_provider = OSSL_PROVIDER_load(NULL, "default");
                if (!default_provider)
                        return openssl_errno();
        }
        if (EVP_set_default_properties(NULL, "?provider=default") != 1)
                return openssl_errno();
        tpm2_provider = OSSL_PROVIDER_load(NULL, "tpm2");
        if (!tpm2_provider) {
                (void) openssl_errno();
                return log_debug_errno(
                        ENODEV, "The tpm2 OpenSSL provider could not be loaded (not installed, or no TPM).");
        }
        return 0;
}

struct CaTpmLibctx {
        OSSL_LIB_CTX *ctx;
        OSSL_PROVIDER *default_provider, *tpm2_provider;
};

CaTpmLibctx *ca_tpm_libctx_free(CaTpmLibctx *c) {
        if (!c)
                return NULL;
        /* Our references first: freeing the context drops only its own, and a provider still referenced
         * would never be torn down (the tpm2 one keeps its TPM connection open). */
        if (c->tpm2_provider)
                (void) OSSL_PROVIDER_unload(c->tpm2_provider);
        if (c->default_provider)
                (void) OSSL_PROVIDER_unload(c->default_provider);
        OSSL_LIB_CTX_free(c->ctx);
        return mfree(c);
}

OSSL_LIB_CTX *ca_tpm_libctx_get(CaTpmLibctx *c) {
        return c ? c->ctx : NULL;
}

int ca_tpm_libctx_new(CaTpmLibctx **ret) {
        _cleanup_(ca_tpm_libctx_freep) CaTpmLibctx *c = NULL;

        assert(ret);

        /* After a store was opened: the provider reads TPM2OPENSSL_TCTI (set then) when it is loaded. */
        if (!tpm2_provider)
                return -ENODEV;
        c = calloc(1, sizeof(CaTpmLibctx));
        if (!c)
                return -ENOMEM;
        c->ctx = OSSL_LIB_CTX_new();
        if (!c->ctx)
                return -ENOMEM;
        /* As load_providers(): the default provider for everything but the TPM key's own operations. */
        c->default_provider = OSSL_PROVIDER_load(c->ctx, "default");
        if (!c->default_provider || EVP_set_default_properties(c->ctx, "?provider=default") != 1)
                return openssl_errno();
        c->tpm2_provider = OSSL_PROVIDER_load(c->ctx, "tpm2");
        if (!c->tpm2_provider) {
                (void) openssl_errno();
                return log_debug_errno(ENODEV, "The tpm2 OpenSSL provider could not be loaded a second time.");
        }
        *ret = TAKE_PTR(c);
        return 0;
}

static int tpm_store_path(TpmStore *t, const char *id, char **ret) {
        if (asprintf(ret, "%s/%s.pem", t->dir, id) < 0)
                return -ENOMEM;
        return 0;
}

static int tpm_store_exists(CaKeyStore *s, const char *id) {
        _cleanup_free_ char *path = NULL;
        int r;

        r = tpm_store_path((TpmStore *) s, id, &path);
        if (r < 0)
                return r;
        if (faccessat(AT_FDCWD, path, F_OK, AT_SYMLINK_NOFOLLOW) >= 0)
                return 1;
        return errno == ENOENT ? 0 : negative_errno();
}

int ca_tpm_key_generate_file(OSSL_LIB_CTX *libctx, const char *path, CaKeyType type, EVP_PKEY **ret,
                             char **ret_pem) {
        _cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *ctx = NULL;
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *pkey = NULL;
        _cleanup_(BIO_free_allp) BIO *bio = NULL;
        const char *data;
        OSSL_PARAM params[2] = { OSSL_PARAM_END, OSSL_PARAM_END };
        unsigned bits = 0;
        long size;
        int r;

        assert(path);

        if (faccessat(AT_FDCWD, path, F_OK, AT_SYMLINK_NOFOLLOW) >= 0)
                return log_debug_errno(EEXIST, "Key '%s' exists already, refusing to replace it.", path);
        if (errno != ENOENT)
                return negative_errno();

        switch (type) {
        case CA_KEY_ECDSA_P256:
                params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *) "P-256", 0);
                break;
        case CA_KEY_ECDSA_P384:
                params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *) "P-384", 0);
                break;
        case CA_KEY_RSA_2048:
        case CA_KEY_RSA_3072:
                bits = type == CA_KEY_RSA_2048 ? 2048 : 3072;
                params[0] = OSSL_PARAM_construct_uint(OSSL_PKEY_PARAM_RSA_BITS, &bits);
                break;
        default:
                return log_debug_errno(EOPNOTSUPP, "A TPM cannot hold a %s key.", ca_key_type_to_string(type));
        }

        ctx = EVP_PKEY_CTX_new_from_name(libctx, bits ? "RSA" : "EC", "provider=tpm2");
        if (!ctx || EVP_PKEY_keygen_init(ctx) <= 0 || EVP_PKEY_CTX_set_params(ctx, params) <= 0 ||
            EVP_PKEY_generate(ctx, &pkey) <= 0) {
                (void) openssl_errno();
                return log_debug_errno(EIO, "The TPM did not create a %s key.", ca_key_type_to_string(type));
        }

        bio = BIO_new(BIO_s_mem());
        if (!bio)
                return -ENOMEM;
        if (PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL) != 1)
                return openssl_errno();
        size = BIO_get_mem_data(bio, &data);
        if (size <= 0 || !startswith(data, "-----BEGIN TSS2 PRIVATE KEY-----"))
                return log_debug_errno(EIO, "The tpm2 provider did not write a TSS2 PRIVATE KEY.");

        r = write_file_atomic(path, data, (size_t) size, 0600);
        if (r < 0)
                return log_debug_errno(r, "Failed to write key '%s': %m", path);

        if (ret_pem) {
                *ret_pem = memdup_suffix0(data, (size_t) size);
                if (!*ret_pem)
                        return -ENOMEM; /* the key file stays: the caller removes it with its store */
        }
        if (ret)
                *ret = TAKE_PTR(pkey);
        return 0;
}

static int tpm_store_generate(CaKeyStore *s, const char *id, CaKeyType type, EVP_PKEY **ret) {
        _cleanup_free_ char *path = NULL;
        int r;

        r = tpm_store_path((TpmStore *) s, id, &path);
        if (r < 0)
                return r;
        return ca_tpm_key_generate_file(NULL, path, type, ret, NULL);
}

int ca_keystore_tpm_key_path(CaKeyStore *s, const char *id, char **ret) {
        assert(s);
        assert(ret);

        if (s->ops != &tpm_store_ops)
                return -EOPNOTSUPP;
        if (!ca_key_id_is_valid(id))
                return -EINVAL;
        return tpm_store_path((TpmStore *) s, id, ret);
}

int ca_tpm_key_load_file(OSSL_LIB_CTX *libctx, const char *path, EVP_PKEY **ret) {
        _cleanup_(BIO_free_allp) BIO *bio = NULL;
        _cleanup_free_ char *data = NULL;
        EVP_PKEY *pkey;
        size_t size;
        int r;

        assert(path);
        assert(ret);

        r = ca_key_file_read(path, KEY_FILE_SIZE_MAX, &data, &size);
        if (r < 0)
                return r;
        /* Only a TPM-wrapped key: a software key put here is refused, not used. */
        if (!startswith(data, "-----BEGIN TSS2 PRIVATE KEY-----"))
                return log_debug_errno(EBADMSG, "Key '%s' is not a TSS2 PRIVATE KEY.", path);
        bio = BIO_new_mem_buf(data, (int) size);
        if (!bio)
                return -ENOMEM;
        pkey = PEM_read_bio_PrivateKey_ex(bio, NULL, NULL, NULL, libctx, "provider=tpm2");
        if (!pkey) {
                (void) openssl_errno();
                return log_debug_errno(EKEYREJECTED, "The TPM refused key '%s' (another TPM's, or damaged).",
                                       path);
        }
        *ret = pkey;
        return 0;
}

static int tpm_store_load(CaKeyStore *s, const char *id, EVP_PKEY **ret) {
        _cleanup_free_ char *path = NULL;
        int r;

        r = tpm_store_path((TpmStore *) s, id, &path);
        if (r < 0)
                return r;
        return ca_tpm_key_load_file(NULL, path, ret);
}

/* The key is not persistent in the TPM (it is loaded from its wrapped file for each use): removing the
 * file removes the key, since without it the TPM has nothing to load. */
static int tpm_store_remove(CaKeyStore *s, const char *id) {
        _cleanup_free_ char *path = NULL;
        int r;

        r = tpm_store_path((TpmStore *) s, id, &path);
        if (r < 0)
                return r;
        r = ca_key_file_erase(path);
        if (r < 0)
                return log_debug_errno(r, "Failed to remove key '%s': %m", path);
        return 0;
}

static void tpm_store_free(CaKeyStore *s) {
        TpmStore *t = (TpmStore *) s;

        free(t->dir);
        free(t);
}

static const CaKeyStoreOps tpm_store_ops = {
        .name = "tpm",
        .generate = tpm_store_generate,
        .load = tpm_store_load,
        .exists = tpm_store_exists,
        .remove = tpm_store_remove,
        .free = tpm_store_free,
};

int ca_keystore_tpm_new(const char *dir, const char *tcti, CaKeyStore **ret) {
        _cleanup_(ca_keystore_freep) CaKeyStore *s = NULL;
        TpmStore *t;
        int r;

        assert(dir);
        assert(ret);

        r = load_providers(tcti);
        if (r < 0)
                return r;
        r = mkdir_p_secure(dir, 0700);
        if (r < 0)
                return log_debug_errno(r, "Key directory '%s' is not usable: %m", dir);

        t = calloc(1, sizeof(TpmStore));
        if (!t)
                return -ENOMEM;
        t->base.ops = &tpm_store_ops;
        s = &t->base;
        t->dir = strdup(dir);
        if (!t->dir)
                return -ENOMEM;

        *ret = TAKE_PTR(s);
        return 0;
}
