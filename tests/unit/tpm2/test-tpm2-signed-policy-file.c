/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The signed-policy file (tpm2-signed-policy.h) without a TPM: what the signer writes parses back to the
 * same entries and verifies in software; every malformed or inconsistent file is refused. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "basic/macro.h"
#include "shared/openssl-util.h"
#include "tpm2/tpm2-signed-policy.h"

static EVP_PKEY *rsa_key, *ecc_key;
static char *valid; /* two entries: ECC over sha256 PCR 0+7, RSA over sha1 PCR 7 */

static Tpm2PcrValue value(uint16_t bank, uint32_t index, uint8_t fill) {
        Tpm2PcrValue v = { .index = index, .bank = bank, .size = bank == TPM2_ALG_SHA1 ? 20 : 32 };
        memset(v.digest, fill, v.size);
        return v;
}

static int setup(void **state) {
        Tpm2SignedPolicy p = { .n_entries = 2 };
        Tpm2PcrValue v[2] = { value(TPM2_ALG_SHA256, 7, 0x77), value(TPM2_ALG_SHA256, 0, 0x00) };
        Tpm2PcrValue v1 = value(TPM2_ALG_SHA1, 7, 0x11);

        rsa_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t) 2048);
        ecc_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        if (!rsa_key || !ecc_key)
                return -1;
        /* Unsorted input: the signer sorts. */
        if (tpm2_signed_policy_sign(ecc_key, TPM2_ALG_SHA256, v, 2, &p.entries[0]) < 0 ||
            tpm2_signed_policy_sign(rsa_key, TPM2_ALG_SHA1, &v1, 1, &p.entries[1]) < 0 ||
            tpm2_signed_policy_format(&p, &valid) < 0)
                return -1;
        return 0;
}

static int teardown(void **state) {
        EVP_PKEY_free(rsa_key);
        EVP_PKEY_free(ecc_key);
        free(valid);
        return 0;
}

static void test_round_trip(void **state) {
        _cleanup_free_ Tpm2SignedPolicy *p = NULL;
        _cleanup_free_ char *again = NULL;
        TPM2B_PUBLIC ecc_pub, rsa_pub;
        TPM2B_NAME ecc_name;

        assert_int_equal(tpm2_signed_policy_parse(valid, strlen(valid), &p), 0);
        assert_int_equal(p->n_entries, 2);
        assert_int_equal(p->entries[0].pcr_mask, (1U << 0) | (1U << 7));
        assert_int_equal(p->entries[0].values[0].index, 0);
        assert_int_equal(p->entries[1].bank, TPM2_ALG_SHA1);
        assert_int_equal(p->entries[0].signature.sigAlg, TPM2_ALG_ECDSA);
        assert_int_equal(p->entries[1].signature.sigAlg, TPM2_ALG_RSASSA);

        assert_int_equal(tpm2_authorize_key_from_pkey(ecc_key, &ecc_pub, &ecc_name), 0);
        assert_int_equal(tpm2_authorize_key_from_pkey(rsa_key, &rsa_pub, NULL), 0);
        assert_memory_equal(p->entries[0].key_name.name, ecc_name.name, ecc_name.size);
        assert_int_equal(tpm2_signed_policy_entry_verify(&p->entries[0], &ecc_pub), 0);
        assert_int_equal(tpm2_signed_policy_entry_verify(&p->entries[1], &rsa_pub), 0);
        /* Signed by the other key: does not verify. */
        assert_int_equal(tpm2_signed_policy_entry_verify(&p->entries[0], &rsa_pub), -EBADMSG);

        assert_int_equal(tpm2_signed_policy_format(p, &again), 0);
        assert_string_equal(again, valid);
}

/* Loads the valid file, lets edit() change it, and expects the result refused. */
static void assert_refused_edit(void (*edit)(json_t *root), int expected) {
        _cleanup_(json_decrefp) json_t *root = json_loads(valid, 0, NULL);
        _cleanup_free_ char *text = NULL;
        Tpm2SignedPolicy *p = NULL;

        assert_non_null(root);
        edit(root);
        text = json_dumps(root, JSON_PRESERVE_ORDER);
        assert_non_null(text);
        assert_int_equal(tpm2_signed_policy_parse(text, strlen(text), &p), expected);
        assert_null(p);
}

