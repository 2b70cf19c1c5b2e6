/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Offline policy digests against tpm2-tools, and the sealed-blob parser against malformed input. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "tpm2/tpm2-policy.h"
#include "tpm2/tpm2-seal.h"
#include "tpm2/tpm2-signed-policy.h"
#include "tpm2/tpm2-srk.h"
#include "tpm2/tpm2-util.h"

/* Provenance: tpm2-tools 5.4 against a fresh swtpm 0.7 (tests/harness/tp-run --swtpm), 2026-11-28:
 *   tpm2_createpolicy --policy-pcr -l sha256:0,7 -L a.bin             (PCRs all zero)
 *   tpm2_createpolicy --policy-pcr -l sha1:7 -L b.bin                 (zero)
 *   tpm2_startauthsession -S s.ctx; tpm2_policypcr -S s.ctx -l sha256:7;
 *   tpm2_policyauthvalue -S s.ctx -L c.bin
 *   tpm2_pcrextend 14:sha256=42..42 (32 bytes of 0x42);
 *   tpm2_createpolicy --policy-pcr -l sha256:14 -L d.bin */
static const struct {
        uint16_t bank;
        uint32_t mask;
        bool auth_value;
        bool pcr14_extended;
        const char *digest;
} vectors[] = {
        { TPM2_ALG_SHA256, 1U | (1U << 7), false, false,
          "02e3642b3e29eeccfffd8031c00a6f0a0febe5ceea2f6ef6b0322fe81598cf31" },
        { TPM2_ALG_SHA1, 1U << 7, false, false,
          "84278b60d0547dc27ec6667e7afeece0711c09b5ced09a30a65b389d3afda1ef" },
        { TPM2_ALG_SHA256, 1U << 7, true, false,
          "b8db92fae7c1e0c588e7352d2fc10f27c7b384e32f706a520cb10bf7ffee8970" },
        { TPM2_ALG_SHA256, 1U << 14, false, true,
          "2483edc7d352ad1e48643b1e0e66bef4ab66e4e3ea27efff47a42bc1a1b7a777" },
};

/* sha256 PCR 14 after extending 32 bytes of 0x42 into zero, as tpm2_pcrread showed it. */
static const char pcr14_extended[] = "e9c403e7ba0d724ff342cb3a7ca7d2841bfdecded8a55b2848ee6424c456026f";

static void unhex(const char *s, uint8_t *out) {
        for (size_t i = 0; s[2 * i]; i++)
                assert_int_equal(sscanf(s + 2 * i, "%2hhx", &out[i]), 1);
}

static void values_for(uint16_t bank, uint32_t mask, bool extended, Tpm2PcrValue *v, size_t *n) {
        *n = 0;
        for (uint32_t i = 0; i < 24; i++)
                if (mask & (1U << i)) {
                        v[*n] = (Tpm2PcrValue){ .index = i,
                                                .bank = bank,
                                                .size = tpm2_hash_alg_digest_size(bank) };
                        if (i == 14 && extended)
                                unhex(pcr14_extended, v[*n].digest);
                        (*n)++;
                }
}

static void test_policy_vectors(void **state) {
        for (size_t k = 0; k < ELEMENTSOF(vectors); k++) {
                Tpm2PcrValue v[24];
                TPM2B_DIGEST pcr_digest, policy;
                uint8_t want[32];
                size_t n;

                values_for(vectors[k].bank, vectors[k].mask, vectors[k].pcr14_extended, v, &n);
                assert_int_equal(
                        tpm2_policy_pcr_values_digest(vectors[k].bank, vectors[k].mask, v, n, &pcr_digest), 0);
                assert_int_equal(tpm2_policy_compute(vectors[k].bank, vectors[k].mask, &pcr_digest,
                                                     vectors[k].auth_value, &policy),
                                 0);
                unhex(vectors[k].digest, want);
                assert_int_equal(policy.size, 32);
                assert_memory_equal(policy.buffer, want, 32);
        }
}

