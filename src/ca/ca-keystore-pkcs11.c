/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The PKCS#11 key store: key pairs generated on a token (smart card, HSM, softhsm2) and used there.
 *
 * libp11 loads the module, finds the token, logs in and turns a token key into an EVP_PKEY whose
 * RSA_METHOD / EC_KEY_METHOD sends every signature to the token (C_Sign): OpenSSL 3 treats such a
 * key as a "foreign" legacy key, so EVP_DigestSign(), X509_sign_ctx(), X509_CRL_sign_ctx(),
 * OCSP_basic_sign_ctx() and CMS work with it unchanged. libp11 is used directly, not through its
 * ENGINE, so that nothing is configured process-wide (no openssl.cnf, no ENGINE_by_id()).
 *
 * libp11 0.4.12 generates RSA keys only, with attributes it chooses, so key pairs are generated
 * here with C_GenerateKeyPair() through the module's own function list (the module is already
 * loaded and initialised by libp11; a session of ours on the same slot shares its login): private
 * key CKA_TOKEN, CKA_PRIVATE, CKA_SENSITIVE, not CKA_EXTRACTABLE, CKA_SIGN only.
 *
 * A key is the token's private key object whose CKA_LABEL is the store id; its CKA_ID is the id's
 * bytes, and the public key object beside it carries the same label and id. Other objects on the
 * token are left alone. */

#include <dlfcn.h>
#include <libp11.h>
#include <openssl/err.h>
#include <p11-kit/pkcs11.h>
#include <pthread.h>
#include <sys/stat.h>

#include "basic/fileio.h"
#include "basic/log.h"
#include "basic/secure-mem.h"
#include "basic/string-util.h"
#include "ca/ca-keystore.h"
#include "shared/openssl-util.h"

typedef struct Pkcs11Store {
        CaKeyStore base;
        PKCS11_CTX *ctx;
        PKCS11_SLOT *slots;
        unsigned n_slots;
        PKCS11_SLOT *slot; /* ours, among slots */
        void *module;      /* our dlopen() reference, for the function list */
        CK_FUNCTION_LIST_PTR functions;
        char *pin; /* secure_malloc()ed, NUL-terminated; NULL if the token needs no login */
        bool claimed;
        bool functions_initialized; /* functions is an instance of its own that we C_Initialize()d */
} Pkcs11Store;

/* Whether a PKCS#11 store is open in this process. A module is initialised once per process, and
 * libp11's unload calls C_Finalize(), which would end the sessions of any other user of the module;
 * the same module can also be reached directly and through the p11-kit proxy, so there is one store
 * per process, whatever its module. */
static pthread_mutex_t store_open_lock = PTHREAD_MUTEX_INITIALIZER;
static bool store_open;

/* Maps the CK_RV that libp11 left on OpenSSL's error queue (as the reason code) to an errno. */
static int p11_errno(int fallback) {
        unsigned long e = ERR_peek_last_error();
        CK_RV rv = e != 0 && ERR_GET_LIB(e) == ERR_get_CKR_code() ? (CK_RV) ERR_GET_REASON(e) : CKR_OK;

        (void) openssl_errno(); /* logs and drains the queue */
        switch (rv) {
        case CKR_PIN_INCORRECT:
        case CKR_PIN_INVALID:
        case CKR_PIN_LEN_RANGE:
                return -EACCES;
        case CKR_PIN_LOCKED:
        case CKR_PIN_EXPIRED:
                return -EPERM;
        case CKR_HOST_MEMORY:
                return -ENOMEM;
        case CKR_TOKEN_NOT_PRESENT:
        case CKR_DEVICE_REMOVED:
                return -ENXIO;
        case CKR_TOKEN_WRITE_PROTECTED:
                return -EROFS;
        default:
                return fallback;
        }
}

