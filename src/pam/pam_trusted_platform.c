/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* pam_trusted_platform.so: account management gated on the platform's trust state. The logic and its
 * tests live in pam-trust.c; only pam_sm_acct_mgmt() is exported (pam_trusted_platform.sym). */

#include <security/pam_modules.h>

#include "basic/macro.h"
#include "pam/pam-trust.h"

_public_ PAM_EXTERN int pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv) {
        return pam_trust_account(pamh, flags, argc, argv);
}
