/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* State shared by the verbs of tpctl: the parsed global options, and the verb entry points. */

#include <stdint.h>

#include "eventlog/eventlog-replay.h"
#include "tpctl/tpctl-output.h"

extern JsonMode arg_json;
extern bool arg_pager;
extern bool arg_legend;
extern bool arg_quiet;
extern bool arg_hex;
extern const char *arg_bank;
extern const char *arg_pcrs;
extern bool arg_pin;
extern bool arg_accept_risk;
extern bool arg_force;        /* volume create */
extern bool arg_recovery_key; /* volume create */
extern const char *arg_label; /* volume create */
extern const char *arg_nonce;
extern const char *arg_out_dir;
extern const char *arg_alg;
extern bool arg_persist;
extern const char *arg_cert_out;
extern const char *arg_public_out;
extern bool arg_reset;
extern const char *arg_offset;
extern const char *arg_size;
extern const char *arg_certificate;
extern const char *arg_authorize_key;
extern const char *arg_expected_pcrs;
extern const char *arg_signed_policy;
extern const char *arg_key;
extern const char *arg_pcr_values;
extern const char *arg_append_to;
extern const char *arg_ek_public;
extern const char *arg_ak_name;
extern const char *arg_ek;
extern bool arg_compare_tpm;
extern const char *arg_eventlog;
extern const char *arg_quote;
extern const char *arg_profile;
extern const char *arg_validity_days;
extern const char *arg_reason;
extern const char *arg_url;
extern const char *arg_purpose;
extern const char *arg_key_in;
extern const char *arg_passphrase_file;
extern const char *arg_tpm_manufacturer; /* ca issue, ca sign-csr: the TPM of an ak or ek certificate */
extern const char *arg_tpm_model;
extern const char *arg_tpm_version;
extern bool arg_verbose; /* security: -v, --verbose */

/* Each verb gets the positional arguments after its name and returns an exit status
 * (TPCTL_EXIT_*). */
int verb_status(int argc, char *argv[]);
int verb_attest(int argc, char *argv[]);
int verb_tpm_info(int argc, char *argv[]);
int verb_tpm_random(int argc, char *argv[]);
int verb_tpm_pcrs(int argc, char *argv[]);
int verb_tpm_provision(int argc, char *argv[]);
int verb_tpm_seal(int argc, char *argv[]);
int verb_tpm_unseal(int argc, char *argv[]);
int verb_tpm_quote(int argc, char *argv[]);
int verb_tpm_extend(int argc, char *argv[]);
int verb_tpm_verify_quote(int argc, char *argv[]);
int verb_tpm_ek(int argc, char *argv[]);
int verb_tpm_ak(int argc, char *argv[]);
int verb_tpm_lockout(int argc, char *argv[]);
int verb_tpm_make_credential(int argc, char *argv[]);
int verb_tpm_activate_credential(int argc, char *argv[]);

int verb_tpm_nv_define(int argc, char *argv[]);
int verb_tpm_nv_write(int argc, char *argv[]);
int verb_tpm_nv_read(int argc, char *argv[]);
int verb_tpm_nv_undefine(int argc, char *argv[]);
int verb_tpm_nv_list(int argc, char *argv[]);

/* Data in and out of the verbs that move secrets (tpctl-seal.c). path NULL or "-" is standard input or
 * output; output files are written atomically with mode 0600. Both log their failures. */
int tpctl_read_input(const char *path, size_t max, char **ret, size_t *ret_size);
/* Appends {key: <ay data>} to an open a{sv} container. */
int tpctl_append_bytes_option(sd_bus_message *m, const char *key, const void *data, size_t size);
int tpctl_write_output(const char *path, const void *data, size_t size);

/* The PIN: $TPCTL_PIN (for scripts), else asked on the terminal without echo. Logs failures.
 * *ret: erase it. */
int tpctl_get_pin(char **ret);

/* Calls m (marked sensitive, interactive authorization allowed, with a polkit agent) and marks the reply
 * sensitive. */
int tpctl_call_sensitive(sd_bus *bus, sd_bus_message *m, sd_bus_message **reply, sd_bus_error *error);
int verb_ca_init(int argc, char *argv[]);

