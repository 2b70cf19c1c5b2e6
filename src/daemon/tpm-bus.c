/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* D-Bus glue for org.trustedplatform.TrustedPlatform1.TPM. Each handler reads its arguments, validates
 * them (InvalidArgs quoting the bad value), asks polkit where the method changes anything, and then hands
 * a TpmCall to the TPM worker thread. When the TPM has answered, tpm_call_done() replies on the event
 * loop. */

#include <inttypes.h>
#include <stdio.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_tpm2_types.h>
#include <unistd.h>

#include "basic/log.h"
#include "basic/secure-mem.h"
#include "daemon/manager-bus.h"
#include "daemon/tpm-bus.h"
#include "daemon/tpm-call.h"
#include "daemon/tpm-worker.h"
#include "shared/bus-error.h"
#include "daemon/security-attributes.h"
#include "shared/bus-polkit.h"
#include "tpm2/tpm2-ak.h"
#include "tpm2/tpm2-context.h"
#include "tpm2/tpm2-info.h"
#include "tpm2/tpm2-pcr.h"
#include "tpm2/tpm2-policy.h"
#include "tpm2/tpm2-quote.h"
#include "tpm2/tpm2-random.h"
#include "tpm2/tpm2-seal.h"
#include "tpm2/tpm2-session.h"
#include "tpm2/tpm2-srk.h"
#include "tpm2/tpm2-util.h"

/* ---- GetInfo -------------------------------------------------------------------------------------- */

static int get_info_run(Tpm2Context *tpm, TpmCall *c) {
        return tpm2_get_info(tpm, &c->info);
}

static int append_strv_entry(sd_bus_message *reply, const char *key, char **l) {
        int r;

        r = sd_bus_message_open_container(reply, 'e', "sv");
        if (r < 0)
                return r;
        r = sd_bus_message_append(reply, "s", key);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'v', "as");
        if (r < 0)
                return r;
        r = sd_bus_message_append_strv(reply, l);
        if (r < 0)
                return r;
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_message_close_container(reply);
}

static int get_info_append(TpmCall *c, sd_bus_message *reply) {
        const Tpm2Info *info = c->info;
        int r;

        r = sd_bus_message_open_container(reply, 'a', "{sv}");
        if (r < 0)
                return r;

        r = sd_bus_message_append(reply, "{sv}{sv}{sv}{sv}{sv}{sv}{sv}{sv}{sv}{sv}{sv}{sv}{sv}",
                                  "Manufacturer", "s", strempty(info->manufacturer),
                                  "VendorString", "s", strempty(info->vendor_string),
                                  "FirmwareVersion", "s", strempty(info->firmware_version),
                                  "SpecLevel", "u", info->spec_level,
                                  "SpecRevision", "u", info->spec_revision,
                                  "SpecYear", "u", info->spec_year,
                                  "SpecDayOfYear", "u", info->spec_day_of_year,
                                  "PCRCount", "u", info->pcr_count,
                                  "InLockout", "b", info->in_lockout,
                                  "LockoutCounter", "u", info->lockout_counter,
                                  "MaxAuthFail", "u", info->max_auth_fail,
                                  "LockoutInterval", "u", info->lockout_interval,
                                  "LockoutRecovery", "u", info->lockout_recovery);
        if (r < 0)
                return r;

        r = append_strv_entry(reply, "Algorithms", info->algorithms);
        if (r < 0)
                return r;

        r = append_strv_entry(reply, "PCRBanks", info->pcr_banks);
        if (r < 0)
                return r;

        return sd_bus_message_close_container(reply);
}

static int method_get_info(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        TpmCall *c;
        int r;

        r = tpm_call_new(m, message, "read the TPM's capabilities", &c);
        if (r < 0)
                return r;

        c->run = get_info_run;
        c->append = get_info_append;
        return tpm_call_submit(c);
}

/* ---- GetRandom ------------------------------------------------------------------------------------ */

static int get_random_run(Tpm2Context *tpm, TpmCall *c) {
        c->random = malloc(c->size);
        if (!c->random)
                return -ENOMEM;
        return tpm2_get_random(tpm, c->random, c->size);
}

static int get_random_append(TpmCall *c, sd_bus_message *reply) {
        return sd_bus_message_append_array(reply, 'y', c->random, c->size);
}

static int method_get_random(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        uint32_t n;
        TpmCall *c;
        int r;

        r = sd_bus_message_read(message, "u", &n);
        if (r < 0)
                return r;

        if (n < 1 || n > TPM2_RANDOM_MAX)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Requested %" PRIu32 " random bytes; the number must be between 1 and %u.",
                                         n, TPM2_RANDOM_MAX);

        r = tpm_call_new(m, message, "get random bytes from the TPM", &c);
        if (r < 0)
                return r;

        c->size = n;
        c->run = get_random_run;
        c->append = get_random_append;
        return tpm_call_submit(c);
}

/* ---- ReadPCRs ------------------------------------------------------------------------------------- */

static int read_pcrs_run(Tpm2Context *tpm, TpmCall *c) {
        return tpm2_pcr_read(tpm, c->bank, c->mask, &c->values, &c->n_values);
}

