/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* NV indexes of our own against swtpm (tp-run --swtpm): round trips larger than one TPM buffer, PIN and
 * owner authorization, the range fence, refusals a user can read, and the PIN and data proven never to
 * cross the wire in clear. Tests run in order on one fresh swtpm. */

#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/rand.h>
#include <tss2/tss2_tctildr.h>

#include "basic/fileio.h"
#include "basic/log.h"
#include "basic/secure-mem.h"
#include "tpm2/tpm2-capability.h"
#include "tpm2/tpm2-context-internal.h"
#include "tpm2/tpm2-nv.h"
#include "tpm2/tpm2-session.h"
#include "tpm2/tpm2-srk.h"
#include "tpm2/tpm2-util.h"
#include "tpm2-test-tap.h"
#include "tpm2-test-util.h"

#define IDX_OWNER (TPM2_NV_RANGE_FIRST + 1)
#define IDX_PIN (TPM2_NV_RANGE_FIRST + 2)
#define IDX_FOREIGN (TPM2_NV_RANGE_FIRST + 3)
#define IDX_WIRE (TPM2_NV_RANGE_LAST)

static uint32_t property(Tpm2Context *c, TPM2_PT pt) {
        uint32_t v = 0;
        assert_int_equal(tpm2_get_property(c, pt, &v), 0);
        return v;
}

static void da_reset(Tpm2Context *c) {
        assert_int_equal(Esys_DictionaryAttackLockReset(tpm2_context_esys(c), ESYS_TR_RH_LOCKOUT,
                                                        ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE),
                         TSS2_RC_SUCCESS);
}

static void test_provision_srk(void **state) {
        _cleanup_(tpm2_context_freep) Tpm2Context *c = open_tpm();
        ESYS_TR srk = ESYS_TR_NONE;
        Tpm2Error e = {};

        /* Like sealing, NV never provisions: without the SRK to salt to, nothing is defined. */
        assert_int_equal(tpm2_nv_define(c, NULL, IDX_OWNER, 8, NULL, &e), -ENOKEY);
        assert_non_null(strstr(e.message, "storage root key"));
        assert_false(handle_present(c, IDX_OWNER));

        assert_int_equal(tpm2_srk_provision(c, NULL, true, &srk, NULL), 0);
        tpm2_flush(c, &srk);
        assert_no_leaks(c);
}

static void test_outside_range_refused_without_the_tpm(void **state) {
        static const uint32_t bad[] = {
                0x01C00002, /* RSA EK certificate */
                0x01C0000A, /* ECC EK certificate */
                0x01400001, /* platform manufacturer */
                0x01000000, /* TPM manufacturer */
                0x01800000, /* owner range, but not ours */
                TPM2_NV_RANGE_FIRST - 1,
                TPM2_NV_RANGE_LAST + 1,
                0x81000001, /* the SRK: not even an NV handle */
                0,
                UINT32_MAX,
        };
        Tap tap = TAP_INIT;
        Tpm2Context *c = NULL;
        void *out = NULL;
        size_t out_size = 0;
        Tpm2NvInfo info;

        assert_int_equal(Tss2_TctiLdr_Initialize(getenv("TRUSTED_PLATFORM_TCTI"), &tap.inner),
                         TSS2_RC_SUCCESS);
        assert_int_equal(tpm2_context_new_from_tcti((TSS2_TCTI_CONTEXT *) &tap, &c), 0);
        tap.size = 0; /* whatever opening the context sent */

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                Tpm2Error e = {};

                assert_false(tpm2_nv_index_is_ours(bad[i]));
                assert_int_equal(tpm2_nv_define(c, NULL, bad[i], 16, NULL, &e), -ERANGE);
                assert_non_null(strstr(e.message, "outside the range reserved"));
                assert_int_equal(tpm2_nv_define(c, NULL, bad[i], 16, "1234", NULL), -ERANGE);
                assert_int_equal(tpm2_nv_write(c, NULL, bad[i], 0, "x", 1, NULL, NULL), -ERANGE);
                assert_int_equal(tpm2_nv_read(c, NULL, bad[i], 0, 0, NULL, &out, &out_size, NULL), -ERANGE);
                assert_int_equal(tpm2_nv_undefine(c, bad[i], NULL), -ERANGE);
                assert_int_equal(tpm2_nv_get_info(c, bad[i], &info, NULL), -ERANGE);
        }
        /* Not one byte went to the TPM. */
        assert_int_equal(tap.size, 0);
        assert_null(out);
        assert_true(tpm2_nv_index_is_ours(TPM2_NV_RANGE_FIRST));
        assert_true(tpm2_nv_index_is_ours(TPM2_NV_RANGE_LAST));
        /* The fence sits inside the owner range of the TCG registry. */
        assert_true(TPM2_NV_RANGE_FIRST >= 0x01800000 && TPM2_NV_RANGE_LAST <= 0x01BFFFFF);

        tpm2_context_free(c);
        Tss2_TctiLdr_Finalize(&tap.inner);
        free(tap.bytes);
}