/* tpctl-volume.c */
int verb_volume_list(int argc, char *argv[]);
int verb_volume_status(int argc, char *argv[]);
int verb_volume_create(int argc, char *argv[]);
int verb_volume_enroll(int argc, char *argv[]);
int verb_volume_unenroll(int argc, char *argv[]);
int verb_volume_reseal(int argc, char *argv[]);
int verb_volume_recovery_key(int argc, char *argv[]);
int verb_volume_unlock_test(int argc, char *argv[]);
int verb_ca_issue(int argc, char *argv[]);
int verb_ca_sign_csr(int argc, char *argv[]);
int verb_ca_revoke(int argc, char *argv[]);
int verb_ca_list(int argc, char *argv[]);
int verb_ca_show(int argc, char *argv[]);
int verb_ca_crl(int argc, char *argv[]);
int verb_ca_bundle(int argc, char *argv[]);
int verb_ca_ocsp(int argc, char *argv[]);
int verb_ca_trust_import(int argc, char *argv[]);
int verb_ca_trust_list(int argc, char *argv[]);
int verb_ca_trust_remove(int argc, char *argv[]);
int verb_ca_trust_install(int argc, char *argv[]);
int verb_ca_trust_uninstall(int argc, char *argv[]);
int verb_ca_verify_cert(int argc, char *argv[]);
int verb_ca_sign(int argc, char *argv[]);
int verb_ca_verify(int argc, char *argv[]);
/* CA.GenerateCertificate() for "ca issue --key-in=tpm|daemon" (tpctl-ca-sign.c): writes cert_path and,
 * when the daemon hands the key out (TPM-wrapped), key_path. -EOPNOTSUPP (nothing logged) when
 * require_tpm is set and the daemon's store is not the TPM or cannot hold alg; else an exit status. */
/* Appends the issuance options given on the command line (--validity-days= as days, > 0; the TPM of an ak or
 * ek certificate) as entries of an open a{sv}. */
int tpctl_ca_append_issue_options(sd_bus_message *m, uint32_t days);
int tpctl_ca_generate(const char *name, const char *profile, const char *alg, uint32_t days,
                      bool require_tpm, const char *cert_path, const char *key_path);
/* GetCertificate(which) as PEM; 0 or a TPCTL_EXIT_* (logged). */
int tpctl_ca_get_certificate(sd_bus *bus, const char *which, char **ret);

int verb_ima_show(int argc, char *argv[]);
int verb_ima_replay(int argc, char *argv[]);

int verb_eventlog_show(int argc, char *argv[]);
int verb_eventlog_replay(int argc, char *argv[]);
int verb_eventlog_facts(int argc, char *argv[]);
int verb_eventlog_diff(int argc, char *argv[]);

/* Appends the TPM's values of the PCRs in mask of bank (through trusted-platformd's ReadPCRs()) to
 * values[*n...], at most max in all. Logs failures; -EOPNOTSUPP (logged at notice level) when the TPM
 * has no active bank of that name. */
/* Verifies the quote in dir (as "tpm quote" writes it) against --nonce=, printing each check when verbose.
 * Returns an exit status; on success *ret_values (free(), may be NULL) holds the quoted PCR values. */
typedef struct Tpm2PcrValue Tpm2PcrValue;
int tpctl_verify_quote_dir(const char *dir, bool verbose, Tpm2PcrValue **ret_values, size_t *ret_n);

int tpctl_read_tpm_pcrs(sd_bus *bus, uint16_t bank, uint32_t mask, EventlogPcrValue *values, size_t max,
                        size_t *n);

int verb_tpm_sign_policy(int argc, char *argv[]);
int verb_policy_learn(int argc, char *argv[]);
int verb_policy_check(int argc, char *argv[]);

/* tpctl-trust.c */
int verb_verdict_submit(int argc, char *argv[]);
int verb_verdict_show(int argc, char *argv[]);
int verb_security(int argc, char *argv[]);

/* Connects to the system bus; logs and returns an exit status on failure, 0 on success. */
int tpctl_bus_open(sd_bus **ret);

/* Table cells shared by the verbs: seconds like "16min 40s", handles as 0x%08x. */
int format_seconds_cell(const json_t *v, char **ret);
int format_handle_cell(const json_t *v, char **ret);

/* Prints obj as JSON (when --json= is on) or as a key/value table. */
int tpctl_print_object(const json_t *obj, const FieldFormat *fields, size_t n_fields, bool paged);
