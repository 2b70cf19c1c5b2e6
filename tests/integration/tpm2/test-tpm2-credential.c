/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Credential activation against two real (software) TPMs: $TRUSTED_PLATFORM_TCTI is TPM A,
 * $TP_SECOND_TCTI is TPM B (test-tpm2-credential.py starts both), $TRUSTED_PLATFORM_STATE_DIR holds
 * one SRK pin directory per TPM. The EK is made here from the TCG low-range templates and the AK is a
 * restricted signing primary: both only stand-ins for tpm2-ek.c / tpm2-ak.c. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "basic/fileio.h"
#include "basic/log.h"
#include "basic/secure-mem.h"
#include "tpm2/tpm2-capability.h"
#include "tpm2/tpm2-context.h"
#include "tpm2/tpm2-credential.h"
#include "tpm2/tpm2-makecredential.h"
#include "tpm2/tpm2-session.h"
#include "tpm2/tpm2-srk.h"

#define HANDLES_TRANSIENT UINT32_C(0x80000000)

/* TCG EK Credential Profile, policy A: PolicySecret(TPM_RH_ENDORSEMENT), SHA-256. */
static const TPM2B_DIGEST ek_policy = {
        .size = 32,
        .buffer = { 0x83, 0x71, 0x97, 0x67, 0x44, 0x84, 0xB3, 0xF8, 0x1A, 0x90, 0xCC,
                    0x8D, 0x46, 0xA5, 0xD7, 0x24, 0xFD, 0x52, 0xD7, 0x6E, 0x06, 0x52,
                    0x0B, 0x64, 0xF2, 0xA1, 0xDA, 0x1B, 0x33, 0x14, 0x69, 0xAA },
};

#define EK_ATTRIBUTES                                                                       \
        (TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN | \
         TPMA_OBJECT_ADMINWITHPOLICY | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT)

typedef struct Tpm {
        Tpm2Context *c;
        ESYS_TR srk, ek, ak;
        TPM2B_PUBLIC *ek_public;
        TPM2B_NAME *ak_name;
} Tpm;

static size_t count_handles(Tpm2Context *c, TPM2_HANDLE first) {
        _cleanup_free_ TPM2_HANDLE *l = NULL;
        size_t n = 0;

        assert_int_equal(tpm2_get_handles(c, first, &l, &n), 0);
        return n;
}

static void assert_no_sessions(Tpm2Context *c) {
        assert_int_equal(count_handles(c, TPM2_HR_HMAC_SESSION), 0);
        assert_int_equal(count_handles(c, TPM2_HR_POLICY_SESSION), 0);
}

static void assert_no_leaks(Tpm2Context *c) {
        assert_int_equal(count_handles(c, HANDLES_TRANSIENT), 0);
        assert_no_sessions(c);
}

static ESYS_TR create_primary(Tpm2Context *c, ESYS_TR hierarchy, const TPM2B_PUBLIC *template,
                              TPM2B_PUBLIC **ret_public) {
        static const TPM2B_SENSITIVE_CREATE sensitive = {};
        static const TPM2B_DATA outside = {};
        static const TPML_PCR_SELECTION pcrs = {};
        ESYS_TR h = ESYS_TR_NONE;

        assert_int_equal(Esys_CreatePrimary(tpm2_context_esys(c), hierarchy, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                            ESYS_TR_NONE, &sensitive, template, &outside, &pcrs, &h,
                                            ret_public, NULL, NULL, NULL),
                         TSS2_RC_SUCCESS);
        return h;
}

static ESYS_TR create_ek(Tpm2Context *c, uint16_t type, TPM2B_PUBLIC **ret_public) {
        TPM2B_PUBLIC t = {
                .publicArea = {
                        .type = type,
                        .nameAlg = TPM2_ALG_SHA256,
                        .objectAttributes = EK_ATTRIBUTES,
                        .authPolicy = ek_policy,
                },
        };
        static const TPMT_SYM_DEF_OBJECT aes128cfb = { .algorithm = TPM2_ALG_AES,
                                                       .keyBits.aes = 128,
                                                       .mode.aes = TPM2_ALG_CFB };

        if (type == TPM2_ALG_RSA) {
                t.publicArea.parameters.rsaDetail = (TPMS_RSA_PARMS){
                        .symmetric = aes128cfb,
                        .scheme.scheme = TPM2_ALG_NULL,
                        .keyBits = 2048,
                };
                t.publicArea.unique.rsa.size = 256;
        } else {
                t.publicArea.parameters.eccDetail = (TPMS_ECC_PARMS){
                        .symmetric = aes128cfb,
                        .scheme.scheme = TPM2_ALG_NULL,
                        .curveID = TPM2_ECC_NIST_P256,
                        .kdf.scheme = TPM2_ALG_NULL,
                };
                t.publicArea.unique.ecc.x.size = t.publicArea.unique.ecc.y.size = 32;
        }
        return create_primary(c, ESYS_TR_RH_ENDORSEMENT, &t, ret_public);
}

