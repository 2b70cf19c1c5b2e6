/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* tpctl tpm quote|verify-quote: a quote from the daemon's AK written to a directory, and its offline
 * verification with attest_quote_verify() (no daemon, no TPM). The directory holds attest.bin (TPMS_ATTEST),
 * signature.bin (TPMT_SIGNATURE), ak.pub (TPM2B_PUBLIC, tss2-mu wire form) and pcrs.json:
 *   {"Selection": [{"Bank": "sha256", "PCRs": [0, 7]}], "Values": [{"Bank", "Index", "Digest"}...]} */

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/stat.h>
#include <tss2/tss2_mu.h>

#include "attest/attest-quote.h"
#include "basic/fileio.h"
#include "basic/hexdecoct.h"
#include "basic/log.h"
#include "tpctl/tpctl-util.h"
#include "tpm2/tpm2-quote.h"
#include "tpctl/tpctl.h"

#define QUOTE_FILE_MAX (64U * 1024U)

static int parse_nonce(void **ret, size_t *ret_size) {
        if (!arg_nonce) {
                log_error("Missing --nonce=HEX: the verifier's fresh challenge, 16 to 64 bytes.");
                return -EINVAL;
        }
        if (unhexmem(arg_nonce, SIZE_MAX, ret, ret_size) < 0 || *ret_size < 16 || *ret_size > 64) {
                log_error("Invalid --nonce= '%s': expected 16 to 64 bytes as hex.", arg_nonce);
                return -EINVAL;
        }
        return 0;
}

static int parse_selection(uint32_t *ret_mask) {
        uint32_t mask = 0;

        if (!arg_pcrs) {
                *ret_mask = UINT32_C(0xff); /* 0-7: firmware, boot loader, Secure Boot policy */
                return 0;
        }
        if (tpctl_parse_pcr_spec(arg_pcrs, &mask) < 0) {
                log_error("Invalid --pcrs= '%s': expected indexes 0-%u, ranges like 0-7, or a "
                          "comma-separated list like 0,2,7.",
                          arg_pcrs, TPCTL_PCR_COUNT - 1);
                return -EINVAL;
        }
        *ret_mask = mask;
        return 0;
}

static int write_in_dir(const char *dir, const char *name, const void *data, size_t size) {
        _cleanup_free_ char *path = NULL;
        int r;

        if (asprintf(&path, "%s/%s", dir, name) < 0)
                return log_oom();
        r = write_file_atomic(path, data, size, 0644);
        if (r < 0)
                return log_error_errno(r, "Failed to write %s: %m", path);
        return 0;
}