static void test_owner_round_trip_above_buffer_max(void **state) {
        _cleanup_(tpm2_context_freep) Tpm2Context *c = open_tpm();
        _cleanup_free_ uint8_t *data = NULL;
        _cleanup_free_ Tpm2NvInfo *list = NULL;
        uint32_t buffer_max = property(c, TPM2_PT_NV_BUFFER_MAX),
                 index_max = property(c, TPM2_PT_NV_INDEX_MAX);
        size_t size = index_max, n = 0;
        Tpm2NvInfo info = {};
        Tpm2Error e = {};
        void *out = NULL;
        size_t out_size = 0;

        /* Chunking is exercised only if one index is larger than one NV buffer. */
        assert_true(size > buffer_max);
        data = malloc(size);
        assert_non_null(data);
        assert_int_equal(RAND_bytes(data, (int) size), 1);

        assert_int_equal(tpm2_nv_define(c, NULL, IDX_OWNER, size, NULL, &e), 0);
        assert_int_equal(tpm2_nv_get_info(c, IDX_OWNER, &info, &e), 0);
        assert_int_equal(info.size, size);
        assert_false(info.has_pin);
        assert_false(info.written);
        assert_false(info.foreign);
        assert_int_equal(info.attributes, TPM2_NV_ATTRIBUTES_OWNER);

        /* Not yet written: the TPM would refuse, we say why. */
        assert_int_equal(tpm2_nv_read(c, NULL, IDX_OWNER, 0, 0, NULL, &out, &out_size, &e), -ENODATA);
        assert_non_null(strstr(e.message, "never written"));

        assert_int_equal(tpm2_nv_write(c, NULL, IDX_OWNER, 0, data, size, NULL, &e), 0);
        assert_int_equal(tpm2_nv_read(c, NULL, IDX_OWNER, 0, 0, NULL, &out, &out_size, &e), 0);
        assert_int_equal(out_size, size);
        assert_memory_equal(out, data, size);
        out = erase_and_free(out);

        /* A window across the chunk boundary, then a write at an offset and the whole again. */
        assert_int_equal(tpm2_nv_read(c, NULL, IDX_OWNER, buffer_max - 10, 20, NULL, &out, &out_size, &e), 0);
        assert_int_equal(out_size, 20);
        assert_memory_equal(out, data + buffer_max - 10, 20);
        out = erase_and_free(out);
        memset(data + buffer_max - 3, 0xA5, buffer_max);
        assert_int_equal(tpm2_nv_write(c, NULL, IDX_OWNER, buffer_max - 3, data + buffer_max - 3, buffer_max,
                                       NULL, &e),
                         0);
        assert_int_equal(tpm2_nv_read(c, NULL, IDX_OWNER, 0, 0, NULL, &out, &out_size, &e), 0);
        assert_memory_equal(out, data, size);
        out = erase_and_free(out);

        /* Beyond the end. */
        assert_int_equal(tpm2_nv_write(c, NULL, IDX_OWNER, size - 1, "ab", 2, NULL, &e), -ERANGE);
        assert_non_null(strstr(e.message, "do not fit"));
        assert_int_equal(tpm2_nv_read(c, NULL, IDX_OWNER, size, 0, NULL, &out, &out_size, &e), -ERANGE);
        assert_int_equal(tpm2_nv_read(c, NULL, IDX_OWNER, 1, size, NULL, &out, &out_size, &e), -ERANGE);
        /* An owner index takes no PIN: a PIN is never a way around the owner. */
        assert_int_equal(tpm2_nv_read(c, NULL, IDX_OWNER, 0, 0, "1234", &out, &out_size, &e), -EINVAL);
        assert_non_null(strstr(e.message, "has no PIN"));
        assert_null(out);

        assert_int_equal(tpm2_nv_list(c, &list, &n), 0);
        assert_int_equal(n, 1);
        assert_int_equal(list[0].index, IDX_OWNER);
        assert_int_equal(list[0].size, size);
        assert_true(list[0].written);
        assert_int_equal(list[0].name.size, 2 + 32);
        assert_int_equal(list[0].name.name[1], TPM2_ALG_SHA256);

        assert_int_equal(tpm2_nv_undefine(c, IDX_OWNER, &e), 0);
        assert_false(handle_present(c, IDX_OWNER));
        assert_int_equal(tpm2_nv_read(c, NULL, IDX_OWNER, 0, 0, NULL, &out, &out_size, &e), -ENOENT);
        assert_string_equal(e.message, "NV index 0x01a50001 is not defined");
        assert_int_equal(tpm2_nv_undefine(c, IDX_OWNER, &e), -ENOENT);
        assert_null(out);
        assert_no_leaks(c);
}

