/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* A stand-in for trusted-platformd with fixed answers, implementing the version 1 API that tpctl
 * uses, so that tpctl's output can be checked on a real (private) bus before the real daemon and a
 * TPM are involved. Usage: fake-trusted-platformd allow|deny. "deny" refuses Provision() the way
 * polkit would. Prints "READY" on stdout once the name is owned. */

#include <stdio.h>
#include <systemd/sd-bus.h>

#include "basic/macro.h"

#define PCR_COUNT 24U

static bool deny_provision = false;

static int append_info(sd_bus_message *reply) {
        static const char *const algorithms[] = { "rsa", "sha1", "sha256", "ecc", NULL };
        static const char *const banks[] = { "sha1", "sha256", NULL };

        return sd_bus_message_append(
                reply, "a{sv}", 16,
                "Manufacturer", "s", "IBM",
                "VendorString", "s", "SW   TPM",
                "FirmwareVersion", "s", "8217.4131.22.13379",
                "SpecLevel", "u", 0,
                "SpecRevision", "u", 164,
                "SpecYear", "u", 2021,
                "SpecDayOfYear", "u", 104,
                "Algorithms", "as", 4, algorithms[0], algorithms[1], algorithms[2], algorithms[3],
                "PCRBanks", "as", 2, banks[0], banks[1],
                "PCRCount", "u", PCR_COUNT,
                "InLockout", "b", false,
                "LockoutCounter", "u", 0,
                "MaxAuthFail", "u", 3,
                "LockoutInterval", "u", 1000,
                "LockoutRecovery", "u", 86400,
                /* A key this version of tpctl does not know: newer daemons add some. */
                "NewerKey", "u", 7);
}

static int method_get_status(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return sd_bus_reply_method_return(m, "a{sv}", 6,
                                          "Version", "s", "0.1.0-fake",
                                          "TPMPresent", "b", true,
                                          "TrustState", "s", "unknown",
                                          "SRKProvisioned", "b", false,
                                          "TCTI", "s", "swtpm:path=/fake",
                                          "FutureKey", "s", "from the future");
}

