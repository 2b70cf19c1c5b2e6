/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Signed PCR policies against swtpm (tp-run --swtpm): a secret sealed to a signing key opens under a
 * PCR policy that key signed, survives a PCR change once the new value is signed, and refuses other
 * keys, tampered signatures and digests, a missing or wrong PIN and the empty password. Tests run in
 * order on one fresh swtpm. */

#include <inttypes.h>
#include <stdlib.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "basic/hexdecoct.h"
#include "basic/log.h"
#include "basic/secure-mem.h"
#include "shared/openssl-util.h"
#include "tpm2/tpm2-context-internal.h"
#include "tpm2/tpm2-object.h"
#include "tpm2/tpm2-policy.h"
#include "tpm2/tpm2-seal.h"
#include "tpm2/tpm2-session.h"
#include "tpm2/tpm2-signed-policy.h"
#include "tpm2/tpm2-srk.h"
#include "tpm2-test-util.h"

#define PCR7 (UINT32_C(1) << 7)

static EVP_PKEY *rsa_key, *ecc_key;

static void extend7(Tpm2Context *c) {
        TPML_DIGEST_VALUES v = { .count = 1, .digests[0].hashAlg = TPM2_ALG_SHA256 };
        memset(v.digests[0].digest.sha256, 0x17, 32);
        assert_int_equal(Esys_PCR_Extend(tpm2_context_esys(c), ESYS_TR_PCR7, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                         ESYS_TR_NONE, &v),
                         TSS2_RC_SUCCESS);
}

static Tpm2SealedBlob *seal_to(Tpm2Context *c, EVP_PKEY *key, const char *pin, const char *secret) {
        _cleanup_(tpm2_sealed_blob_freep) Tpm2SealedBlob *b = NULL, *b2 = NULL;
        _cleanup_free_ uint8_t *wire = NULL;
        TPM2B_PUBLIC pub;
        size_t size;
        Tpm2Error e = {};

        assert_int_equal(tpm2_authorize_key_from_pkey(key, &pub, NULL), 0);
        Tpm2SealOptions o = { .authorize_key = &pub, .pin = pin };
        assert_int_equal(tpm2_seal(c, &o, secret, strlen(secret), &b, &e), 0);
        assert_true(b->authorize);
        assert_false(b->public.publicArea.objectAttributes & TPMA_OBJECT_USERWITHAUTH);

        /* Through the wire format (version 2) and back, as tpctl and the daemon see it. */
        assert_int_equal(tpm2_sealed_blob_serialize(b, &wire, &size), 0);
        assert_int_equal(wire[4], 2);
        assert_int_equal(tpm2_sealed_blob_parse(wire, size, &b2), 0);
        assert_true(b2->authorize);
        assert_true(tpm2_public_equal(&b2->authorize_key, &pub));
        return TAKE_PTR(b2);
}

/* Signs the current PCR 7 (sha256) and returns it as a one-entry policy, through the file format. */
static Tpm2SignedPolicy *sign_current(Tpm2Context *c, EVP_PKEY *key) {
        _cleanup_free_ Tpm2PcrValue *now = NULL;
        _cleanup_free_ char *text = NULL;
        Tpm2SignedPolicy p = { .n_entries = 1 }, *parsed = NULL;
        size_t n = 0;

        assert_int_equal(tpm2_pcr_read(c, TPM2_ALG_SHA256, PCR7, &now, &n), 0);
        assert_int_equal(tpm2_signed_policy_sign(key, TPM2_ALG_SHA256, now, n, &p.entries[0]), 0);
        assert_int_equal(tpm2_signed_policy_format(&p, &text), 0);
        assert_int_equal(tpm2_signed_policy_parse(text, strlen(text), &parsed), 0);
        assert_int_equal(parsed->n_entries, 1);
        return parsed;
}

static void assert_unseals(Tpm2Context *c, const Tpm2SealedBlob *b, const Tpm2SignedPolicy *p,
                           const char *pin, const char *secret) {
        _cleanup_erase_free_ void *out = NULL;
        size_t size = 0;
        Tpm2Error e = {};

        assert_int_equal(tpm2_unseal_signed(c, b, p, pin, &out, &size, &e), 0);
        assert_int_equal(size, strlen(secret));
        assert_memory_equal(out, secret, size);
        assert_no_leaks(c);
}

static int assert_refused(Tpm2Context *c, const Tpm2SealedBlob *b, const Tpm2SignedPolicy *p,
                          const char *pin, Tpm2Error *e) {
        void *out = NULL;
        size_t size = 0;
        int r;

        r = tpm2_unseal_signed(c, b, p, pin, &out, &size, e);
        assert_true(r < 0);
        assert_null(out);
        assert_int_equal(e->error, r);
        assert_no_leaks(c);
        return r;
}