static void test_pin(void **state) {
        _cleanup_(tpm2_context_freep) Tpm2Context *c = open_tpm();
        static const char pin[] = "correct horse";
        uint8_t data[1500];
        Tpm2NvInfo info = {};
        Tpm2Error e = {};
        void *out = NULL;
        size_t out_size = 0;
        uint32_t left1, left2;

        memset(data, 0x3C, sizeof(data));
        assert_int_equal(tpm2_nv_define(c, NULL, IDX_PIN, sizeof(data), pin, &e), 0);
        assert_int_equal(tpm2_nv_get_info(c, IDX_PIN, &info, &e), 0);
        assert_true(info.has_pin);
        /* Not exempt from the dictionary-attack protection: PIN guesses count. */
        assert_int_equal(info.attributes, TPM2_NV_ATTRIBUTES_PIN);
        assert_false(info.attributes & TPMA_NV_NO_DA);

        assert_int_equal(tpm2_nv_write(c, NULL, IDX_PIN, 0, data, sizeof(data), pin, &e), 0);
        assert_int_equal(tpm2_nv_read(c, NULL, IDX_PIN, 0, 0, pin, &out, &out_size, &e), 0);
        assert_int_equal(out_size, sizeof(data));
        assert_memory_equal(out, data, sizeof(data));
        out = erase_and_free(out);

        assert_int_equal(tpm2_nv_read(c, NULL, IDX_PIN, 0, 0, NULL, &out, &out_size, &e), -EACCES);
        assert_non_null(strstr(e.message, "protected by a PIN, and none was given"));
        assert_int_equal(tpm2_nv_read(c, NULL, IDX_PIN, 0, 0, "", &out, &out_size, &e), -EINVAL);

        assert_int_equal(tpm2_nv_read(c, NULL, IDX_PIN, 0, 0, "wrong", &out, &out_size, &e), -EACCES);
        assert_int_equal(sscanf(e.message, "wrong PIN, %" SCNu32 " tries left", &left1), 1);
        assert_int_equal(tpm2_nv_write(c, NULL, IDX_PIN, 0, "evil", 4, "wrong again", &e), -EACCES);
        assert_int_equal(sscanf(e.message, "wrong PIN, %" SCNu32 " tries left", &left2), 1);
        assert_int_equal(left2, left1 - 1);
        assert_null(out);

        /* The failed write changed nothing. */
        assert_int_equal(tpm2_nv_read(c, NULL, IDX_PIN, 0, 4, pin, &out, &out_size, &e), 0);
        assert_memory_equal(out, data, 4);
        out = erase_and_free(out);

        da_reset(c);
        /* Undefining needs the owner, not the PIN. */
        assert_int_equal(tpm2_nv_undefine(c, IDX_PIN, &e), 0);
        assert_false(handle_present(c, IDX_PIN));
        assert_no_leaks(c);
}

