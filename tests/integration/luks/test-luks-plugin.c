/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The token plugin as libcryptsetup and stock cryptsetup load it (run under tp-run --swtpm and
 * tp-token-plugins, which makes the built plugin the one in libcryptsetup's plugin directory):
 * `cryptsetup open --test-passphrase --token-only` unlocks, `cryptsetup luksDump` shows our fields,
 * crypt_activate_by_token_pin() says -ENOANO without a PIN, opens with the right one, refuses a wrong
 * one; an argon2id keyslot; no TPM; more than 40 hostile token edits through the plugin's validate
 * and through open, none of which unlocks; PCR 7 extended -> refused with the reason (last). Image
 * files only: nothing is activated (no device-mapper needed). The plugin path is argv[1]. */

#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "basic/hexdecoct.h"
#include "basic/fileio.h"
#include "basic/log.h"
#include "basic/secure-mem.h"
#include "basic/string-util.h"
#include "luks/luks-unseal.h"
#include "shared/json-util.h"
#include "tpm2/tpm2-context-internal.h"
#include "tpm2/tpm2-session.h"
#include "tpm2/tpm2-util.h"
#include "../tpm2/tpm2-test-util.h"
#include "luks-test-util.h"

#define PCR0 (UINT32_C(1) << 0)
#define PCR7 (UINT32_C(1) << 7)

static const char *plugin_path;
static char image[4096], image_pin[4096], image_argon2[4096], scratch[4096];
static LuksTestEnrollment en_pcr, en_pin;

static int run(const char *format, ...) _printf_(1, 2);
static int run(const char *format, ...) {
        _cleanup_free_ char *cmd = NULL;
        va_list ap;
        int r;

        va_start(ap, format);
        r = vasprintf(&cmd, format, ap);
        va_end(ap);
        assert_true(r >= 0);
        /* Sanitizer builds: cryptsetup is not instrumented, so the sanitizer runtimes our plugin needs
         * are preloaded (leaks are cryptsetup's business there; valgrind checks the plugin's). */
        if (!isempty(getenv("TP_CLI_PRELOAD"))) {
                _cleanup_free_ char *wrapped = NULL;
                assert_true(asprintf(&wrapped,
                                     "export LD_PRELOAD=\"$TP_CLI_PRELOAD\" ASAN_OPTIONS=detect_leaks=0; %s",
                                     cmd) > 0);
                free(cmd);
                cmd = TAKE_PTR(wrapped);
        }
        r = system(cmd);
        assert_true(r >= 0);
        return WIFEXITED(r) ? WEXITSTATUS(r) : 128;
}

static char *read_file_text(const char *path) {
        char *text = NULL;
        size_t size = 0;

        assert_int_equal(read_full_file(path, 1024 * 1024, &text, &size), 0);
        return text;
}

static int open_by_token(const char *path, int token, const char *pin) {
        struct crypt_device *cd = NULL;
        int r;

        assert_int_equal(crypt_init(&cd, path), 0);
        assert_int_equal(crypt_load(cd, CRYPT_LUKS2, NULL), 0);
        r = crypt_activate_by_token_pin(cd, NULL, LUKS_TOKEN_TYPE, token, pin, pin ? strlen(pin) : 0, NULL, 0);
        crypt_free(cd);
        return r;
}

static int setup(void **state) {
        Tpm2SealOptions o = { .pcr_mask = PCR0 | PCR7 };
        Tpm2SealOptions p = { .pcr_mask = PCR7, .pin = "4711" };

        luks_test_format(image, false);
        luks_test_enroll(image, &o, NULL, &en_pcr);
        luks_test_format(image_pin, false);
        luks_test_enroll(image_pin, &p, NULL, &en_pin);
        return 0;
}

static int teardown(void **state) {
        luks_test_enrollment_done(&en_pcr);
        luks_test_enrollment_done(&en_pin);
        return 0;
}

static void test_cli_open(void **state) {
        assert_int_equal(run("cryptsetup open --test-passphrase --token-only '%s'", image), 0);
        /* The token by type, as a user would name it. */
        assert_int_equal(run("cryptsetup open --test-passphrase --token-only --token-type %s '%s'",
                             LUKS_TOKEN_TYPE, image),
                         0);
        /* Control: without a token only the passphrase would do, and there is none on stdin. */
        assert_int_not_equal(
                run("cryptsetup open --test-passphrase --token-only '%s' </dev/null 2>/dev/null", scratch), 0);
}

static void test_cli_luks_dump(void **state) {
        _cleanup_free_ char *out = NULL, *path = NULL;

        assert_true(asprintf(&path, "%s.dump", image) > 0);
        assert_int_equal(run("cryptsetup luksDump '%s' >'%s'", image, path), 0);
        out = read_file_text(path);
        assert_non_null(strstr(out, LUKS_TOKEN_TYPE));
        assert_non_null(strstr(out, "TPM policy: sha256 0 7"));
        assert_non_null(strstr(out, "PIN:        no"));
        assert_non_null(strstr(out, "SRK:        000b"));
}

static void test_cli_pin(void **state) {
        _cleanup_free_ char *err = NULL, *path = NULL;

        assert_true(asprintf(&path, "%s.err", image_pin) > 0);
        /* cryptsetup asks for the token PIN (here on stdin) after the plugin's -ENOANO. */
        assert_int_equal(run("printf 4711 | cryptsetup open --test-passphrase --token-only '%s'", image_pin),
                         0);
        assert_int_not_equal(
                run("printf 0000 | cryptsetup open --test-passphrase --token-only --tries 1 '%s' 2>'%s'",
                    image_pin, path),
                0);
        err = read_file_text(path);
        assert_non_null(strstr(err, "wrong PIN"));
}

static void test_api_pin(void **state) {
        /* No PIN: -ENOANO, so the caller asks for one. */
        assert_int_equal(open_by_token(image_pin, CRYPT_ANY_TOKEN, NULL), -ENOANO);
        assert_int_equal(open_by_token(image_pin, en_pin.token, NULL), -ENOANO);
        /* The right PIN: the token's keyslot. */
        assert_int_equal(open_by_token(image_pin, CRYPT_ANY_TOKEN, "4711"), en_pin.keyslot);
        assert_int_equal(open_by_token(image_pin, en_pin.token, "4711"), en_pin.keyslot);
        /* A wrong one: refused (-ENOANO again: PIN missing or wrong, libcryptsetup's convention). */
        assert_int_equal(open_by_token(image_pin, CRYPT_ANY_TOKEN, "0000"), -ENOANO);
        assert_int_equal(open_by_token(image_pin, CRYPT_ANY_TOKEN, "4711"), en_pin.keyslot);
        /* The PCR token needs none. */
        assert_int_equal(open_by_token(image, CRYPT_ANY_TOKEN, NULL), en_pcr.keyslot);
}

static void test_argon2id(void **state) {
        LuksTestEnrollment en = {};
        Tpm2SealOptions o = { .pcr_mask = PCR7 };

        luks_test_format(image_argon2, true);
        luks_test_enroll_full(image_argon2, &o, NULL, true, &en);
        assert_int_equal(open_by_token(image_argon2, CRYPT_ANY_TOKEN, NULL), en.keyslot);
        assert_int_equal(run("cryptsetup open --test-passphrase --token-only '%s'", image_argon2), 0);
        luks_test_enrollment_done(&en);
}

static void test_no_tpm(void **state) {
        LuksTestEnrollment en = {};
        Tpm2SealOptions o = { .pcr_mask = PCR7 };

        luks_test_format(scratch, false);
        luks_test_enroll(scratch, &o, "swtpm:path=/nonexistent/swtpm.sock", &en);
        assert_int_equal(open_by_token(scratch, CRYPT_ANY_TOKEN, NULL), -EAGAIN);
        luks_test_enrollment_done(&en);
}

/* Hostile tokens. */

typedef enum Edit {
        EDIT_SET,         /* key = JSON value */
        EDIT_DELETE,      /* key removed */
        EDIT_RAW,         /* value is the whole token text */
        EDIT_BLOB,        /* tp-blob replaced by a mutation of the blob (mutate()) */
        EDIT_BLOB_OF_PIN, /* tp-blob taken from the PIN token */
} Edit;

typedef struct Case {
        Edit edit;
        const char *key;
        const char *value;
        bool valid_json; /* validate accepts it: only open can tell (keyslot, SRK, TCTI) */
        int mutation;
} Case;

enum {
        MUT_FEWER_PCRS = 1,
        MUT_OTHER_BANK,
        MUT_TRUNCATE,
        MUT_TRUNCATE_ONE,
        MUT_FLIP_PUBLIC,
        MUT_PIN_FLAG_OFF,
        MUT_TRAILING,
};

static char *mutated_blob(const char *b64, int mutation) {
        _cleanup_(tpm2_sealed_blob_freep) Tpm2SealedBlob *b = NULL;
        _cleanup_free_ void *raw = NULL;
        _cleanup_free_ uint8_t *wire = NULL;
        size_t raw_size = 0, wire_size = 0;
        char *out = NULL;

        assert_int_equal(unbase64mem(b64, SIZE_MAX, &raw, &raw_size), 0);
        switch (mutation) {
        case MUT_TRUNCATE:
                assert_int_equal(base64mem(raw, raw_size / 2, &out), 0);
                return out;
        case MUT_TRUNCATE_ONE:
                assert_int_equal(base64mem(raw, raw_size - 1, &out), 0);
                return out;
        case MUT_TRAILING: {
                uint8_t *more = malloc(raw_size + 1);
                assert_non_null(more);
                memcpy(more, raw, raw_size);
                more[raw_size] = 0;
                assert_int_equal(base64mem(more, raw_size + 1, &out), 0);
                free(more);
                return out;
        }
        case MUT_FLIP_PUBLIC:
                /* Past the 12-byte header and the two sha256 PCR values: inside the public area. */
                ((uint8_t *) raw)[12 + 64 + 10] ^= 0x01;
                assert_int_equal(base64mem(raw, raw_size, &out), 0);
                return out;
        default:
                break;
        }

        assert_int_equal(tpm2_sealed_blob_parse(raw, raw_size, &b), 0);
        switch (mutation) {
        case MUT_FEWER_PCRS:
                /* Claims PCR 7 only, keeps the object sealed to 0+7: the policy digest no longer matches. */
                b->pcr_mask = PCR7;
                b->expected[0] = b->expected[1];
                b->n_expected = 1;
                break;
        case MUT_OTHER_BANK:
                b->bank = TPM2_ALG_SHA1;
                for (size_t i = 0; i < b->n_expected; i++) {
                        b->expected[i].bank = TPM2_ALG_SHA1;
                        b->expected[i].size = 20;
                }
                break;
        case MUT_PIN_FLAG_OFF:
                b->has_pin = false;
                break;
        default:
                fail();
        }
        assert_int_equal(tpm2_sealed_blob_serialize(b, &wire, &wire_size), 0);
        assert_int_equal(base64mem(wire, wire_size, &out), 0);
        return out;
}

static char *apply(const char *json, const Case *c) {
        _cleanup_(json_decrefp) json_t *o = NULL;
        char *text;

        if (c->edit == EDIT_RAW)
                return strdup(c->value);

        assert_int_equal(json_parse_strict(json, strlen(json), &o), 0);
        switch (c->edit) {
        case EDIT_SET: {
                json_error_t e;
                json_t *v = json_loads(c->value, JSON_DECODE_ANY, &e);
                if (!v)
                        fail_msg("bad test value %s: %s", c->value, e.text);
                assert_int_equal(json_object_set_new(o, c->key, v), 0);
                break;
        }
        case EDIT_DELETE:
                assert_int_equal(json_object_del(o, c->key), 0);
                break;
        case EDIT_BLOB: {
                _cleanup_free_ char *b = mutated_blob(json_string_value(json_object_get(o, "tp-blob")),
                                                      c->mutation);
                assert_int_equal(json_object_set_new(o, "tp-blob", json_string(b)), 0);
                if (c->key)
                        assert_int_equal(
                                json_object_set_new(o, c->key, json_loads(c->value, JSON_DECODE_ANY, NULL)),
                                0);
                break;
        }
        case EDIT_BLOB_OF_PIN: {
                _cleanup_(json_decrefp) json_t *p = NULL;
                assert_int_equal(json_parse_strict(en_pin.json, strlen(en_pin.json), &p), 0);
                assert_int_equal(json_object_set(o, "tp-blob", json_object_get(p, "tp-blob")), 0);
                assert_int_equal(json_object_set(o, "tp-pcrs", json_object_get(p, "tp-pcrs")), 0);
                break;
        }
        default:
                fail();
        }
        text = json_dumps(o, JSON_COMPACT);
        assert_non_null(text);
        return text;
}

typedef int (*validate_func)(struct crypt_device *cd, const char *json);
typedef void (*dump_func)(struct crypt_device *cd, const char *json);

static void test_hostile_tokens(void **state) {
        static const Case cases[] = {
                { EDIT_DELETE, "type" },
                { EDIT_SET, "type", "\"systemd-tpm2\"" },
                { EDIT_SET, "type", "\"trusted-platform-tpm2 \"" },
                { EDIT_DELETE, "keyslots" },
                { EDIT_SET, "keyslots", "[]" },
                { EDIT_SET, "keyslots", "[\"0\", \"1\"]" },
                { EDIT_SET, "keyslots", "[1]" },
                { EDIT_SET, "keyslots", "[\"-1\"]" },
                { EDIT_SET, "keyslots", "[\"99999999999999999999\"]" },
                { EDIT_SET, "keyslots", "[\"32\"]" },
                { EDIT_SET, "keyslots", "[\"7\"]", true }, /* no such keyslot */
                { EDIT_SET, "keyslots", "[\"0\"]", true }, /* the passphrase's keyslot: not ours */
                { EDIT_DELETE, "tp-version" },
                { EDIT_SET, "tp-version", "2" },
                { EDIT_SET, "tp-version", "0" },
                { EDIT_SET, "tp-version", "\"1\"" },
                { EDIT_SET, "tp-version", "1.0" },
                { EDIT_SET, "tp-version", "true" },
                { EDIT_SET, "tp-version", "-9223372036854775807" },
                { EDIT_DELETE, "tp-blob" },
                { EDIT_SET, "tp-blob", "\"\"" },
                { EDIT_SET, "tp-blob", "\"!!!! not base64 !!!!\"" },
                { EDIT_SET, "tp-blob", "\"VFBTQg=\"" },
                { EDIT_SET, "tp-blob", "12345" },
                { EDIT_SET, "tp-blob", "[\"VFBTQg==\"]" },
                { EDIT_BLOB, NULL, NULL, false, MUT_TRUNCATE },
                { EDIT_BLOB, NULL, NULL, false, MUT_TRUNCATE_ONE },
                { EDIT_BLOB, NULL, NULL, false, MUT_TRAILING },
                { EDIT_BLOB, NULL, NULL, false, MUT_FLIP_PUBLIC },
                { EDIT_BLOB, "tp-pcrs", "[7]", false, MUT_FEWER_PCRS },
                { EDIT_BLOB, NULL, NULL, false, MUT_FEWER_PCRS },
                { EDIT_BLOB, "tp-pcr-bank", "\"sha1\"", false, MUT_OTHER_BANK },
                { EDIT_BLOB_OF_PIN }, /* another token's blob: sealed with a PIN, the token says none */
                { EDIT_SET, "tp-pcrs", "[7]" },
                { EDIT_SET, "tp-pcrs", "[0]" },
                { EDIT_SET, "tp-pcrs", "[]" },
                { EDIT_SET, "tp-pcrs", "[0, 7, 14]" },
                { EDIT_SET, "tp-pcrs", "[7, 0]" },
                { EDIT_SET, "tp-pcrs", "[0, 4294967303]" },
                { EDIT_SET, "tp-pcrs", "[0, 7.0]" },
                { EDIT_SET, "tp-pcrs", "\"0,7\"" },
                { EDIT_DELETE, "tp-pcrs" },
                { EDIT_SET, "tp-pcr-bank", "\"sha1\"" },
                { EDIT_SET, "tp-pcr-bank", "\"sha384\"" },
                { EDIT_SET, "tp-pcr-bank", "\"SHA256\"" },
                { EDIT_DELETE, "tp-pcr-bank" },
                { EDIT_SET, "tp-pin", "true" },
                { EDIT_SET, "tp-pin", "\"false\"" },
                { EDIT_SET, "tp-pin", "0" },
                { EDIT_DELETE, "tp-pin" },
                { EDIT_SET, "tp-srk",
                  "\"000b0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20\"", true },
                { EDIT_SET, "tp-srk", "\"000b\"" },
                { EDIT_SET, "tp-srk", "\"not hex at all\"" },
                { EDIT_SET, "tp-srk", "42" },
                { EDIT_DELETE, "tp-srk" },
                { EDIT_SET, "tp-authorize-key",
                  "\"000b0000000000000000000000000000000000000000000000000000000000000000\"" },
                { EDIT_SET, "tp-tcti", "\"/tmp/evil.so\"" },
                { EDIT_SET, "tp-tcti", "\"libtss2-tcti-evil.so.0\"" },
                { EDIT_SET, "tp-tcti", "\"device:/etc/shadow\"" },
                { EDIT_SET, "tp-tcti", "\"pcap:device:/dev/tpmrm0\"" },
                { EDIT_SET, "tp-tcti", "17" },
                { EDIT_SET, "tp-tcti", "\"swtpm:path=/nonexistent/swtpm.sock\"", true }, /* no TPM there */
                { EDIT_RAW, NULL, "[]" },
                { EDIT_RAW, NULL, "{\"type\":\"trusted-platform-tpm2\",\"keyslots\":[\"1\"]}" },
        };
        _cleanup_free_ char *valid = strdup(en_pcr.json);
        validate_func validate;
        dump_func dump;
        void *dl;
        size_t refused_by_validate = 0, refused_by_open = 0;

        dl = dlopen(plugin_path, RTLD_NOW | RTLD_LOCAL);
        if (!dl)
                fail_msg("dlopen %s: %s", plugin_path, dlerror());
        validate = (validate_func) dlsym(dl, "cryptsetup_token_validate");
        assert_non_null(validate);
        dump = (dump_func) dlsym(dl, "cryptsetup_token_dump");
        assert_non_null(dump);

        /* Only the edited token on the header, so CRYPT_ANY_TOKEN cannot fall back to the good one. */
        luks_test_token_remove_all(image);
        assert_int_equal(validate(NULL, valid), 0);

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *text = apply(valid, cases + i);
                int v, id, r1, r2;

                /* dump must cope with whatever is in the header (it says why it is invalid). */
                dump(NULL, text);
                v = validate(NULL, text);
                if (cases[i].valid_json ? v != 0 : v == 0)
                        fail_msg("case %zu (%s %s): validate returned %d: %s", i, strna(cases[i].key),
                                 strna(cases[i].value), v, text);
                if (v != 0)
                        refused_by_validate++;

                /* libcryptsetup refuses some edits itself (keyslots, type): refused as well. */
                id = luks_test_token_set(image, CRYPT_ANY_TOKEN, text);
                if (id < 0) {
                        refused_by_open++;
                        continue;
                }
                r1 = open_by_token(image, id, NULL);
                r2 = open_by_token(image, CRYPT_ANY_TOKEN, "4711");
                if (r1 >= 0 || r2 >= 0)
                        fail_msg("case %zu (%s %s): opened keyslot %d/%d: %s", i, strna(cases[i].key),
                                 strna(cases[i].value), r1, r2, text);
                refused_by_open++;
                luks_test_token_remove_all(image);
        }
        assert_int_equal(refused_by_open, ELEMENTSOF(cases));
        assert_true(ELEMENTSOF(cases) >= 40);
        fprintf(stderr, "# %zu hostile tokens refused (%zu already by validate)\n", ELEMENTSOF(cases),
                refused_by_validate);

        /* Unknown optional fields are tolerated (a newer version's): the token still opens. */
        {
                static const Case future = { EDIT_SET, "x-future-field", "{\"a\": [1, 2, 3]}" };
                _cleanup_free_ char *text = apply(valid, &future);
                int id;

                assert_int_equal(validate(NULL, text), 0);
                id = luks_test_token_set(image, CRYPT_ANY_TOKEN, text);
                assert_true(id >= 0);
                assert_int_equal(open_by_token(image, id, NULL), en_pcr.keyslot);
                luks_test_token_remove_all(image);
        }

        /* And the original token, set again, opens: the refusals were the edits'. */
        assert_true(luks_test_token_set(image, CRYPT_ANY_TOKEN, valid) >= 0);
        assert_int_equal(open_by_token(image, CRYPT_ANY_TOKEN, NULL), en_pcr.keyslot);
        dlclose(dl);
}