static void test_provision_srk(void **state) {
        _cleanup_(tpm2_context_freep) Tpm2Context *c = open_tpm();
        ESYS_TR srk = ESYS_TR_NONE;

        assert_int_equal(tpm2_srk_provision(c, NULL, true, &srk, NULL), 0);
        tpm2_flush(c, &srk);
        assert_no_leaks(c);
}

static void round_trip(EVP_PKEY *key) {
        _cleanup_(tpm2_context_freep) Tpm2Context *c = open_tpm();
        _cleanup_(tpm2_sealed_blob_freep) Tpm2SealedBlob *b = seal_to(c, key, NULL, "signed secret");
        _cleanup_free_ Tpm2SignedPolicy *p = sign_current(c, key);
        void *out = NULL;
        size_t size = 0;
        Tpm2Error e = {};

        assert_unseals(c, b, p, NULL, "signed secret");
        /* The plain PCR path does not apply to it, and says why. */
        assert_int_equal(tpm2_unseal(c, b, NULL, &out, &size, &e), -EINVAL);
        assert_non_null(strstr(e.message, "signed policy"));
        /* The signer can check the file in software too. */
        assert_int_equal(tpm2_signed_policy_entry_verify(&p->entries[0], &b->authorize_key), 0);
}

static void test_round_trip_rsa(void **state) {
        round_trip(rsa_key);
}

static void test_round_trip_ecc(void **state) {
        round_trip(ecc_key);
}

static void test_survives_update(void **state) {
        _cleanup_(tpm2_context_freep) Tpm2Context *c = open_tpm();
        _cleanup_(tpm2_sealed_blob_freep) Tpm2SealedBlob *b = seal_to(c, ecc_key, NULL, "survives updates");
        _cleanup_free_ Tpm2SignedPolicy *old = sign_current(c, ecc_key), *new = NULL;
        _cleanup_free_ Tpm2PcrValue *now = NULL;
        _cleanup_free_ char *want = NULL, *have = NULL, *msg = NULL;
        size_t n = 0;
        Tpm2Error e = {};

        assert_unseals(c, b, old, NULL, "survives updates");

        /* The update measures something new: the old signature no longer matches, and the user is told
         * which PCR moved. */
        extend7(c);
        assert_int_equal(assert_refused(c, b, old, NULL, &e), -EPERM);
        assert_int_equal(tpm2_pcr_read(c, TPM2_ALG_SHA256, PCR7, &now, &n), 0);
        assert_int_equal(hexmem(now[0].digest, 32, &have), 0);
        assert_int_equal(hexmem(old->entries[0].values[0].digest, 32, &want), 0);
        assert_true(asprintf(&msg,
                             "no signed policy matches the current PCRs: PCR 7 (sha256) is %s, the policy "
                             "signed %s",
                             have, want) > 0);
        assert_string_equal(e.message, msg);

        /* The vendor signs the new value; shipped next to the old entry, the new one is picked. */
        new = sign_current(c, ecc_key);
        new->entries[1] = new->entries[0];
        new->entries[0] = old->entries[0];
        new->n_entries = 2;
        assert_unseals(c, b, new, NULL, "survives updates");
}

static void test_wrong_key(void **state) {
        _cleanup_(tpm2_context_freep) Tpm2Context *c = open_tpm();
        _cleanup_(tpm2_sealed_blob_freep) Tpm2SealedBlob *b = seal_to(c, rsa_key, NULL, "rsa only");
        _cleanup_free_ Tpm2SignedPolicy *p = sign_current(c, ecc_key);
        TPM2B_NAME rsa_name;
        Tpm2Error e = {};

        assert_int_equal(assert_refused(c, b, p, NULL, &e), -EPERM);
        assert_non_null(strstr(e.message, "signed by the key the secret is sealed to"));

        /* Claiming the right key does not help: the TPM checks the signature with the sealed key. */
        assert_int_equal(tpm2_authorize_key_from_pkey(rsa_key, NULL, &rsa_name), 0);
        p->entries[0].key_name = rsa_name;
        assert_int_equal(assert_refused(c, b, p, NULL, &e), -EPERM);
        assert_non_null(strstr(e.message, "signature"));
}