static void test_refusals(void **state) {
        _cleanup_(tpm2_context_freep) Tpm2Context *c = open_tpm();
        uint32_t index_max = property(c, TPM2_PT_NV_INDEX_MAX);
        Tpm2Error e = {};

        assert_int_equal(tpm2_nv_define(c, NULL, IDX_OWNER, index_max + 1, NULL, &e), -EFBIG);
        assert_non_null(strstr(e.message, "too big for this TPM"));
        assert_int_equal(tpm2_nv_define(c, NULL, IDX_OWNER, 0, NULL, &e), -EINVAL);
        assert_int_equal(tpm2_nv_define(c, NULL, IDX_OWNER, 8, "", &e), -EINVAL);
        assert_false(handle_present(c, IDX_OWNER));

        assert_int_equal(tpm2_nv_define(c, NULL, IDX_OWNER, 8, NULL, &e), 0);
        assert_int_equal(tpm2_nv_define(c, NULL, IDX_OWNER, 8, NULL, &e), -EEXIST);
        assert_string_equal(e.message, "NV index 0x01a50001 is defined already");
        assert_int_equal(tpm2_nv_write(c, NULL, IDX_OWNER, 0, "x", 0, NULL, &e), -EINVAL);
        assert_int_equal(tpm2_nv_write(c, NULL, IDX_OWNER + 7, 0, "x", 1, NULL, &e), -ENOENT);
        assert_int_equal(tpm2_nv_undefine(c, IDX_OWNER, &e), 0);
        assert_no_leaks(c);
}

static void set_owner_password(Tpm2Context *c, const char *old, const char *new) {
        TPM2B_AUTH a = { .size = strlen(old) }, n = { .size = strlen(new) };

        memcpy(a.buffer, old, a.size);
        memcpy(n.buffer, new, n.size);
        assert_int_equal(Esys_TR_SetAuth(tpm2_context_esys(c), ESYS_TR_RH_OWNER, &a), TSS2_RC_SUCCESS);
        assert_int_equal(Esys_HierarchyChangeAuth(tpm2_context_esys(c), ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD,
                                                  ESYS_TR_NONE, ESYS_TR_NONE, &n),
                         TSS2_RC_SUCCESS);
}

static void test_owner_password_set(void **state) {
        _cleanup_(tpm2_context_freep) Tpm2Context *c = open_tpm();
        Tpm2Error e = {};

        /* We never hold an owner password: with one set, owner indexes cannot be managed, and the error
         * says so instead of claiming a wrong PIN. */
        assert_int_equal(tpm2_nv_define(c, NULL, IDX_OWNER, 8, NULL, &e), 0);
        set_owner_password(c, "", "owner-pw");
        /* ESYS now knows the new password; we do not. */
        assert_int_equal(Esys_TR_SetAuth(tpm2_context_esys(c), ESYS_TR_RH_OWNER, &(TPM2B_AUTH){}),
                         TSS2_RC_SUCCESS);
        assert_int_equal(tpm2_nv_undefine(c, IDX_OWNER, &e), -EPERM);
        assert_non_null(strstr(e.message, "owner authorization"));
        assert_int_equal(tpm2_nv_define(c, NULL, IDX_PIN, 8, NULL, &e), -EPERM);
        assert_non_null(strstr(e.message, "owner password"));
        assert_false(handle_present(c, IDX_PIN));
        set_owner_password(c, "owner-pw", "");
        assert_int_equal(tpm2_nv_undefine(c, IDX_OWNER, &e), 0);
        assert_no_leaks(c);
}

static void define_raw(Tpm2Context *c, uint32_t index, TPMA_NV attributes, TPMI_ALG_HASH name_alg) {
        TPM2B_NV_PUBLIC pub = {
                .nvPublic = { .nvIndex = index, .nameAlg = name_alg, .attributes = attributes, .dataSize = 8 },
        };
        TPM2B_AUTH auth = {};
        ESYS_TR nv = ESYS_TR_NONE;

        assert_int_equal(Esys_NV_DefineSpace(tpm2_context_esys(c), ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD,
                                             ESYS_TR_NONE, ESYS_TR_NONE, &auth, &pub, &nv),
                         TSS2_RC_SUCCESS);
        (void) Esys_TR_Close(tpm2_context_esys(c), &nv);
}