/* An AK-shaped key (restricted ECDSA-P256 signing, empty auth); variant picks a different key. */
static ESYS_TR create_ak(Tpm2Context *c, uint8_t variant, TPM2B_NAME **ret_name) {
        TPM2B_PUBLIC t = {
                .publicArea = {
                        .type = TPM2_ALG_ECC,
                        .nameAlg = TPM2_ALG_SHA256,
                        .objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                                            TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
                                            TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT,
                        .parameters.eccDetail = {
                                .symmetric.algorithm = TPM2_ALG_NULL,
                                .scheme = { .scheme = TPM2_ALG_ECDSA, .details.ecdsa.hashAlg = TPM2_ALG_SHA256 },
                                .curveID = TPM2_ECC_NIST_P256,
                                .kdf.scheme = TPM2_ALG_NULL,
                        },
                        .unique.ecc = { .x = { .size = 1, .buffer = { variant } } },
                },
        };
        TPM2B_PUBLIC *pub = NULL;
        ESYS_TR h = create_primary(c, ESYS_TR_RH_OWNER, &t, &pub);

        Esys_Free(pub);
        assert_int_equal(Esys_TR_GetName(tpm2_context_esys(c), h, ret_name), TSS2_RC_SUCCESS);
        return h;
}

static void tpm_open(Tpm *t, const char *tcti, const char *pin_dir, uint16_t ek_type, uint8_t ak_variant) {
        *t = (Tpm){ .srk = ESYS_TR_NONE };

        assert_int_equal(tpm2_context_new(tcti, &t->c), 0);
        assert_int_equal(tpm2_srk_provision(t->c, pin_dir, true, &t->srk, NULL), 0);
        t->ek = create_ek(t->c, ek_type, &t->ek_public);
        t->ak = create_ak(t->c, ak_variant, &t->ak_name);
}

static void tpm_close(Tpm *t) {
        tpm2_flush(t->c, &t->ak);
        tpm2_flush(t->c, &t->ek);
        tpm2_flush(t->c, &t->srk);
        Esys_Free(t->ek_public);
        Esys_Free(t->ak_name);
        assert_no_leaks(t->c);
        tpm2_context_free(t->c);
}

static char *pin_dir(const char *which) {
        char *p;
        assert_true(asprintf(&p, "%s/%s", getenv("TRUSTED_PLATFORM_STATE_DIR"), which) > 0);
        return p;
}

static const char *tcti_a(void) {
        return getenv("TRUSTED_PLATFORM_TCTI");
}

static const char *tcti_b(void) {
        return getenv("TP_SECOND_TCTI");
}

static const uint8_t secret32[32] = "credential secret: 0123456789ab";

static int activate(Tpm *t, ESYS_TR ak, const TPM2B_ID_OBJECT *blob, const TPM2B_ENCRYPTED_SECRET *seed,
                    void **ret, size_t *ret_size) {
        return tpm2_activate_credential(t->c, ak, t->ek, t->srk, blob, seed, ret, ret_size);
}

/* A refused credential. libtpms before 0.10 answers an RSA seed that does not OAEP-decode with
 * TPM_RC_FAILURE (-EIO) instead of TPM_RC_VALUE (libtpms PR #444); real TPMs and newer libtpms give a
 * parameter error (-EKEYREJECTED). Either way no secret comes out, which the callers check. */
static void assert_rejected(uint16_t ek_type, bool seed_damaged, int r) {
        if (ek_type == TPM2_ALG_RSA && seed_damaged && r == -EIO)
                return;
        assert_int_equal(r, -EKEYREJECTED);
}

static void software_roundtrip(uint16_t ek_type, size_t secret_size) {
        _cleanup_free_ char *dir = pin_dir("a");
        _cleanup_free_ TPM2B_ID_OBJECT *blob = NULL;
        _cleanup_free_ TPM2B_ENCRYPTED_SECRET *seed = NULL;
        void *out = NULL;
        size_t out_size = 0;
        Tpm a;

        tpm_open(&a, tcti_a(), dir, ek_type, 1);
        assert_int_equal(tpm2_make_credential(a.ek_public, a.ak_name, secret32, secret_size, &blob, &seed), 0);
        assert_int_equal(activate(&a, a.ak, blob, seed, &out, &out_size), 0);
        assert_int_equal(out_size, secret_size);
        assert_memory_equal(out, secret32, secret_size);
        erase_and_free(out);
        tpm_close(&a);
}

