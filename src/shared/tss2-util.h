/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The one conversion of tpm2-tss return codes to errno. The decoded text (Tss2_RC_Decode()) goes to
 * the debug log, so the errno is what callers branch on and users see as a D-Bus error.
 *
 * Mapping, for TPM responses (layer TPM or resource-manager-TPM; parameter/handle/session numbers of
 * format-one codes ignored):
 *   0 (TPM2_RC_SUCCESS)                                   -> 0
 *   FAILURE (failure mode), INITIALIZE, REBOOT, UPGRADE, NEEDS_TEST -> -EIO
 *   RETRY, YIELDED, TESTING, NV_RATE, NV_UNAVAILABLE      -> -EBUSY   (try again later)
 *   CANCELED                                              -> -ECANCELED
 *   LOCKOUT (dictionary-attack lockout)                   -> -ENOLCK
 *   AUTH_FAIL, BAD_AUTH, AUTH_MISSING, AUTH_UNAVAILABLE,
 *   AUTH_TYPE, NV_AUTHORIZATION                           -> -EACCES  (wrong PIN/password)
 *   POLICY_FAIL, POLICY_CC, PCR_CHANGED, PCR, EXPIRED, TICKET, CPHASH,
 *   DISABLED, HIERARCHY, NV_LOCKED                        -> -EPERM   (policy not met, hierarchy off)
 *   *_MEMORY, *_HANDLES, NV_SPACE, TOO_MANY_CONTEXTS     -> -ENOSPC  (out of TPM memory)
 *   NV_DEFINED                                            -> -EEXIST
 *   HANDLE, REFERENCE_H0..H6, REFERENCE_S0..S6            -> -ENOENT  (no such object/index/session;
 *                                                            deliberately not -ENXIO, which callers
 *                                                            read as "transport gone, reopen")
 *   NV_UNINITIALIZED                                      -> -ENODATA (index defined, never written)
 *   COMMAND_CODE, ASYMMETRIC, HASH, CURVE, KEY_SIZE, SYMMETRIC, MODE, SCHEME, KDF, MGF -> -EOPNOTSUPP
 *   INTEGRITY, BINDING, SENSITIVE                         -> -EBADMSG (blob not made by this TPM/parent)
 *   other format-one codes (VALUE, SIZE, TYPE, ...)       -> -EINVAL
 *   anything else                                         -> -EIO
 * For the software layers (ESAPI, SYS, MU, TCTI, resource manager, FAPI, feature), by base code:
 *   NO_CONNECTION, NO_TPM, and IO_ERROR from the TCTI (no TPM, TPM went away) -> -ENODEV
 *   IO_ERROR from other layers                            -> -EIO
 *   BAD_VALUE, BAD_REFERENCE, BAD_CONTEXT, BAD_SIZE, BAD_TR, BAD_SEQUENCE, BAD_TCTI_STRUCTURE,
 *   MULTIPLE_*_SESSIONS, INVALID_SESSIONS, NO_DECRYPT_PARAM, NO_ENCRYPT_PARAM -> -EINVAL
 *   MALFORMED_RESPONSE, INSUFFICIENT_RESPONSE, INSUFFICIENT_BUFFER, INSUFFICIENT_CONTEXT,
 *   HASH_MISMATCH, RSP_AUTH_FAILED (response does not parse, or its HMAC is wrong) -> -EBADMSG
 *   MEMORY                                                -> -ENOMEM
 *   TRY_AGAIN                                             -> -EAGAIN
 *   NOT_IMPLEMENTED, NOT_SUPPORTED, ABI_MISMATCH, INCOMPATIBLE_TCTI -> -EOPNOTSUPP
 *   NOT_PERMITTED                                         -> -EPERM
 *   anything else (GENERAL_FAILURE, unknown layers)       -> -EIO */

#include <tss2/tss2_common.h>

int tss2_rc_to_errno(TSS2_RC rc);

/* Tss2_RC_Decode() that never returns NULL. The returned string lives in a thread-local buffer of
 * tss2-rc and is overwritten by the next call. */
const char *tss2_rc_to_string(TSS2_RC rc);