static void tampered_signature(EVP_PKEY *key) {
        _cleanup_(tpm2_context_freep) Tpm2Context *c = open_tpm();
        _cleanup_(tpm2_sealed_blob_freep) Tpm2SealedBlob *b = seal_to(c, key, NULL, "tamper");
        _cleanup_free_ Tpm2SignedPolicy *p = sign_current(c, key);
        TPMT_SIGNATURE *s = &p->entries[0].signature;
        Tpm2Error e = {};

        if (s->sigAlg == TPM2_ALG_RSASSA)
                s->signature.rsassa.sig.buffer[10] ^= 0x01;
        else
                s->signature.ecdsa.signatureS.buffer[10] ^= 0x01;
        assert_int_equal(tpm2_signed_policy_entry_verify(&p->entries[0], &b->authorize_key), -EBADMSG);
        assert_int_equal(assert_refused(c, b, p, NULL, &e), -EPERM);
        assert_non_null(strstr(e.message, "refused the signed policy's signature"));
}

static void test_tampered_signature(void **state) {
        tampered_signature(rsa_key);
        tampered_signature(ecc_key);
}

static void test_tampered_policy_digest(void **state) {
        _cleanup_(tpm2_context_freep) Tpm2Context *c = open_tpm();
        _cleanup_(tpm2_sealed_blob_freep) Tpm2SealedBlob *b = seal_to(c, ecc_key, NULL, "digest");
        _cleanup_free_ Tpm2SignedPolicy *p = NULL, *parsed = NULL;
        _cleanup_free_ Tpm2PcrValue *now = NULL;
        _cleanup_free_ char *text = NULL;
        Tpm2SignedPolicyEntry *en;
        TPM2B_DIGEST pcr_digest;
        char *at;
        size_t n = 0;
        Tpm2Error e = {};

        /* A policy signed for a PCR 7 value the machine does not have. */
        assert_int_equal(tpm2_pcr_read(c, TPM2_ALG_SHA256, PCR7, &now, &n), 0);
        Tpm2PcrValue other = now[0];
        other.digest[0] ^= 0xff;
        p = calloc(1, sizeof(*p));
        p->n_entries = 1;
        en = &p->entries[0];
        assert_int_equal(tpm2_signed_policy_sign(ecc_key, TPM2_ALG_SHA256, &other, 1, en), 0);

        /* Edited in the file, the digest no longer is the one of the listed values: refused at parse. */
        assert_int_equal(tpm2_signed_policy_format(p, &text), 0);
        _cleanup_free_ char *hex = NULL;
        assert_int_equal(hexmem(en->policy.buffer, 32, &hex), 0);
        at = strstr(text, hex);
        assert_non_null(at);
        at[0] = at[0] == '0' ? '1' : '0';
        assert_int_equal(tpm2_signed_policy_parse(text, strlen(text), &parsed), -EBADMSG);

        /* Edited consistently (the current value and its digest), the old signature does not cover it. */
        en->values[0] = now[0];
        assert_int_equal(tpm2_policy_pcr_values_digest(TPM2_ALG_SHA256, PCR7, en->values, 1, &pcr_digest), 0);
        assert_int_equal(tpm2_policy_compute(TPM2_ALG_SHA256, PCR7, &pcr_digest, false, &en->policy), 0);
        assert_int_equal(assert_refused(c, b, p, NULL, &e), -EPERM);
        assert_non_null(strstr(e.message, "refused the signed policy's signature"));
}

static void test_pin(void **state) {
        _cleanup_(tpm2_context_freep) Tpm2Context *c = open_tpm();
        _cleanup_(tpm2_sealed_blob_freep) Tpm2SealedBlob *b = seal_to(c, rsa_key, "1234", "pin and signature");
        _cleanup_free_ Tpm2SignedPolicy *p = sign_current(c, rsa_key);
        ESYS_TR srk = ESYS_TR_NONE, obj = ESYS_TR_NONE, session = ESYS_TR_NONE;
        TPM2B_SENSITIVE_DATA *d = NULL;
        Tpm2Error e = {};
        TSS2_RC rc;

        assert_true(b->has_pin);
        assert_false(b->public.publicArea.objectAttributes & TPMA_OBJECT_NODA);
        assert_unseals(c, b, p, "1234", "pin and signature");

        assert_int_equal(assert_refused(c, b, p, "4321", &e), -EACCES);
        assert_non_null(strstr(e.message, "wrong PIN"));
        assert_int_equal(assert_refused(c, b, p, NULL, &e), -EACCES);

        /* The signer cannot drop the PIN: the signed policy satisfied without PolicyAuthValue does not
         * open the object, PolicyAuthorize is followed by PolicyAuthValue in its authPolicy. */
        assert_int_equal(tpm2_srk_provision(c, NULL, false, &srk, NULL), 0);
        assert_int_equal(Esys_Load(tpm2_context_esys(c), srk, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                                   &b->private, &b->public, &obj),
                         TSS2_RC_SUCCESS);
        assert_int_equal(tpm2_policy_session_start(c, srk, &session), 0);
        assert_int_equal(tpm2_policy_apply_authorize(c, session, &p->entries[0], &b->authorize_key, false), 0);
        rc = Esys_Unseal(tpm2_context_esys(c), obj, session, ESYS_TR_NONE, ESYS_TR_NONE, &d);
        assert_int_equal(rc & (TPM2_RC_FMT1 | 0x3F), TPM2_RC_POLICY_FAIL);
        assert_null(d);
        assert_int_equal(Esys_FlushContext(tpm2_context_esys(c), obj), TSS2_RC_SUCCESS);
        tpm2_flush(c, &session);
        tpm2_flush(c, &srk);
        assert_no_leaks(c);

        /* The dictionary-attack counter those wrong PINs raised is not in the way of later tests. */
        assert_int_equal(Esys_DictionaryAttackLockReset(tpm2_context_esys(c), ESYS_TR_RH_LOCKOUT,
                                                        ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE),
                         TSS2_RC_SUCCESS);
}