static void test_software_blob_activates_rsa(void **state) {
        software_roundtrip(TPM2_ALG_RSA, 32);
        software_roundtrip(TPM2_ALG_RSA, 1);
}

static void test_software_blob_activates_ecc(void **state) {
        software_roundtrip(TPM2_ALG_ECC, 32);
        software_roundtrip(TPM2_ALG_ECC, 5);
}

/* The device flow: the EK persistent at 0x81010001 (DESIGN §6), the AK transient, the salt to the
 * persistent SRK. swtpm has three object slots and each persistent key in use takes one: this fits. */
static void test_persistent_ek(void **state) {
        _cleanup_free_ char *dir = pin_dir("a");
        _cleanup_free_ TPM2B_ID_OBJECT *blob = NULL;
        _cleanup_free_ TPM2B_ENCRYPTED_SECRET *seed = NULL;
        ESYS_CONTEXT *esys;
        ESYS_TR persistent = ESYS_TR_NONE;
        void *out = NULL;
        size_t out_size = 0;
        Tpm a;

        tpm_open(&a, tcti_a(), dir, TPM2_ALG_RSA, 1);
        esys = tpm2_context_esys(a.c);
        assert_int_equal(Esys_EvictControl(esys, ESYS_TR_RH_OWNER, a.ek, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                           ESYS_TR_NONE, 0x81010001, &persistent),
                         TSS2_RC_SUCCESS);
        tpm2_flush(a.c, &a.ek);
        tpm2_flush(a.c, &persistent);
        assert_int_equal(
                Esys_TR_FromTPMPublic(esys, 0x81010001, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &a.ek),
                TSS2_RC_SUCCESS);

        assert_int_equal(tpm2_make_credential(a.ek_public, a.ak_name, secret32, 32, &blob, &seed), 0);
        assert_int_equal(activate(&a, a.ak, blob, seed, &out, &out_size), 0);
        assert_int_equal(out_size, 32);
        assert_memory_equal(out, secret32, 32);
        erase_and_free(out);

        /* Leave TPM A as found: evicting takes the persistent EK's handle away. */
        assert_int_equal(Esys_EvictControl(esys, ESYS_TR_RH_OWNER, a.ek, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                           ESYS_TR_NONE, 0, &persistent),
                         TSS2_RC_SUCCESS);
        a.ek = ESYS_TR_NONE;
        tpm_close(&a);
}

/* The TPM's own MakeCredential and ours must make blobs the other side accepts: same KDFs, same format. */
static void tpm_made_roundtrip(uint16_t ek_type) {
        _cleanup_free_ char *dir = pin_dir("a");
        TPM2B_DIGEST credential = { .size = 20 };
        TPM2B_ID_OBJECT *blob = NULL;
        TPM2B_ENCRYPTED_SECRET *seed = NULL;
        void *out = NULL;
        size_t out_size = 0;
        Tpm a;

        memcpy(credential.buffer, secret32, 20);
        tpm_open(&a, tcti_a(), dir, ek_type, 1);
        assert_int_equal(Esys_MakeCredential(tpm2_context_esys(a.c), a.ek, ESYS_TR_NONE, ESYS_TR_NONE,
                                             ESYS_TR_NONE, &credential, a.ak_name, &blob, &seed),
                         TSS2_RC_SUCCESS);
        assert_int_equal(activate(&a, a.ak, blob, seed, &out, &out_size), 0);
        assert_int_equal(out_size, 20);
        assert_memory_equal(out, secret32, 20);
        erase_and_free(out);
        Esys_Free(blob);
        Esys_Free(seed);
        tpm_close(&a);
}

static void test_tpm_made_blob_activates_rsa(void **state) {
        tpm_made_roundtrip(TPM2_ALG_RSA);
}

static void test_tpm_made_blob_activates_ecc(void **state) {
        tpm_made_roundtrip(TPM2_ALG_ECC);
}

/* ATTACKS b-4, CVE-2021-3406: the verifier wraps for the certified EK of TPM A; a device that holds the
 * AK in TPM B (another EK) cannot recover the secret, even for B's own AK name. */