static void test_policy_bad_values(void **state) {
        Tpm2PcrValue v[2];
        TPM2B_DIGEST d;
        size_t n;

        values_for(TPM2_ALG_SHA256, 1U | (1U << 7), false, v, &n);
        assert_int_equal(tpm2_policy_pcr_values_digest(TPM2_ALG_SHA256, 1U, v, 2, &d), -EINVAL); /* count */
        assert_int_equal(tpm2_policy_pcr_values_digest(TPM2_ALG_SHA1, 0x81, v, 2, &d), -EINVAL); /* bank */
        assert_int_equal(tpm2_policy_pcr_values_digest(TPM2_ALG_SHA256, 0x82, v, 2, &d), -EINVAL); /* index */
        Tpm2PcrValue swapped[2] = { v[1], v[0] };
        assert_int_equal(tpm2_policy_pcr_values_digest(TPM2_ALG_SHA256, 0x81, swapped, 2, &d), -EINVAL);
        v[1].size = 20;
        assert_int_equal(tpm2_policy_pcr_values_digest(TPM2_ALG_SHA256, 0x81, v, 2, &d), -EINVAL);

        Tpm2Error e = {};
        assert_int_equal(tpm2_policy_check_selection(TPM2_ALG_SHA256, 1U << 16, &e), -EINVAL);
        assert_non_null(strstr(e.message, "PCR 16"));
        assert_int_equal(tpm2_policy_check_selection(TPM2_ALG_SHA256, 1U << 23, &e), -EINVAL);
        assert_non_null(strstr(e.message, "PCR 23"));
        assert_int_equal(tpm2_policy_check_selection(TPM2_ALG_SHA256, 1U << 24, &e), -EINVAL);
        assert_int_equal(tpm2_policy_check_selection(TPM2_ALG_SHA256, 0, &e), -EINVAL);
        assert_int_equal(tpm2_policy_check_selection(TPM2_ALG_RSA, 1, &e), -EINVAL);
        assert_int_equal(tpm2_policy_check_selection(TPM2_ALG_SHA384, 0x80, NULL), 0);
}

/* A blob as tpm2_seal() would make it, without a TPM: consistent policy, made-up private bytes. */
static Tpm2SealedBlob *make_blob(bool pin, size_t envelope) {
        Tpm2SealedBlob *b = calloc(1, sizeof(*b));
        TPM2B_DIGEST pcr_digest, policy;

        assert_non_null(b);
        b->bank = TPM2_ALG_SHA256;
        b->pcr_mask = 1U << 7;
        b->has_pin = pin;
        values_for(b->bank, b->pcr_mask, false, b->expected, &b->n_expected);
        b->expected[0].digest[5] = 0x55;
        assert_int_equal(tpm2_policy_pcr_values_digest(b->bank, b->pcr_mask, b->expected, 1, &pcr_digest), 0);
        assert_int_equal(tpm2_policy_compute(b->bank, b->pcr_mask, &pcr_digest, pin, &policy), 0);
        b->public.publicArea = (TPMT_PUBLIC){
                .type = TPM2_ALG_KEYEDHASH,
                .nameAlg = TPM2_ALG_SHA256,
                .objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                        (pin ? 0 : TPMA_OBJECT_NODA),
                .authPolicy = policy,
                .parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_NULL,
                .unique.keyedHash.size = 32,
        };
        b->private.size = 100;
        memset(b->private.buffer, 0xAB, 100);
        if (envelope > 0) {
                b->envelope = true;
                b->ciphertext = calloc(1, envelope);
                b->ciphertext_size = envelope;
        }
        return b;
}

static uint8_t *wire_of(Tpm2SealedBlob *b, size_t *size) {
        uint8_t *w = NULL;
        assert_int_equal(tpm2_sealed_blob_serialize(b, &w, size), 0);
        tpm2_sealed_blob_free(b);
        return w;
}

static void assert_rejected(const uint8_t *w, size_t size) {
        Tpm2SealedBlob *b = NULL;
        assert_int_equal(tpm2_sealed_blob_parse(w, size, &b), -EBADMSG);
        assert_null(b);
}

static void test_blob_round_trip(void **state) {
        for (int pin = 0; pin < 2; pin++)
                for (size_t env = 0; env <= 300; env += 300) {
                        _cleanup_free_ uint8_t *w = NULL, *w2 = NULL;
                        Tpm2SealedBlob *b = NULL;
                        size_t size, size2;

                        w = wire_of(make_blob(pin, env), &size);
                        assert_int_equal(tpm2_sealed_blob_parse(w, size, &b), 0);
                        assert_int_equal(b->has_pin, pin);
                        assert_int_equal(b->envelope, env > 0);
                        assert_int_equal(b->n_expected, 1);
                        assert_int_equal(b->expected[0].index, 7);
                        assert_int_equal(b->expected[0].digest[5], 0x55);
                        w2 = wire_of(b, &size2);
                        assert_int_equal(size, size2);
                        assert_memory_equal(w, w2, size);
                }
}