static int read_pcrs_append(TpmCall *c, sd_bus_message *reply) {
        int r;

        r = sd_bus_message_open_container(reply, 'a', "(uay)");
        if (r < 0)
                return r;

        for (size_t i = 0; i < c->n_values; i++) {
                r = sd_bus_message_open_container(reply, 'r', "uay");
                if (r < 0)
                        return r;
                r = sd_bus_message_append(reply, "u", c->values[i].index);
                if (r < 0)
                        return r;
                r = sd_bus_message_append_array(reply, 'y', c->values[i].digest, c->values[i].size);
                if (r < 0)
                        return r;
                r = sd_bus_message_close_container(reply);
                if (r < 0)
                        return r;
        }

        return sd_bus_message_close_container(reply);
}

static int read_pcrs_error(TpmCall *c, int r, sd_bus_error *error) {
        if (r != -EOPNOTSUPP)
                return 0;

        sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "The PCR bank '%s' is not active on this TPM.",
                          tpm2_hash_alg_to_string(c->bank));
        return 1;
}

static int method_read_pcrs(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        const uint32_t *pcrs;
        const char *bank_name;
        size_t n_bytes;
        uint32_t mask = 0;
        TpmCall *c;
        int r, bank;

        r = sd_bus_message_read(message, "s", &bank_name);
        if (r < 0)
                return r;

        r = sd_bus_message_read_array(message, 'u', (const void **) &pcrs, &n_bytes);
        if (r < 0)
                return r;

        bank = tpm2_hash_alg_from_string(bank_name);
        if (bank < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Unknown PCR bank '%s'; expected sha1, sha256, sha384 or sha512.",
                                         bank_name);

        for (size_t i = 0; i < n_bytes / sizeof(uint32_t); i++) {
                if (pcrs[i] >= TPM2_PCRS_MAX)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "PCR index %" PRIu32 " is out of range; PCRs are 0 to %u.",
                                                 pcrs[i], TPM2_PCRS_MAX - 1);
                mask |= UINT32_C(1) << pcrs[i];
        }
        if (mask == 0)
                mask = (UINT32_C(1) << TPM2_PCRS_MAX) - 1;

        r = tpm_call_new(m, message, "read PCRs", &c);
        if (r < 0)
                return r;

        c->bank = (uint16_t) bank;
        c->mask = mask;
        c->run = read_pcrs_run;
        c->append = read_pcrs_append;
        c->error = read_pcrs_error;
        return tpm_call_submit(c);
}

/* ---- Provision ------------------------------------------------------------------------------------ */

/* Provision() takes no options yet; any key is refused so that a caller expecting a newer daemon learns
 * it at once instead of being silently ignored. */
static int read_provision_options(sd_bus_message *message, sd_bus_error *error) {
        int r;

        r = sd_bus_message_enter_container(message, 'a', "{sv}");
        if (r < 0)
                return r;

        r = sd_bus_message_enter_container(message, 'e', "sv");
        if (r < 0)
                return r;
        if (r > 0) {
                const char *key;

                r = sd_bus_message_read(message, "s", &key);
                if (r < 0)
                        return r;

                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Unknown option '%s'.", key);
        }

        return sd_bus_message_exit_container(message);
}

static const char *srk_alg_to_string(uint16_t alg) {
        switch (alg) {
        case TPM2_ALG_ECC:
                return "ecc";
        case TPM2_ALG_RSA:
                return "rsa";
        default:
                return "unknown";
        }
}

static int provision_run(Tpm2Context *tpm, TpmCall *c) {
        return tpm2_srk_provision(tpm, c->state_dir, /* provision= */ true, NULL, &c->srk);
}

static int provision_append(TpmCall *c, sd_bus_message *reply) {
        c->manager->srk_provisioned = true;

        log_info("Storage root key %s (%s, name %s).", c->srk.created ? "created" : "adopted",
                 srk_alg_to_string(c->srk.algorithm), strna(c->srk.name_hex));

        return sd_bus_message_append(reply, "a{sv}", 4,
                                     "Created", "b", c->srk.created,
                                     "SRKHandle", "u", TPM2_SRK_HANDLE,
                                     "SRKAlgorithm", "s", srk_alg_to_string(c->srk.algorithm),
                                     "SRKName", "s", strempty(c->srk.name_hex));
}

static int provision_error(TpmCall *c, int r, sd_bus_error *error) {
        switch (r) {
        case -EKEYREJECTED:
                log_error("The storage root key in the TPM differs from the one pinned in %s/srk.pub.",
                          c->state_dir);
                bus_error_from_errno(error, r,
                                     "The storage root key in the TPM differs from the one pinned in '%s/srk.pub'.",
                                     c->state_dir);
                return 1;
        case -EEXIST:
                sd_bus_error_setf(error, SD_BUS_ERROR_FILE_EXISTS,
                                  "Handle 0x%08x holds an object that is not a storage key; not overwriting it.",
                                  TPM2_SRK_HANDLE);
                return 1;
        default:
                return 0;
        }
}