#define ENTRY0(root) json_array_get(json_object_get(root, "entries"), 0)
#define ENTRY1(root) json_array_get(json_object_get(root, "entries"), 1)
#define PCR(root, i) json_array_get(json_object_get(ENTRY0(root), "pcrs"), i)

static void e_format(json_t *r) {
        json_object_set_new(r, "format", json_string("systemd-pcrlock"));
}
static void e_version(json_t *r) {
        json_object_set_new(r, "version", json_integer(2));
}
static void e_version_string(json_t *r) {
        json_object_set_new(r, "version", json_string("1"));
}
static void e_no_format(json_t *r) {
        json_object_del(r, "format");
}
static void e_extra_top(json_t *r) {
        json_object_set_new(r, "comment", json_string("hi"));
}
static void e_entries_empty(json_t *r) {
        json_array_clear(json_object_get(r, "entries"));
}
static void e_entries_object(json_t *r) {
        json_object_set_new(r, "entries", json_object());
}
static void e_entries_too_many(json_t *r) {
        for (int i = 0; i < 15; i++)
                json_array_append(json_object_get(r, "entries"), ENTRY0(r));
}
static void e_extra_entry_key(json_t *r) {
        json_object_set_new(ENTRY0(r), "note", json_true());
}
static void e_no_signature(json_t *r) {
        json_object_del(ENTRY1(r), "signature");
}
static void e_bank_unknown(json_t *r) {
        json_object_set_new(ENTRY0(r), "bank", json_string("md5"));
}
static void e_pcrs_empty(json_t *r) {
        json_array_clear(json_object_get(ENTRY0(r), "pcrs"));
}
static void e_pcr_out_of_range(json_t *r) {
        json_object_set_new(PCR(r, 1), "index", json_integer(24));
}
static void e_pcr_negative(json_t *r) {
        json_object_set_new(PCR(r, 0), "index", json_integer(-1));
}
static void e_pcr_resettable_16(json_t *r) {
        json_object_set_new(PCR(r, 1), "index", json_integer(16));
}
static void e_pcr_resettable_23(json_t *r) {
        json_object_set_new(PCR(r, 1), "index", json_integer(23));
}
static void e_pcr_unsorted(json_t *r) {
        json_object_set_new(PCR(r, 0), "index", json_integer(8));
}
static void e_pcr_duplicate(json_t *r) {
        json_object_set_new(PCR(r, 0), "index", json_integer(7));
}
static void e_pcr_index_string(json_t *r) {
        json_object_set_new(PCR(r, 0), "index", json_string("0"));
}
static void e_digest_short(json_t *r) {
        json_object_set_new(PCR(r, 0), "digest", json_string("0000"));
}
static void e_digest_not_hex(json_t *r) {
        json_object_set_new(PCR(r, 0), "digest",
                            json_string("zz00000000000000000000000000000000000000000000000000000000000000"));
}
static void e_digest_changed(json_t *r) {
        /* The policy digest is no longer the one of the listed values. */
        json_object_set_new(PCR(r, 0), "digest",
                            json_string("0100000000000000000000000000000000000000000000000000000000000000"));
}
static void e_policy_changed(json_t *r) {
        char *s = strdup(json_string_value(json_object_get(ENTRY0(r), "policy")));
        s[0] = s[0] == 'a' ? 'b' : 'a';
        json_object_set_new(ENTRY0(r), "policy", json_string(s));
        free(s);
}
static void e_policy_short(json_t *r) {
        json_object_set_new(ENTRY0(r), "policy", json_string("00"));
}
static void e_key_sha1_name(json_t *r) {
        char *s = strdup(json_string_value(json_object_get(ENTRY0(r), "key")));
        s[3] = '4'; /* 0004: a SHA-1 name */
        json_object_set_new(ENTRY0(r), "key", json_string(s));
        free(s);
}
static void e_scheme_unknown(json_t *r) {
        json_object_set_new(ENTRY0(r), "scheme", json_string("rsapss"));
}
static void e_ecdsa_sig_short(json_t *r) {
        char *s = strdup(json_string_value(json_object_get(ENTRY0(r), "signature")));
        s[strlen(s) - 2] = 0;
        json_object_set_new(ENTRY0(r), "signature", json_string(s));
        free(s);
}
static void e_rsa_sig_short(json_t *r) {
        json_object_set_new(ENTRY1(r), "signature", json_string("00112233"));
}
static void e_scheme_swapped(json_t *r) {
        json_object_set_new(ENTRY1(r), "scheme", json_string("ecdsa"));
}

