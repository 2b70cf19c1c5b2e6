/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* tpctl tpm info|random|pcrs|provision: the TPM interface of trusted-platformd. */

#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include "basic/hexdecoct.h"
#include "basic/log.h"
#include "tpctl/tpctl-agent.h"
#include "tpctl/tpctl-util.h"
#include "tpctl/tpctl.h"


/* Provisioning may wait for a person typing a password into a polkit agent, and an RSA primary key
 * takes a while on slow TPMs: far longer than the 25 s default. */
#define PROVISION_TIMEOUT_USEC (UINT64_C(300) * 1000000)

static int format_spec_revision(const json_t *v, char **ret) {
        /* TPM2_PT_REVISION is the revision times 100: 164 means 1.64. */
        if (!json_is_integer(v))
                return json_format_cell(v, ret);
        json_int_t r = json_integer_value(v);
        if (asprintf(ret, "%" JSON_INTEGER_FORMAT ".%02" JSON_INTEGER_FORMAT, r / 100, r % 100) < 0)
                return -ENOMEM;
        return 0;
}

int format_seconds_cell(const json_t *v, char **ret) {
        if (!json_is_integer(v) || json_integer_value(v) < 0)
                return json_format_cell(v, ret);
        return format_seconds((uint64_t) json_integer_value(v), ret);
}

int format_handle_cell(const json_t *v, char **ret) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > UINT32_MAX)
                return json_format_cell(v, ret);
        if (asprintf(ret, "0x%08" PRIx32, (uint32_t) json_integer_value(v)) < 0)
                return -ENOMEM;
        return 0;
}

static const FieldFormat info_fields[] = {
        { "Manufacturer", "Manufacturer", NULL },
        { "VendorString", "Vendor string", NULL },
        { "FirmwareVersion", "Firmware version", NULL },
        { "SpecLevel", "Spec level", NULL },
        { "SpecRevision", "Spec revision", format_spec_revision },
        { "SpecDate", "Spec date", NULL },
        { "SpecYear", "Spec year", NULL },
        { "SpecDayOfYear", "Spec day of year", NULL },
        { "Algorithms", "Algorithms", NULL },
        { "PCRBanks", "PCR banks", NULL },
        { "PCRCount", "PCR count", NULL },
        { "InLockout", "In lockout", NULL },
        { "LockoutCounter", "Lockout counter", NULL },
        { "MaxAuthFail", "Max auth failures", NULL },
        { "LockoutInterval", "Lockout interval", format_seconds_cell },
        { "LockoutRecovery", "Lockout recovery", format_seconds_cell },
};

/* For the table only: the specification date as one "YYYY-MM-DD" row instead of year and day of year. */
static int info_add_spec_date(json_t *info) {
        json_t *year = json_object_get(info, "SpecYear"), *day = json_object_get(info, "SpecDayOfYear");
        struct tm tm = {};
        char buf[32];

        if (!json_is_integer(year) || !json_is_integer(day))
                return 0;
        if (json_integer_value(year) < 1970 || json_integer_value(year) > 9999 || json_integer_value(day) < 1 ||
            json_integer_value(day) > 366)
                return 0; /* leave odd values as they are */

        tm.tm_year = (int) json_integer_value(year) - 1900;
        tm.tm_mday = (int) json_integer_value(day); /* timegm() normalises day N of January */
        if (timegm(&tm) == (time_t) -1 || strftime(buf, sizeof(buf), "%Y-%m-%d", &tm) == 0)
                return 0;

        if (json_object_set_new(info, "SpecDate", json_string(buf)) < 0)
                return -ENOMEM;
        (void) json_object_del(info, "SpecYear");
        (void) json_object_del(info, "SpecDayOfYear");
        return 0;
}

int verb_tpm_info(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(json_decrefp) json_t *info = NULL;
        int r;

        r = tpctl_bus_open(&bus);
        if (r != 0)
                return r;

        r = sd_bus_call_method(bus, TPCTL_BUS_NAME, TPCTL_BUS_PATH, TPCTL_IFACE_TPM, "GetInfo", &error, &reply, "");
        if (r < 0)
                return tpctl_log_bus_error(&error, r, "read the TPM information");
        r = bus_message_read_dict_json(reply, &info);
        if (r < 0)
                return log_error_errno(r, "Failed to parse the GetInfo() reply: %m"), TPCTL_EXIT_FAILURE;

        if (arg_json == JSON_MODE_OFF && info_add_spec_date(info) < 0)
                return log_oom(), TPCTL_EXIT_FAILURE;

        return tpctl_print_object(info, info_fields, ELEMENTSOF(info_fields), /* paged= */ true);
}

