/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The one conversion of tpm2-tss return codes to errno. The decoded text (Tss2_RC_Decode()) goes to
 * the debug log, so the errno is what callers branch on and users see as a D-Bus error.
 *
 * Mapping, for TPM responses (layer TPM or resource-manager-TPM; parameter/handle/session numbers of
 * format-one codes ignored):
 *   0 (TPM2_RC_SUCCESS)                                   -> 0
 *   LOCKOUT (dictionary-attack lockout)                   -> -ENOLCK
 *   NV_SPACE, OBJECT_MEMORY, SESSION_MEMORY, MEMORY,
 *   OBJECT_HANDLES, SESSION_HANDLES                       -> -ENOSPC
 *   RETRY, YIELDED, TESTING, NV_RATE, NV_UNAVAILABLE      -> -EBUSY   (try again later)
 *   HANDLE, REFERENCE_H0..H6, REFERENCE_S0..S6            -> -ENOENT  (no such object/index/session)
 *   NV_UNINITIALIZED                                      -> -ENODATA (index defined, never written)
 *   AUTH_FAIL, BAD_AUTH, POLICY_FAIL, POLICY_CC, AUTH_MISSING,
 *   AUTH_UNAVAILABLE, AUTH_TYPE, NV_AUTHORIZATION, NV_LOCKED,
 *   PCR_CHANGED, EXPIRED, TICKET, CPHASH                  -> -EACCES  (wrong PIN, policy not met)
 *   INTEGRITY (blob not made by this TPM/parent)          -> -EBADMSG
 *   COMMAND_CODE (command not implemented by this TPM)   -> -EOPNOTSUPP
 *   FAILURE (failure mode), INITIALIZE, anything else     -> -EIO
 *   other format-one codes (VALUE, SIZE, TYPE, KEY_SIZE, ...) -> -EINVAL
 * For the software layers (ESAPI, SYS, MU, TCTI, resource manager, FAPI, feature), by base code:
 *   TCTI layer IO_ERROR or NO_CONNECTION (no TPM, TPM went away) -> -ENODEV
 *   other layers IO_ERROR                                 -> -EIO
 *   BAD_VALUE, BAD_REFERENCE, BAD_CONTEXT, BAD_SIZE, BAD_TR, BAD_SEQUENCE,
 *   ABI_MISMATCH, MULTIPLE_*_SESSIONS, INVALID_SESSIONS,
 *   NO_DECRYPT_PARAM, NO_ENCRYPT_PARAM                    -> -EINVAL
 *   MALFORMED_RESPONSE, INSUFFICIENT_RESPONSE,
 *   RSP_AUTH_FAILED (response HMAC wrong: forged or corrupted) -> -EBADMSG
 *   INSUFFICIENT_BUFFER, INSUFFICIENT_CONTEXT             -> -ENOBUFS
 *   MEMORY                                                -> -ENOMEM
 *   TRY_AGAIN                                             -> -EAGAIN
 *   NOT_IMPLEMENTED, NOT_SUPPORTED, INCOMPATIBLE_TCTI     -> -EOPNOTSUPP
 *   NOT_PERMITTED                                         -> -EPERM
 *   anything else                                         -> -EIO */

#include <tss2/tss2_common.h>

int tss2_rc_to_errno(TSS2_RC rc);

/* Tss2_RC_Decode() that never returns NULL. The returned string lives in a thread-local buffer of
 * tss2-rc and is overwritten by the next call. */
const char *tss2_rc_to_string(TSS2_RC rc);
