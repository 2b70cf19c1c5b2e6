/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The LUKS2 token JSON: round trips for PCR-sealed and signed-policy blobs, unknown optional fields
 * tolerated, and hostile tokens refused with a reason: missing fields, wrong types, huge numbers, bad
 * base64, truncated blobs, a policy edited to fewer PCRs or another bank, a PIN flag that lies, a
 * swapped authorizing key, keyslots that cannot exist. */

#include <openssl/evp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "basic/hexdecoct.h"
#include "basic/log.h"
#include "luks/luks-token.h"
#include "shared/json-util.h"
#include "tpm2/tpm2-policy.h"
#include "tpm2/tpm2-signed-policy.h"

/* A blob as tpm2_seal() makes it, without a TPM: a consistent policy, made-up private bytes. */
static Tpm2SealedBlob *make_blob(uint32_t mask, bool pin) {
        Tpm2SealedBlob *b = calloc(1, sizeof(*b));
        TPM2B_DIGEST pcr_digest, policy;

        assert_non_null(b);
        b->bank = TPM2_ALG_SHA256;
        b->pcr_mask = mask;
        b->has_pin = pin;
        for (unsigned i = 0; i < TPM2_PCRS_MAX; i++)
                if (mask & (1U << i)) {
                        Tpm2PcrValue *v = b->expected + b->n_expected++;
                        *v = (Tpm2PcrValue){ .index = i, .bank = b->bank, .size = 32 };
                        v->digest[0] = (uint8_t) i;
                }
        assert_int_equal(
                tpm2_policy_pcr_values_digest(b->bank, b->pcr_mask, b->expected, b->n_expected, &pcr_digest),
                0);
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
        return b;
}

static Tpm2SealedBlob *make_authorize_blob(TPM2B_NAME *ret_name) {
        Tpm2SealedBlob *b = make_blob(1U << 7, false);
        EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");

        assert_non_null(key);
        assert_int_equal(tpm2_authorize_key_from_pkey(key, &b->authorize_key, ret_name), 0);
        EVP_PKEY_free(key);
        b->authorize = true;
        b->bank = 0;
        b->pcr_mask = 0;
        b->n_expected = 0;
        assert_int_equal(tpm2_policy_compute_authorize(ret_name, false, &b->public.publicArea.authPolicy), 0);
        return b;
}

static const TPM2B_NAME srk = { .size = 34, .name = { 0x00, 0x0b, 1,  2,  3,  4,  5,  6,  7,  8,  9,  10,
                                                      11,   12,   13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
                                                      23,   24,   25, 26, 27, 28, 29, 30, 31, 32 } };

static char *token_for(Tpm2SealedBlob *b, int slot) {
        char *t = NULL;

        assert_int_equal(luks_token_format(slot, b, &srk, "device:/dev/tpmrm0", &t), 0);
        return t;
}

/* With $TP_WRITE_SEEDS set to a directory, the tokens become fuzz seeds there. */
static void write_seed(const char *name, const char *json) {
        const char *dir = getenv("TP_WRITE_SEEDS");
        _cleanup_free_ char *path = NULL;
        FILE *f;

        if (!dir)
                return;
        assert_true(asprintf(&path, "%s/%s", dir, name) > 0);
        f = fopen(path, "we");
        assert_non_null(f);
        fputs(json, f);
        assert_int_equal(fclose(f), 0);
}

static void test_round_trip(void **state) {
        _cleanup_(tpm2_sealed_blob_freep) Tpm2SealedBlob *b = make_blob((1U << 0) | (1U << 7), true),
                                                         *a = NULL;
        _cleanup_(luks_token_freep) LuksToken *t = NULL, *u = NULL;
        _cleanup_free_ char *json = token_for(b, 3), *desc = NULL, *ajson = NULL;
        TPM2B_NAME key;
        char reason[256];

        assert_int_equal(luks_token_parse(json, strlen(json), &t, reason, sizeof(reason)), 0);
        write_seed("pcr-pin.json", json);
        assert_int_equal(t->keyslot, 3);
        assert_int_equal(t->blob->pcr_mask, (1U << 0) | (1U << 7));
        assert_true(t->blob->has_pin);
        assert_int_equal(t->srk_name.size, 34);
        assert_memory_equal(t->srk_name.name, srk.name, 34);
        assert_string_equal(t->tcti, "device:/dev/tpmrm0");
        assert_int_equal(luks_token_describe(t, &desc), 0);
        assert_non_null(strstr(desc, "TPM policy: sha256 0 7"));
        assert_non_null(strstr(desc, "PIN:        yes"));

        a = make_authorize_blob(&key);
        ajson = token_for(a, 0);
        write_seed("signed-policy.json", ajson);
        assert_int_equal(luks_token_parse(ajson, strlen(ajson), &u, reason, sizeof(reason)), 0);
        assert_true(u->blob->authorize);
}