static int rv_to_errno(CK_RV rv) {
        switch (rv) {
        case CKR_OK:
                return 0;
        case CKR_HOST_MEMORY:
        case CKR_DEVICE_MEMORY:
                return -ENOMEM;
        case CKR_MECHANISM_INVALID:
        case CKR_DOMAIN_PARAMS_INVALID:
        case CKR_KEY_SIZE_RANGE:
        case CKR_TEMPLATE_INCONSISTENT:
                return -EOPNOTSUPP;
        case CKR_TOKEN_WRITE_PROTECTED:
        case CKR_SESSION_READ_ONLY:
                return -EROFS;
        case CKR_USER_NOT_LOGGED_IN:
                return -EACCES;
        case CKR_TOKEN_NOT_PRESENT:
        case CKR_DEVICE_REMOVED:
                return -ENXIO;
        default:
                return -EIO;
        }
}

/* How many key objects of class (CKO_PRIVATE_KEY, CKO_PUBLIC_KEY) labelled id the token has now, asked
 * in a session of ours: libp11 0.4.12 adds what it finds to a cache and never drops an object destroyed
 * since, so its enumeration says which keys there were, not which there are. */
static int count_objects(Pkcs11Store *p, const char *id, CK_OBJECT_CLASS class) {
        CK_ATTRIBUTE find[] = {
                { CKA_CLASS, &class, sizeof(class) },
                { CKA_LABEL, (void *) id, strlen(id) },
        };
        CK_OBJECT_HANDLE objects[8];
        CK_SESSION_HANDLE session;
        CK_ULONG n = 0;
        CK_RV rv;

        rv = p->functions->C_OpenSession(PKCS11_get_slotid_from_slot(p->slot), CKF_SERIAL_SESSION, NULL,
                                         NULL, &session);
        if (rv != CKR_OK)
                return log_debug_errno(rv_to_errno(rv), "Cannot open a session on token '%s' (CK_RV 0x%lx).",
                                       p->slot->token->label, (unsigned long) rv);
        rv = p->functions->C_FindObjectsInit(session, find, ELEMENTSOF(find));
        if (rv == CKR_OK) {
                rv = p->functions->C_FindObjects(session, objects, ELEMENTSOF(objects), &n);
                (void) p->functions->C_FindObjectsFinal(session);
        }
        (void) p->functions->C_CloseSession(session);
        if (rv != CKR_OK)
                return log_debug_errno(rv_to_errno(rv), "Cannot search token '%s' (CK_RV 0x%lx).",
                                       p->slot->token->label, (unsigned long) rv);
        return (int) n;
}

/* libp11's private key labelled id: the one it found last (a key made again after a removal is
 * appended behind the removed one's stale entry). NULL if none. */
static int find_private_key(Pkcs11Store *p, const char *id, PKCS11_KEY **ret) {
        PKCS11_KEY *keys = NULL;
        unsigned n = 0;

        if (PKCS11_enumerate_keys(p->slot->token, &keys, &n) < 0)
                return p11_errno(-EIO);
        *ret = NULL;
        for (unsigned i = n; i > 0; i--)
                if (streq_ptr(keys[i - 1].label, id)) {
                        *ret = &keys[i - 1];
                        break;
                }
        return 0;
}

/* Logs in again if the token forgot us (removed and put back, or logged out by another user). */
static int ensure_login(Pkcs11Store *p) {
        int logged_in = 0;

        if (!p->pin)
                return 0;
        if (PKCS11_is_logged_in(p->slot, 0, &logged_in) == 0 && logged_in)
                return 0;
        if (PKCS11_login(p->slot, 0, p->pin) < 0)
                return log_debug_errno(p11_errno(-EIO), "Login to token '%s' failed: %m",
                                       p->slot->token->label);
        return 0;
}

static int pkcs11_store_exists(CaKeyStore *s, const char *id) {
        Pkcs11Store *p = (Pkcs11Store *) s;
        int r, n_private, n_public;

        /* Logged in, or the token hides its private objects. */
        r = ensure_login(p);
        if (r < 0)
                return r;
        n_private = count_objects(p, id, CKO_PRIVATE_KEY);
        if (n_private < 0)
                return n_private;
        n_public = count_objects(p, id, CKO_PUBLIC_KEY);
        if (n_public < 0)
                return n_public;
        return n_private > 0 || n_public > 0;
}

