/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/errno-util.h"
#include "basic/fileio.h"
#include "basic/log.h"
#include "basic/secure-mem.h"
#include "ca/ca-keystore.h"
#include "shared/openssl-util.h"

/* scrypt parameters for key files: 16 MiB of memory per try, paid once when a CA is opened. OpenSSL
 * refuses to decrypt anything needing more than 32 MiB by default (so would the openssl CLI), which
 * rules out N = 2^15 with r = 8. */
#define FILE_STORE_SCRYPT_N (UINT64_C(1) << 14)
#define FILE_STORE_SCRYPT_R 8U
#define FILE_STORE_SCRYPT_P 1U
#define KEY_FILE_SIZE_MAX (64U * 1024U)

static const char *const key_type_table[_CA_KEY_TYPE_MAX] = {
        [CA_KEY_ECDSA_P256] = "ecdsa-p256", [CA_KEY_ECDSA_P384] = "ecdsa-p384",
        [CA_KEY_RSA_2048] = "rsa-2048",     [CA_KEY_RSA_3072] = "rsa-3072",
        [CA_KEY_RSA_4096] = "rsa-4096",     [CA_KEY_ED25519] = "ed25519",
};

const char *ca_key_type_to_string(CaKeyType t) {
        if (t < 0 || t >= _CA_KEY_TYPE_MAX)
                return NULL;
        return key_type_table[t];
}

CaKeyType ca_key_type_from_string(const char *s) {
        if (!s)
                return _CA_KEY_TYPE_INVALID;
        for (CaKeyType t = 0; t < _CA_KEY_TYPE_MAX; t++)
                if (streq(key_type_table[t], s))
                        return t;
        return _CA_KEY_TYPE_INVALID;
}

CaKeyType ca_key_type_of(EVP_PKEY *pkey) {
        char group[64];

        if (!pkey)
                return _CA_KEY_TYPE_INVALID;
        if (EVP_PKEY_is_a(pkey, "ED25519"))
                return CA_KEY_ED25519;
        if (EVP_PKEY_is_a(pkey, "RSA"))
                switch (EVP_PKEY_get_bits(pkey)) {
                case 2048:
                        return CA_KEY_RSA_2048;
                case 3072:
                        return CA_KEY_RSA_3072;
                case 4096:
                        return CA_KEY_RSA_4096;
                default:
                        return _CA_KEY_TYPE_INVALID;
                }
        if (EVP_PKEY_is_a(pkey, "EC") &&
            EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), NULL) == 1) {
                if (streq(group, "prime256v1") || streq(group, "P-256"))
                        return CA_KEY_ECDSA_P256;
                if (streq(group, "secp384r1") || streq(group, "P-384"))
                        return CA_KEY_ECDSA_P384;
        }
        return _CA_KEY_TYPE_INVALID;
}

int ca_key_generate_software(CaKeyType type, EVP_PKEY **ret) {
        EVP_PKEY *pkey;

        assert(ret);

        switch (type) {
        case CA_KEY_ECDSA_P256:
                pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
                break;
        case CA_KEY_ECDSA_P384:
                pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
                break;
        case CA_KEY_RSA_2048:
                pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t) 2048);
                break;
        case CA_KEY_RSA_3072:
                pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t) 3072);
                break;
        case CA_KEY_RSA_4096:
                pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t) 4096);
                break;
        case CA_KEY_ED25519:
                pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
                break;
        default:
                return -EINVAL;
        }
        if (!pkey)
                return openssl_errno();
        *ret = pkey;
        return 0;
}

int ca_key_file_read(const char *path, size_t max, char **ret, size_t *ret_size) {
        _cleanup_close_ int fd = -EBADF;
        struct stat st;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        if (fd < 0)
                return log_debug_errno(errno, "Failed to open key '%s': %m", path);
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode))
                return log_debug_errno(EBADF, "Key '%s' is not a regular file.", path);
        if (st.st_uid != geteuid() || (st.st_mode & 077) != 0)
                return log_debug_errno(EPERM,
                                       "Key '%s' is not owned by us or open to others (%04o), refusing.",
                                       path, (unsigned) (st.st_mode & 07777));
        return read_full_file(path, max, ret, ret_size);
}

