/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The measured-boot policy: what a machine's verified evidence must show to be trusted. JSON, parsed
 * strictly (every unknown key, wrong type, bad value is an error naming its place), documented in
 * trusted-platform-policy(5):
 *
 * {
 *   "version": 1,
 *   "pcrs": { "sha256": { "0": "<hex>", "7": "<hex>" }, "sha1": { ... } },
 *                                  expected values; every PCR listed must be quoted
 *   "quote": { "sha256": [0, 1, 2] },   more PCRs to quote without an expected value (optional)
 *   "secure_boot": true,           Secure Boot must be (true) / must not be (false) enabled
 *   "setup_mode": false,
 *   "db":  { "required": ["<sha256 of a cert or hash entry>"], "forbidden": [...] },
 *   "dbx": { "required": [...], "forbidden": [...] },
 *   "boot_loaders": ["<sha256>"],  allowed digests of the first boot application (PCR 4)
 *   "kernels": ["<sha256>"],       allowed digests of the kernel
 *   "kernel_cmdline": { "equals": "...", "required": ["quiet"], "forbidden": ["init=", "single"] },
 *                                  required/forbidden: whole words, or prefixes when they end in '='
 *   "ima": { "allow": { "/usr/bin/bash": ["sha256:<hex>", ...] }, "exclude": ["/tmp/", "/var/log/"],
 *            "unknown": "deny" | "ignore" },
 *                                  files measured with a digest not listed are violations; files not in
 *                                  the list are violations unless "unknown" is "ignore"; paths under an
 *                                  excluded prefix are not checked
 *   "force": false                 accept a policy that checks nothing (never by default)
 * }
 *
 * A policy that checks nothing (no PCR value, no fact, no IMA rule; or only an IMA rule that excludes
 * "/") is refused with -EDOM ("accepts every machine") unless "force" is true; a forced
 * empty policy is reported as such (attest_policy_checks_nothing()). Facts are read from the object of
 * eventlog_facts() (eventlog-facts.h). */

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "basic/macro.h"
#include "eventlog/ima-log.h"
#include "tpm2/tpm2-pcr.h"

#define ATTEST_POLICY_SIZE_MAX (4U * 1024U * 1024U)
#define ATTEST_POLICY_LIST_MAX 4096U /* entries of any list (db hashes, allowed digests, ...) */
#define ATTEST_POLICY_IMA_FILES_MAX 100000U
#define ATTEST_POLICY_STRING_MAX 4096U /* one string (a path, a command line) */

typedef struct AttestPolicy AttestPolicy;

typedef struct AttestPolicyError {
        char path[128];    /* where, as a JSON path: "pcrs.sha256.\"7\"", "ima.allow[\"/usr/bin/ls\"][0]" */
        char message[256]; /* the whole sentence, path included */
} AttestPolicyError;

/* Parses size bytes of JSON text. Returns 0 with *ret (attest_policy_free()), or with *ret_error
 * filled (may be NULL): -EBADMSG not JSON / not an object / a value of the wrong type or form,
 * -EINVAL a value out of range (PCR index, digest size for the bank, unknown bank or key),
 * -E2BIG a limit above, -EDOM the policy checks nothing and "force" is not true, -ENOMEM. */
int attest_policy_parse(const char *text, size_t size, AttestPolicy **ret, AttestPolicyError *ret_error);

AttestPolicy *attest_policy_free(AttestPolicy *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(AttestPolicy *, attest_policy_free);

/* True for a policy accepted only because of "force". */
bool attest_policy_checks_nothing(const AttestPolicy *p);

/* True when the policy has IMA rules (then PCR 10 of the sha256 bank must be quoted and the IMA log
 * replayed against it). */
bool attest_policy_has_ima(const AttestPolicy *p);

/* The PCRs the policy needs quoted: for bank (TPM_ALG_ID), a mask of PCR indexes (bit i = PCR i). */
uint32_t attest_policy_quote_mask(const AttestPolicy *p, uint16_t bank);

/* The evidence, all verified by the caller (the PCR values come from a verified quote, the facts
 * from a firmware log whose replay matched them, the IMA log from a replay that matched PCR 10). */
typedef struct AttestPolicyInput {
        const Tpm2PcrValue *pcrs;
        size_t n_pcrs;
        json_t *facts;     /* eventlog_facts(); NULL: no firmware log (every fact rule fails) */
        const ImaLog *ima; /* NULL: no IMA log (IMA rules fail unless the policy has none) */
} AttestPolicyInput;

typedef struct AttestPolicyResult {
        char *rule; /* "pcrs.sha256.7", "secure_boot", "db.forbidden", "kernel_cmdline.forbidden",
                        * "ima.allow", ... */
        bool passed;
        char *message; /* what was found, e.g. "PCR 7 (sha256) is 3b2c…, expected 9f1e…" */
} AttestPolicyResult;

void attest_policy_results_free(AttestPolicyResult *r, size_t n);

/* Evaluates every rule. *ret (attest_policy_results_free()) has one entry per rule (a rule over a
 * list reports its first violations in one entry). Returns the number of failed rules (0: trusted),
 * or -ENOMEM. IMA violations are reported per file, at most 16, then summarised. */
int attest_policy_evaluate(const AttestPolicy *p, const AttestPolicyInput *in, AttestPolicyResult **ret,
                           size_t *ret_n);

/* Writes a policy from the current evidence (`tpctl policy learn`): the given PCR values, Secure Boot
 * and setup mode, the boot loader and kernel digests and the kernel command line from the facts (when
 * present). Returns 0 with *ret (a new JSON object in the form above), -ENODATA when there is nothing
 * to learn. */
int attest_policy_learn(const Tpm2PcrValue *pcrs, size_t n_pcrs, json_t *facts, json_t **ret);
