/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* D-Bus glue for org.trustedplatform.TrustedPlatform1.TPM. Each handler reads its arguments, validates
 * them (InvalidArgs quoting the bad value), asks polkit where the method changes anything, then calls the
 * model and replies. */

#include <inttypes.h>
#include <tss2/tss2_tpm2_types.h>

#include "basic/log.h"
#include "daemon/manager-bus.h"
#include "shared/bus-error.h"
#include "shared/bus-polkit.h"
#include "tpm2/tpm2-context.h"
#include "tpm2/tpm2-info.h"
#include "tpm2/tpm2-pcr.h"
#include "tpm2/tpm2-random.h"

/* Fails the call with NoTPM when no TPM can be opened. */
static int get_tpm(Manager *m, Tpm2Context **ret, sd_bus_error *error) {
        int r;

        r = manager_get_tpm(m, ret);
        if (r < 0)
                return bus_error_from_errno(error, r, "No TPM is available at '%s'.", m->tcti);
        return 0;
}

/* A TPM error for the caller; also drops a dead connection so that the next call reopens it. */
static int tpm_error(Manager *m, int r, sd_bus_error *error, const char *what) {
        manager_tpm_failed(m, r);
        return bus_error_from_errno(error, r, "Failed to %s: %s", what, strerror(-r));
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

static int method_get_info(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(tpm2_info_freep) Tpm2Info *info = NULL;
        Manager *m = userdata;
        Tpm2Context *tpm;
        int r;

        r = get_tpm(m, &tpm, error);
        if (r < 0)
                return r;

        r = tpm2_get_info(tpm, &info);
        if (r < 0)
                return tpm_error(m, r, error, "read the TPM's capabilities");

        r = sd_bus_message_new_method_return(message, &reply);
        if (r < 0)
                return r;

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

        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;

        return sd_bus_send(NULL, reply, NULL);
}

static int method_get_random(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ uint8_t *buf = NULL;
        Manager *m = userdata;
        Tpm2Context *tpm;
        uint32_t n;
        int r;

        r = sd_bus_message_read(message, "u", &n);
        if (r < 0)
                return r;

        if (n < 1 || n > TPM2_RANDOM_MAX)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Requested %" PRIu32 " random bytes; the number must be between 1 and %u.",
                                         n, TPM2_RANDOM_MAX);

        r = get_tpm(m, &tpm, error);
        if (r < 0)
                return r;

        buf = malloc(n);
        if (!buf)
                return -ENOMEM;

        r = tpm2_get_random(tpm, buf, n);
        if (r < 0)
                return tpm_error(m, r, error, "get random bytes from the TPM");

        r = sd_bus_message_new_method_return(message, &reply);
        if (r < 0)
                return r;

        r = sd_bus_message_append_array(reply, 'y', buf, n);
        if (r < 0)
                return r;

        return sd_bus_send(NULL, reply, NULL);
}

static int method_read_pcrs(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ Tpm2PcrValue *values = NULL;
        Manager *m = userdata;
        const uint32_t *pcrs;
        const char *bank_name;
        Tpm2Context *tpm;
        size_t n_bytes, n_values;
        uint32_t mask = 0;
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

        r = get_tpm(m, &tpm, error);
        if (r < 0)
                return r;

        r = tpm2_pcr_read(tpm, (uint16_t) bank, mask, &values, &n_values);
        if (r == -EOPNOTSUPP)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "The PCR bank '%s' is not active on this TPM.", bank_name);
        if (r < 0)
                return tpm_error(m, r, error, "read PCRs");

        r = sd_bus_message_new_method_return(message, &reply);
        if (r < 0)
                return r;

        r = sd_bus_message_open_container(reply, 'a', "(uay)");
        if (r < 0)
                return r;

        for (size_t i = 0; i < n_values; i++) {
                r = sd_bus_message_open_container(reply, 'r', "uay");
                if (r < 0)
                        return r;
                r = sd_bus_message_append(reply, "u", values[i].index);
                if (r < 0)
                        return r;
                r = sd_bus_message_append_array(reply, 'y', values[i].digest, values[i].size);
                if (r < 0)
                        return r;
                r = sd_bus_message_close_container(reply);
                if (r < 0)
                        return r;
        }

        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;

        return sd_bus_send(NULL, reply, NULL);
}

/* Provision() takes no options yet; any key is refused so that a caller expecting a newer daemon learns
 * it at once instead of being silently ignored. */
static int read_provision_options(sd_bus_message *message, sd_bus_error *error) {
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

static int method_provision(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *name = NULL;
        Manager *m = userdata;
        bool created;
        uint16_t alg;
        int r;

        r = read_provision_options(message, error);
        if (r < 0)
                return r;

        r = bus_verify_polkit_async(message, "org.trustedplatform.tpm.provision", NULL, &m->polkit_registry,
                                    error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* polkit will call us back */

        r = manager_provision(m, &created, &alg, &name);
        if (r == -EKEYREJECTED)
                return bus_error_from_errno(error, r,
                                            "The storage root key in the TPM differs from the pinned one in "
                                            "'%s/srk.pub'.", m->state_dir);
        if (r == -EEXIST)
                return sd_bus_error_setf(error, SD_BUS_ERROR_FILE_EXISTS,
                                         "Handle 0x%08x holds an object that is not a storage key; not "
                                         "overwriting it.", 0x81000001U);
        if (r < 0)
                return bus_error_from_errno(error, r, "Failed to provision the TPM: %s", strerror(-r));

        log_info("Storage root key %s (%s, %s).", created ? "created" : "adopted", srk_alg_to_string(alg),
                 strna(name));

        r = sd_bus_message_new_method_return(message, &reply);
        if (r < 0)
                return r;

        r = sd_bus_message_append(reply, "a{sv}", 4,
                                  "Created", "b", created,
                                  "SRKHandle", "u", UINT32_C(0x81000001),
                                  "SRKAlgorithm", "s", srk_alg_to_string(alg),
                                  "SRKName", "s", strempty(name));
        if (r < 0)
                return r;

        return sd_bus_send(NULL, reply, NULL);
}

const sd_bus_vtable tpm_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_ARGS("GetInfo",
                                SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("a{sv}", info),
                                method_get_info,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetRandom",
                                SD_BUS_ARGS("u", size),
                                SD_BUS_RESULT("ay", data),
                                method_get_random,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ReadPCRs",
                                SD_BUS_ARGS("s", bank, "au", pcrs),
                                SD_BUS_RESULT("a(uay)", values),
                                method_read_pcrs,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Provision",
                                SD_BUS_ARGS("a{sv}", options),
                                SD_BUS_RESULT("a{sv}", result),
                                method_provision,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};