static int pkcs11_store_load(CaKeyStore *s, const char *id, EVP_PKEY **ret) {
        Pkcs11Store *p = (Pkcs11Store *) s;
        PKCS11_KEY *key = NULL;
        EVP_PKEY *pkey;
        int r, n;

        r = ensure_login(p);
        if (r < 0)
                return r;
        n = count_objects(p, id, CKO_PRIVATE_KEY);
        if (n < 0)
                return n;
        if (n == 0)
                return log_debug_errno(ENOENT, "Token '%s' has no private key labelled '%s'.",
                                       p->slot->token->label, id);
        if (n > 1)
                return log_debug_errno(ENOTUNIQ, "Token '%s' has %d private keys labelled '%s', refusing.",
                                       p->slot->token->label, n, id);
        r = find_private_key(p, id, &key);
        if (r < 0)
                return r;
        if (!key)
                return log_debug_errno(EIO, "libp11 does not see the private key '%s' of token '%s'.", id,
                                       p->slot->token->label);
        /* Only a key of ours: the label and the id we give. */
        if (key->id_len != strlen(id) || memcmp(key->id, id, key->id_len) != 0)
                return log_debug_errno(EBADMSG, "Key '%s' on token '%s' has another CKA_ID, not ours.", id,
                                       p->slot->token->label);

        pkey = PKCS11_get_private_key(key);
        if (!pkey)
                return log_debug_errno(p11_errno(-EIO), "Cannot use key '%s' of token '%s': %m", id,
                                       p->slot->token->label);
        if (ca_key_type_of(pkey) < 0) {
                EVP_PKEY_free(pkey);
                return log_debug_errno(EOPNOTSUPP, "Key '%s' of token '%s' is of a type the CA does not use.",
                                       id, p->slot->token->label);
        }
        *ret = pkey;
        return 0;
}