bool ca_key_id_is_valid(const char *id) {
        size_t n;

        if (isempty(id))
                return false;
        n = strlen(id);
        return n <= CA_KEY_ID_MAX && strspn(id, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n && id[0] != '-';
}

int ca_keystore_generate(CaKeyStore *s, const char *id, CaKeyType type, EVP_PKEY **ret) {
        assert(s);
        assert(ret);
        if (!ca_key_id_is_valid(id) || !ca_key_type_to_string(type))
                return -EINVAL;
        return s->ops->generate(s, id, type, ret);
}

int ca_keystore_load(CaKeyStore *s, const char *id, EVP_PKEY **ret) {
        assert(s);
        assert(ret);
        if (!ca_key_id_is_valid(id))
                return -EINVAL;
        return s->ops->load(s, id, ret);
}

int ca_keystore_exists(CaKeyStore *s, const char *id) {
        assert(s);
        if (!ca_key_id_is_valid(id))
                return -EINVAL;
        return s->ops->exists(s, id);
}

int ca_keystore_remove(CaKeyStore *s, const char *id) {
        assert(s);
        if (!ca_key_id_is_valid(id))
                return -EINVAL;
        return s->ops->remove(s, id);
}

int ca_key_file_erase(const char *path) {
        _cleanup_free_ char *dir = NULL;
        _cleanup_close_ int fd = -EBADF, dfd = -EBADF;
        _cleanup_free_ uint8_t *zeros = NULL;
        struct stat st;
        const char *slash;

        assert(path);

        slash = strrchr(path, '/');
        if (!slash || slash[1] == '\0')
                return -EINVAL;
        dir = slash == path ? strdup("/") : strndup(path, slash - path);
        if (!dir)
                return -ENOMEM;
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return negative_errno();

        fd = openat(dfd, slash + 1, O_WRONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        if (fd < 0)
                return negative_errno();
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode))
                return -EBADF;
        if (st.st_size > 0) {
                /* Key files are small (KEY_FILE_SIZE_MAX); anything larger is not ours to wipe. */
                if (st.st_size > (off_t) KEY_FILE_SIZE_MAX)
                        return -EFBIG;
                zeros = calloc(1, (size_t) st.st_size);
                if (!zeros)
                        return -ENOMEM;
                for (size_t done = 0; done < (size_t) st.st_size;) {
                        ssize_t k = pwrite(fd, zeros + done, (size_t) st.st_size - done, (off_t) done);

                        if (k < 0) {
                                if (errno == EINTR)
                                        continue;
                                return negative_errno();
                        }
                        done += (size_t) k;
                }
                if (fsync(fd) < 0)
                        return negative_errno();
        }
        fd = safe_close(fd);

        if (unlinkat(dfd, slash + 1, 0) < 0)
                return negative_errno();
        if (fsync(dfd) < 0)
                return negative_errno();
        return 0;
}

CaKeyStore *ca_keystore_free(CaKeyStore *s) {
        if (s)
                s->ops->free(s);
        return NULL;
}

/* ---- file store ---- */

typedef struct FileStore {
        CaKeyStore base;
        char *dir;
        char *passphrase; /* secure_malloc()ed, NUL-terminated */
        size_t passphrase_size;
} FileStore;

static int file_store_path(FileStore *f, const char *id, char **ret) {
        if (asprintf(ret, "%s/%s.pem", f->dir, id) < 0)
                return -ENOMEM;
        return 0;
}

static int file_store_exists(CaKeyStore *s, const char *id) {
        FileStore *f = (FileStore *) s;
        _cleanup_free_ char *path = NULL;
        int r;

        r = file_store_path(f, id, &path);
        if (r < 0)
                return r;
        if (faccessat(AT_FDCWD, path, F_OK, AT_SYMLINK_NOFOLLOW) >= 0)
                return 1;
        if (errno == ENOENT)
                return 0;
        return negative_errno();
}