static int method_provision(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        TpmCall *c;
        int r;

        r = read_provision_options(message, error);
        if (r < 0)
                return r;

        r = bus_verify_polkit_async(message, "org.trustedplatform.tpm.provision", NULL, &m->polkit_registry,
                                    error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* polkit will call us again with its answer */

        r = tpm_call_new(m, message, "provision the TPM", &c);
        if (r < 0)
                return r;

        c->state_dir = strdup(m->state_dir);
        if (!c->state_dir) {
                tpm_call_free(c);
                return -ENOMEM;
        }
        c->run = provision_run;
        c->append = provision_append;
        c->error = provision_error;
        return tpm_call_submit(c);
}

/* ---- Seal, Unseal --------------------------------------------------------------------------------- */

/* Enters the variant of an option and checks its type: a caller passing "PCRs" as a string learns so
 * instead of getting a generic type error. Leaves the message inside the variant. */
int tpm_bus_enter_option_variant(sd_bus_message *message, const char *key, const char *type,
                                 sd_bus_error *error) {
        const char *contents;
        char t;
        int r;

        r = sd_bus_message_peek_type(message, &t, &contents);
        if (r < 0)
                return r;
        if (t != 'v' || !streq(contents, type))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Option '%s' must be of type '%s', not '%s'.", key, type,
                                         strna(contents));

        return sd_bus_message_enter_container(message, 'v', type);
}

/* Reads a PIN option into *pin (wiped copy). An empty PIN would be a PIN nobody has to guess. */
int tpm_bus_read_pin_option(sd_bus_message *message, char **pin, sd_bus_error *error) {
        const char *s;
        int r;

        if (*pin)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Option 'PIN' given twice.");

        r = tpm_bus_enter_option_variant(message, "PIN", "s", error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(message, "s", &s);
        if (r < 0)
                return r;
        if (isempty(s))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Option 'PIN' must not be empty.");
        if (strlen(s) > TPM_BUS_PIN_MAX)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Option 'PIN' is longer than %u bytes.", TPM_BUS_PIN_MAX);

        *pin = strdup(s);
        if (!*pin)
                return -ENOMEM;
        return sd_bus_message_exit_container(message);
}

/* What Seal and Unseal carry beyond the common TpmCall arguments (the call's payload). */
typedef struct SealExtra {
        bool has_key;
        TPM2B_PUBLIC key; /* Seal: AuthorizeKey */
        size_t n_expected;
        Tpm2PcrValue expected[TPM2_PCRS_MAX]; /* Seal: ExpectedPCRs, sorted by index */
        Tpm2SignedPolicy *policy;             /* Unseal: SignedPolicy */
} SealExtra;

static void seal_extra_free(void *p) {
        SealExtra *x = p;

        if (!x)
                return;
        free(x->policy);
        free(x);
}

typedef struct SealArgs {
        uint16_t bank;
        uint32_t mask;
        bool has_pcrs, has_bank, has_expected;
        char *pin;
        SealExtra extra;
} SealArgs;

static int read_authorize_key_option(sd_bus_message *message, SealExtra *x, sd_bus_error *error) {
        const void *data;
        size_t size;
        int r;

        if (x->has_key)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Option 'AuthorizeKey' given twice.");
        r = tpm_bus_enter_option_variant(message, "AuthorizeKey", "ay", error);
        if (r < 0)
                return r;
        r = sd_bus_message_read_array(message, 'y', &data, &size);
        if (r < 0)
                return r;
        r = tpm2_authorize_key_from_spki(data, size, &x->key, NULL);
        if (r == -ENOMEM)
                return r;
        if (r == -EOPNOTSUPP)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Option 'AuthorizeKey' must be an RSA key of 2048 to 4096 bits with "
                                         "exponent 65537 or an ECC key on NIST P-256.");
        if (r < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Option 'AuthorizeKey' is not a public key (SubjectPublicKeyInfo as "
                                         "DER or PEM, %zu bytes).",
                                         size);
        x->has_key = true;
        return 0;
}

/* ExpectedPCRs a(uay): index and digest; sizes are checked against the bank once all options are read. */
static int read_expected_option(sd_bus_message *message, SealArgs *a, sd_bus_error *error) {
        SealExtra *x = &a->extra;
        uint32_t seen = 0;
        int r;

        if (a->has_expected)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Option 'ExpectedPCRs' given twice.");
        r = tpm_bus_enter_option_variant(message, "ExpectedPCRs", "a(uay)", error);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(message, 'a', "(uay)");
        if (r < 0)
                return r;
        for (;;) {
                const void *digest;
                uint32_t index;
                size_t size;

                r = sd_bus_message_enter_container(message, 'r', "uay");
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                r = sd_bus_message_read(message, "u", &index);
                if (r < 0)
                        return r;
                r = sd_bus_message_read_array(message, 'y', &digest, &size);
                if (r < 0)
                        return r;
                if (index >= TPM2_PCRS_MAX)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "ExpectedPCRs: PCR index %" PRIu32
                                                 " is out of range; PCRs are 0 "
                                                 "to %u.",
                                                 index, TPM2_PCRS_MAX - 1);
                if (seen & (UINT32_C(1) << index))
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "ExpectedPCRs: PCR %" PRIu32 " is listed twice.", index);
                if (size == 0 || size > sizeof(x->expected[0].digest))
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "ExpectedPCRs: the digest of PCR %" PRIu32
                                                 " has %zu bytes, not a PCR bank's digest size.",
                                                 index, size);
                seen |= UINT32_C(1) << index;
                x->expected[x->n_expected] = (Tpm2PcrValue){ .index = index, .size = size };
                memcpy(x->expected[x->n_expected].digest, digest, size);
                x->n_expected++;
                r = sd_bus_message_exit_container(message);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_exit_container(message);
        if (r < 0)
                return r;
        if (x->n_expected == 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Option 'ExpectedPCRs' is empty.");
        a->has_expected = true;
        return 0;
}