/* DER of the curves' OIDs, for CKA_EC_PARAMS. */
static const uint8_t oid_p256[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
static const uint8_t oid_p384[] = { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22 };

/* Whether the token can generate a key of bits with mechanism. */
static int check_mechanism(Pkcs11Store *p, CK_MECHANISM_TYPE mechanism, CK_ULONG bits, CaKeyType type) {
        CK_MECHANISM_INFO info = {};
        CK_RV rv;

        rv = p->functions->C_GetMechanismInfo(PKCS11_get_slotid_from_slot(p->slot), mechanism, &info);
        if (rv == CKR_MECHANISM_INVALID ||
            (rv == CKR_OK &&
             (!(info.flags & CKF_GENERATE_KEY_PAIR) || bits < info.ulMinKeySize || bits > info.ulMaxKeySize)))
                return log_debug_errno(EOPNOTSUPP, "Token '%s' cannot generate %s keys.",
                                       p->slot->token->label, ca_key_type_to_string(type));
        if (rv != CKR_OK)
                return rv_to_errno(rv);
        return 0;
}

static int generate_pair(Pkcs11Store *p, const char *id, CaKeyType type) {
        CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
        CK_ULONG bits = 0, id_len = strlen(id);
        CK_BYTE exponent[] = { 0x01, 0x00, 0x01 };
        CK_MECHANISM mechanism = {};
        CK_ATTRIBUTE public[6],
                private[] = {
                        { CKA_TOKEN, &yes, sizeof(yes) },     { CKA_PRIVATE, &yes, sizeof(yes) },
                        { CKA_SENSITIVE, &yes, sizeof(yes) }, { CKA_EXTRACTABLE, &no, sizeof(no) },
                        { CKA_SIGN, &yes, sizeof(yes) },      { CKA_DECRYPT, &no, sizeof(no) },
                        { CKA_LABEL, (void *) id, id_len },   { CKA_ID, (void *) id, id_len },
                };
        CK_OBJECT_HANDLE public_handle, private_handle;
        CK_SESSION_HANDLE session;
        CK_ULONG n_public = 0;
        CK_RV rv;
        int r;

        public[n_public++] = (CK_ATTRIBUTE){ CKA_TOKEN, &yes, sizeof(yes) };
        public[n_public++] = (CK_ATTRIBUTE){ CKA_VERIFY, &yes, sizeof(yes) };
        public[n_public++] = (CK_ATTRIBUTE){ CKA_LABEL, (void *) id, id_len };
        public[n_public++] = (CK_ATTRIBUTE){ CKA_ID, (void *) id, id_len };
        switch (type) {
        case CA_KEY_ECDSA_P256:
        case CA_KEY_ECDSA_P384:
                bits = type == CA_KEY_ECDSA_P256 ? 256 : 384;
                mechanism.mechanism = CKM_EC_KEY_PAIR_GEN;
                public[n_public++] = type == CA_KEY_ECDSA_P256
                        ? (CK_ATTRIBUTE){ CKA_EC_PARAMS, (void *) oid_p256, sizeof(oid_p256) }
                        : (CK_ATTRIBUTE){ CKA_EC_PARAMS, (void *) oid_p384, sizeof(oid_p384) };
                break;
        case CA_KEY_RSA_2048:
        case CA_KEY_RSA_3072:
        case CA_KEY_RSA_4096:
                bits = type == CA_KEY_RSA_2048 ? 2048 : type == CA_KEY_RSA_3072 ? 3072 : 4096;
                mechanism.mechanism = CKM_RSA_PKCS_KEY_PAIR_GEN;
                public[n_public++] = (CK_ATTRIBUTE){ CKA_MODULUS_BITS, &bits, sizeof(bits) };
                public[n_public++] = (CK_ATTRIBUTE){ CKA_PUBLIC_EXPONENT, exponent, sizeof(exponent) };
                break;
        default:
                /* libp11 0.4.12 cannot sign with EdDSA keys, whatever the token can do. */
                return log_debug_errno(EOPNOTSUPP, "The PKCS#11 store cannot hold %s keys.",
                                       ca_key_type_to_string(type));
        }

        r = check_mechanism(p, mechanism.mechanism, bits, type);
        if (r < 0)
                return r;

        rv = p->functions->C_OpenSession(PKCS11_get_slotid_from_slot(p->slot),
                                         CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &session);
        if (rv != CKR_OK)
                return log_debug_errno(rv_to_errno(rv), "Cannot open a session on token '%s' (CK_RV 0x%lx).",
                                       p->slot->token->label, (unsigned long) rv);
        rv = p->functions->C_GenerateKeyPair(session, &mechanism, public, n_public, private,
                                             ELEMENTSOF(private), &public_handle, &private_handle);
        (void) p->functions->C_CloseSession(session);
        if (rv != CKR_OK)
                return log_debug_errno(rv_to_errno(rv), "Token '%s' did not generate a %s key (CK_RV 0x%lx).",
                                       p->slot->token->label, ca_key_type_to_string(type), (unsigned long) rv);
        return 0;
}

static int pkcs11_store_generate(CaKeyStore *s, const char *id, CaKeyType type, EVP_PKEY **ret) {
        Pkcs11Store *p = (Pkcs11Store *) s;
        int r;

        r = pkcs11_store_exists(s, id);
        if (r < 0)
                return r;
        if (r > 0)
                return log_debug_errno(EEXIST,
                                       "Key '%s' exists already on token '%s', refusing to replace it.", id,
                                       p->slot->token->label);
        r = generate_pair(p, id, type);
        if (r < 0)
                return r;
        return pkcs11_store_load(s, id, ret);
}

/* Destroys the private and the public key object labelled id with our CKA_ID, in a read-write session of
 * ours (libp11's are read-only, and libp11 0.4.12 keeps a removed key in its cache anyway: see
 * count_objects()). Objects of others, whatever their label, are left alone. */
static int pkcs11_store_remove(CaKeyStore *s, const char *id) {
        Pkcs11Store *p = (Pkcs11Store *) s;
        CK_ULONG id_len = strlen(id), n_found = 0;
        CK_ATTRIBUTE find[] = {
                { CKA_LABEL, (void *) id, id_len },
                { CKA_ID, (void *) id, id_len },
        };
        CK_OBJECT_HANDLE objects[8];
        CK_SESSION_HANDLE session;
        CK_RV rv;
        int r;

        r = ensure_login(p);
        if (r < 0)
                return r;

        rv = p->functions->C_OpenSession(PKCS11_get_slotid_from_slot(p->slot),
                                         CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &session);
        if (rv != CKR_OK)
                return log_debug_errno(rv_to_errno(rv), "Cannot open a session on token '%s' (CK_RV 0x%lx).",
                                       p->slot->token->label, (unsigned long) rv);

        /* A key is a pair, perhaps with a half left over from a generation that failed. Found objects are
         * destroyed after the search ended (a search may not run beside changes to what it finds). */
        rv = p->functions->C_FindObjectsInit(session, find, ELEMENTSOF(find));
        if (rv == CKR_OK) {
                rv = p->functions->C_FindObjects(session, objects, ELEMENTSOF(objects), &n_found);
                (void) p->functions->C_FindObjectsFinal(session);
        }
        for (CK_ULONG i = 0; rv == CKR_OK && i < n_found; i++)
                rv = p->functions->C_DestroyObject(session, objects[i]);
        (void) p->functions->C_CloseSession(session);
        if (rv != CKR_OK)
                return log_debug_errno(rv_to_errno(rv), "Token '%s' did not destroy key '%s' (CK_RV 0x%lx).",
                                       p->slot->token->label, id, (unsigned long) rv);
        if (n_found == 0)
                return log_debug_errno(ENOENT, "Token '%s' has no key '%s' of ours.", p->slot->token->label,
                                       id);
        return 0;
}

static void pkcs11_store_free(CaKeyStore *s) {
        Pkcs11Store *p = (Pkcs11Store *) s;

        if (p->functions_initialized)
                (void) p->functions->C_Finalize(NULL);
        if (p->module)
                (void) dlclose(p->module);
        if (p->slots)
                PKCS11_release_all_slots(p->ctx, p->slots, p->n_slots);
        if (p->ctx) {
                PKCS11_CTX_unload(p->ctx);
                PKCS11_CTX_free(p->ctx);
        }
        secure_free(p->pin);
        if (p->claimed) {
                pthread_mutex_lock(&store_open_lock);
                store_open = false;
                pthread_mutex_unlock(&store_open_lock);
        }
        free(p);
}

static const CaKeyStoreOps pkcs11_store_ops = {
        .name = "pkcs11",
        .generate = pkcs11_store_generate,
        .load = pkcs11_store_load,
        .exists = pkcs11_store_exists,
        .remove = pkcs11_store_remove,
        .free = pkcs11_store_free,
};

/* Registers p as this process's PKCS#11 store; -EBUSY if there is one. */
static int claim_process(Pkcs11Store *p) {
        int r = 0;

        pthread_mutex_lock(&store_open_lock);
        if (store_open)
                r = -EBUSY;
        else
                store_open = p->claimed = true;
        pthread_mutex_unlock(&store_open_lock);
        return r;
}

static int find_token(Pkcs11Store *p, const char *token_label) {
        unsigned n = 0;

        for (unsigned i = 0; i < p->n_slots; i++) {
                PKCS11_TOKEN *t = p->slots[i].token;

                if (!t || !t->initialized || !streq_ptr(t->label, token_label))
                        continue;
                if (n++ == 0)
                        p->slot = &p->slots[i];
        }
        if (n == 0)
                return log_debug_errno(ENXIO, "No initialised token labelled '%s'.", token_label);
        if (n > 1)
                return log_debug_errno(ENOTUNIQ, "%u tokens are labelled '%s', refusing to guess.", n,
                                       token_label);
        return 0;
}

int ca_keystore_pkcs11_new(const char *module_path, const char *token_label, const char *pin,
                           CaKeyStore **ret) {
        _cleanup_(ca_keystore_freep) CaKeyStore *s = NULL;
        CK_C_GetFunctionList get_function_list;
        Pkcs11Store *p;
        struct stat st;
        size_t pin_size = 0;
        CK_RV rv;
        int r;

        assert(ret);

        if (!module_path)
                module_path = CA_PKCS11_DEFAULT_MODULE;
        if (module_path[0] != '/' || isempty(token_label) || strlen(token_label) > 32)
                return -EINVAL;
        if (pin) {
                pin_size = strnlen(pin, CA_PKCS11_PIN_MAX + 1);
                if (pin_size == 0 || pin_size > CA_PKCS11_PIN_MAX)
                        return -EINVAL;
        }

        if (stat(module_path, &st) < 0)
                return log_debug_errno(errno, "PKCS#11 module '%s' is not there: %m", module_path);
        if (!S_ISREG(st.st_mode))
                return log_debug_errno(ENOPKG, "PKCS#11 module '%s' is not a regular file.", module_path);

        p = calloc(1, sizeof(Pkcs11Store));
        if (!p)
                return -ENOMEM;
        p->base.ops = &pkcs11_store_ops;
        s = &p->base;
        r = claim_process(p);
        if (r < 0)
                return log_debug_errno(r, "Another PKCS#11 key store is open in this process.");

        if (pin) {
                p->pin = secure_malloc(pin_size + 1);
                if (!p->pin)
                        return -ENOMEM;
                memcpy(p->pin, pin, pin_size);
        }

        p->ctx = PKCS11_CTX_new();
        if (!p->ctx)
                return -ENOMEM;
        if (PKCS11_CTX_load(p->ctx, module_path) < 0) {
                (void) openssl_errno();
                PKCS11_CTX_free(TAKE_PTR(p->ctx));
                return log_debug_errno(ENOPKG, "'%s' could not be loaded as a PKCS#11 module.", module_path);
        }
        /* Our reference to the module libp11 loaded, for the calls libp11 does not offer. */
        p->module = dlopen(module_path, RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
        get_function_list = p->module ? (CK_C_GetFunctionList) dlsym(p->module, "C_GetFunctionList") : NULL;
        if (!get_function_list || get_function_list(&p->functions) != CKR_OK || !p->functions)
                return log_debug_errno(ENOPKG, "'%s' has no PKCS#11 function list.", module_path);
        /* A module's function list is libp11's, initialised already; p11-kit's proxy hands every caller an
         * instance of its own, to be initialised (it reaches the same tokens, logins and objects). */
        rv = p->functions->C_Initialize(NULL);
        if (rv == CKR_OK)
                p->functions_initialized = true;
        else if (rv != CKR_CRYPTOKI_ALREADY_INITIALIZED)
                return log_debug_errno(ENOPKG, "'%s' could not be initialised a second time (CK_RV 0x%lx).",
                                       module_path, (unsigned long) rv);

        if (PKCS11_enumerate_slots(p->ctx, &p->slots, &p->n_slots) < 0) {
                p->slots = NULL;
                return log_debug_errno(p11_errno(-EIO), "Cannot list the slots of '%s': %m", module_path);
        }
        r = find_token(p, token_label);
        if (r < 0)
                return r;

        if (p->slot->token->loginRequired) {
                if (!p->pin)
                        return log_debug_errno(EACCES, "Token '%s' needs a PIN, none given.", token_label);
                /* Once: a wrong PIN is an error, never retried (the token counts the tries). */
                if (PKCS11_login(p->slot, 0, p->pin) < 0)
                        return log_debug_errno(p11_errno(-EIO), "Login to token '%s' failed: %m", token_label);
        } else
                p->pin = secure_free(p->pin);

        *ret = TAKE_PTR(s);
        return 0;
}

int ca_pkcs11_pin_read(const char *path, char **ret) {
        _cleanup_(erase_and_freep) char *data = NULL;
        size_t size;
        int r;

        assert(path);
        assert(ret);

        /* The PIN and a line end, one byte more to tell "too long" from "at the limit". */
        r = ca_key_file_read(path, CA_PKCS11_PIN_MAX + 3, &data, &size);
        if (r == -E2BIG)
                return log_debug_errno(r, "PIN file '%s' is longer than a PIN.", path);
        if (r < 0)
                return r;
        if (size > 0 && data[size - 1] == '\n')
                size--;
        if (size > 0 && data[size - 1] == '\r')
                size--;
        data[size] = 0;
        if (size == 0 || size > CA_PKCS11_PIN_MAX || memchr(data, 0, size) || memchr(data, '\n', size))
                return log_debug_errno(EINVAL, "PIN file '%s' does not hold one PIN of 1..%u bytes.", path,
                                       CA_PKCS11_PIN_MAX);
        *ret = TAKE_PTR(data);
        return 0;
}