int verb_tpm_quote(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(json_decrefp) json_t *values = NULL, *doc = NULL, *pcr_list = NULL;
        _cleanup_free_ char *text = NULL;
        _cleanup_free_ void *nonce = NULL;
        const char *bank = arg_bank ?: "sha256", *dir = arg_out_dir ?: ".";
        const void *attest, *sig, *ak;
        size_t nonce_size, attest_size, sig_size, ak_size;
        uint32_t mask;
        int r;

        if (parse_nonce(&nonce, &nonce_size) < 0 || parse_selection(&mask) < 0)
                return TPCTL_EXIT_USAGE;

        r = tpctl_bus_open(&bus);
        if (r != 0)
                return r;

        pcr_list = json_array();
        if (!pcr_list)
                return log_oom(), TPCTL_EXIT_FAILURE;

        r = sd_bus_message_new_method_call(bus, &m, TPCTL_BUS_NAME, TPCTL_BUS_PATH, TPCTL_IFACE_TPM, "Quote");
        if (r >= 0)
                r = sd_bus_message_append_array(m, 'y', nonce, nonce_size);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "(sau)");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'r', "sau");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", bank);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "u");
        for (uint32_t i = 0; r >= 0 && i < TPCTL_PCR_COUNT; i++)
                if (mask & (UINT32_C(1) << i)) {
                        r = sd_bus_message_append(m, "u", i);
                        if (r >= 0 && json_array_append_new(pcr_list, json_integer(i)) < 0)
                                r = -ENOMEM;
                }
        for (int k = 0; r >= 0 && k < 3; k++)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_set_allow_interactive_authorization(m, true);
        if (r < 0)
                return log_error_errno(r, "Failed to build the Quote() call: %m"), TPCTL_EXIT_FAILURE;

        r = sd_bus_call(bus, m, UINT64_C(300) * 1000000, &error, &reply);
        if (r < 0)
                return tpctl_log_bus_error(&error, r, "quote the PCRs");

        r = sd_bus_message_read_array(reply, 'y', &attest, &attest_size);
        if (r >= 0)
                r = sd_bus_message_read_array(reply, 'y', &sig, &sig_size);
        if (r >= 0)
                r = sd_bus_message_enter_container(reply, 'a', "(suay)");
        values = json_array();
        if (!values)
                return log_oom(), TPCTL_EXIT_FAILURE;
        while (r >= 0) {
                _cleanup_free_ char *hex = NULL;
                const char *b;
                const void *d;
                uint32_t index;
                size_t size;

                r = sd_bus_message_enter_container(reply, 'r', "suay");
                if (r <= 0)
                        break;
                r = sd_bus_message_read(reply, "su", &b, &index);
                if (r >= 0)
                        r = sd_bus_message_read_array(reply, 'y', &d, &size);
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
                if (r >= 0)
                        r = hexmem(d, size, &hex);
                if (r >= 0 &&
                    json_array_append_new(values,
                                          json_pack("{s:s,s:I,s:s}", "Bank", b, "Index", (json_int_t) index,
                                                    "Digest", hex)) < 0)
                        r = -ENOMEM;
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(reply);
        if (r >= 0)
                r = sd_bus_message_read_array(reply, 'y', &ak, &ak_size);
        if (r < 0)
                return log_error_errno(r, "Failed to parse the Quote() reply: %m"), TPCTL_EXIT_FAILURE;

        doc = json_pack("{s:[{s:s,s:O}],s:O}", "Selection", "Bank", bank, "PCRs", pcr_list, "Values", values);
        if (!doc)
                return log_oom(), TPCTL_EXIT_FAILURE;
        text = json_dumps(doc, JSON_INDENT(2));
        if (!text)
                return log_oom(), TPCTL_EXIT_FAILURE;

        if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                return log_error_errno(errno, "Failed to create %s: %m", dir), TPCTL_EXIT_FAILURE;
        if (write_in_dir(dir, "attest.bin", attest, attest_size) < 0 ||
            write_in_dir(dir, "signature.bin", sig, sig_size) < 0 ||
            write_in_dir(dir, "ak.pub", ak, ak_size) < 0 ||
            write_in_dir(dir, "pcrs.json", text, strlen(text)) < 0)
                return TPCTL_EXIT_FAILURE;

        if (!arg_quiet)
                printf("Quote of %zu PCRs written to %s: attest.bin, signature.bin, pcrs.json, ak.pub.\n",
                       json_array_size(values), dir);
        return TPCTL_EXIT_SUCCESS;
}

static int read_in_dir(const char *dir, const char *name, char **ret, size_t *ret_size) {
        _cleanup_free_ char *path = NULL;
        int r;

        if (asprintf(&path, "%s/%s", dir, name) < 0)
                return log_oom();
        r = read_full_file(path, QUOTE_FILE_MAX, ret, ret_size);
        if (r < 0)
                return log_error_errno(r, "Failed to read %s: %m", path);
        return 0;
}