static void test_pcr_changed(void **state) {
        _cleanup_(tpm2_context_freep) Tpm2Context *c = open_tpm();
        _cleanup_free_ char *err = NULL, *path = NULL;
        TPML_DIGEST_VALUES v = { .count = 1, .digests[0].hashAlg = TPM2_ALG_SHA256 };

        memset(v.digests[0].digest.sha256, 0x42, 32);
        assert_int_equal(Esys_PCR_Extend(tpm2_context_esys(c), ESYS_TR_PCR0 + 7, ESYS_TR_PASSWORD,
                                         ESYS_TR_NONE, ESYS_TR_NONE, &v),
                         TSS2_RC_SUCCESS);

        assert_true(open_by_token(image, CRYPT_ANY_TOKEN, NULL) < 0);
        assert_true(open_by_token(image_pin, CRYPT_ANY_TOKEN, "4711") < 0);

        assert_true(asprintf(&path, "%s.err", image) > 0);
        assert_int_not_equal(run("cryptsetup open --test-passphrase --token-only '%s' 2>'%s'", image, path),
                             0);
        err = read_file_text(path);
        assert_non_null(strstr(err, "PCR 7 (sha256)"));
        assert_no_leaks(c);
}

/* libcryptsetup logs to stdout by default, which is our TAP stream. */
static void log_to_stderr(int level, const char *msg, void *usrptr) {
        fprintf(stderr, "crypt log %d: %s", level, msg);
}