static void test_unknown_fields_tolerated(void **state) {
        _cleanup_(tpm2_sealed_blob_freep) Tpm2SealedBlob *b = make_blob(1U << 7, false);
        _cleanup_free_ char *json = token_for(b, 1), *edited = NULL;
        _cleanup_(json_decrefp) json_t *o = NULL;
        _cleanup_(luks_token_freep) LuksToken *t = NULL;

        assert_int_equal(json_parse_strict(json, strlen(json), &o), 0);
        json_object_set_new(o, "tp-future-option", json_pack("{s:i}", "x", 1));
        json_object_set_new(o, "comment", json_string("added by a newer version"));
        json_object_del(o, "tp-tcti"); /* optional */
        edited = json_dumps(o, JSON_COMPACT);
        assert_int_equal(luks_token_parse(edited, strlen(edited), &t, NULL, 0), 0);
        assert_null(t->tcti);
}

/* An edit of the valid token: set key to value (a JSON text), or delete it when value is NULL. */
typedef struct Edit {
        const char *key;
        const char *value;
        int error;
        const char *reason;
} Edit;

static void test_hostile(void **state) {
        static const Edit edits[] = {
                { "type", NULL, -EINVAL, "token type" },
                { "type", "\"systemd-tpm2\"", -EINVAL, "token type" },
                { "type", "7", -EINVAL, "token type" },
                { "tp-version", NULL, -EBADMSG, "tp-version" },
                { "tp-version", "2", -EPROTONOSUPPORT, "version 2" },
                { "tp-version", "\"1\"", -EBADMSG, "tp-version" },
                { "tp-version", "1e300", -EBADMSG, "tp-version" },
                { "tp-version", "-1", -EPROTONOSUPPORT, "version -1" },
                { "keyslots", NULL, -EINVAL, "exactly one keyslot" },
                { "keyslots", "[]", -EINVAL, "exactly one keyslot" },
                { "keyslots", "[\"1\", \"2\"]", -EINVAL, "exactly one keyslot" },
                { "keyslots", "[1]", -EINVAL, "keyslot is not a number" },
                { "keyslots", "[\"32\"]", -EINVAL, "keyslot is not a number" },
                { "keyslots", "[\"-1\"]", -EINVAL, "keyslot is not a number" },
                { "keyslots", "[\"01\"]", -EINVAL, "keyslot is not a number" },
                { "keyslots", "[\"99999999999999999999\"]", -EINVAL, "keyslot is not a number" },
                { "keyslots", "[\"1 \"]", -EINVAL, "keyslot is not a number" },
                { "keyslots", "\"1\"", -EINVAL, "exactly one keyslot" },
                { "tp-blob", NULL, -EBADMSG, "tp-blob" },
                { "tp-blob", "\"\"", -EBADMSG, "tp-blob" },
                { "tp-blob", "\"!!!!\"", -EBADMSG, "not base64" },
                { "tp-blob", "\"VFBTQg==\"", -EBADMSG, "not a sealed blob" },
                { "tp-blob", "\"AAAA\"", -EBADMSG, "not a sealed blob" },
                { "tp-blob", "42", -EBADMSG, "tp-blob" },
                { "tp-srk", NULL, -EBADMSG, "tp-srk" },
                { "tp-srk", "\"000b\"", -EBADMSG, "tp-srk" },
                { "tp-srk", "\"zz\"", -EBADMSG, "tp-srk" },
                { "tp-srk",
                  "\"0004"
                  "0102030405060708090a0b0c0d0e0f1011121314\"",
                  -EBADMSG, "tp-srk" },
                { "tp-pin", NULL, -EBADMSG, "tp-pin" },
                { "tp-pin", "\"false\"", -EBADMSG, "tp-pin" },
                { "tp-pin", "true", -EBADMSG, "tp-pin says a PIN is needed, the sealed blob does not" },
                { "tp-pcr-bank", NULL, -EBADMSG, "tp-pcr-bank" },
                { "tp-pcr-bank", "\"sha1\"", -EBADMSG, "not the blob's bank" },
                { "tp-pcr-bank", "\"SHA256\"", -EBADMSG, "not the blob's bank" },
                { "tp-pcrs", NULL, -EBADMSG, "tp-pcrs" },
                { "tp-pcrs", "[7]", -EBADMSG, "does not list the PCRs" },
                { "tp-pcrs", "[0, 7, 14]", -EBADMSG, "does not list the PCRs" },
                { "tp-pcrs", "[7, 0]", -EBADMSG, "ascending" },
                { "tp-pcrs", "[0, 0, 7]", -EBADMSG, "ascending" },
                { "tp-pcrs", "[0, 24]", -EBADMSG, "ascending PCR index" },
                { "tp-pcrs", "[0, 4294967303]", -EBADMSG, "ascending PCR index" },
                { "tp-pcrs", "[\"0\", \"7\"]", -EBADMSG, "ascending PCR index" },
                { "tp-pcrs", "\"0,7\"", -EBADMSG, "tp-pcrs" },
                { "tp-authorize-key",
                  "\"000b"
                  "0000000000000000000000000000000000000000000000000000000000000000\"",
                  -EBADMSG, "for a PCR-sealed blob" },
                { "tp-tcti", "\"device:/dev/tpmrm0\\u0001\"", -EBADMSG, "tp-tcti" },
                { "tp-tcti", "17", -EBADMSG, "tp-tcti" },
                /* The TCTI loader would dlopen() a library name or path, the device TCTI writes into
                 * whatever it opens, pcap writes a file: only TPM nodes and simulator/RM TCTIs. */
                { "tp-tcti", "\"/tmp/evil.so\"", -EBADMSG, "tp-tcti is not a TPM device" },
                { "tp-tcti", "\"libtss2-tcti-evil.so.0\"", -EBADMSG, "tp-tcti is not a TPM device" },
                { "tp-tcti", "\"device:/etc/shadow\"", -EBADMSG, "tp-tcti is not a TPM device" },
                { "tp-tcti", "\"device:/dev/tpmrm0/../../sda\"", -EBADMSG, "tp-tcti is not a TPM device" },
                { "tp-tcti", "\"pcap:device:/dev/tpmrm0\"", -EBADMSG, "tp-tcti is not a TPM device" },
                { "tp-tcti", "\"swtpm:path=/run/a b\"", -EBADMSG, "tp-tcti is not a TPM device" },
        };
        _cleanup_(tpm2_sealed_blob_freep) Tpm2SealedBlob *b = make_blob((1U << 0) | (1U << 7), false);
        _cleanup_free_ char *json = token_for(b, 1);
        size_t n = 0;

        for (size_t i = 0; i < ELEMENTSOF(edits); i++) {
                _cleanup_(json_decrefp) json_t *o = NULL;
                _cleanup_(luks_token_freep) LuksToken *t = NULL;
                _cleanup_free_ char *edited = NULL;
                char reason[256] = "";
                int r;

                assert_int_equal(json_parse_strict(json, strlen(json), &o), 0);
                if (edits[i].value) {
                        json_error_t e;
                        json_t *v = json_loads(edits[i].value, JSON_DECODE_ANY, &e);
                        assert_non_null(v);
                        json_object_set_new(o, edits[i].key, v);
                } else
                        json_object_del(o, edits[i].key);
                edited = json_dumps(o, JSON_COMPACT);
                r = luks_token_parse(edited, strlen(edited), &t, reason, sizeof(reason));
                if (r != edits[i].error || !strstr(reason, edits[i].reason))
                        fail_msg("edit %zu (%s = %s): got %d '%s', wanted %d with '%s'", i, edits[i].key,
                                 edits[i].value ?: "(deleted)", r, reason, edits[i].error, edits[i].reason);
                assert_null(t);
                n++;
        }

        /* Whole-token damage. */
        {
                static const char *const texts[] = { "", "[]", "null",
                                                     "{\"type\": \"trusted-platform-tpm2\",}",
                                                     "{\"type\": \"a\", \"type\": \"trusted-platform-tpm2\"}" };
                for (size_t i = 0; i < ELEMENTSOF(texts); i++) {
                        _cleanup_(luks_token_freep) LuksToken *t = NULL;
                        char reason[256] = "";

                        assert_true(luks_token_parse(texts[i], strlen(texts[i]), &t, reason, sizeof(reason)) <
                                    0);
                        n++;
                }
        }
        /* Truncated at every length. */
        for (size_t i = 0; i < strlen(json); i++) {
                _cleanup_(luks_token_freep) LuksToken *t = NULL;
                assert_true(luks_token_parse(json, i, &t, NULL, 0) < 0);
        }
        n++;
        /* The blob truncated inside the base64. */
        {
                _cleanup_(json_decrefp) json_t *o = NULL;
                _cleanup_free_ char *edited = NULL, *blob = NULL;
                _cleanup_(luks_token_freep) LuksToken *t = NULL;
                char reason[256] = "";

                assert_int_equal(json_parse_strict(json, strlen(json), &o), 0);
                blob = strdup(json_string_value(json_object_get(o, "tp-blob")));
                blob[strlen(blob) - 8] = 0;
                json_object_set_new(o, "tp-blob", json_string(blob));
                edited = json_dumps(o, JSON_COMPACT);
                assert_int_equal(luks_token_parse(edited, strlen(edited), &t, reason, sizeof(reason)),
                                 -EBADMSG);
                assert_non_null(strstr(reason, "not a sealed blob"));
                n++;
        }
        /* Too large. */
        {
                _cleanup_free_ char *big = malloc(LUKS_TOKEN_SIZE_MAX + 1);
                _cleanup_(luks_token_freep) LuksToken *t = NULL;

                assert_non_null(big);
                memset(big, ' ', LUKS_TOKEN_SIZE_MAX + 1);
                assert_int_equal(luks_token_parse(big, LUKS_TOKEN_SIZE_MAX + 1, &t, NULL, 0), -E2BIG);
                n++;
        }
        fprintf(stderr, "# %zu hostile tokens refused\n", n);
}