DEFINE_TRIVIAL_CLEANUP_FUNC(PKCS8_PRIV_KEY_INFO *, PKCS8_PRIV_KEY_INFO_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(X509_SIG *, X509_SIG_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(X509_ALGOR *, X509_ALGOR_free);

static int file_store_write(FileStore *f, const char *path, EVP_PKEY *pkey) {
        _cleanup_(PKCS8_PRIV_KEY_INFO_freep) PKCS8_PRIV_KEY_INFO *p8inf = NULL;
        _cleanup_(X509_ALGOR_freep) X509_ALGOR *pbe = NULL;
        _cleanup_(X509_SIG_freep) X509_SIG *p8 = NULL;
        _cleanup_(BIO_free_allp) BIO *bio = NULL;
        const char *data;
        long size;

        p8inf = EVP_PKEY2PKCS8(pkey);
        if (!p8inf)
                return openssl_errno();
        pbe = PKCS5_pbe2_set_scrypt(EVP_aes_256_cbc(), NULL, 0, NULL, FILE_STORE_SCRYPT_N,
                                    FILE_STORE_SCRYPT_R, FILE_STORE_SCRYPT_P);
        if (!pbe)
                return openssl_errno();
        p8 = PKCS8_set0_pbe(f->passphrase, (int) f->passphrase_size, p8inf, pbe);
        if (!p8)
                return openssl_errno();
        TAKE_PTR(pbe); /* owned by p8 now */

        bio = BIO_new(BIO_s_mem());
        if (!bio)
                return -ENOMEM;
        if (PEM_write_bio_PKCS8(bio, p8) != 1)
                return openssl_errno();
        size = BIO_get_mem_data(bio, &data);
        if (size <= 0)
                return -EIO;
        return write_file_atomic(path, data, (size_t) size, 0600);
}

static int file_store_generate(CaKeyStore *s, const char *id, CaKeyType type, EVP_PKEY **ret) {
        FileStore *f = (FileStore *) s;
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *pkey = NULL;
        _cleanup_free_ char *path = NULL;
        int r;

        r = file_store_exists(s, id);
        if (r < 0)
                return r;
        if (r > 0)
                return log_debug_errno(EEXIST, "Key '%s' exists already, refusing to replace it.", id);

        r = ca_key_generate_software(type, &pkey);
        if (r < 0)
                return r;
        r = file_store_path(f, id, &path);
        if (r < 0)
                return r;
        r = file_store_write(f, path, pkey);
        if (r < 0)
                return log_debug_errno(r, "Failed to write key '%s': %m", path);

        *ret = TAKE_PTR(pkey);
        return 0;
}

static int file_store_load(CaKeyStore *s, const char *id, EVP_PKEY **ret) {
        FileStore *f = (FileStore *) s;
        _cleanup_(PKCS8_PRIV_KEY_INFO_freep) PKCS8_PRIV_KEY_INFO *p8inf = NULL;
        _cleanup_(X509_SIG_freep) X509_SIG *p8 = NULL;
        _cleanup_(BIO_free_allp) BIO *bio = NULL;
        _cleanup_free_ char *path = NULL, *data = NULL;
        EVP_PKEY *pkey;
        size_t size;
        int r;

        r = file_store_path(f, id, &path);
        if (r < 0)
                return r;

        r = ca_key_file_read(path, KEY_FILE_SIZE_MAX, &data, &size);
        if (r < 0)
                return r;
        bio = BIO_new_mem_buf(data, (int) size);
        if (!bio)
                return -ENOMEM;
        /* Only "ENCRYPTED PRIVATE KEY": a key in the clear is refused, not used. */
        p8 = PEM_read_bio_PKCS8(bio, NULL, NULL, NULL);
        if (!p8) {
                (void) openssl_errno();
                return log_debug_errno(EBADMSG, "Key '%s' is not an encrypted PKCS#8 key.", path);
        }
        p8inf = PKCS8_decrypt(p8, f->passphrase, (int) f->passphrase_size);
        if (!p8inf) {
                (void) openssl_errno();
                return log_debug_errno(EACCES, "Cannot decrypt key '%s' (wrong passphrase?).", path);
        }
        pkey = EVP_PKCS82PKEY(p8inf);
        if (!pkey)
                return openssl_errno();

        *ret = pkey;
        return 0;
}

static int file_store_remove(CaKeyStore *s, const char *id) {
        _cleanup_free_ char *path = NULL;
        int r;

        r = file_store_path((FileStore *) s, id, &path);
        if (r < 0)
                return r;
        r = ca_key_file_erase(path);
        if (r < 0)
                return log_debug_errno(r, "Failed to remove key '%s': %m", path);
        return 0;
}

static void file_store_free(CaKeyStore *s) {
        FileStore *f = (FileStore *) s;

        secure_free(f->passphrase);
        free(f->dir);
        free(f);
}

static const CaKeyStoreOps file_store_ops = {
        .name = "file",
        .generate = file_store_generate,
        .load = file_store_load,
        .exists = file_store_exists,
        .remove = file_store_remove,
        .free = file_store_free,
};

int ca_keystore_file_new(const char *dir, const void *passphrase, size_t passphrase_size, CaKeyStore **ret) {
        _cleanup_(ca_keystore_freep) CaKeyStore *s = NULL;
        FileStore *f;
        int r;

        assert(dir);
        assert(ret);

        if (!passphrase || passphrase_size < CA_PASSPHRASE_MIN || passphrase_size > CA_PASSPHRASE_MAX ||
            memchr(passphrase, 0, passphrase_size))
                return -EINVAL;

        r = mkdir_p_secure(dir, 0700);
        if (r < 0)
                return log_debug_errno(r, "Key directory '%s' is not usable: %m", dir);

        f = calloc(1, sizeof(FileStore));
        if (!f)
                return -ENOMEM;
        f->base.ops = &file_store_ops;
        s = &f->base;

        f->dir = strdup(dir);
        if (!f->dir)
                return -ENOMEM;
        f->passphrase = secure_malloc(passphrase_size + 1);
        if (!f->passphrase)
                return -ENOMEM;
        memcpy(f->passphrase, passphrase, passphrase_size);
        f->passphrase_size = passphrase_size;

        *ret = TAKE_PTR(s);
        return 0;
}