static int cmp_pcr_index(const void *a, const void *b) {
        const Tpm2PcrValue *x = a, *y = b;
        return x->index < y->index ? -1 : x->index > y->index;
}

/* Cross-option checks once everything is read: AuthorizeKey replaces the PCR selection, ExpectedPCRs
 * must fit the bank and agree with PCRs. */
static int check_seal_args(SealArgs *a, sd_bus_error *error) {
        SealExtra *x = &a->extra;
        uint32_t mask = 0;
        size_t dsize;

        if (x->has_key) {
                if (a->has_pcrs || a->has_bank || a->has_expected)
                        return sd_bus_error_setf(
                                error, SD_BUS_ERROR_INVALID_ARGS,
                                "Option 'AuthorizeKey' binds PCRs through signed policies; "
                                "it cannot be combined with 'PCRs', 'Bank' or 'ExpectedPCRs'.");
                return 0;
        }
        if (!a->has_expected)
                return 0;

        dsize = tpm2_hash_alg_digest_size(a->bank);
        qsort(x->expected, x->n_expected, sizeof(Tpm2PcrValue), cmp_pcr_index);
        for (size_t i = 0; i < x->n_expected; i++) {
                if (x->expected[i].size != dsize)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "ExpectedPCRs: the digest of PCR %" PRIu32
                                                 " has %zu bytes; the %s bank's digests have %zu.",
                                                 x->expected[i].index, x->expected[i].size,
                                                 strna(tpm2_hash_alg_to_string(a->bank)), dsize);
                x->expected[i].bank = a->bank;
                mask |= UINT32_C(1) << x->expected[i].index;
        }
        if (a->has_pcrs && mask != a->mask)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Options 'PCRs' and 'ExpectedPCRs' name different PCRs.");
        a->mask = mask;
        a->has_pcrs = true;
        return 0;
}

static int read_seal_options(sd_bus_message *message, SealArgs *a, sd_bus_error *error) {
        int r;

        r = sd_bus_message_enter_container(message, 'a', "{sv}");
        if (r < 0)
                return r;

        for (;;) {
                const char *key;

                r = sd_bus_message_enter_container(message, 'e', "sv");
                if (r < 0)
                        return r;
                if (r == 0)
                        break;

                r = sd_bus_message_read(message, "s", &key);
                if (r < 0)
                        return r;

                if (streq(key, "PCRs")) {
                        const uint32_t *pcrs;
                        size_t n_bytes;

                        if (a->has_pcrs)
                                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                         "Option 'PCRs' given twice.");
                        r = tpm_bus_enter_option_variant(message, key, "au", error);
                        if (r < 0)
                                return r;
                        r = sd_bus_message_read_array(message, 'u', (const void **) &pcrs, &n_bytes);
                        if (r < 0)
                                return r;
                        a->mask = 0;
                        for (size_t i = 0; i < n_bytes / sizeof(uint32_t); i++) {
                                if (pcrs[i] >= TPM2_PCRS_MAX)
                                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                                 "PCR index %" PRIu32
                                                                 " is out of range; PCRs are 0 to %u.",
                                                                 pcrs[i], TPM2_PCRS_MAX - 1);
                                a->mask |= UINT32_C(1) << pcrs[i];
                        }
                        a->has_pcrs = true;
                } else if (streq(key, "Bank")) {
                        const char *bank_name;
                        int bank;

                        if (a->has_bank)
                                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                         "Option 'Bank' given twice.");
                        r = tpm_bus_enter_option_variant(message, key, "s", error);
                        if (r < 0)
                                return r;
                        r = sd_bus_message_read(message, "s", &bank_name);
                        if (r < 0)
                                return r;
                        bank = tpm2_hash_alg_from_string(bank_name);
                        if (bank < 0)
                                return sd_bus_error_setf(
                                        error, SD_BUS_ERROR_INVALID_ARGS,
                                        "Unknown PCR bank '%s'; expected sha1, sha256, sha384 or sha512.",
                                        bank_name);
                        a->bank = (uint16_t) bank;
                        a->has_bank = true;
                } else if (streq(key, "PIN")) {
                        r = tpm_bus_read_pin_option(message, &a->pin, error);
                        if (r < 0)
                                return r;
                        r = sd_bus_message_exit_container(message); /* the PIN reader left the variant */
                        if (r < 0)
                                return r;
                        continue;
                } else if (streq(key, "AuthorizeKey")) {
                        r = read_authorize_key_option(message, &a->extra, error);
                        if (r < 0)
                                return r;
                } else if (streq(key, "ExpectedPCRs")) {
                        r = read_expected_option(message, a, error);
                        if (r < 0)
                                return r;
                } else
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Unknown option '%s'.",
                                                 key);

                r = sd_bus_message_exit_container(message); /* the variant */
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(message); /* the dict entry */
                if (r < 0)
                        return r;
        }

        return sd_bus_message_exit_container(message);
}