static int method_get_info(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_message_new_method_return(m, &reply);
        if (r < 0)
                return r;
        r = append_info(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_get_random(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ uint8_t *buf = NULL;
        uint32_t n;
        int r;

        r = sd_bus_message_read(m, "u", &n);
        if (r < 0)
                return r;
        if (n < 1 || n > 4096)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Byte count %u out of range 1..4096", n);
        buf = malloc(n);
        if (!buf)
                return -ENOMEM;
        for (uint32_t i = 0; i < n; i++)
                buf[i] = (uint8_t) i; /* predictable, so the test can compare */
        r = sd_bus_message_new_method_return(m, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_append_array(reply, 'y', buf, n);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_read_pcrs(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        uint32_t list[PCR_COUNT];
        size_t n = 0, digest_size;
        const char *bank;
        int r;

        r = sd_bus_message_read(m, "s", &bank);
        if (r < 0)
                return r;
        if (streq(bank, "sha1"))
                digest_size = 20;
        else if (streq(bank, "sha256"))
                digest_size = 32;
        else
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Unknown PCR bank '%s'", bank);

        r = sd_bus_message_enter_container(m, 'a', "u");
        if (r < 0)
                return r;
        for (;;) {
                uint32_t i;

                r = sd_bus_message_read(m, "u", &i);
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                if (i >= PCR_COUNT || n >= PCR_COUNT)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid PCR %u", i);
                list[n++] = i;
        }
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        if (n == 0)
                for (; n < PCR_COUNT; n++)
                        list[n] = (uint32_t) n;

        r = sd_bus_message_new_method_return(m, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(uay)");
        if (r < 0)
                return r;
        for (size_t k = 0; k < n; k++) {
                uint8_t digest[32];

                /* Every byte of PCR i's digest is i. */
                memset(digest, (int) list[k], sizeof(digest));
                r = sd_bus_message_open_container(reply, 'r', "uay");
                if (r >= 0)
                        r = sd_bus_message_append(reply, "u", list[k]);
                if (r >= 0)
                        r = sd_bus_message_append_array(reply, 'y', digest, digest_size);
                if (r >= 0)
                        r = sd_bus_message_close_container(reply);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_provision(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        bool interactive = sd_bus_message_get_allow_interactive_authorization(m) > 0;

        if (deny_provision) {
                /* What polkit-guarded handlers answer: without the interactive flag the client is told
                 * that asking would have been possible; with it, a plain refusal. The messages tell the
                 * test whether tpctl set the flag. */
                if (!interactive)
                        return sd_bus_error_set(error, SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED,
                                                "Interactive authorization required (flag not set)");
                return sd_bus_error_set(error, SD_BUS_ERROR_ACCESS_DENIED,
                                        "Not authorized (interactive authorization was allowed)");
        }

        return sd_bus_reply_method_return(m, "a{sv}", 4,
                                          "Created", "b", true,
                                          "SRKHandle", "u", UINT32_C(0x81000001),
                                          "SRKAlgorithm", "s", "ecc",
                                          "SRKName", "s", "000b1234");
}

static int property_get(sd_bus *bus, const char *path, const char *interface, const char *property,
                        sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        if (streq(property, "Version"))
                return sd_bus_message_append(reply, "s", "0.1.0-fake");
        if (streq(property, "TPMPresent"))
                return sd_bus_message_append(reply, "b", true);
        if (streq(property, "TrustState"))
                return sd_bus_message_append(reply, "s", "unknown");
        if (streq(property, "TrustReasons"))
                return sd_bus_message_append(reply, "as", 2, "no attestation yet", "event log not checked");
        if (streq(property, "LastAttestation"))
                return sd_bus_message_append(reply, "t", UINT64_C(0));
        if (streq(property, "SecureBoot"))
                return sd_bus_message_append(reply, "b", false);
        return -EINVAL;
}

static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Version", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("TPMPresent", "b", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("TrustState", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("TrustReasons", "as", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("LastAttestation", "t", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("SecureBoot", "b", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_METHOD("GetStatus", "", "a{sv}", method_get_status, 0),
        SD_BUS_VTABLE_END,
};

static const sd_bus_vtable tpm_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD("GetInfo", "", "a{sv}", method_get_info, 0),
        SD_BUS_METHOD("GetRandom", "u", "ay", method_get_random, 0),
        SD_BUS_METHOD("ReadPCRs", "sau", "a(uay)", method_read_pcrs, 0),
        SD_BUS_METHOD("Provision", "a{sv}", "a{sv}", method_provision, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

int main(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r;

        if (argc != 2 || (!streq(argv[1], "allow") && !streq(argv[1], "deny"))) {
                fprintf(stderr, "Usage: %s allow|deny\n", argv[0]);
                return 2;
        }
        deny_provision = streq(argv[1], "deny");

        r = sd_bus_open_system(&bus);
        if (r < 0) {
                fprintf(stderr, "Failed to connect to the bus: %s\n", strerror(-r));
                return 1;
        }
        r = sd_bus_add_object_vtable(bus, NULL, "/org/trustedplatform/TrustedPlatform1",
                                     "org.trustedplatform.TrustedPlatform1.Manager", manager_vtable, NULL);
        if (r >= 0)
                r = sd_bus_add_object_vtable(bus, NULL, "/org/trustedplatform/TrustedPlatform1",
                                             "org.trustedplatform.TrustedPlatform1.TPM", tpm_vtable, NULL);
        if (r >= 0)
                r = sd_bus_request_name(bus, "org.trustedplatform.TrustedPlatform1", 0);
        if (r < 0) {
                fprintf(stderr, "Failed to set up the bus objects: %s\n", strerror(-r));
                return 1;
        }

        printf("READY\n");
        fflush(stdout);

        for (;;) {
                r = sd_bus_process(bus, NULL);
                if (r < 0) {
                        fprintf(stderr, "Failed to process the bus: %s\n", strerror(-r));
                        return 1;
                }
                if (r > 0)
                        continue;
                r = sd_bus_wait(bus, UINT64_MAX);
                if (r < 0) {
                        fprintf(stderr, "Failed to wait on the bus: %s\n", strerror(-r));
                        return 1;
                }
        }
}