int verb_tpm_random(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *hex = NULL;
        const void *p;
        uint32_t n;
        size_t size;
        int r;

        assert(argc == 1);

        r = tpctl_parse_random_size(argv[0], &n);
        if (r < 0) {
                log_error("Invalid byte count '%s': expected a number from 1 to %u.", argv[0], TPCTL_RANDOM_MAX);
                return TPCTL_EXIT_USAGE;
        }

        r = tpctl_bus_open(&bus);
        if (r != 0)
                return r;

        r = sd_bus_call_method(bus, TPCTL_BUS_NAME, TPCTL_BUS_PATH, TPCTL_IFACE_TPM, "GetRandom", &error, &reply,
                               "u", n);
        if (r < 0)
                return tpctl_log_bus_error(&error, r, "get random bytes");
        /* The bytes may become key material: sd-bus wipes a sensitive message's memory on free. */
        (void) sd_bus_message_sensitive(reply);
        r = sd_bus_message_read_array(reply, 'y', &p, &size);
        if (r < 0)
                return log_error_errno(r, "Failed to parse the GetRandom() reply: %m"), TPCTL_EXIT_FAILURE;
        /* Scripts rely on "tpctl tpm random 32 >key" giving 32 bytes: never hand out fewer. */
        if (size != n) {
                log_error("trusted-platformd returned %zu random bytes instead of %" PRIu32 ".", size, n);
                return TPCTL_EXIT_FAILURE;
        }

        if (arg_json != JSON_MODE_OFF || arg_hex || isatty(STDOUT_FILENO)) {
                r = hexmem(p, size, &hex);
                if (r < 0)
                        return log_oom(), TPCTL_EXIT_FAILURE;
        }

        if (arg_json != JSON_MODE_OFF) {
                _cleanup_(json_decrefp) json_t *j = json_pack("{s:s}", "Random", hex);
                if (!j)
                        r = -ENOMEM;
                else
                        r = json_print(stdout, j, arg_json);
        } else if (hex)
                r = puts(hex) == EOF ? -EIO : 0;
        else
                r = fwrite(p, 1, size, stdout) != size ? -EIO : 0;

        if (hex)
                explicit_bzero(hex, strlen(hex));

        if (r < 0)
                return log_error_errno(r, "Failed to write the random bytes: %m"), TPCTL_EXIT_FAILURE;
        return TPCTL_EXIT_SUCCESS;
}

static int read_pcr_reply(sd_bus_message *reply, const char *bank, json_t **ret) {
        _cleanup_(json_decrefp) json_t *arr = NULL;
        int r;

        arr = json_array();
        if (!arr)
                return -ENOMEM;

        r = sd_bus_message_enter_container(reply, 'a', "(uay)");
        if (r < 0)
                return r;
        for (;;) {
                _cleanup_free_ char *hex = NULL;
                const void *p;
                uint32_t index;
                size_t size;

                r = sd_bus_message_enter_container(reply, 'r', "uay");
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                r = sd_bus_message_read(reply, "u", &index);
                if (r < 0)
                        return r;
                r = sd_bus_message_read_array(reply, 'y', &p, &size);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(reply);
                if (r < 0)
                        return r;

                r = hexmem(p, size, &hex);
                if (r < 0)
                        return r;
                if (json_array_append_new(arr, json_pack("{s:I,s:s,s:s}", "Index", (json_int_t) index, "Bank",
                                                         bank, "Digest", hex)) < 0)
                        return -ENOMEM;
        }
        r = sd_bus_message_exit_container(reply);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(arr);
        return 0;
}