static void other_tpm(uint16_t ek_type) {
        _cleanup_free_ char *dir_a = pin_dir("a"), *dir_b = pin_dir("b");
        _cleanup_free_ TPM2B_ID_OBJECT *blob = NULL;
        _cleanup_free_ TPM2B_ENCRYPTED_SECRET *seed = NULL;
        void *out = NULL;
        size_t out_size = 0;
        Tpm a, b;

        tpm_open(&a, tcti_a(), dir_a, ek_type, 1);
        tpm_open(&b, tcti_b(), dir_b, ek_type, 1);
        /* Different TPMs, different endorsement seeds: the same template gives different EKs. */
        assert_memory_not_equal(&a.ek_public->publicArea.unique, &b.ek_public->publicArea.unique,
                                sizeof(a.ek_public->publicArea.unique));

        assert_int_equal(tpm2_make_credential(a.ek_public, b.ak_name, secret32, 32, &blob, &seed), 0);
        assert_rejected(ek_type, true, activate(&b, b.ak, blob, seed, &out, &out_size));
        assert_null(out);
        assert_int_equal(out_size, 0);
        tpm_close(&b);
        tpm_close(&a);
}

static void test_blob_for_other_tpm_fails_rsa(void **state) {
        other_tpm(TPM2_ALG_RSA);
}

static void test_blob_for_other_tpm_fails_ecc(void **state) {
        other_tpm(TPM2_ALG_ECC);
}

/* Bound to AK 1's name, presented with AK 2 (same TPM, same EK): refused. */
static void test_blob_for_other_ak_fails(void **state) {
        _cleanup_free_ char *dir = pin_dir("a");
        _cleanup_free_ TPM2B_ID_OBJECT *blob = NULL;
        _cleanup_free_ TPM2B_ENCRYPTED_SECRET *seed = NULL;
        TPM2B_NAME *name2 = NULL;
        ESYS_TR ak2;
        void *out = NULL;
        size_t out_size = 0;
        Tpm a;

        tpm_open(&a, tcti_a(), dir, TPM2_ALG_ECC, 1);
        assert_int_equal(tpm2_make_credential(a.ek_public, a.ak_name, secret32, 32, &blob, &seed), 0);

        /* swtpm has three object slots and salting to the persistent SRK takes one: AK 1 makes room. */
        tpm2_flush(a.c, &a.ak);
        ak2 = create_ak(a.c, 2, &name2);
        assert_memory_not_equal(name2->name, a.ak_name->name, name2->size);
        assert_int_equal(activate(&a, ak2, blob, seed, &out, &out_size), -EKEYREJECTED);
        assert_null(out);
        tpm2_flush(a.c, &ak2);
        Esys_Free(name2);

        /* ... and the right AK (a primary: the same key again) still works with the same blob. */
        a.ak = create_ak(a.c, 1, &name2);
        assert_memory_equal(name2->name, a.ak_name->name, name2->size);
        Esys_Free(name2);
        assert_int_equal(activate(&a, a.ak, blob, seed, &out, &out_size), 0);
        assert_memory_equal(out, secret32, 32);
        erase_and_free(out);
        tpm_close(&a);
}

static void tampered(uint16_t ek_type) {
        _cleanup_free_ char *dir = pin_dir("a");
        _cleanup_free_ TPM2B_ID_OBJECT *blob = NULL;
        _cleanup_free_ TPM2B_ENCRYPTED_SECRET *seed = NULL;
        void *out = NULL;
        size_t out_size = 0;
        Tpm a;
        struct {
                const char *what;
                bool in_seed;
                size_t offset;
        } flips[] = {
                { "outer HMAC", false, 2 + 7 },
                { "encIdentity size", false, 2 + 32 },
                { "encIdentity secret", false, 2 + 32 + 2 + 9 },
                { "seed", true, 40 },
                { "seed, first byte", true, 0 },
        };

        tpm_open(&a, tcti_a(), dir, ek_type, 1);
        assert_int_equal(tpm2_make_credential(a.ek_public, a.ak_name, secret32, 32, &blob, &seed), 0);

        for (size_t i = 0; i < ELEMENTSOF(flips); i++) {
                TPM2B_ID_OBJECT b = *blob;
                TPM2B_ENCRYPTED_SECRET s = *seed;

                if (flips[i].in_seed)
                        s.secret[flips[i].offset] ^= 0x01;
                else
                        b.credential[flips[i].offset] ^= 0x01;
                print_message("# flipping a bit in the %s\n", flips[i].what);
                assert_rejected(ek_type, flips[i].in_seed, activate(&a, a.ak, &b, &s, &out, &out_size));
                assert_null(out);
                /* Both sessions flushed on the error path too. */
                assert_no_sessions(a.c);
        }

        /* Truncated blob */
        TPM2B_ID_OBJECT shorter = *blob;
        shorter.size -= 1;
        assert_int_equal(activate(&a, a.ak, &shorter, seed, &out, &out_size), -EKEYREJECTED);

        /* Malformed arguments never reach the TPM. */
        TPM2B_ID_OBJECT empty = {};
        assert_int_equal(activate(&a, a.ak, &empty, seed, &out, &out_size), -EINVAL);
        assert_int_equal(tpm2_activate_credential(a.c, a.ak, a.ek, ESYS_TR_NONE, blob, seed, &out, &out_size),
                         -EINVAL);
        assert_int_equal(activate(&a, ESYS_TR_NONE, blob, seed, &out, &out_size), -EINVAL);

        /* The untouched blob still activates: the failures above were the flips. */
        assert_int_equal(activate(&a, a.ak, blob, seed, &out, &out_size), 0);
        assert_memory_equal(out, secret32, 32);
        erase_and_free(out);
        tpm_close(&a);
}