/* The library's messages are written for users ("PCR 7 (sha256) differs from the value sealed against:
 * ..."); they go back to the caller under an error name a program can act on. */
int tpm_bus_tpm2_error(TpmCall *c, int r, sd_bus_error *error) {
        const char *msg = c->tpm_error.message[0] ? c->tpm_error.message : NULL;

        switch (r) {
        case -EPERM:
                sd_bus_error_set(error, BUS_ERROR_POLICY_MISMATCH,
                                 msg ?: "A PCR differs from the value sealed against.");
                return 1;
        case -EACCES:
                sd_bus_error_set(error, BUS_ERROR_BAD_PIN, msg ?: "wrong PIN");
                return 1;
        case -ENOLCK:
                sd_bus_error_set(error, BUS_ERROR_TPM_LOCKOUT,
                                 msg ?: "the TPM is in dictionary-attack lockout");
                return 1;
        case -EINVAL:
        case -EBADMSG:
                sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Failed to %s: %s", c->what,
                                  msg ?: strerror(-r));
                return 1;
        default:
                if (!msg)
                        return 0;
                bus_error_from_errno(error, r, "Failed to %s: %s", c->what, msg);
                return 1;
        }
}

static int seal_run(Tpm2Context *tpm, TpmCall *c) {
        _cleanup_(tpm2_sealed_blob_freep) Tpm2SealedBlob *blob = NULL;
        SealExtra *x = c->payload;
        Tpm2SealOptions opts = {
                .bank = c->bank,
                .pcr_mask = x->has_key ? 0 : c->mask,
                .expected = x->n_expected > 0 ? x->expected : NULL,
                .n_expected = x->n_expected,
                .pin = c->pin,
                .state_dir = c->state_dir,
                .authorize_key = x->has_key ? &x->key : NULL,
        };
        int r;

        r = tpm2_seal(tpm, &opts, c->data, c->data_size, &blob, &c->tpm_error);
        if (r < 0)
                return r;

        return tpm2_sealed_blob_serialize(blob, &c->out, &c->out_size);
}

static int seal_append(TpmCall *c, sd_bus_message *reply) {
        return sd_bus_message_append_array(reply, 'y', c->out, c->out_size);
}

static int method_seal(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_erase_free_ char *pin = NULL;
        Manager *m = userdata;
        SealArgs a = {};
        const void *secret;
        size_t size;
        Tpm2Error e = {};
        TpmCall *c;
        int r;

        /* sd-bus wipes the memory of a sensitive message when it is freed. */
        (void) sd_bus_message_sensitive(message);

        r = sd_bus_message_read_array(message, 'y', &secret, &size);
        if (r < 0)
                return r;

        r = read_seal_options(message, &a, error);
        pin = a.pin;
        if (r < 0)
                return r;

        if (size == 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "The secret to seal is empty.");
        if (size > TPM2_SEAL_SECRET_MAX)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "The secret is %zu bytes; at most %u bytes can be sealed.", size,
                                         TPM2_SEAL_SECRET_MAX);

        if (!a.has_bank)
                a.bank = TPM2_ALG_SHA256;
        r = check_seal_args(&a, error);
        if (r < 0)
                return r;
        if (!a.has_pcrs)
                a.mask = UINT32_C(1) << 7;
        if (!a.extra.has_key && tpm2_policy_check_selection(a.bank, a.mask, &e) < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "%s", e.message);

        r = bus_verify_polkit_async(message, "org.trustedplatform.tpm.seal", NULL, &m->polkit_registry, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* polkit will call us again with its answer */

        r = tpm_call_new(m, message, "seal the secret", &c);
        if (r < 0)
                return r;

        c->bank = a.bank;
        c->mask = a.mask;
        c->pin = TAKE_PTR(pin);
        c->state_dir = strdup(m->state_dir);
        c->data = malloc(size);
        c->payload = malloc(sizeof(a.extra));
        c->payload_free = seal_extra_free;
        if (c->payload)
                memcpy(c->payload, &a.extra, sizeof(a.extra));
        if (!c->state_dir || !c->data || !c->payload) {
                tpm_call_free(c);
                return -ENOMEM;
        }
        memcpy(c->data, secret, size);
        c->data_size = size;
        c->run = seal_run;
        c->append = seal_append;
        c->error = tpm_bus_tpm2_error;
        return tpm_call_submit(c);
}