static void undefine_raw(Tpm2Context *c, uint32_t index) {
        ESYS_TR nv = ESYS_TR_NONE;

        assert_int_equal(Esys_TR_FromTPMPublic(tpm2_context_esys(c), index, ESYS_TR_NONE, ESYS_TR_NONE,
                                               ESYS_TR_NONE, &nv),
                         TSS2_RC_SUCCESS);
        assert_int_equal(Esys_NV_UndefineSpace(tpm2_context_esys(c), ESYS_TR_RH_OWNER, nv, ESYS_TR_PASSWORD,
                                               ESYS_TR_NONE, ESYS_TR_NONE),
                         TSS2_RC_SUCCESS);
}

static void test_foreign_index_in_our_range(void **state) {
        static const struct {
                TPMA_NV attributes;
                TPMI_ALG_HASH name_alg;
        } cases[] = {
                /* Readable by anyone with the empty authValue: not ours, whatever it holds. */
                { TPMA_NV_OWNERWRITE | TPMA_NV_AUTHREAD, TPM2_ALG_SHA256 },
                { TPM2_NV_ATTRIBUTES_OWNER, TPM2_ALG_SHA1 },
                { TPM2_NV_ATTRIBUTES_OWNER | TPMA_NV_NO_DA, TPM2_ALG_SHA256 },
                { TPM2_NV_ATTRIBUTES_PIN | TPMA_NV_OWNERREAD, TPM2_ALG_SHA256 },
        };
        _cleanup_(tpm2_context_freep) Tpm2Context *c = open_tpm();

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ Tpm2NvInfo *list = NULL;
                Tpm2Error e = {};
                void *out = NULL;
                size_t out_size = 0, n = 0;

                define_raw(c, IDX_FOREIGN, cases[i].attributes, cases[i].name_alg);

                assert_int_equal(tpm2_nv_write(c, NULL, IDX_FOREIGN, 0, "x", 1, NULL, &e), -EADDRINUSE);
                assert_non_null(strstr(e.message, "not defined by trusted-platform"));
                assert_int_equal(tpm2_nv_read(c, NULL, IDX_FOREIGN, 0, 0, NULL, &out, &out_size, &e),
                                 -EADDRINUSE);
                assert_int_equal(tpm2_nv_undefine(c, IDX_FOREIGN, &e), -EADDRINUSE);
                assert_int_equal(tpm2_nv_define(c, NULL, IDX_FOREIGN, 8, NULL, &e), -EEXIST);
                assert_null(out);

                /* Listed, and marked as someone else's. */
                assert_int_equal(tpm2_nv_list(c, &list, &n), 0);
                assert_int_equal(n, 1);
                assert_int_equal(list[0].index, IDX_FOREIGN);
                assert_true(list[0].foreign);

                undefine_raw(c, IDX_FOREIGN);
                assert_no_leaks(c);
        }
}

/* A TCTI in front of swtpm that, when armed, sets TPMA_NV_NO_DA in every TPM2_NV_ReadPublic answer: a
 * TPM that creates something other than what was asked, which swtpm itself never does. */
typedef struct Mangle {
        TSS2_TCTI_CONTEXT_COMMON_V2 common;
        TSS2_TCTI_CONTEXT *inner;
        uint32_t last_command;
        unsigned mangled;
} Mangle;

static TSS2_RC mangle_transmit(TSS2_TCTI_CONTEXT *ctx, size_t size, const uint8_t *command) {
        Mangle *m = (Mangle *) ctx;

        m->last_command = size >= 10 ? (uint32_t) command[6] << 24 | (uint32_t) command[7] << 16 |
                        (uint32_t) command[8] << 8 | command[9]
                                     : 0;
        return Tss2_Tcti_Transmit(m->inner, size, command);
}