int verb_tpm_pcrs(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(scols_unref_tablep) struct libscols_table *t = NULL;
        _cleanup_(json_decrefp) json_t *pcrs = NULL;
        const char *bank = arg_bank ?: "sha256";
        uint32_t mask = 0;
        int r;

        for (int i = 0; i < argc; i++) {
                r = tpctl_parse_pcr_spec(argv[i], &mask);
                if (r == -ERANGE) {
                        log_error("Invalid PCR '%s': PCR indexes are 0 to %u.", argv[i], TPCTL_PCR_COUNT - 1);
                        return TPCTL_EXIT_USAGE;
                }
                if (r < 0) {
                        log_error("Invalid PCR '%s': expected an index 0-%u, a range like 0-7, or a "
                                  "comma-separated list like 0,2,4-7.", argv[i], TPCTL_PCR_COUNT - 1);
                        return TPCTL_EXIT_USAGE;
                }
        }

        r = tpctl_bus_open(&bus);
        if (r != 0)
                return r;

        r = sd_bus_message_new_method_call(bus, &m, TPCTL_BUS_NAME, TPCTL_BUS_PATH, TPCTL_IFACE_TPM, "ReadPCRs");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", bank);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "u");
        for (uint32_t i = 0; r >= 0 && i < TPCTL_PCR_COUNT; i++)
                if (mask & (UINT32_C(1) << i))
                        r = sd_bus_message_append(m, "u", i);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0)
                return log_error_errno(r, "Failed to build the ReadPCRs() call: %m"), TPCTL_EXIT_FAILURE;

        r = sd_bus_call(bus, m, 0, &error, &reply);
        if (r < 0)
                return tpctl_log_bus_error(&error, r, "read the PCRs");
        r = read_pcr_reply(reply, bank, &pcrs);
        if (r < 0)
                return log_error_errno(r, "Failed to parse the ReadPCRs() reply: %m"), TPCTL_EXIT_FAILURE;

        if (arg_pager)
                (void) pager_open();

        if (arg_json != JSON_MODE_OFF)
                r = json_print(stdout, pcrs, arg_json);
        else {
                r = pcr_table_new(pcrs, arg_legend, &t);
                if (r < 0)
                        return log_error_errno(r, "Failed to build the table: %m"), TPCTL_EXIT_FAILURE;
                r = table_print(t, stdout);
                if (r >= 0 && arg_legend && !arg_quiet)
                        r = printf("\n%zu PCRs listed.\n", json_array_size(pcrs)) < 0 ? -EIO : 0;
        }
        if (r < 0)
                return log_error_errno(r, "Failed to write the output: %m"), TPCTL_EXIT_FAILURE;
        return TPCTL_EXIT_SUCCESS;
}

static const FieldFormat provision_fields[] = {
        { "Created", "SRK created", NULL },
        { "SRKHandle", "SRK handle", format_handle_cell },
        { "SRKAlgorithm", "SRK algorithm", NULL },
        { "SRKName", "SRK name", NULL },
};

int verb_tpm_provision(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(json_decrefp) json_t *result = NULL;
        int r;

        r = tpctl_bus_open(&bus);
        if (r != 0)
                return r;

        r = sd_bus_message_new_method_call(bus, &m, TPCTL_BUS_NAME, TPCTL_BUS_PATH, TPCTL_IFACE_TPM, "Provision");
        if (r >= 0)
                r = sd_bus_message_append(m, "a{sv}", 0);
        /* Lets polkit ask for a password through an authentication agent instead of refusing at once. */
        if (r >= 0)
                r = sd_bus_message_set_allow_interactive_authorization(m, true);
        if (r < 0)
                return log_error_errno(r, "Failed to build the Provision() call: %m"), TPCTL_EXIT_FAILURE;

        r = polkit_agent_open();
        if (r < 0)
                log_debug_errno(r, "Failed to start a polkit agent, continuing without: %m");

        r = sd_bus_call(bus, m, PROVISION_TIMEOUT_USEC, &error, &reply);
        polkit_agent_close();
        if (r < 0)
                return tpctl_log_bus_error(&error, r, "provision the TPM");
        r = bus_message_read_dict_json(reply, &result);
        if (r < 0)
                return log_error_errno(r, "Failed to parse the Provision() reply: %m"), TPCTL_EXIT_FAILURE;

        if (arg_json == JSON_MODE_OFF && arg_quiet)
                return TPCTL_EXIT_SUCCESS;
        return tpctl_print_object(result, provision_fields, ELEMENTSOF(provision_fields), /* paged= */ false);
}