static void test_blob_malformed(void **state) {
        _cleanup_free_ uint8_t *w = NULL;
        size_t size;

        w = wire_of(make_blob(false, 300), &size);

        /* Every truncation, and trailing bytes. */
        for (size_t i = 0; i < size; i++)
                assert_rejected(w, i);
        {
                _cleanup_free_ uint8_t *longer = malloc(size + 1);
                memcpy(longer, w, size);
                longer[size] = 0;
                assert_rejected(longer, size + 1);
        }

        /* Header fields, PCR values, public area: every single-bit change up to the private part is caught
         * (magic, version, flags, bank, mask, expected values vs authPolicy, attributes, type, nameAlg...).
         * Past the header the public area's unique field and the private bytes are opaque to the parser. */
        size_t pub_end = 12 + 32 + 2 + (size_t) ((w[44] << 8) | w[45]);
        for (size_t i = 0; i < pub_end; i++) {
                /* unique.keyedHash contents (last 32 bytes of the public area) are the TPM's business. */
                if (i >= pub_end - 32)
                        continue;
                for (int bit = 0; bit < 8; bit++) {
                        Tpm2SealedBlob *b = NULL;
                        w[i] ^= 1U << bit;
                        int r = tpm2_sealed_blob_parse(w, size, &b);
                        w[i] ^= 1U << bit;
                        if (r == 0)
                                fail_msg("bit %d of byte %zu changed and the blob still parsed", bit, i);
                        assert_int_equal(r, -EBADMSG);
                }
        }

        /* Resettable PCR 16 in the mask. */
        w[9] |= 1;
        assert_rejected(w, size);
        w[9] &= ~1;

        /* Envelope ciphertext size: bigger than what follows, or small enough to have been sealed directly. */
        size_t ct_len_at = size - 300 - 4;
        w[ct_len_at + 2] = 0x10;
        assert_rejected(w, size);
        w[ct_len_at + 2] = 0;
        w[ct_len_at + 3] = 100;
        assert_rejected(w, size);

        assert_rejected((const uint8_t *) "", 0);
        assert_rejected((const uint8_t *) "TPSB", 4);
}

static void test_blob_user_with_auth(void **state) {
        _cleanup_free_ uint8_t *w = NULL;
        Tpm2SealedBlob *b = make_blob(false, 0);
        size_t size;

        /* A blob whose object opens with the empty password is not ours. */
        b->public.publicArea.objectAttributes |= TPMA_OBJECT_USERWITHAUTH;
        w = wire_of(b, &size);
        assert_rejected(w, size);
}

/* A version 2 blob: sealed to an ECC P-256 authorizing key, as tpm2_seal() with authorize_key makes it. */
static Tpm2SealedBlob *make_authorize_blob(bool pin) {
        Tpm2SealedBlob *b = make_blob(pin, 0);
        EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        TPM2B_NAME name;

        assert_non_null(key);
        assert_int_equal(tpm2_authorize_key_from_pkey(key, &b->authorize_key, &name), 0);
        EVP_PKEY_free(key);
        b->authorize = true;
        b->bank = 0;
        b->pcr_mask = 0;
        b->n_expected = 0;
        assert_int_equal(tpm2_policy_compute_authorize(&name, pin, &b->public.publicArea.authPolicy), 0);
        return b;
}