static TSS2_RC mangle_receive(TSS2_TCTI_CONTEXT *ctx, size_t *size, uint8_t *response, int32_t timeout) {
        Mangle *m = (Mangle *) ctx;
        TSS2_RC rc = Tss2_Tcti_Receive(m->inner, size, response, timeout);

        /* Header (10 bytes), TPM2B size (2), nvIndex (4), nameAlg (2), then the attributes. */
        if (rc == TSS2_RC_SUCCESS && response && m->last_command == TPM2_CC_NV_ReadPublic && *size >= 22 &&
            memcmp(response + 6, "\0\0\0\0", 4) == 0) {
                response[18] |= (uint8_t) (TPMA_NV_NO_DA >> 24);
                m->mangled++;
        }
        return rc;
}

static void test_defined_otherwise_than_asked_is_removed(void **state) {
        Mangle mangle = {
                .common.v1 = { .magic = 1, .version = 1, .transmit = mangle_transmit, .receive = mangle_receive },
        };
        Tpm2Context *c = NULL, *plain = NULL;
        Tpm2Error e = {};

        assert_int_equal(Tss2_TctiLdr_Initialize(getenv("TRUSTED_PLATFORM_TCTI"), &mangle.inner),
                         TSS2_RC_SUCCESS);
        assert_int_equal(tpm2_context_new_from_tcti((TSS2_TCTI_CONTEXT *) &mangle, &c), 0);

        assert_int_equal(tpm2_nv_define(c, NULL, IDX_OWNER, 8, NULL, &e), -EBADMSG);
        assert_true(mangle.mangled > 0);
        assert_no_leaks(c);
        tpm2_context_free(c);
        Tss2_TctiLdr_Finalize(&mangle.inner);

        /* The index it made is gone again. */
        plain = open_tpm();
        assert_false(handle_present(plain, IDX_OWNER));
        tpm2_context_free(plain);
}

#define WIRE_PIN "PIN-4711-never-on-the-wire"
#define WIRE_MARKER "CONTROL-plain-nv-write"

static void wire_data(uint8_t data[static 1800]) {
        /* Recognizable and never repeating, so that any 8 bytes of it are a find. */
        for (size_t i = 0; i < 1800; i++)
                data[i] = (uint8_t) (i * 7 + i / 251);
}

/* Define, write and read a PIN index of 1800 bytes (two chunks each way), undefine it; then, as the
 * control, write WIRE_MARKER to an owner index with a plain password session, outside our code. */
static void wire_scenario(Tpm2Context *c) {
        uint8_t data[1800];
        ESYS_TR nv = ESYS_TR_NONE;
        void *out = NULL;
        size_t out_size = 0;

        wire_data(data);
        assert_int_equal(tpm2_nv_define(c, NULL, IDX_WIRE, sizeof(data), WIRE_PIN, NULL), 0);
        assert_int_equal(tpm2_nv_write(c, NULL, IDX_WIRE, 0, data, sizeof(data), WIRE_PIN, NULL), 0);
        assert_int_equal(tpm2_nv_read(c, NULL, IDX_WIRE, 0, 0, WIRE_PIN, &out, &out_size, NULL), 0);
        assert_int_equal(out_size, sizeof(data));
        assert_memory_equal(out, data, sizeof(data));
        out = erase_and_free(out);
        assert_int_equal(tpm2_nv_undefine(c, IDX_WIRE, NULL), 0);

        define_raw(c, IDX_WIRE, TPM2_NV_ATTRIBUTES_OWNER, TPM2_ALG_SHA256);
        assert_int_equal(Esys_TR_FromTPMPublic(tpm2_context_esys(c), IDX_WIRE, ESYS_TR_NONE, ESYS_TR_NONE,
                                               ESYS_TR_NONE, &nv),
                         TSS2_RC_SUCCESS);
        TPM2B_MAX_NV_BUFFER plain = { .size = 8 };
        memcpy(plain.buffer, WIRE_MARKER, 8);
        assert_int_equal(Esys_NV_Write(tpm2_context_esys(c), ESYS_TR_RH_OWNER, nv, ESYS_TR_PASSWORD,
                                       ESYS_TR_NONE, ESYS_TR_NONE, &plain, 0),
                         TSS2_RC_SUCCESS);
        (void) Esys_TR_Close(tpm2_context_esys(c), &nv);
        assert_int_equal(tpm2_nv_undefine(c, IDX_WIRE, NULL), 0);
        assert_no_leaks(c);
}

