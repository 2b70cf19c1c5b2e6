/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* tpctl tpm sign-policy: signs a PCR policy for secrets sealed with "tpm seal --authorize-key=". The signing
 * runs here, in software, with the administrator's private key; the daemon is asked only for the current
 * PCR values (reading them is open to everyone), and not even that with --pcr-values=. */

#include <stdio.h>

#include <openssl/pem.h>

#include "attest/attest-quote.h"
#include "basic/log.h"
#include "basic/secure-mem.h"
#include "shared/openssl-util.h"
#include "tpctl/tpctl-util.h"
#include "tpctl/tpctl.h"
#include "tpm2/tpm2-policy.h"
#include "tpm2/tpm2-signed-policy.h"

#define PRIVATE_KEY_MAX (64U * 1024U)
#define PCR_VALUES_MAX (64U * 1024U)

/* Encrypted keys are refused instead of prompting from inside OpenSSL. */
static int no_passphrase(char *buf, int size, int rwflag, void *userdata) {
        return -1;
}

static int load_private_key(const char *path, EVP_PKEY **ret) {
        _cleanup_erase_free_ char *data = NULL;
        _cleanup_(BIO_free_allp) BIO *bio = NULL;
        EVP_PKEY *pkey;
        size_t size;

        if (tpctl_read_input(path, PRIVATE_KEY_MAX, &data, &size) < 0)
                return -EIO;
        bio = BIO_new_mem_buf(data, (int) size);
        if (!bio)
                return log_oom();
        pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
        if (!pkey) {
                const unsigned char *p = (const unsigned char *) data;

                (void) openssl_errno();
                pkey = d2i_AutoPrivateKey(NULL, &p, (long) size);
        }
        if (!pkey) {
                (void) openssl_errno();
                log_error("%s is not an unencrypted private key (PEM or DER).", path);
                return -EINVAL;
        }
        *ret = pkey;
        return 0;
}

/* The values to sign from a file: the bank's values, restricted to mask when given (all of them then). */
static int values_from_file(const char *path, uint16_t bank, uint32_t *mask, Tpm2PcrValue *ret, size_t *ret_n) {
        _cleanup_free_ Tpm2PcrValue *v = NULL;
        _cleanup_free_ char *text = NULL;
        uint32_t seen = 0;
        size_t size, n, k = 0;

        if (tpctl_read_input(path, PCR_VALUES_MAX, &text, &size) < 0)
                return -EIO;
        if (attest_pcr_values_parse(text, &v, &n) < 0) {
                log_error("%s: expected PCR values as \"bank:index=hex\" items, e.g. \"sha256:7=ab12...\".",
                          path);
                return -EINVAL;
        }
        for (size_t i = 0; i < n; i++) {
                if (v[i].bank != bank || (*mask && !(*mask & (UINT32_C(1) << v[i].index))))
                        continue;
                if (seen & (UINT32_C(1) << v[i].index)) {
                        log_error("%s: PCR %u (%s) is listed twice.", path, v[i].index,
                                  strna(tpm2_hash_alg_to_string(bank)));
                        return -EINVAL;
                }
                seen |= UINT32_C(1) << v[i].index;
                ret[k++] = v[i];
        }
        if (k == 0 || (*mask && seen != *mask)) {
                log_error("%s does not hold a %s value for every PCR to sign.", path,
                          strna(tpm2_hash_alg_to_string(bank)));
                return -EINVAL;
        }
        *mask = seen;
        *ret_n = k;
        return 0;
}

static int values_from_daemon(uint16_t bank, uint32_t mask, Tpm2PcrValue *ret, size_t *ret_n) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        size_t k = 0;
        int r;

        r = tpctl_bus_open(&bus);
        if (r != 0)
                return r;
        r = sd_bus_message_new_method_call(bus, &m, TPCTL_BUS_NAME, TPCTL_BUS_PATH, TPCTL_IFACE_TPM,
                                           "ReadPCRs");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", tpm2_hash_alg_to_string(bank));
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "u");
        for (uint32_t i = 0; r >= 0 && i < TPCTL_PCR_COUNT; i++)
                if (mask & (UINT32_C(1) << i))
                        r = sd_bus_message_append(m, "u", i);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0)
                return log_error_errno(r, "Failed to build the ReadPCRs() call: %m"), TPCTL_EXIT_FAILURE;

        r = sd_bus_call(bus, m, 0, &error, &reply);
        if (r < 0)
                return tpctl_log_bus_error(&error, r, "read the PCRs");

        r = sd_bus_message_enter_container(reply, 'a', "(uay)");
        while (r >= 0) {
                const void *d;
                uint32_t index;
                size_t size;

                r = sd_bus_message_enter_container(reply, 'r', "uay");
                if (r <= 0)
                        break;
                r = sd_bus_message_read(reply, "u", &index);
                if (r >= 0)
                        r = sd_bus_message_read_array(reply, 'y', &d, &size);
                if (r >= 0 && (k >= TPM2_PCRS_MAX || size > sizeof(ret[k].digest)))
                        r = -EBADMSG;
                if (r < 0)
                        break;
                ret[k] = (Tpm2PcrValue){ .index = index, .bank = bank, .size = size };
                memcpy(ret[k].digest, d, size);
                k++;
                r = sd_bus_message_exit_container(reply);
        }
        if (r < 0)
                return log_error_errno(r, "Failed to parse the ReadPCRs() reply: %m"), TPCTL_EXIT_FAILURE;

        *ret_n = k;
        return 0;
}