static void test_blob_v2(void **state) {
        _cleanup_free_ uint8_t *w = NULL, *w2 = NULL;
        Tpm2SealedBlob *b = NULL;
        size_t size, size2;

        w = wire_of(make_authorize_blob(true), &size);
        assert_memory_equal(w, "TPSB\x02\x05\0\0\0\0\0\0", 12);
        assert_int_equal(tpm2_sealed_blob_parse(w, size, &b), 0);
        assert_true(b->authorize);
        assert_true(b->has_pin);
        assert_int_equal(b->n_expected, 0);
        assert_true(tpm2_authorize_key_public_ok(&b->authorize_key.publicArea));
        w2 = wire_of(b, &size2);
        assert_int_equal(size, size2);
        assert_memory_equal(w, w2, size);

        /* Every bit of the header, the authorizing key (its name is in the policy) and the sealed public
         * area up to its opaque unique field matters; so does every truncation. */
        size_t key_end = 12 + 2 + (size_t) ((w[12] << 8) | w[13]);
        size_t pub_end = key_end + 2 + (size_t) ((w[key_end] << 8) | w[key_end + 1]);
        for (size_t i = 0; i < pub_end - 32; i++)
                for (int bit = 0; bit < 8; bit++) {
                        w[i] ^= 1U << bit;
                        int r = tpm2_sealed_blob_parse(w, size, &b);
                        w[i] ^= 1U << bit;
                        if (r == 0)
                                fail_msg("bit %d of byte %zu changed and the v2 blob still parsed", bit, i);
                        assert_int_equal(r, -EBADMSG);
                }
        for (size_t i = 0; i < size; i++)
                assert_rejected(w, i);

        /* The version and the authorize flag go together. */
        w[4] = 1;
        assert_rejected(w, size);
        w[4] = 2;
        w[5] &= ~4;
        assert_rejected(w, size);
        w[5] |= 4;

        /* An authorizing key with other attributes than ours, consistently named in the policy. */
        b = make_authorize_blob(false);
        TPM2B_NAME name;
        b->authorize_key.publicArea.objectAttributes |= TPMA_OBJECT_RESTRICTED;
        assert_int_equal(tpm2_public_name(&b->authorize_key, &name), 0);
        assert_int_equal(tpm2_policy_compute_authorize(&name, false, &b->public.publicArea.authPolicy), 0);
        free(w);
        w = wire_of(b, &size);
        assert_rejected(w, size);
}

/* Sealed to the SRK alone (the CA key store's passphrase): version 1, flag 8, no bank, PCRs or digests,
 * policy PolicyCommandCode(Unseal) [+ PolicyAuthValue]. */
static Tpm2SealedBlob *make_srk_only_blob(bool pin) {
        Tpm2SealedBlob *b = make_blob(pin, 0);

        b->srk_only = true;
        b->bank = 0;
        b->pcr_mask = 0;
        b->n_expected = 0;
        assert_int_equal(tpm2_policy_compute_srk_only(pin, &b->public.publicArea.authPolicy), 0);
        return b;
}

static void test_blob_srk_only(void **state) {
        _cleanup_free_ uint8_t *w = NULL, *w2 = NULL;
        TPM2B_DIGEST with_pin, without;
        Tpm2SealedBlob *b = NULL;
        size_t size, size2;

        /* The policy is the TPM's: H(0^32 || CC_PolicyCommandCode || CC_Unseal), and another with a PIN. */
        assert_int_equal(tpm2_policy_compute_srk_only(false, &without), 0);
        assert_int_equal(tpm2_policy_compute_srk_only(true, &with_pin), 0);
        assert_int_equal(without.size, 32);
        assert_memory_not_equal(without.buffer, with_pin.buffer, 32);

        w = wire_of(make_srk_only_blob(false), &size);
        assert_memory_equal(w, "TPSB\x01\x08\0\0\0\0\0\0", 12);
        assert_int_equal(tpm2_sealed_blob_parse(w, size, &b), 0);
        assert_true(b->srk_only);
        assert_false(b->authorize);
        assert_int_equal(b->pcr_mask, 0);
        assert_int_equal(b->n_expected, 0);
        w2 = wire_of(b, &size2);
        assert_int_equal(size, size2);
        assert_memory_equal(w, w2, size);

        /* Every bit of the header and of the public area up to its opaque unique field matters. */
        size_t pub_end = 12 + 2 + (size_t) ((w[12] << 8) | w[13]);
        for (size_t i = 0; i < pub_end - 32; i++)
                for (int bit = 0; bit < 8; bit++) {
                        w[i] ^= 1U << bit;
                        int r = tpm2_sealed_blob_parse(w, size, &b);
                        w[i] ^= 1U << bit;
                        if (r == 0)
                                fail_msg("bit %d of byte %zu changed and the SRK-only blob still parsed",
                                         bit, i);
                        assert_int_equal(r, -EBADMSG);
                }
        for (size_t i = 0; i < size; i++)
                assert_rejected(w, i);

        /* A PCR blob that claims to be SRK-only (its policy binds PCRs, the flag says none): refused. */
        free(w);
        b = make_blob(false, 0);
        b->srk_only = true;
        w = wire_of(b, &size);
        assert_rejected(w, size);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_policy_vectors),      cmocka_unit_test(test_policy_bad_values),
                cmocka_unit_test(test_blob_round_trip),     cmocka_unit_test(test_blob_malformed),
                cmocka_unit_test(test_blob_user_with_auth), cmocka_unit_test(test_blob_v2),
                cmocka_unit_test(test_blob_srk_only),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