/* Neither the data, nor the PIN, nor the authValue made from it is in the captured traffic; the control
 * marker is, so the capture does hold NV payloads. */
static void assert_wire_clean(const void *bytes, size_t size) {
        TPM2B_AUTH auth = {};
        uint8_t data[1800];

        wire_data(data);
        assert_int_equal(tpm2_pin_auth(WIRE_PIN, &auth), 0);
        assert_true(size > sizeof(data) * 2);
        assert_false(seen_in(bytes, size, data, sizeof(data)));
        assert_false(seen_in(bytes, size, WIRE_PIN, strlen(WIRE_PIN)));
        assert_false(seen_in(bytes, size, auth.buffer, auth.size));
        assert_true(seen_in(bytes, size, WIRE_MARKER, 8));
}

static void test_pin_and_data_never_on_the_wire(void **state) {
        Tap tap = TAP_INIT;
        Tpm2Context *c = NULL;

        assert_int_equal(Tss2_TctiLdr_Initialize(getenv("TRUSTED_PLATFORM_TCTI"), &tap.inner),
                         TSS2_RC_SUCCESS);
        assert_int_equal(tpm2_context_new_from_tcti((TSS2_TCTI_CONTEXT *) &tap, &c), 0);
        wire_scenario(c);
        tpm2_context_free(c);
        Tss2_TctiLdr_Finalize(&tap.inner);

        assert_wire_clean(tap.bytes, tap.size);
        free(tap.bytes);
}

static void test_pin_and_data_never_in_the_pcap(void **state) {
        _cleanup_free_ char *tcti = NULL, *path = NULL, *pcap = NULL;
        Tpm2Context *c = NULL;
        size_t size = 0;

        /* tpm2-tss's pcap TCTI in front of swtpm writes every command and response to $TCTI_PCAP_FILE. */
        assert_true(asprintf(&path, "%s/nv-wire.pcap", getenv("TRUSTED_PLATFORM_STATE_DIR")) > 0);
        assert_true(asprintf(&tcti, "pcap:%s", getenv("TRUSTED_PLATFORM_TCTI")) > 0);
        assert_int_equal(setenv("TCTI_PCAP_FILE", path, 1), 0);
        assert_int_equal(tpm2_context_new(tcti, &c), 0);
        wire_scenario(c);
        tpm2_context_free(c);
        assert_int_equal(unsetenv("TCTI_PCAP_FILE"), 0);

        assert_int_equal(read_full_file(path, 16 * 1024 * 1024, &pcap, &size), 0);
        assert_wire_clean(pcap, size);
        assert_int_equal(unlink(path), 0);
}

static void test_nothing_left_defined(void **state) {
        _cleanup_(tpm2_context_freep) Tpm2Context *c = open_tpm();
        _cleanup_free_ Tpm2NvInfo *list = NULL;
        size_t n = 1;

        assert_int_equal(tpm2_nv_list(c, &list, &n), 0);
        assert_int_equal(n, 0);
        assert_no_leaks(c);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_provision_srk),
                cmocka_unit_test(test_outside_range_refused_without_the_tpm),
                cmocka_unit_test(test_owner_round_trip_above_buffer_max),
                cmocka_unit_test(test_pin),
                cmocka_unit_test(test_refusals),
                cmocka_unit_test(test_owner_password_set),
                cmocka_unit_test(test_foreign_index_in_our_range),
                cmocka_unit_test(test_defined_otherwise_than_asked_is_removed),
                cmocka_unit_test(test_pin_and_data_never_on_the_wire),
                cmocka_unit_test(test_pin_and_data_never_in_the_pcap),
                cmocka_unit_test(test_nothing_left_defined),
        };

        log_parse_environment();
        if (!getenv("TRUSTED_PLATFORM_TCTI") || !getenv("TRUSTED_PLATFORM_STATE_DIR")) {
                fprintf(stderr,
                        "TRUSTED_PLATFORM_TCTI and TRUSTED_PLATFORM_STATE_DIR must be set (run through tp-run).\n");
                return EXIT_FAILURE;
        }
        return cmocka_run_group_tests(tests, NULL, NULL);
}
