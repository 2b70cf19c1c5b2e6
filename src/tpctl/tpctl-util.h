/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Helpers of tpctl that carry no global state: parsing of command-line values and mapping of D-Bus
 * failures to exit statuses. Unit-tested in tests/unit/tpctl/. */

#include <stdint.h>
#include <systemd/sd-bus.h>

#include "basic/macro.h"

#define TPCTL_BUS_NAME "org.trustedplatform.TrustedPlatform1"
#define TPCTL_BUS_PATH "/org/trustedplatform/TrustedPlatform1"
#define TPCTL_IFACE_MANAGER TPCTL_BUS_NAME ".Manager"
#define TPCTL_IFACE_TPM TPCTL_BUS_NAME ".TPM"

/* The daemon's bounds, checked here too so that a typo gets a clear message without a round trip. */
/* Whether s is one of the strings given: STR_IN_SET(profile, "tls-server", "device"). */
static inline bool tpctl_str_in_set(const char *s, const char *const *l) {
        for (; s && *l; l++)
                if (streq(s, *l))
                        return true;
        return false;
}
#define STR_IN_SET(s, ...) tpctl_str_in_set(s, (const char *const[]){ __VA_ARGS__, NULL })

#define TPCTL_PCR_COUNT 24U
#define TPCTL_RANDOM_MAX 4096U
/* The NV indexes trusted-platformd manages (TPM2_NV_RANGE_FIRST..LAST). */
#define TPCTL_NV_INDEX_FIRST 0x01A50000U
#define TPCTL_NV_INDEX_LAST 0x01A500FFU

/* Exit statuses, following the LSB init-script convention that systemctl also uses. */
enum {
        TPCTL_EXIT_SUCCESS = 0,
        TPCTL_EXIT_FAILURE = 1,
        TPCTL_EXIT_USAGE = 2,
        TPCTL_EXIT_ACCESS_DENIED = 4,
        TPCTL_EXIT_NOT_RUNNING = 7,
};

/* Parses a strict unsigned decimal number: digits only, no sign, no spaces, no overflow.
 * Returns 0, -EINVAL when s is not a number, -ERANGE when it does not fit. */
int tpctl_parse_uint32(const char *s, uint32_t *ret);

/* Parses a TPM handle or NV index: "0x" (or "0X") and 1 to 8 hex digits, or a decimal number as
 * tpctl_parse_uint32(). -EINVAL: syntax; -ERANGE: does not fit 32 bits. */
int tpctl_parse_handle(const char *s, uint32_t *ret);

/* Parses the byte count of "tpm random": 1..TPCTL_RANDOM_MAX. -EINVAL: not a number; -ERANGE: out of
 * bounds. */
int tpctl_parse_random_size(const char *s, uint32_t *ret);

/* Parses one PCR argument: "N", "A-B" (A <= B) or a comma-separated list of those, each index below
 * TPCTL_PCR_COUNT, and ORs the selected PCRs into *mask (bit i = PCR i). *mask is only changed on
 * success. -EINVAL: syntax (empty element, bad number, reversed range); -ERANGE: index too large. */
int tpctl_parse_pcr_spec(const char *s, uint32_t *mask);

/* Maps a failed bus call (r < 0, with error e possibly set) to an exit status. */
int tpctl_exit_status_from_bus_error(const sd_bus_error *e, int r);

/* Logs a clear message for a failed bus call and returns the exit status for it. "what" describes the
 * operation, e.g. "read TPM information". */
int tpctl_log_bus_error(const sd_bus_error *e, int r, const char *what);