static void test_malformed(void **state) {
        void (*const edits[])(json_t *) = {
                e_format,           e_version,        e_version_string,    e_no_format,
                e_extra_top,        e_entries_empty,  e_entries_object,    e_entries_too_many,
                e_extra_entry_key,  e_no_signature,   e_bank_unknown,      e_pcrs_empty,
                e_pcr_out_of_range, e_pcr_negative,   e_pcr_resettable_16, e_pcr_resettable_23,
                e_pcr_unsorted,     e_pcr_duplicate,  e_pcr_index_string,  e_digest_short,
                e_digest_not_hex,   e_digest_changed, e_policy_changed,    e_policy_short,
                e_key_sha1_name,    e_scheme_unknown, e_ecdsa_sig_short,   e_rsa_sig_short,
                e_scheme_swapped,
        };

        for (size_t i = 0; i < ELEMENTSOF(edits); i++)
                assert_refused_edit(edits[i], -EBADMSG);
}

static void test_not_json(void **state) {
        _cleanup_free_ char *trailing = NULL, *dup = NULL, *big = NULL;
        Tpm2SignedPolicy *p = NULL;
        const char *bad[] = {
                "", "{", "[]", "null", "{\"format\":\"trusted-platform-signed-pcr-policy\"}", "\x00{}"
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                assert_int_equal(tpm2_signed_policy_parse(bad[i], i == 5 ? 3 : strlen(bad[i]), &p), -EBADMSG);

        /* Trailing data and duplicate keys. */
        assert_true(asprintf(&trailing, "%s{}", valid) > 0);
        assert_int_equal(tpm2_signed_policy_parse(trailing, strlen(trailing), &p), -EBADMSG);
        assert_true(asprintf(&dup, "{\"version\":1,%s", valid + 1) > 0);
        assert_int_equal(tpm2_signed_policy_parse(dup, strlen(dup), &p), -EBADMSG);

        /* Size limit before parsing. */
        big = malloc(TPM2_SIGNED_POLICY_FILE_MAX + 1);
        assert_non_null(big);
        memset(big, ' ', TPM2_SIGNED_POLICY_FILE_MAX + 1);
        assert_int_equal(tpm2_signed_policy_parse(big, TPM2_SIGNED_POLICY_FILE_MAX + 1, &p), -E2BIG);

        /* Truncated anywhere: never accepted. */
        for (size_t n = 0; n < strlen(valid) - 2; n += 7)
                assert_int_equal(tpm2_signed_policy_parse(valid, n, &p), -EBADMSG);
        assert_null(p);
}

static void test_spki(void **state) {
        _cleanup_free_ uint8_t *der = NULL;
        TPM2B_PUBLIC a, b;
        uint8_t *q = NULL;
        int n;

        n = i2d_PUBKEY(ecc_key, &q);
        assert_true(n > 0);
        der = q;
        assert_int_equal(tpm2_authorize_key_from_spki(der, n, &a, NULL), 0);
        assert_int_equal(tpm2_authorize_key_from_pkey(ecc_key, &b, NULL), 0);
        assert_memory_equal(&a.publicArea.unique.ecc, &b.publicArea.unique.ecc,
                            sizeof(a.publicArea.unique.ecc));
        /* Trailing byte, truncation, garbage. */
        assert_int_equal(tpm2_authorize_key_from_spki(der, n - 1, &a, NULL), -EINVAL);
        assert_int_equal(tpm2_authorize_key_from_spki("-----BEGIN PUBLIC KEY-----\nAAAA\n", 32, &a, NULL),
                         -EINVAL);
        assert_int_equal(tpm2_authorize_key_from_spki("x", 1, &a, NULL), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_round_trip),
                cmocka_unit_test(test_malformed),
                cmocka_unit_test(test_not_json),
                cmocka_unit_test(test_spki),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