static bool entry_same(const Tpm2SignedPolicyEntry *a, const Tpm2SignedPolicyEntry *b) {
        return a->bank == b->bank && a->pcr_mask == b->pcr_mask &&
                memcmp(a->policy.buffer, b->policy.buffer, TPM2_POLICY_DIGEST_SIZE) == 0 &&
                a->key_name.size == b->key_name.size &&
                memcmp(a->key_name.name, b->key_name.name, a->key_name.size) == 0;
}

int verb_tpm_sign_policy(int argc, char *argv[]) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
        _cleanup_free_ Tpm2SignedPolicy *policy = NULL;
        _cleanup_free_ char *text = NULL;
        Tpm2PcrValue values[TPM2_PCRS_MAX];
        Tpm2SignedPolicyEntry entry;
        TPM2B_PUBLIC pub;
        Tpm2Error e = {};
        uint32_t mask = 0;
        size_t n = 0;
        int bank, r;

        if (!arg_key) {
                log_error("--key= is required: the private key whose public half the secret was sealed to.");
                return TPCTL_EXIT_USAGE;
        }
        bank = tpm2_hash_alg_from_string(arg_bank ?: "sha256");
        if (bank < 0) {
                log_error("Unknown PCR bank '%s'; expected sha1, sha256, sha384 or sha512.", arg_bank);
                return TPCTL_EXIT_USAGE;
        }
        if (arg_pcrs && tpctl_parse_pcr_spec(arg_pcrs, &mask) < 0) {
                log_error("Invalid --pcrs= '%s': expected indexes 0-%u, ranges like 0-7, or a comma-separated "
                          "list like 0,2,7.",
                          arg_pcrs, TPCTL_PCR_COUNT - 1);
                return TPCTL_EXIT_USAGE;
        }
        if (!arg_pcrs && !arg_pcr_values)
                mask = UINT32_C(1) << 7;
        if (mask && tpm2_policy_check_selection(bank, mask, &e) < 0) {
                log_error("Cannot sign this policy: %s.", e.message);
                return TPCTL_EXIT_USAGE;
        }

        r = load_private_key(arg_key, &key);
        if (r < 0)
                return r == -EINVAL ? TPCTL_EXIT_USAGE : TPCTL_EXIT_FAILURE;
        r = tpm2_authorize_key_from_pkey(key, &pub, NULL);
        if (r == -EOPNOTSUPP) {
                log_error("%s: signing keys must be RSA 2048 to 4096 bits (exponent 65537) or ECC P-256.",
                          arg_key);
                return TPCTL_EXIT_USAGE;
        }
        if (r < 0)
                return log_error_errno(r, "Failed to use %s as signing key: %m", arg_key), TPCTL_EXIT_FAILURE;

        if (arg_append_to) {
                _cleanup_free_ char *old = NULL;
                size_t size;

                if (tpctl_read_input(arg_append_to, TPM2_SIGNED_POLICY_FILE_MAX, &old, &size) < 0)
                        return TPCTL_EXIT_FAILURE;
                r = tpm2_signed_policy_parse(old, size, &policy);
                if (r < 0) {
                        log_error("%s is not a signed-policy file.", arg_append_to);
                        return TPCTL_EXIT_USAGE;
                }
        } else {
                policy = calloc(1, sizeof(Tpm2SignedPolicy));
                if (!policy)
                        return log_oom(), TPCTL_EXIT_FAILURE;
        }

        if (arg_pcr_values)
                r = values_from_file(arg_pcr_values, bank, &mask, values, &n);
        else
                r = values_from_daemon(bank, mask, values, &n);
        if (r == -EINVAL)
                return TPCTL_EXIT_USAGE;
        if (r != 0)
                return r < 0 ? TPCTL_EXIT_FAILURE : r;
        if (tpm2_policy_check_selection(bank, mask, &e) < 0) {
                log_error("Cannot sign this policy: %s.", e.message);
                return TPCTL_EXIT_USAGE;
        }

        r = tpm2_signed_policy_sign(key, bank, values, n, &entry);
        if (r < 0)
                return log_error_errno(r, "Failed to sign the policy: %m"), TPCTL_EXIT_FAILURE;
        /* What we hand out must verify with the key it claims. */
        r = tpm2_signed_policy_entry_verify(&entry, &pub);
        if (r < 0)
                return log_error_errno(r, "The signature just made does not verify: %m"), TPCTL_EXIT_FAILURE;

        /* Signing the same values again replaces the old entry instead of piling up copies. */
        for (size_t i = 0; i < policy->n_entries; i++)
                if (entry_same(policy->entries + i, &entry)) {
                        memmove(policy->entries + i, policy->entries + i + 1,
                                (policy->n_entries - i - 1) * sizeof(Tpm2SignedPolicyEntry));
                        policy->n_entries--;
                        break;
                }
        if (policy->n_entries >= TPM2_SIGNED_POLICY_ENTRIES_MAX) {
                log_error("%s already has %u entries; start a new file or drop old entries.", arg_append_to,
                          TPM2_SIGNED_POLICY_ENTRIES_MAX);
                return TPCTL_EXIT_USAGE;
        }
        policy->entries[policy->n_entries++] = entry;

        r = tpm2_signed_policy_format(policy, &text);
        if (r < 0)
                return log_error_errno(r, "Failed to format the signed policy: %m"), TPCTL_EXIT_FAILURE;
        return tpctl_write_output(argc > 0 ? argv[0] : NULL, text, strlen(text)) < 0 ? TPCTL_EXIT_FAILURE
                                                                                     : TPCTL_EXIT_SUCCESS;
}