int main(int argc, char *argv[]) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_cli_open),       cmocka_unit_test(test_cli_luks_dump),
                cmocka_unit_test(test_cli_pin),        cmocka_unit_test(test_api_pin),
                cmocka_unit_test(test_argon2id),       cmocka_unit_test(test_no_tpm),
                cmocka_unit_test(test_hostile_tokens), cmocka_unit_test(test_pcr_changed),
        };
        const char *dir;

        log_parse_environment();
        dir = getenv("TP_TEST_DIR");
        if (argc != 2 || !getenv("TRUSTED_PLATFORM_TCTI") || !dir) {
                fprintf(stderr,
                        "Usage: test-luks-plugin PLUGIN.so, run through tp-run --swtpm and "
                        "tp-token-plugins.\n");
                return EXIT_FAILURE;
        }
        plugin_path = argv[1];
        crypt_set_log_callback(NULL, log_to_stderr, NULL);
        snprintf(image, sizeof(image), "%s/pcr.img", dir);
        snprintf(image_pin, sizeof(image_pin), "%s/pin.img", dir);
        snprintf(image_argon2, sizeof(image_argon2), "%s/argon2.img", dir);
        snprintf(scratch, sizeof(scratch), "%s/scratch.img", dir);
        /* The control in test_cli_open needs an image without tokens. */
        luks_test_format(scratch, false);
        return cmocka_run_group_tests(tests, setup, teardown);
}