static void test_signed_policy_hostile(void **state) {
        _cleanup_(tpm2_sealed_blob_freep) Tpm2SealedBlob *a = NULL;
        _cleanup_free_ char *json = NULL;
        TPM2B_NAME key;
        static const Edit edits[] = {
                { "tp-authorize-key", NULL, -EBADMSG, "tp-authorize-key is missing" },
                { "tp-authorize-key",
                  "\"000b"
                  "1111111111111111111111111111111111111111111111111111111111111111\"",
                  -EBADMSG, "not the key the blob was sealed to" },
                { "tp-pcrs", "[7]", -EBADMSG, "for a blob sealed to an authorizing key" },
                { "tp-pcr-bank", "\"sha256\"", -EBADMSG, "for a blob sealed to an authorizing key" },
        };

        a = make_authorize_blob(&key);
        json = token_for(a, 2);
        for (size_t i = 0; i < ELEMENTSOF(edits); i++) {
                _cleanup_(json_decrefp) json_t *o = NULL;
                _cleanup_(luks_token_freep) LuksToken *t = NULL;
                _cleanup_free_ char *edited = NULL;
                char reason[256] = "";
                int r;

                assert_int_equal(json_parse_strict(json, strlen(json), &o), 0);
                if (edits[i].value)
                        json_object_set_new(o, edits[i].key,
                                            json_loads(edits[i].value, JSON_DECODE_ANY, NULL));
                else
                        json_object_del(o, edits[i].key);
                edited = json_dumps(o, JSON_COMPACT);
                r = luks_token_parse(edited, strlen(edited), &t, reason, sizeof(reason));
                if (r != edits[i].error || !strstr(reason, edits[i].reason))
                        fail_msg("edit %zu: got %d '%s'", i, r, reason);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_round_trip),
                cmocka_unit_test(test_unknown_fields_tolerated),
                cmocka_unit_test(test_hostile),
                cmocka_unit_test(test_signed_policy_hostile),
        };

        log_parse_environment();
        return cmocka_run_group_tests(tests, NULL, NULL);
}
