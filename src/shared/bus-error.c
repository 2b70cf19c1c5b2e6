/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdarg.h>
#include <stdio.h>

#include "shared/bus-error.h"

const sd_bus_error_map bus_error_map[] = {
        SD_BUS_ERROR_MAP(BUS_ERROR_NO_TPM, ENODEV),
        SD_BUS_ERROR_MAP(BUS_ERROR_TPM_FAILURE, EIO),
        SD_BUS_ERROR_MAP(BUS_ERROR_TPM_LOCKOUT, ENOLCK),
        SD_BUS_ERROR_MAP(BUS_ERROR_NOT_PROVISIONED, ENOKEY),
        SD_BUS_ERROR_MAP(BUS_ERROR_SRK_MISMATCH, EKEYREJECTED),
        SD_BUS_ERROR_MAP(BUS_ERROR_BUSY, EBUSY),
        SD_BUS_ERROR_MAP(BUS_ERROR_NO_SPACE, ENOSPC),
        SD_BUS_ERROR_MAP_END,
};

const sd_bus_error_map bus_error_explicit_map[] = {
        SD_BUS_ERROR_MAP(BUS_ERROR_POLICY_MISMATCH, EPERM),
        SD_BUS_ERROR_MAP(BUS_ERROR_BAD_PIN, EACCES),
        SD_BUS_ERROR_MAP(BUS_ERROR_CREDENTIAL_REJECTED, EKEYREJECTED),
        SD_BUS_ERROR_MAP(BUS_ERROR_CA_NOT_INITIALIZED, ENOMEDIUM),
        SD_BUS_ERROR_MAP(BUS_ERROR_NO_SUCH_CERTIFICATE, ENOENT),
        SD_BUS_ERROR_MAP(BUS_ERROR_ALREADY_REVOKED, EALREADY),
        SD_BUS_ERROR_MAP(BUS_ERROR_CA_MISMATCH, EEXIST),
        SD_BUS_ERROR_MAP(BUS_ERROR_CA_KEY_STORE_UNAVAILABLE, EUNATCH),
        SD_BUS_ERROR_MAP(BUS_ERROR_CERTIFICATE_REVOKED, EKEYREVOKED),
        SD_BUS_ERROR_MAP(BUS_ERROR_CERTIFICATE_EXPIRED, EKEYEXPIRED),
        SD_BUS_ERROR_MAP(BUS_ERROR_NOT_FOR_SIGNING, EPERM),
        SD_BUS_ERROR_MAP(BUS_ERROR_NO_KEY, ENOKEY),
        SD_BUS_ERROR_MAP(BUS_ERROR_KEY_STORE_UNSUITABLE, EOPNOTSUPP),
        SD_BUS_ERROR_MAP(BUS_ERROR_VOLUME_TPM_UNAVAILABLE, EUNATCH),
        SD_BUS_ERROR_MAP(BUS_ERROR_VOLUME_REFUSED, EPERM),
        SD_BUS_ERROR_MAP(BUS_ERROR_VOLUME_EXISTS, EEXIST),
        SD_BUS_ERROR_MAP(BUS_ERROR_NOT_A_VOLUME, EMEDIUMTYPE),
        SD_BUS_ERROR_MAP(BUS_ERROR_NO_SUCH_VOLUME_ITEM, ENOENT),
        SD_BUS_ERROR_MAP(BUS_ERROR_PIN_REQUIRED, ENOANO),
        SD_BUS_ERROR_MAP(BUS_ERROR_CANCELLED, ECANCELED),
        SD_BUS_ERROR_MAP(BUS_ERROR_JOB_FINISHED, EALREADY),
        SD_BUS_ERROR_MAP(BUS_ERROR_VERDICT_REJECTED, EKEYREJECTED),
        SD_BUS_ERROR_MAP(BUS_ERROR_PLATFORM_UNTRUSTED, EPERM),
        SD_BUS_ERROR_MAP_END,
};

int bus_error_register(void) {
        int r;

        r = sd_bus_error_add_map(bus_error_map);
        if (r < 0)
                return r;
        return sd_bus_error_add_map(bus_error_explicit_map);
}

static const char *errno_to_our_name(int e) {
        for (const sd_bus_error_map *m = bus_error_map; m->name; m++)
                if (m->code == e)
                        return m->name;
        return NULL;
}

int bus_error_from_errno(sd_bus_error *e, int r, const char *fmt, ...) {
        _cleanup_free_ char *msg = NULL;
        const char *name;

        r = r < 0 ? -r : r;
        if (r == 0)
                r = EIO;

        if (!e)
                return -r;

        if (fmt) {
                va_list ap;
                int k;

                va_start(ap, fmt);
                k = vasprintf(&msg, fmt, ap);
                va_end(ap);
                if (k < 0)
                        msg = NULL;
        }

        name = errno_to_our_name(r);
        if (!name) {
                if (msg)
                        return sd_bus_error_set_errnof(e, r, "%s", msg);
                return sd_bus_error_set_errno(e, r);
        }

        (void) sd_bus_error_set(e, name, msg ?: strerror(r));
        return -r;
}