static void test_empty_password_refused(void **state) {
        _cleanup_(tpm2_context_freep) Tpm2Context *c = open_tpm();
        _cleanup_(tpm2_sealed_blob_freep) Tpm2SealedBlob *b = seal_to(c, ecc_key, NULL, "no password path");
        ESYS_TR srk = ESYS_TR_NONE, obj = ESYS_TR_NONE;
        TPM2B_SENSITIVE_DATA *d = NULL;
        TSS2_RC rc;

        assert_int_equal(tpm2_srk_provision(c, NULL, false, &srk, NULL), 0);
        assert_int_equal(Esys_Load(tpm2_context_esys(c), srk, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                                   &b->private, &b->public, &obj),
                         TSS2_RC_SUCCESS);
        rc = Esys_Unseal(tpm2_context_esys(c), obj, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &d);
        assert_int_equal(rc & 0xFFF, TPM2_RC_AUTH_UNAVAILABLE);
        assert_null(d);
        assert_int_equal(Esys_FlushContext(tpm2_context_esys(c), obj), TSS2_RC_SUCCESS);
        tpm2_flush(c, &srk);
        assert_no_leaks(c);
}

static void test_policy_digests_agree(void **state) {
        _cleanup_(tpm2_context_freep) Tpm2Context *c = open_tpm();
        TPM2B_DIGEST ours, trial;
        TPM2B_NAME name;

        /* CVE-2020-24455: our offline PolicyAuthorize [+ PolicyAuthValue] is the TPM's. */
        for (int pin = 0; pin < 2; pin++) {
                assert_int_equal(tpm2_authorize_key_from_pkey(rsa_key, NULL, &name), 0);
                assert_int_equal(tpm2_policy_compute_authorize(&name, pin, &ours), 0);
                assert_int_equal(tpm2_policy_trial_authorize(c, &name, pin, &trial), 0);
                assert_int_equal(ours.size, 32);
                assert_memory_equal(ours.buffer, trial.buffer, 32);
        }
        assert_no_leaks(c);
}

static void test_refusals(void **state) {
        _cleanup_(tpm2_context_freep) Tpm2Context *c = open_tpm();
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t) 1024);
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
        Tpm2SignedPolicyEntry en;
        Tpm2SealedBlob *b = NULL;
        TPM2B_PUBLIC pub;
        Tpm2Error e = {};

        /* Resettable PCRs bind nothing, signed or not. */
        Tpm2PcrValue v16 = { .index = 16, .bank = TPM2_ALG_SHA256, .size = 32 }, v23 = v16;
        v23.index = 23;
        assert_int_equal(tpm2_signed_policy_sign(ecc_key, TPM2_ALG_SHA256, &v16, 1, &en), -EINVAL);
        assert_int_equal(tpm2_signed_policy_sign(ecc_key, TPM2_ALG_SHA256, &v23, 1, &en), -EINVAL);

        /* Weak or unsupported keys. */
        assert_non_null(small);
        assert_non_null(p384);
        assert_int_equal(tpm2_authorize_key_from_pkey(small, &pub, NULL), -EOPNOTSUPP);
        assert_int_equal(tpm2_authorize_key_from_pkey(p384, &pub, NULL), -EOPNOTSUPP);

        /* A PCR selection and a signing key together are ambiguous. */
        assert_int_equal(tpm2_authorize_key_from_pkey(ecc_key, &pub, NULL), 0);
        Tpm2SealOptions o = { .authorize_key = &pub, .pcr_mask = PCR7 };
        assert_int_equal(tpm2_seal(c, &o, "x", 1, &b, &e), -EINVAL);
        assert_null(b);
        assert_no_leaks(c);
}