/* pcrs.json: the requested selection and the claimed values. */
static int parse_pcrs_json(const char *text, TPML_PCR_SELECTION *ret_sel, Tpm2PcrValue **ret_values,
                           size_t *ret_n) {
        _cleanup_(json_decrefp) json_t *doc = NULL;
        _cleanup_free_ Tpm2PcrValue *values = NULL;
        Tpm2PcrBankMask banks[TPM2_NUM_PCR_BANKS] = {};
        json_t *sel, *vals, *e;
        size_t i, n_banks = 0;

        doc = json_loads(text, 0, NULL);
        sel = json_object_get(doc, "Selection");
        vals = json_object_get(doc, "Values");
        if (!json_is_array(sel) || !json_is_array(vals) || json_array_size(sel) > TPM2_NUM_PCR_BANKS ||
            json_array_size(vals) > TPM2_NUM_PCR_BANKS * TPM2_PCRS_MAX)
                return -EBADMSG;

        json_array_foreach(sel, i, e) {
                json_t *pcrs = json_object_get(e, "PCRs"), *p;
                int bank = tpm2_hash_alg_from_string(json_string_value(json_object_get(e, "Bank")) ?: "");
                size_t j;

                if (bank < 0 || !json_is_array(pcrs))
                        return -EBADMSG;
                banks[n_banks].bank = (uint16_t) bank;
                json_array_foreach(pcrs, j, p) {
                        if (!json_is_integer(p) || json_integer_value(p) < 0 ||
                            json_integer_value(p) >= TPM2_PCRS_MAX)
                                return -EBADMSG;
                        banks[n_banks].mask |= UINT32_C(1) << json_integer_value(p);
                }
                n_banks++;
        }
        if (tpm2_pcr_selection_from_masks(banks, n_banks, ret_sel) < 0)
                return -EBADMSG;

        values = calloc(json_array_size(vals) + 1, sizeof(Tpm2PcrValue));
        if (!values)
                return -ENOMEM;
        json_array_foreach(vals, i, e) {
                _cleanup_free_ void *d = NULL;
                const char *hex = json_string_value(json_object_get(e, "Digest"));
                json_t *index = json_object_get(e, "Index");
                int bank = tpm2_hash_alg_from_string(json_string_value(json_object_get(e, "Bank")) ?: "");
                size_t size;

                if (bank < 0 || !hex || !json_is_integer(index) || json_integer_value(index) < 0 ||
                    json_integer_value(index) >= TPM2_PCRS_MAX)
                        return -EBADMSG;
                if (unhexmem(hex, SIZE_MAX, &d, &size) < 0 || size > sizeof(values[i].digest))
                        return -EBADMSG;
                values[i] = (Tpm2PcrValue){ .index = (uint32_t) json_integer_value(index),
                                            .bank = (uint16_t) bank,
                                            .size = size };
                memcpy(values[i].digest, d, size);
        }

        *ret_n = json_array_size(vals);
        *ret_values = TAKE_PTR(values);
        return 0;
}

/* The checks in the order attest_quote_verify() makes them, each with the reasons that mean it failed. */
static const struct {
        const char *label;
        AttestQuoteReason reasons[3];
} quote_checks[] = {
        { "input and nonce length", { ATTEST_QUOTE_INVALID_INPUT, ATTEST_QUOTE_NONCE_TOO_SHORT } },
        { "AK is a restricted signing key", { ATTEST_QUOTE_AK_UNSUPPORTED, ATTEST_QUOTE_AK_NOT_RESTRICTED } },
        { "attest and signature parse", { ATTEST_QUOTE_MALFORMED, ATTEST_QUOTE_TRAILING_BYTES } },
        { "magic is TPM_GENERATED_VALUE", { ATTEST_QUOTE_BAD_MAGIC } },
        { "type is a quote", { ATTEST_QUOTE_WRONG_TYPE } },
        { "nonce matches", { ATTEST_QUOTE_NONCE_MISMATCH } },
        { "PCR selection matches", { ATTEST_QUOTE_SELECTION_MISMATCH } },
        { "signature scheme fits the AK", { ATTEST_QUOTE_SIGNATURE_SCHEME } },
        { "PCR values cover the selection", { ATTEST_QUOTE_PCR_VALUES_INVALID } },
        { "PCR digest matches the values", { ATTEST_QUOTE_PCR_DIGEST_MISMATCH } },
        { "signature verifies with the AK", { ATTEST_QUOTE_SIGNATURE_INVALID } },
};

