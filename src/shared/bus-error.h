/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Our D-Bus error names and their errno equivalents. Both directions work once bus_error_register()
 * ran: bus_error_from_errno() picks the name for an errno, and sd_bus_error_get_errno() (in a client
 * such as tpctl) gives the errno back for a name. */

#include <systemd/sd-bus.h>

#include "basic/macro.h"

#define BUS_ERROR_PREFIX "org.trustedplatform.TrustedPlatform1.Error."
#define BUS_ERROR_NO_TPM BUS_ERROR_PREFIX "NoTPM"                     /* ENODEV */
#define BUS_ERROR_TPM_FAILURE BUS_ERROR_PREFIX "TPMFailure"           /* EIO */
#define BUS_ERROR_TPM_LOCKOUT BUS_ERROR_PREFIX "TPMLockout"           /* ENOLCK */
#define BUS_ERROR_NOT_PROVISIONED BUS_ERROR_PREFIX "NotProvisioned"   /* ENOKEY */
#define BUS_ERROR_SRK_MISMATCH BUS_ERROR_PREFIX "SRKMismatch"         /* EKEYREJECTED */
#define BUS_ERROR_BUSY BUS_ERROR_PREFIX "Busy"                        /* EBUSY */
#define BUS_ERROR_NO_SPACE BUS_ERROR_PREFIX "NoSpace"                 /* ENOSPC */
/* Only set explicitly (sd_bus_error_set()), never picked by bus_error_from_errno(): EPERM and EACCES have
 * many other causes, which must not be reported as a PCR mismatch or a wrong PIN. A client still gets
 * the errno back through sd_bus_error_get_errno(). */
#define BUS_ERROR_POLICY_MISMATCH BUS_ERROR_PREFIX "PolicyMismatch" /* EPERM */
#define BUS_ERROR_BAD_PIN BUS_ERROR_PREFIX "BadPIN"                 /* EACCES */

/* Also only set explicitly: ActivateCredential's TPM refused the credential (made for another TPM's EK or
 * another attestation key, or altered). bus_error_from_errno() maps EKEYREJECTED to SRKMismatch. */
#define BUS_ERROR_CREDENTIAL_REJECTED BUS_ERROR_PREFIX "CredentialRejected" /* EKEYREJECTED */

/* Also only set explicitly, by the CA interface (ca-bus.c). */
#define BUS_ERROR_CA_NOT_INITIALIZED BUS_ERROR_PREFIX "CANotInitialized"   /* ENOMEDIUM */
#define BUS_ERROR_NO_SUCH_CERTIFICATE BUS_ERROR_PREFIX "NoSuchCertificate" /* ENOENT */
#define BUS_ERROR_ALREADY_REVOKED BUS_ERROR_PREFIX "AlreadyRevoked"        /* EALREADY */
#define BUS_ERROR_CA_MISMATCH BUS_ERROR_PREFIX "CAMismatch"                /* EEXIST */
#define BUS_ERROR_CA_KEY_STORE_UNAVAILABLE BUS_ERROR_PREFIX "CAKeyStoreUnavailable" /* EUNATCH */
/* Signing with a key the daemon keeps for a certificate (CA.Sign(), CA.GenerateCertificate()). */
#define BUS_ERROR_CERTIFICATE_REVOKED BUS_ERROR_PREFIX "CertificateRevoked"  /* EKEYREVOKED */
#define BUS_ERROR_CERTIFICATE_EXPIRED BUS_ERROR_PREFIX "CertificateExpired"  /* EKEYEXPIRED */
#define BUS_ERROR_NOT_FOR_SIGNING BUS_ERROR_PREFIX "NotForSigning"           /* EPERM */
#define BUS_ERROR_NO_KEY BUS_ERROR_PREFIX "NoKey"                            /* ENOKEY */
#define BUS_ERROR_KEY_STORE_UNSUITABLE BUS_ERROR_PREFIX "KeyStoreUnsuitable" /* EOPNOTSUPP */

/* Also only set explicitly, by the Volume methods (volume-bus.c). */
#define BUS_ERROR_VOLUME_TPM_UNAVAILABLE BUS_ERROR_PREFIX "VolumeTPMUnavailable" /* EUNATCH */
#define BUS_ERROR_VOLUME_REFUSED BUS_ERROR_PREFIX "VolumeRefused"                /* EPERM */
#define BUS_ERROR_VOLUME_EXISTS BUS_ERROR_PREFIX "VolumeExists"                  /* EEXIST */
#define BUS_ERROR_NOT_A_VOLUME BUS_ERROR_PREFIX "NotAVolume"                     /* EMEDIUMTYPE */
#define BUS_ERROR_NO_SUCH_VOLUME_ITEM BUS_ERROR_PREFIX "NoSuchVolumeItem"        /* ENOENT */
#define BUS_ERROR_PIN_REQUIRED BUS_ERROR_PREFIX "PINRequired"                    /* ENOANO */
/* A job ended by Job.Cancel() (job.c): it stopped at a safe point, or never started. */
#define BUS_ERROR_CANCELLED BUS_ERROR_PREFIX "Cancelled" /* ECANCELED */
/* Job.Cancel() of a job that already ended. */
#define BUS_ERROR_JOB_FINISHED BUS_ERROR_PREFIX "JobFinished" /* EALREADY */

/* Also only set explicitly, by the Manager: a verifier's verdict refused (SubmitVerdict()), and an
 * operation refused by the trust gate while the platform is untrusted. */
#define BUS_ERROR_VERDICT_REJECTED BUS_ERROR_PREFIX "VerdictRejected"     /* EKEYREJECTED */
#define BUS_ERROR_PLATFORM_UNTRUSTED BUS_ERROR_PREFIX "PlatformUntrusted" /* EPERM */

extern const sd_bus_error_map bus_error_map[];
extern const sd_bus_error_map bus_error_explicit_map[];

/* Registers bus_error_map and bus_error_explicit_map with sd-bus for this process. Idempotent. Returns >= 0 or a negative errno. */
int bus_error_register(void);

/* Sets e to our error name for r (negative or positive errno) when there is one, else to sd-bus's
 * mapping (sd_bus_error_set_errnof(), e.g. EINVAL -> org.freedesktop.DBus.Error.InvalidArgs), with the
 * message from fmt (or strerror(r) when fmt is NULL). e may be NULL. Returns -|r| (r == 0 is treated
 * as EIO: a caller asking for an error must get one). */
int bus_error_from_errno(sd_bus_error *e, int r, const char *fmt, ...) _printf_(3, 4);