/* Keys as an administrator makes them: `openssl genpkey`, the public half by `openssl pkey -pubout`, read
 * back from PEM and DER files. */
static void openssl_cli_key(const char *genpkey_args) {
        _cleanup_(tpm2_context_freep) Tpm2Context *c = open_tpm();
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
        _cleanup_free_ char *cmd = NULL, *pem = NULL, *der = NULL;
        char dir[] = "/tmp/test-signed-policy-XXXXXX";
        TPM2B_PUBLIC from_pem, from_der, from_key;
        FILE *f;
        long size;

        assert_non_null(mkdtemp(dir));
        assert_true(asprintf(&cmd,
                             "openssl genpkey %s -out %s/key.pem 2>/dev/null && "
                             "openssl pkey -in %s/key.pem -pubout -out %s/pub.pem && "
                             "openssl pkey -in %s/key.pem -pubout -outform DER -out %s/pub.der",
                             genpkey_args, dir, dir, dir, dir, dir) > 0);
        assert_int_equal(system(cmd), 0);

        for (int i = 0; i < 2; i++) {
                _cleanup_free_ char *path = NULL;
                _cleanup_free_ uint8_t *buf = NULL;

                assert_true(asprintf(&path, "%s/%s", dir, i == 0 ? "pub.pem" : "pub.der") > 0);
                f = fopen(path, "re");
                assert_non_null(f);
                assert_int_equal(fseek(f, 0, SEEK_END), 0);
                size = ftell(f);
                rewind(f);
                buf = malloc(size);
                assert_int_equal(fread(buf, 1, size, f), (size_t) size);
                fclose(f);
                assert_int_equal(
                        tpm2_authorize_key_from_spki(buf, size, i == 0 ? &from_pem : &from_der, NULL), 0);
                unlink(path);
        }

        _cleanup_free_ char *keypath = NULL;
        assert_true(asprintf(&keypath, "%s/key.pem", dir) > 0);
        f = fopen(keypath, "re");
        assert_non_null(f);
        key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
        fclose(f);
        assert_non_null(key);
        unlink(keypath);
        assert_int_equal(rmdir(dir), 0);

        assert_int_equal(tpm2_authorize_key_from_pkey(key, &from_key, NULL), 0);
        assert_true(tpm2_public_equal(&from_pem, &from_key));
        assert_true(tpm2_public_equal(&from_der, &from_key));

        _cleanup_(tpm2_sealed_blob_freep) Tpm2SealedBlob *b = seal_to(c, key, NULL, "cli key");
        _cleanup_free_ Tpm2SignedPolicy *p = sign_current(c, key);
        assert_unseals(c, b, p, NULL, "cli key");
}

static void test_openssl_cli_keys(void **state) {
        openssl_cli_key("-algorithm EC -pkeyopt ec_paramgen_curve:P-256");
        openssl_cli_key("-algorithm RSA -pkeyopt rsa_keygen_bits:2048");
        openssl_cli_key("-algorithm RSA -pkeyopt rsa_keygen_bits:3072");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_provision_srk),
                cmocka_unit_test(test_round_trip_rsa),
                cmocka_unit_test(test_round_trip_ecc),
                cmocka_unit_test(test_survives_update),
                cmocka_unit_test(test_wrong_key),
                cmocka_unit_test(test_tampered_signature),
                cmocka_unit_test(test_tampered_policy_digest),
                cmocka_unit_test(test_pin),
                cmocka_unit_test(test_empty_password_refused),
                cmocka_unit_test(test_policy_digests_agree),
                cmocka_unit_test(test_refusals),
                cmocka_unit_test(test_openssl_cli_keys),
        };
        int r;

        log_parse_environment();
        if (!getenv("TRUSTED_PLATFORM_TCTI") || !getenv("TRUSTED_PLATFORM_STATE_DIR")) {
                fprintf(stderr,
                        "TRUSTED_PLATFORM_TCTI and TRUSTED_PLATFORM_STATE_DIR must be set (run through tp-run).\n");
                return EXIT_FAILURE;
        }

        rsa_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t) 2048);
        ecc_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        if (!rsa_key || !ecc_key)
                return EXIT_FAILURE;

        r = cmocka_run_group_tests(tests, NULL, NULL);
        EVP_PKEY_free(rsa_key);
        EVP_PKEY_free(ecc_key);
        return r;
}