static int read_unseal_options(sd_bus_message *message, char **pin, Tpm2SignedPolicy **policy,
                               sd_bus_error *error) {
        int r;

        r = sd_bus_message_enter_container(message, 'a', "{sv}");
        if (r < 0)
                return r;

        for (;;) {
                const char *key;

                r = sd_bus_message_enter_container(message, 'e', "sv");
                if (r < 0)
                        return r;
                if (r == 0)
                        break;

                r = sd_bus_message_read(message, "s", &key);
                if (r < 0)
                        return r;
                if (streq(key, "SignedPolicy")) {
                        const void *data;
                        size_t size;

                        if (*policy)
                                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                         "Option 'SignedPolicy' given twice.");
                        r = tpm_bus_enter_option_variant(message, key, "ay", error);
                        if (r < 0)
                                return r;
                        r = sd_bus_message_read_array(message, 'y', &data, &size);
                        if (r < 0)
                                return r;
                        /* Strictly, before polkit, like the blob. */
                        r = tpm2_signed_policy_parse(data, size, policy);
                        if (r == -ENOMEM)
                                return r;
                        if (r < 0)
                                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                         "Option 'SignedPolicy' is not a signed-policy file "
                                                         "(%zu bytes).",
                                                         size);
                        r = sd_bus_message_exit_container(message); /* the variant */
                        if (r < 0)
                                return r;
                } else if (streq(key, "PIN")) {
                        r = tpm_bus_read_pin_option(message, pin, error);
                        if (r < 0)
                                return r;
                } else
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Unknown option '%s'.",
                                                 key);
                r = sd_bus_message_exit_container(message);
                if (r < 0)
                        return r;
        }

        return sd_bus_message_exit_container(message);
}

static int unseal_run(Tpm2Context *tpm, TpmCall *c) {
        void *secret;
        size_t size;
        int r;

        if (c->payload)
                r = tpm2_unseal_signed(tpm, c->blob, c->payload, c->pin, &secret, &size, &c->tpm_error);
        else
                r = tpm2_unseal(tpm, c->blob, c->pin, &secret, &size, &c->tpm_error);
        if (r < 0)
                return r;

        c->out = secret;
        c->out_size = size;
        return 0;
}

static int unseal_append(TpmCall *c, sd_bus_message *reply) {
        (void) sd_bus_message_sensitive(reply);
        return sd_bus_message_append_array(reply, 'y', c->out, c->out_size);
}

static int method_unseal(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(tpm2_sealed_blob_freep) Tpm2SealedBlob *blob = NULL;
        _cleanup_erase_free_ char *pin = NULL;
        _cleanup_free_ Tpm2SignedPolicy *policy = NULL;
        Manager *m = userdata;
        const void *data;
        size_t size;
        TpmCall *c;
        int r;

        (void) sd_bus_message_sensitive(message);

        r = sd_bus_message_read_array(message, 'y', &data, &size);
        if (r < 0)
                return r;

        r = read_unseal_options(message, &pin, &policy, error);
        if (r < 0)
                return r;

        /* Strictly, before polkit: garbage never reaches the TPM nor an authentication prompt. */
        r = tpm2_sealed_blob_parse(data, size, &blob);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "The data is not a sealed blob (%zu bytes).", size);
        /* Seal() never makes blobs bound to no PCR: those are the daemon's own (the CA key store's
         * passphrase), and nobody unseals them through the bus, whatever polkit would say. */
        if (blob->srk_only)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "The blob is sealed to the storage root key alone; the daemon does not "
                                         "unseal such blobs for callers.");
        if (blob->authorize && !policy)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "The secret is sealed to a signing key; option 'SignedPolicy' is "
                                         "required.");
        if (!blob->authorize && policy)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "The secret is sealed to PCR values, not to a signing key; option "
                                         "'SignedPolicy' does not apply.");

        /* After validation, before polkit (see IssueCertificate() in ca-bus.c). */
        r = manager_check_trust_gate(m, message, "unseal secrets", error);
        if (r < 0)
                return r;

        r = bus_verify_polkit_async(message, "org.trustedplatform.tpm.unseal", NULL, &m->polkit_registry,
                                    error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;

        r = tpm_call_new(m, message, "unseal the secret", &c);
        if (r < 0)
                return r;

        c->blob = TAKE_PTR(blob);
        c->pin = TAKE_PTR(pin);
        c->payload = TAKE_PTR(policy);
        c->payload_free = free;
        c->run = unseal_run;
        c->append = unseal_append;
        c->error = tpm_bus_tpm2_error;
        return tpm_call_submit(c);
}
/* ---- ExtendPCR ------------------------------------------------------------------------------------ */

static int extend_pcr_run(Tpm2Context *tpm, TpmCall *c) {
        return tpm2_pcr_extend_data(tpm, c->index, c->bank, c->data, c->data_size);
}

int tpm_bus_empty_append(TpmCall *c, sd_bus_message *reply) {
        return 0;
}

