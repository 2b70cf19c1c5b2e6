/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdio.h>
#include <string.h>

#include "basic/log.h"
#include "basic/string-util.h"
#include "tpctl/tpctl-util.h"

int tpctl_parse_uint32(const char *s, uint32_t *ret) {
        uint64_t v = 0;

        assert(s);
        assert(ret);

        /* strtoul() accepts spaces, signs and "0x"; a PCR list is easier to reason about without. */
        if (!s[0])
                return -EINVAL;
        for (const char *p = s; *p; p++) {
                if (*p < '0' || *p > '9')
                        return -EINVAL;
                v = v * 10 + (uint64_t) (*p - '0');
                if (v > UINT32_MAX) {
                        /* Keep scanning so that "99999999999x" is reported as a syntax error. */
                        for (p++; *p; p++)
                                if (*p < '0' || *p > '9')
                                        return -EINVAL;
                        return -ERANGE;
                }
        }

        *ret = (uint32_t) v;
        return 0;
}

int tpctl_parse_handle(const char *s, uint32_t *ret) {
        uint64_t v = 0;
        size_t n;

        assert(s);
        assert(ret);

        if (s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
                return tpctl_parse_uint32(s, ret);

        n = strlen(s + 2);
        if (n == 0 || strspn(s + 2, "0123456789abcdefABCDEF") != n)
                return -EINVAL;
        /* Leading zeros are fine ("0x01a50000"); value, not length, decides whether it fits. */
        for (const char *p = s + 2; *p; p++) {
                int d = *p <= '9' ? *p - '0' : (*p | 0x20) - 'a' + 10;

                v = v * 16 + (uint64_t) d;
                if (v > UINT32_MAX)
                        return -ERANGE;
        }

        *ret = (uint32_t) v;
        return 0;
}

int tpctl_parse_random_size(const char *s, uint32_t *ret) {
        uint32_t n;
        int r;

        assert(ret);

        r = tpctl_parse_uint32(s, &n);
        if (r < 0)
                return r;
        if (n < 1 || n > TPCTL_RANDOM_MAX)
                return -ERANGE;

        *ret = n;
        return 0;
}

static int parse_pcr_index(const char *s, size_t len, uint32_t *ret) {
        _cleanup_free_ char *t = NULL;
        uint32_t v;
        int r;

        t = memdup_suffix0(s, len);
        if (!t)
                return -ENOMEM;
        r = tpctl_parse_uint32(t, &v);
        if (r < 0)
                return r;
        if (v >= TPCTL_PCR_COUNT)
                return -ERANGE;

        *ret = v;
        return 0;
}

int tpctl_parse_pcr_spec(const char *s, uint32_t *mask) {
        uint32_t m = 0;
        const char *p;

        assert(s);
        assert(mask);

        p = s;
        for (;;) {
                size_t len = strcspn(p, ",");
                const char *dash;
                uint32_t a, b;
                int r;

                if (len == 0)
                        return -EINVAL; /* "", ",1", "1,", "1,,2" */

                dash = memchr(p, '-', len);
                if (dash) {
                        r = parse_pcr_index(p, dash - p, &a);
                        if (r < 0)
                                return r;
                        r = parse_pcr_index(dash + 1, len - (dash - p) - 1, &b);
                        if (r < 0)
                                return r;
                        if (a > b)
                                return -EINVAL;
                } else {
                        r = parse_pcr_index(p, len, &a);
                        if (r < 0)
                                return r;
                        b = a;
                }

                for (uint32_t i = a; i <= b; i++)
                        m |= UINT32_C(1) << i;

                if (p[len] == 0)
                        break;
                p += len + 1;
        }

        *mask |= m;
        return 0;
}

int tpctl_exit_status_from_bus_error(const sd_bus_error *e, int r) {
        if (sd_bus_error_is_set(e)) {
                if (sd_bus_error_has_names(e, SD_BUS_ERROR_ACCESS_DENIED,
                                           SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED))
                        return TPCTL_EXIT_ACCESS_DENIED;
                if (sd_bus_error_has_names(e, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER))
                        return TPCTL_EXIT_NOT_RUNNING;
                /* The daemon validates what tpctl cannot know locally (e.g. which PCR banks exist): a
                 * refused argument is still the user's usage error. */
                if (sd_bus_error_has_name(e, SD_BUS_ERROR_INVALID_ARGS))
                        return TPCTL_EXIT_USAGE;
                return TPCTL_EXIT_FAILURE;
        }

        /* No error name: the failure happened locally, typically while connecting to the bus. */
        switch (r) {
        case -ENOENT:
        case -ECONNREFUSED:
                return TPCTL_EXIT_NOT_RUNNING;
        case -EACCES:
        case -EPERM:
                return TPCTL_EXIT_ACCESS_DENIED;
        default:
                return TPCTL_EXIT_FAILURE;
        }
}

int tpctl_log_bus_error(const sd_bus_error *e, int r, const char *what) {
        int status = tpctl_exit_status_from_bus_error(e, r);

        switch (status) {
        case TPCTL_EXIT_NOT_RUNNING:
                if (!sd_bus_error_is_set(e))
                        log_error_errno(r, "Cannot connect to the system bus: %m");
                log_error("trusted-platformd is not running (" TPCTL_BUS_NAME " is not on the system bus). "
                          "Start it with: systemctl start trusted-platformd");
                break;
        case TPCTL_EXIT_ACCESS_DENIED:
                log_error("Failed to %s: access denied (%s). Run the command as root, or through a polkit "
                          "authentication agent.",
                          what, sd_bus_error_is_set(e) ? e->message ?: e->name : strerror(-r));
                break;
        default:
                if (sd_bus_error_is_set(e))
                        log_error("Failed to %s: %s", what, e->message ?: e->name);
                else
                        log_error_errno(r, "Failed to %s: %m", what);
                /* Sealing, enrolling a volume or an NV index with a PIN all need the SRK, which nothing
                 * creates on its own: say which command does. */
                if (sd_bus_error_has_name(e, TPCTL_BUS_NAME ".Error.NotProvisioned"))
                        log_error("The TPM has no storage root key yet: run \"tpctl tpm provision\" once "
                                  "(as an administrator), then try again.");
        }

        return status;
}
