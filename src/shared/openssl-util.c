/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <openssl/err.h>

#include "basic/log.h"
#include "shared/openssl-util.h"

static bool is_decode_lib(int lib) {
        return lib == ERR_LIB_ASN1 || lib == ERR_LIB_PEM || lib == ERR_LIB_OSSL_DECODER || lib == ERR_LIB_X509 ||
               lib == ERR_LIB_X509V3;
}

int openssl_errno(void) {
        bool nomem = false, first = true, decode = false;
        const char *file, *func, *data;
        unsigned long e;
        int line, flags;

        while ((e = ERR_get_error_all(&file, &line, &func, &data, &flags)) != 0) {
                char buf[256];

                ERR_error_string_n(e, buf, sizeof(buf));
                log_debug("OpenSSL: %s%s%s (%s:%d %s)", buf, (flags & ERR_TXT_STRING) && data ? ": " : "",
                          (flags & ERR_TXT_STRING) && data ? data : "", strna(file), line, strna(func));

                if (ERR_GET_REASON(e) == ERR_R_MALLOC_FAILURE)
                        nomem = true;
                if (first)
                        decode = is_decode_lib(ERR_GET_LIB(e));
                first = false;
        }

        if (nomem)
                return -ENOMEM;
        if (decode)
                return -EINVAL;
        return -EIO;
}