static int method_extend_pcr(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        const char *bank_name;
        const void *data;
        uint32_t index;
        size_t size;
        TpmCall *c;
        int r, bank;

        r = sd_bus_message_read(message, "us", &index, &bank_name);
        if (r < 0)
                return r;
        r = sd_bus_message_read_array(message, 'y', &data, &size);
        if (r < 0)
                return r;
        r = read_provision_options(message, error); /* no options defined: any key is refused */
        if (r < 0)
                return r;

        if (index >= TPM2_PCRS_MAX)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "PCR index %" PRIu32 " is out of range; PCRs are 0 to %u.", index,
                                         TPM2_PCRS_MAX - 1);
        bank = tpm2_hash_alg_from_string(bank_name);
        if (bank < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Unknown PCR bank '%s'; expected sha1, sha256, sha384 or sha512.",
                                         bank_name);

        r = bus_verify_polkit_async(message, "org.trustedplatform.tpm.extend", NULL, &m->polkit_registry,
                                    error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;

        r = tpm_call_new(m, message, "extend the PCR", &c);
        if (r < 0)
                return r;

        c->index = index;
        c->bank = (uint16_t) bank;
        c->data = malloc(size + 1);
        if (!c->data) {
                tpm_call_free(c);
                return -ENOMEM;
        }
        memcpy(c->data, data, size);
        c->data_size = size;
        c->run = extend_pcr_run;
        c->append = tpm_bus_empty_append;
        c->error = read_pcrs_error;
        return tpm_call_submit(c);
}
/* ---- Quote ---------------------------------------------------------------------------------------- */

#define QUOTE_AK_NAME "default"

static int read_quote_selection(sd_bus_message *message, TPML_PCR_SELECTION *ret, sd_bus_error *error) {
        Tpm2PcrBankMask banks[TPM2_NUM_PCR_BANKS] = {};
        size_t n = 0;
        int r;

        r = sd_bus_message_enter_container(message, 'a', "(sau)");
        if (r < 0)
                return r;

        for (;;) {
                const char *bank_name;
                const uint32_t *pcrs;
                size_t n_bytes;
                uint32_t mask = 0;
                int bank;

                r = sd_bus_message_enter_container(message, 'r', "sau");
                if (r < 0)
                        return r;
                if (r == 0)
                        break;

                r = sd_bus_message_read(message, "s", &bank_name);
                if (r < 0)
                        return r;
                r = sd_bus_message_read_array(message, 'u', (const void **) &pcrs, &n_bytes);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(message);
                if (r < 0)
                        return r;

                bank = tpm2_hash_alg_from_string(bank_name);
                if (bank < 0)
                        return sd_bus_error_setf(
                                error, SD_BUS_ERROR_INVALID_ARGS,
                                "Unknown PCR bank '%s'; expected sha1, sha256, sha384 or sha512.", bank_name);
                if (n_bytes == 0)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "No PCRs selected for the bank '%s'.", bank_name);
                for (size_t i = 0; i < n_bytes / sizeof(uint32_t); i++) {
                        if (pcrs[i] >= TPM2_PCRS_MAX)
                                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                         "PCR index %" PRIu32
                                                         " is out of range; PCRs are 0 to %u.",
                                                         pcrs[i], TPM2_PCRS_MAX - 1);
                        mask |= UINT32_C(1) << pcrs[i];
                }
                for (size_t i = 0; i < n; i++)
                        if (banks[i].bank == bank)
                                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                         "The bank '%s' is selected twice.", bank_name);
                if (n >= ELEMENTSOF(banks))
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Too many banks selected.");

                banks[n++] = (Tpm2PcrBankMask){ .bank = (uint16_t) bank, .mask = mask };
        }

        r = sd_bus_message_exit_container(message);
        if (r < 0)
                return r;

        if (n == 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "The PCR selection is empty.");

        if (tpm2_pcr_selection_from_masks(banks, n, ret) < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "The PCR selection is not valid.");
        return 0;
}

static int quote_run(Tpm2Context *tpm, TpmCall *c) {
        ESYS_TR ak = ESYS_TR_NONE;
        TPM2B_PUBLIC pub = {};
        size_t offset = 0;
        TSS2_RC rc;
        int r;

        r = tpm2_ak_load(tpm, c->state_dir, QUOTE_AK_NAME, &ak, &pub, NULL);
        if (r == -ENOENT && c->create_ak) {
                /* First use: the caller was authorized for org.trustedplatform.tpm.manage-keys. */
                r = tpm2_ak_create(tpm, c->state_dir, QUOTE_AK_NAME, TPM2_ALG_ECC, TPM2_ALG_ECC, NULL, NULL);
                if (r < 0 && r != -EEXIST)
                        return r;
                log_info("Attestation key '%s' created in %s.", QUOTE_AK_NAME, c->state_dir);
                r = tpm2_ak_load(tpm, c->state_dir, QUOTE_AK_NAME, &ak, &pub, NULL);
        }
        if (r < 0)
                return r;

        r = tpm2_quote(tpm, ak, c->data, c->data_size, &c->selection, &c->quote);
        tpm2_flush(tpm, &ak);
        if (r < 0)
                return r;

        c->out = malloc(sizeof(TPM2B_PUBLIC));
        if (!c->out)
                return -ENOMEM;
        rc = Tss2_MU_TPM2B_PUBLIC_Marshal(&pub, c->out, sizeof(TPM2B_PUBLIC), &offset);
        if (rc != TSS2_RC_SUCCESS)
                return -EIO;
        c->out_size = offset;
        return 0;
}

