/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Where the daemon's CA keeps its keys and how it gets to them (ca-keys.c): the [CA] configuration of
 * the hierarchy and of the key store, the opening of the CA (synchronous at start, asynchronous through
 * the TPM worker when the file store's passphrase has to be sealed or unsealed), and the pool of TPM
 * random bytes that serial numbers are drawn from. */

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-bus.h>

#include "daemon/manager.h"

typedef struct CaConfig CaConfig;
typedef struct Config Config;
typedef struct Tpm2Context Tpm2Context;

/* Which CaKeyStore holds the CA's keys. Adding a store is one row here and one case in
 * ca_keys_open_store() (and its key types in ca_key_store_supports()). */
typedef enum CaKeyStoreKind {
        CA_KEY_STORE_TPM,    /* tpm2-openssl provider, TSS2 PRIVATE KEY files in <ca_dir>/tpm-keys */
        CA_KEY_STORE_FILE,   /* encrypted PKCS#8 in <ca_dir>/keys, passphrase sealed in the TPM */
        CA_KEY_STORE_PKCS11, /* a PKCS#11 token ([CA] PKCS11Module=, PKCS11Token=, PKCS11PINFile=) */
        _CA_KEY_STORE_KIND_MAX,
        _CA_KEY_STORE_KIND_INVALID = -EINVAL,
} CaKeyStoreKind;

const char *ca_key_store_kind_to_string(CaKeyStoreKind k) _const_;
CaKeyStoreKind ca_key_store_kind_from_string(const char *s) _pure_;

/* Whether a store of that kind can hold a key of type (a CaKeyType). */
bool ca_key_store_supports(CaKeyStoreKind k, int key_type) _const_;

/* The TCTI the tpm2 provider can use beside the daemon, derived from the daemon's own: a resource
 * manager ("tabrmd", "tabrmd:...", "device:/dev/tpmrm<N>") is shared as it is; -EOPNOTSUPP for a TCTI
 * that serves one client (swtpm:, mssim:, device:/dev/tpm<N>, anything else). */
int ca_tcti_shared(const char *daemon_tcti, char **ret);

/* Reads and checks every [CA] setting of the hierarchy and the key store: RootSubject=,
 * IntermediateSubject=, KeyType=, KeyStore=, TCTI=, PassphraseFile=, PKCS11Module=, PKCS11Token=,
 * PKCS11PINFile=, RootValidityDays=,
 * IntermediateValidityDays=, PathLength=, PermittedDNS=, ExcludedDNS=. A malformed value is logged and
 * returned (the daemon refuses to start). A TPM store without a usable TCTI is not an error here: it is
 * logged, and the CA methods answer Error.CAKeyStoreUnavailable. */
int manager_load_ca_config(Manager *m, Config *config);

/* The library's configuration from m (borrows m's strings). */
int manager_ca_config(Manager *m, CaConfig *ret);

/* Opens m->ca at start, before the TPM worker exists: tpm is the daemon's own connection (NULL: no
 * TPM), used directly to unseal the file store's passphrase or to seal one left in the clear by an
 * older version. Returns -ENOMEDIUM when no CA exists. */
int manager_open_ca_at_start(Manager *m, Tpm2Context *tpm);

/* Opens m->ca from a CA method. Returns 1 (created, only with create), 0 (open), -EINPROGRESS when the
 * open runs asynchronously on the TPM worker: message is then kept and dispatched again when it
 * finished, and the handler returns 1 at once. On that second dispatch this returns the result of the
 * asynchronous open. message may be NULL (no waiting: -EBUSY instead of -EINPROGRESS). */
int manager_open_ca_for(Manager *m, bool create, sd_bus_message *message);

/* The D-Bus error for a failure to open the CA because of its key store (-EUNATCH: TPM store without a
 * TCTI of its own; -ENODEV: no TPM for the store or the passphrase), or 0 when r is another error. */
int ca_keys_bus_error(Manager *m, int r, sd_bus_error *error);

/* Fills the serials' random pool once the TPM worker runs (after a CA opened at start). */
void manager_ca_random_refill(Manager *m);

/* Forgets pending opens and the random pool (manager_free()). */
void manager_ca_keys_done(Manager *m);