int tpctl_verify_quote_dir(const char *dir, bool verbose, Tpm2PcrValue **ret_values, size_t *ret_n) {
        _cleanup_free_ char *attest = NULL, *sig = NULL, *ak = NULL, *pcrs = NULL;
        _cleanup_free_ Tpm2PcrValue *values = NULL;
        _cleanup_free_ void *nonce = NULL;
        size_t nonce_size, attest_size, sig_size, ak_size, pcrs_size, n_values = 0, offset = 0;
        TPML_PCR_SELECTION selection = {};
        AttestQuoteResult result = {};
        TPM2B_PUBLIC pub = {};
        bool failed = false;
        int r;

        if (parse_nonce(&nonce, &nonce_size) < 0)
                return TPCTL_EXIT_USAGE;

        if (read_in_dir(dir, "attest.bin", &attest, &attest_size) < 0 ||
            read_in_dir(dir, "signature.bin", &sig, &sig_size) < 0 ||
            read_in_dir(dir, "ak.pub", &ak, &ak_size) < 0 ||
            read_in_dir(dir, "pcrs.json", &pcrs, &pcrs_size) < 0)
                return TPCTL_EXIT_FAILURE;

        if (Tss2_MU_TPM2B_PUBLIC_Unmarshal((const uint8_t *) ak, ak_size, &offset, &pub) != TSS2_RC_SUCCESS ||
            offset != ak_size) {
                log_error("%s/ak.pub is not a TPM2B_PUBLIC.", dir);
                return TPCTL_EXIT_FAILURE;
        }
        r = parse_pcrs_json(pcrs, &selection, &values, &n_values);
        if (r < 0) {
                log_error("%s/pcrs.json is not valid: %s", dir,
                          r == -ENOMEM ? "out of memory" : "unexpected content");
                return TPCTL_EXIT_FAILURE;
        }

        r = attest_quote_verify(
                &(AttestQuoteInput){
                        .attest = attest,
                        .attest_size = attest_size,
                        .signature = sig,
                        .signature_size = sig_size,
                        .ak_public = &pub,
                        .nonce = nonce,
                        .nonce_size = nonce_size,
                        .selection = &selection,
                        .pcr_values = values,
                        .n_pcr_values = n_values,
                },
                &result);

        for (size_t i = 0; i < ELEMENTSOF(quote_checks); i++) {
                bool this = false;

                for (size_t k = 0; k < ELEMENTSOF(quote_checks[i].reasons); k++)
                        if (r < 0 && quote_checks[i].reasons[k] == result.reason &&
                            result.reason != ATTEST_QUOTE_OK)
                                this = true;
                if (this) {
                        if (verbose)
                                printf("  %-34s FAILED: %s\n", quote_checks[i].label, result.message);
                        failed = true;
                } else if (verbose)
                        printf("  %-34s %s\n", quote_checks[i].label, failed ? "not checked" : "ok");
        }

        if (r < 0) {
                if (!failed && verbose) /* e.g. our own allocation failure */
                        printf("  %-34s FAILED: %s\n", "verification", result.message);
                log_error("The quote is NOT valid: %s", result.message);
                return TPCTL_EXIT_FAILURE;
        }

        if (verbose)
                printf("Quote valid: clock %" PRIu64 ", reset count %" PRIu32 ", restart count %" PRIu32 ".\n",
                       result.clock, result.reset_count, result.restart_count);
        if (ret_values) {
                *ret_values = TAKE_PTR(values);
                *ret_n = n_values;
        }
        return TPCTL_EXIT_SUCCESS;
}

int verb_tpm_verify_quote(int argc, char *argv[]) {
        return tpctl_verify_quote_dir(argv[0], true, NULL, NULL);
}