static int quote_append(TpmCall *c, sd_bus_message *reply) {
        const Tpm2Quote *q = c->quote;
        int r;

        r = sd_bus_message_append_array(reply, 'y', q->attest, q->attest_size);
        if (r < 0)
                return r;
        r = sd_bus_message_append_array(reply, 'y', q->signature, q->signature_size);
        if (r < 0)
                return r;

        r = sd_bus_message_open_container(reply, 'a', "(suay)");
        if (r < 0)
                return r;
        for (size_t i = 0; i < q->n_pcr_values; i++) {
                const Tpm2PcrValue *v = q->pcr_values + i;

                r = sd_bus_message_open_container(reply, 'r', "suay");
                if (r < 0)
                        return r;
                r = sd_bus_message_append(reply, "su", strna(tpm2_hash_alg_to_string(v->bank)), v->index);
                if (r < 0)
                        return r;
                r = sd_bus_message_append_array(reply, 'y', v->digest, v->size);
                if (r < 0)
                        return r;
                r = sd_bus_message_close_container(reply);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;

        return sd_bus_message_append_array(reply, 'y', c->out, c->out_size);
}

static int quote_error(TpmCall *c, int r, sd_bus_error *error) {
        switch (r) {
        case -EOPNOTSUPP:
                sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                  "A PCR bank of the selection is not active on this TPM.");
                return 1;
        case -ENOENT:
                sd_bus_error_setf(error, SD_BUS_ERROR_FILE_NOT_FOUND,
                                  "The attestation key '%s' does not exist in '%s'.", QUOTE_AK_NAME,
                                  c->state_dir);
                return 1;
        default:
                return 0;
        }
}

static int method_quote(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_free_ char *ak_path = NULL;
        TPML_PCR_SELECTION selection = {};
        Manager *m = userdata;
        const void *nonce;
        bool create_ak;
        size_t size;
        TpmCall *c;
        int r;

        r = sd_bus_message_read_array(message, 'y', &nonce, &size);
        if (r < 0)
                return r;
        r = read_quote_selection(message, &selection, error);
        if (r < 0)
                return r;

        if (size < TPM2_QUOTE_NONCE_MIN || size > 64)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "The nonce is %zu bytes; it must be from %u to 64 bytes.", size,
                                         TPM2_QUOTE_NONCE_MIN);

        /* Quoting with the existing AK is open to everyone (it reveals only PCR values, which are public).
         * Creating the AK is key management. */
        if (asprintf(&ak_path, "%s/ak-" QUOTE_AK_NAME ".blob", m->state_dir) < 0)
                return -ENOMEM;
        create_ak = access(ak_path, F_OK) < 0;
        if (create_ak) {
                r = bus_verify_polkit_async(message, "org.trustedplatform.tpm.manage-keys", NULL,
                                            &m->polkit_registry, error);
                if (r < 0)
                        return r;
                if (r == 0)
                        return 1;
        }

        r = tpm_call_new(m, message, "quote the PCRs", &c);
        if (r < 0)
                return r;

        c->selection = selection;
        c->create_ak = create_ak;
        c->state_dir = strdup(m->state_dir);
        c->data = malloc(size);
        if (!c->state_dir || !c->data) {
                tpm_call_free(c);
                return -ENOMEM;
        }
        memcpy(c->data, nonce, size);
        c->data_size = size;
        c->run = quote_run;
        c->append = quote_append;
        c->error = quote_error;
        return tpm_call_submit(c);
}

const sd_bus_vtable tpm_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_ARGS("GetInfo", SD_BUS_NO_ARGS, SD_BUS_RESULT("a{sv}", info), method_get_info,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetRandom", SD_BUS_ARGS("u", size), SD_BUS_RESULT("ay", data),
                                method_get_random, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ReadPCRs", SD_BUS_ARGS("s", bank, "au", pcrs),
                                SD_BUS_RESULT("a(uay)", values), method_read_pcrs, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Provision", SD_BUS_ARGS("a{sv}", options), SD_BUS_RESULT("a{sv}", result),
                                method_provision, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Seal", SD_BUS_ARGS("ay", secret, "a{sv}", options), SD_BUS_RESULT("ay", blob),
                                method_seal, SD_BUS_VTABLE_UNPRIVILEGED | SD_BUS_VTABLE_SENSITIVE),
        SD_BUS_METHOD_WITH_ARGS("Unseal", SD_BUS_ARGS("ay", blob, "a{sv}", options),
                                SD_BUS_RESULT("ay", secret), method_unseal,
                                SD_BUS_VTABLE_UNPRIVILEGED | SD_BUS_VTABLE_SENSITIVE),
        SD_BUS_METHOD_WITH_ARGS("ExtendPCR", SD_BUS_ARGS("u", index, "s", bank, "ay", data, "a{sv}", options),
                                SD_BUS_NO_RESULT, method_extend_pcr, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS(
                "Quote", SD_BUS_ARGS("ay", nonce, "a(sau)", selection),
                SD_BUS_RESULT("ay", attest, "ay", signature, "a(suay)", pcr_values, "ay", ak_public),
                method_quote, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};
