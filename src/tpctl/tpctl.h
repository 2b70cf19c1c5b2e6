/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* State shared by the verbs of tpctl: the parsed global options, and the verb entry points. */

#include <stdint.h>

#include "tpctl/tpctl-output.h"

extern JsonMode arg_json;
extern bool arg_pager;
extern bool arg_legend;
extern bool arg_quiet;
extern bool arg_hex;
extern const char *arg_bank;
extern const char *arg_pcrs;
extern bool arg_pin;
extern const char *arg_nonce;
extern const char *arg_out_dir;
extern const char *arg_authorize_key;
extern const char *arg_expected_pcrs;
extern const char *arg_signed_policy;
extern const char *arg_key;
extern const char *arg_pcr_values;
extern const char *arg_append_to;

/* Each verb gets the positional arguments after its name and returns an exit status
 * (TPCTL_EXIT_*). */
int verb_status(int argc, char *argv[]);
int verb_tpm_info(int argc, char *argv[]);
int verb_tpm_random(int argc, char *argv[]);
int verb_tpm_pcrs(int argc, char *argv[]);
int verb_tpm_provision(int argc, char *argv[]);
int verb_tpm_seal(int argc, char *argv[]);
int verb_tpm_unseal(int argc, char *argv[]);
int verb_tpm_quote(int argc, char *argv[]);
int verb_tpm_extend(int argc, char *argv[]);
int verb_tpm_verify_quote(int argc, char *argv[]);
int verb_tpm_sign_policy(int argc, char *argv[]);

/* Reads a whole file (path NULL or "-": standard input) of at most max bytes; logs failures. */
int tpctl_read_input(const char *path, size_t max, char **ret, size_t *ret_size);
/* Writes data to path (0600, atomically) or, for NULL or "-", standard output; logs failures. */
int tpctl_write_output(const char *path, const void *data, size_t size);

/* Connects to the system bus; logs and returns an exit status on failure, 0 on success. */
int tpctl_bus_open(sd_bus **ret);

/* Prints obj as JSON (when --json= is on) or as a key/value table. */
int tpctl_print_object(const json_t *obj, const FieldFormat *fields, size_t n_fields, bool paged);
