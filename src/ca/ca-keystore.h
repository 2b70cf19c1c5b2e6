/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Where a CA keeps its private keys. A store hands out EVP_PKEYs: signing always goes through
 * EVP_PKEY, so a key held in a file, in the TPM (tpm2 provider) or in a token (PKCS#11, through libp11)
 * looks the same to the issuing code. Keys are named by an id ([a-z0-9_-], at most
 * CA_KEY_ID_MAX bytes) unique within the store. */

#include <openssl/evp.h>

#include "basic/macro.h"

#define CA_KEY_ID_MAX 64U

typedef enum CaKeyType {
        CA_KEY_ECDSA_P256,
        CA_KEY_ECDSA_P384,
        CA_KEY_RSA_2048,
        CA_KEY_RSA_3072,
        CA_KEY_RSA_4096,
        CA_KEY_ED25519,
        _CA_KEY_TYPE_MAX,
        _CA_KEY_TYPE_INVALID = -EINVAL,
} CaKeyType;

/* "ecdsa-p256", "ecdsa-p384", "rsa-2048", "rsa-3072", "rsa-4096", "ed25519". */
const char *ca_key_type_to_string(CaKeyType t) _const_;
CaKeyType ca_key_type_from_string(const char *s) _pure_;

/* The type of an existing key, or _CA_KEY_TYPE_INVALID for any key not in the list above. */
CaKeyType ca_key_type_of(EVP_PKEY *pkey);

typedef struct CaKeyStore CaKeyStore;

/* What a store implements. Every operation returns a negative errno on failure. */
typedef struct CaKeyStoreOps {
        const char *name;
        /* Creates a new key; -EEXIST if id is taken (a key is never replaced). */
        int (*generate)(CaKeyStore *s, const char *id, CaKeyType type, EVP_PKEY **ret);
        /* -ENOENT if there is no such key. */
        int (*load)(CaKeyStore *s, const char *id, EVP_PKEY **ret);
        /* 1 if the key exists, 0 if not. */
        int (*exists)(CaKeyStore *s, const char *id);
        /* Destroys the key for good; -ENOENT if there is no such key. */
        int (*remove)(CaKeyStore *s, const char *id);
        void (*free)(CaKeyStore *s);
} CaKeyStoreOps;

struct CaKeyStore {
        const CaKeyStoreOps *ops;
};

/* A store of PKCS#8 files encrypted with passphrase (AES-256-CBC, scrypt N=2^14 r=8 p=1), one
 * "<id>.pem" per key, mode 0600, in dir (created 0700 if missing; an existing dir must be ours and
 * not more open than 0700). The store keeps a copy of the passphrase in locked memory that is wiped
 * when the store is freed. A key file that is unencrypted or readable by others is refused on load
 * (-EPERM). passphrase must be at least CA_PASSPHRASE_MIN bytes. */
#define CA_PASSPHRASE_MIN 8U
#define CA_PASSPHRASE_MAX 1024U
int ca_keystore_file_new(const char *dir, const void *passphrase, size_t passphrase_size, CaKeyStore **ret);

/* A store of keys held by the TPM (ca-keystore-tpm.c): created by the tpm2-openssl provider under the
 * owner hierarchy's standard ECC SRK, kept as "TSS2 PRIVATE KEY" PEM files ("<id>.pem", 0600) in dir
 * (0700), usable by the openssl CLI with `-provider tpm2 -provider default`. ECDSA P-256/P-384 and RSA
 * 2048/3072 (-EOPNOTSUPP for others). tcti (NULL: the provider's default, $TPM2OPENSSL_TCTI or the TSS
 * default) is used when the provider is first loaded in this process, and fixed from then on. The
 * provider opens its own TPM connection: with a TPM that serves one client at a time (swtpm), other
 * users must go through tpm2-abrmd or the kernel's resource manager. -ENODEV when the provider cannot be
 * loaded. */
int ca_keystore_tpm_new(const char *dir, const char *tcti, CaKeyStore **ret);

/* For signing with TPM store keys on another thread than the one that uses the store: the tpm2 provider
 * keeps one ESAPI context per loaded instance, which is not thread-safe, so such a thread needs a
 * library context of its own with its own provider instance (and TPM connection: through a resource
 * manager, as the store needs anyway). Only after a TPM store was opened in this process (-ENODEV
 * before, or when the provider cannot be loaded again). Free it after every key of its context. */
typedef struct CaTpmLibctx CaTpmLibctx;
int ca_tpm_libctx_new(CaTpmLibctx **ret);
OSSL_LIB_CTX *ca_tpm_libctx_get(CaTpmLibctx *c) _pure_;
CaTpmLibctx *ca_tpm_libctx_free(CaTpmLibctx *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(CaTpmLibctx *, ca_tpm_libctx_free);
/* The file of key id in the TPM store s; -EOPNOTSUPP for another kind of store. */
int ca_keystore_tpm_key_path(CaKeyStore *s, const char *id, char **ret);
/* Makes a key of type in the TPM and writes it to the new file path as the TPM store does (-EEXIST if
 * path exists), in libctx (NULL: the default one); *ret (may be NULL) is the key, *ret_pem (may be NULL)
 * the file's text. */
int ca_tpm_key_generate_file(OSSL_LIB_CTX *libctx, const char *path, CaKeyType type, EVP_PKEY **ret,
                             char **ret_pem);
/* Loads the TSS2 PRIVATE KEY file path as the TPM store does, into libctx (NULL: the default one). */
int ca_tpm_key_load_file(OSSL_LIB_CTX *libctx, const char *path, EVP_PKEY **ret);

/* A store of key pairs generated on a PKCS#11 token (ca-keystore-pkcs11.c) and used there through
 * libp11: a key is the private key object labelled with the store id (CKA_LABEL = CKA_ID = the id);
 * generated keys are CKA_SENSITIVE and not CKA_EXTRACTABLE. ECDSA P-256/P-384 and RSA 2048/3072/4096
 * where the token can generate them (C_GetMechanismInfo), -EOPNOTSUPP for others (Ed25519 always).
 * module_path is the module's absolute path (-EINVAL otherwise: no search of the library path); NULL
 * means p11-kit's proxy module (CA_PKCS11_DEFAULT_MODULE), which offers the modules configured in
 * p11-kit. token_label selects exactly one initialised token (-ENXIO if none, -ENOTUNIQ if several).
 * pin (NUL-terminated, 1..CA_PKCS11_PIN_MAX bytes) logs in once, never retried: -EACCES for a wrong or
 * missing PIN, -EPERM for a locked one. The store keeps the PIN in locked memory, wiped when it is
 * freed, to log in again if the token forgets the login. -ENOENT if there is no module file, -ENOPKG
 * if it cannot be loaded as a PKCS#11 module (not one, or its C_Initialize() failed), -EBUSY if
 * another PKCS#11 store is open in this process (a module is initialised once per process, and may be
 * reached both directly and through the proxy). The EVP_PKEYs the store hands out sign through the
 * token, are usable only while the store exists and must be freed before it. */
#define CA_PKCS11_PIN_MAX 256U
int ca_keystore_pkcs11_new(const char *module_path, const char *token_label, const char *pin,
                           CaKeyStore **ret);

/* Reads a PIN for ca_keystore_pkcs11_new() from the file path: a regular file owned by us and closed to
 * others (-EPERM otherwise, ca_key_file_read()), holding one PIN of 1..CA_PKCS11_PIN_MAX bytes with an
 * optional trailing newline (-EINVAL for anything else, -E2BIG for a long file). The result is to be
 * freed with erase_and_free(). */
int ca_pkcs11_pin_read(const char *path, char **ret);

bool ca_key_id_is_valid(const char *id) _pure_;

/* Reads a key file of a store: a regular file (no symlink) owned by us and closed to others (-EPERM
 * otherwise), at most max bytes. For the stores' load functions. */
int ca_key_file_read(const char *path, size_t max, char **ret, size_t *ret_size);

int ca_keystore_generate(CaKeyStore *s, const char *id, CaKeyType type, EVP_PKEY **ret);
int ca_keystore_load(CaKeyStore *s, const char *id, EVP_PKEY **ret);
int ca_keystore_exists(CaKeyStore *s, const char *id);
/* Destroys the key id: the file store's key file and the TPM store's wrapped key file are overwritten
 * and unlinked, and the directory fsync()ed (ca_key_file_erase()); a token's private and public key
 * objects are destroyed (C_DestroyObject). For a key that was made and then not used (a certificate
 * that could not be issued) or that was replaced. EVP_PKEYs of the key that are still around stop
 * working with the pkcs11 store, and keep working (until freed) with the others. Returns 0, -ENOENT if
 * there is no such key, or another negative errno (the key may then still be there). */
int ca_keystore_remove(CaKeyStore *s, const char *id);
CaKeyStore *ca_keystore_free(CaKeyStore *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(CaKeyStore *, ca_keystore_free);

/* Overwrites the regular file path (not a symlink) with zeros, fsync()s it, unlinks it and fsync()s
 * its directory, so that a key that was on disk is gone from it as far as a filesystem lets a program
 * make sure (copy-on-write filesystems and flash may keep old blocks). -ENOENT if there is no file. */
int ca_key_file_erase(const char *path);

/* A new key of type, in memory (used by stores that keep keys in software and by tests). */
int ca_key_generate_software(CaKeyType type, EVP_PKEY **ret);
