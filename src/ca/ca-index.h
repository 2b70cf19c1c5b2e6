/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The record of issued certificates. One JSON record per certificate, "<dir>/index/<SERIAL>.json",
 * holding the certificate itself, and a copy of the certificate as "<dir>/certs/<SERIAL>.pem".
 * The record is written (atomically, fsync'd, directory fsync'd) first and is authoritative: a
 * certificate exists once its record is durable, and the PEM copy is derived from it. */

#include <openssl/x509.h>
#include <time.h>

#include "basic/macro.h"
#include "ca/ca-cert.h"

typedef enum CaCertStatus {
        CA_CERT_VALID,
        CA_CERT_REVOKED,
        _CA_CERT_STATUS_MAX,
        _CA_CERT_STATUS_INVALID = -EINVAL,
} CaCertStatus;

/* RFC 5280 5.3.1 CRLReason values (7 is unused). */
typedef enum CaRevocationReason {
        CA_REASON_UNSPECIFIED = 0,
        CA_REASON_KEY_COMPROMISE = 1,
        CA_REASON_CA_COMPROMISE = 2,
        CA_REASON_AFFILIATION_CHANGED = 3,
        CA_REASON_SUPERSEDED = 4,
        CA_REASON_CESSATION_OF_OPERATION = 5,
        CA_REASON_CERTIFICATE_HOLD = 6,
        CA_REASON_REMOVE_FROM_CRL = 8,
        CA_REASON_PRIVILEGE_WITHDRAWN = 9,
        CA_REASON_AA_COMPROMISE = 10,
        _CA_REASON_MAX,
        _CA_REASON_INVALID = -EINVAL,
} CaRevocationReason;

const char *ca_cert_status_to_string(CaCertStatus s) _const_;
CaCertStatus ca_cert_status_from_string(const char *s) _pure_;
/* "unspecified", "keyCompromise", ... as in RFC 5280; NULL for 7 and out-of-range values. */
const char *ca_revocation_reason_to_string(CaRevocationReason r) _const_;
CaRevocationReason ca_revocation_reason_from_string(const char *s) _pure_;

typedef struct CaIndexEntry {
        char serial[2 * CA_SERIAL_SIZE + 1];
        char *subject; /* RFC 2253 */
        char **sans;   /* "DNS:...", ...; may be NULL */
        char *profile;
        time_t not_before, not_after;
        CaCertStatus status;
        time_t revoked_at;         /* when status is revoked */
        CaRevocationReason reason; /* when status is revoked */
} CaIndexEntry;

CaIndexEntry *ca_index_entry_free(CaIndexEntry *e);
DEFINE_TRIVIAL_CLEANUP_FUNC(CaIndexEntry *, ca_index_entry_free);
void ca_index_entry_array_free(CaIndexEntry **l, size_t n);

/* Creates "<dir>/index" and "<dir>/certs" (0700) if missing. */
int ca_index_prepare(const char *dir);

/* Brings dir back to a consistent state after a writer was killed (the caller holds the CA lock, so no
 * other writer lives): removes temporary files in dir, index/ and certs/, restores missing PEM copies
 * from their records, and removes PEM copies without a record. */
int ca_index_recover(const char *dir);

/* 1 if a record for serial exists, 0 if not. */
int ca_index_exists(const char *dir, const char *serial);

/* Records a newly issued certificate: -EEXIST if its serial is known. Returns only after the
 * record is durable; then writes the PEM copy. */
int ca_index_add(const char *dir, const CaIndexEntry *e, X509 *cert);

/* ca_index_add() for n certificates with one flush for all (write_files_new(): group commit). Records
 * are created, never replaced. ret_results (n entries) gets per certificate 0 or -EEXIST (its serial
 * is known). Returns 0 when every result is durable, or a negative errno for the batch (-E2BIG for
 * more than CA_INDEX_BATCH_MAX, -EOPNOTSUPP without O_TMPFILE: use ca_index_add(); I/O errors: then
 * no result may be considered durable). */
#define CA_INDEX_BATCH_MAX 128U
int ca_index_add_batch(const char *dir, const CaIndexEntry *const *entries, X509 *const *certs, size_t n,
                       int *ret_results);

/* The record and/or the certificate for serial (both out parameters may be NULL); -ENOENT if
 * unknown, -EBADMSG for a damaged record. */
int ca_index_lookup(const char *dir, const char *serial, CaIndexEntry **ret_entry, X509 **ret_cert);

/* All records, sorted by serial. */
int ca_index_list(const char *dir, CaIndexEntry ***ret, size_t *ret_n);

/* Marks serial revoked with reason at time t (durable). -ENOENT unknown, -EALREADY if revoked. */
int ca_index_revoke(const char *dir, const char *serial, CaRevocationReason reason, time_t t);