static void test_tampered_blob_fails_rsa(void **state) {
        tampered(TPM2_ALG_RSA);
}

static void test_tampered_blob_fails_ecc(void **state) {
        tampered(TPM2_ALG_ECC);
}

/* ActivateCredential through the pcap TCTI: the activated secret is not in the captured bytes. */
static void test_secret_not_on_the_wire(void **state) {
        _cleanup_free_ char *dir = pin_dir("a"), *pcap = NULL, *tcti = NULL;
        _cleanup_free_ TPM2B_ID_OBJECT *blob = NULL;
        _cleanup_free_ TPM2B_ENCRYPTED_SECRET *seed = NULL;
        _cleanup_free_ char *capture = NULL;
        TPM2B_PUBLIC *ek_public = NULL;
        void *out = NULL;
        size_t out_size = 0, capture_size = 0;
        Tpm a;

        assert_true(asprintf(&pcap, "%s/activate.pcap", getenv("TRUSTED_PLATFORM_STATE_DIR")) > 0);
        assert_true(asprintf(&tcti, "pcap:%s", tcti_a()) > 0);
        assert_int_equal(setenv("TCTI_PCAP_FILE", pcap, 1), 0);

        tpm_open(&a, tcti, dir, TPM2_ALG_RSA, 1);
        assert_int_equal(tpm2_make_credential(a.ek_public, a.ak_name, secret32, 32, &blob, &seed), 0);
        assert_int_equal(activate(&a, a.ak, blob, seed, &out, &out_size), 0);
        assert_memory_equal(out, secret32, 32);
        erase_and_free(out);
        ek_public = a.ek_public;
        a.ek_public = NULL;
        tpm_close(&a);
        assert_int_equal(unsetenv("TCTI_PCAP_FILE"), 0);

        assert_int_equal(read_full_file(pcap, SIZE_MAX, &capture, &capture_size), 0);
        /* Control: the capture does hold the traffic (the EK modulus CreatePrimary returned). */
        assert_non_null(memmem(capture, capture_size, ek_public->publicArea.unique.rsa.buffer, 64));
        /* Neither the secret nor any 8 bytes of it; the blob itself was encrypted on the way in too. */
        for (size_t i = 0; i + 8 <= sizeof(secret32); i++)
                assert_null(memmem(capture, capture_size, secret32 + i, 8));
        assert_null(memmem(capture, capture_size, blob->credential, 16));
        Esys_Free(ek_public);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_software_blob_activates_rsa),
                cmocka_unit_test(test_software_blob_activates_ecc),
                cmocka_unit_test(test_persistent_ek),
                cmocka_unit_test(test_tpm_made_blob_activates_rsa),
                cmocka_unit_test(test_tpm_made_blob_activates_ecc),
                cmocka_unit_test(test_blob_for_other_tpm_fails_rsa),
                cmocka_unit_test(test_blob_for_other_tpm_fails_ecc),
                cmocka_unit_test(test_blob_for_other_ak_fails),
                cmocka_unit_test(test_tampered_blob_fails_rsa),
                cmocka_unit_test(test_tampered_blob_fails_ecc),
                cmocka_unit_test(test_secret_not_on_the_wire),
        };

        log_parse_environment();

        if (!tcti_a() || !tcti_b() || !getenv("TRUSTED_PLATFORM_STATE_DIR")) {
                fprintf(stderr,
                        "TRUSTED_PLATFORM_TCTI, TP_SECOND_TCTI and TRUSTED_PLATFORM_STATE_DIR must be set "
                        "(run through test-tpm2-credential.py).\n");
                return EXIT_FAILURE;
        }
        return cmocka_run_group_tests(tests, NULL, NULL);
}
