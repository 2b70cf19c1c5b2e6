/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <inttypes.h>
#include <tss2/tss2_mu.h>

#include "basic/log.h"
#include "basic/secure-mem.h"
#include "tpm2/tpm2-capability.h"
#include "tpm2/tpm2-info.h"
#include "tpm2/tpm2-nv.h"
#include "tpm2/tpm2-object.h"
#include "tpm2/tpm2-session.h"
#include "tpm2/tpm2-srk.h"
#include "tpm2/tpm2-util.h"

#define NV_NAME_ALG TPM2_ALG_SHA256

bool tpm2_nv_index_is_ours(uint32_t index) {
        return index >= TPM2_NV_RANGE_FIRST && index <= TPM2_NV_RANGE_LAST;
}

static int check_ours(uint32_t index, Tpm2Error *error) {
        if (tpm2_nv_index_is_ours(index))
                return 0;
        return tpm2_error_set(error, -ERANGE,
                              "NV index 0x%08x is outside the range reserved for trusted-platform "
                              "(0x%08x-0x%08x)",
                              index, TPM2_NV_RANGE_FIRST, TPM2_NV_RANGE_LAST);
}

/* What every call that may carry a PIN checks before the TPM is asked anything. */
static int check_arguments(uint32_t index, const char *pin, Tpm2Error *error) {
        int r;

        r = check_ours(index, error);
        if (r < 0)
                return r;
        if (pin && pin[0] == 0)
                return tpm2_error_set(error, -EINVAL, "an empty PIN is no PIN");
        return 0;
}

/* The name of an NV index: nameAlg || H_nameAlg(TPMS_NV_PUBLIC). */
static int nv_name(const TPMS_NV_PUBLIC *p, TPM2B_NAME *ret) {
        uint8_t buf[sizeof(TPMS_NV_PUBLIC)];
        const EVP_MD *md = tpm2_hash_alg_to_md(p->nameAlg);
        unsigned int len = 0;
        size_t off = 0;

        if (!md)
                return -EOPNOTSUPP;
        if (Tss2_MU_TPMS_NV_PUBLIC_Marshal(p, buf, sizeof(buf), &off) != TSS2_RC_SUCCESS)
                return -EBADMSG;

        ret->name[0] = p->nameAlg >> 8;
        ret->name[1] = p->nameAlg & 0xFF;
        if (EVP_Digest(buf, off, ret->name + 2, &len, md, NULL) != 1)
                return -EIO;
        ret->size = 2 + len;
        return 0;
}

static bool nv_public_is_ours(const TPMS_NV_PUBLIC *p) {
        TPMA_NV a = p->attributes & ~(TPMA_NV) TPMA_NV_WRITTEN;

        return p->nameAlg == NV_NAME_ALG && p->authPolicy.size == 0 && p->dataSize > 0 &&
                (a == TPM2_NV_ATTRIBUTES_PIN || a == TPM2_NV_ATTRIBUTES_OWNER);
}

/* Opens index and reads its public area, checked: the index the TPM answers for, and its name as
 * computed here, as the TPM returned it and as ESYS holds it (ESYS authorizes with that name). */
static int nv_open(Tpm2Context *c, uint32_t index, ESYS_TR *ret_nv, Tpm2NvInfo *ret_info, Tpm2Error *error) {
        _cleanup_(esys_freep) TPM2B_NV_PUBLIC *pub = NULL;
        _cleanup_(esys_freep) TPM2B_NAME *name = NULL, *esys_name = NULL;
        ESYS_TR nv = ESYS_TR_NONE;
        TPM2B_NAME computed = {};
        TSS2_RC rc;
        int r;

        r = tpm2_handle_present(c, index);
        if (r < 0)
                return tpm2_error_set(error, r, "cannot look for NV index 0x%08x: %s", index, strerror(-r));
        if (r == 0)
                return tpm2_error_set(error, -ENOENT, "NV index 0x%08x is not defined", index);

        rc = Esys_TR_FromTPMPublic(tpm2_context_esys(c), index, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &nv);
        if (rc != TSS2_RC_SUCCESS) {
                r = tss2_rc_to_errno(rc);
                return tpm2_error_set(error, r, "cannot open NV index 0x%08x: %s", index, strerror(-r));
        }

        rc = Esys_NV_ReadPublic(tpm2_context_esys(c), nv, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &pub,
                                &name);
        if (rc != TSS2_RC_SUCCESS) {
                r = tss2_rc_to_errno(rc);
                tpm2_error_set(error, r, "cannot read the public area of NV index 0x%08x: %s", index,
                               strerror(-r));
                goto fail;
        }
        r = -EBADMSG;
        if (!pub || !name || pub->nvPublic.nvIndex != index) {
                tpm2_error_set(error, r, "the TPM answered for another NV index than 0x%08x", index);
                goto fail;
        }
        /* An unknown nameAlg leaves the index foreign below; it is never written or read. */
        if (tpm2_hash_alg_to_md(pub->nvPublic.nameAlg)) {
                rc = Esys_TR_GetName(tpm2_context_esys(c), nv, &esys_name);
                if (rc != TSS2_RC_SUCCESS || nv_name(&pub->nvPublic, &computed) < 0 ||
                    !tpm2_name_equal(&computed, name) || !tpm2_name_equal(&computed, esys_name)) {
                        tpm2_error_set(error, r,
                                       "the name of NV index 0x%08x does not match its public area", index);
                        goto fail;
                }
        }

        if (ret_info)
                *ret_info = (Tpm2NvInfo){
                        .index = index,
                        .size = pub->nvPublic.dataSize,
                        .attributes = pub->nvPublic.attributes,
                        .has_pin = (pub->nvPublic.attributes & TPM2_NV_ATTRIBUTES_PIN) ==
                                TPM2_NV_ATTRIBUTES_PIN,
                        .written = pub->nvPublic.attributes & TPMA_NV_WRITTEN,
                        .foreign = !nv_public_is_ours(&pub->nvPublic),
                        .name = *name,
                };
        if (ret_nv)
                *ret_nv = nv;
        else
                tpm2_flush(c, &nv);
        return 0;

fail:
        tpm2_flush(c, &nv);
        return r;
}

/* -EADDRINUSE, not -EBADMSG: someone else's index is no broken TPM answer (the daemon reconnects to the
 * TPM on -EBADMSG). */
static int refuse_foreign(const Tpm2NvInfo *info, Tpm2Error *error) {
        if (!info->foreign)
                return 0;
        return tpm2_error_set(error, -EADDRINUSE,
                              "NV index 0x%08x was not defined by trusted-platform (attributes 0x%08x); "
                              "not touching it",
                              info->index, info->attributes);
}

/* The PIN must be given exactly when the index has one: a PIN is never a way around the owner. */
static int check_pin_matches(const Tpm2NvInfo *info, const char *pin, Tpm2Error *error) {
        if (info->has_pin && !pin)
                return tpm2_error_set(error, -EACCES,
                                      "NV index 0x%08x is protected by a PIN, and none was given",
                                      info->index);
        if (!info->has_pin && pin)
                return tpm2_error_set(error, -EINVAL,
                                      "NV index 0x%08x has no PIN (the owner authorizes it); none must be given",
                                      info->index);
        return 0;
}

static int check_range(const Tpm2NvInfo *info, size_t offset, size_t size, Tpm2Error *error) {
        if (offset > info->size || size > info->size - offset)
                return tpm2_error_set(error, -ERANGE,
                                      "%zu bytes at offset %zu do not fit into NV index 0x%08x of %u bytes",
                                      size, offset, info->index, (unsigned) info->size);
        return 0;
}

static int auth_error(Tpm2Context *c, int r, const char *what, uint32_t index, bool has_pin, Tpm2Error *error) {
        if (has_pin && (r == -EACCES || r == -ENOLCK))
                return tpm2_explain_auth_failure(c, r, error);
        /* -EPERM, not -EACCES: that means a wrong PIN to callers, and no PIN was involved. */
        if (r == -EACCES)
                return tpm2_error_set(error, -EPERM,
                                      "the TPM refused the owner authorization to %s NV index 0x%08x (is an owner "
                                      "password set?)",
                                      what, index);
        return tpm2_error_set(error, r, "cannot %s NV index 0x%08x: %s", what, index, strerror(-r));
}

/* The pinned SRK and a session salted to it, with parameter encryption both ways. */
static int start_session(Tpm2Context *c, const char *state_dir, ESYS_TR *srk, ESYS_TR *session,
                         Tpm2Error *error) {
        int r;

        r = tpm2_srk_provision(c, state_dir, false, srk, NULL);
        if (r < 0)
                return tpm2_error_set(error, r, "no usable storage root key: %s", strerror(-r));
        r = tpm2_session_start_salted(c, *srk, session);
        if (r < 0)
                return tpm2_error_set(error, r, "cannot start a salted session: %s", strerror(-r));
        return 0;
}

static int set_pin(Tpm2Context *c, ESYS_TR nv, const char *pin) {
        TPM2B_AUTH auth = {};
        TSS2_RC rc;
        int r;

        r = tpm2_pin_auth(pin, &auth);
        if (r < 0)
                return r;
        rc = Esys_TR_SetAuth(tpm2_context_esys(c), nv, &auth);
        erase_mem(&auth, sizeof(auth));
        return rc == TSS2_RC_SUCCESS ? 0 : tss2_rc_to_errno(rc);
}

/* Removes an index we just defined whose public area did not check out; tpm2_nv_undefine() would refuse
 * it. Owner authorization in a password session needs no name, so the answer's content does not matter. */
static void undefine_unchecked(Tpm2Context *c, uint32_t index) {
        ESYS_TR nv = ESYS_TR_NONE;

        if (Esys_TR_FromTPMPublic(tpm2_context_esys(c), index, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                  &nv) != TSS2_RC_SUCCESS)
                return;
        if (Esys_NV_UndefineSpace(tpm2_context_esys(c), ESYS_TR_RH_OWNER, nv, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                  ESYS_TR_NONE) != TSS2_RC_SUCCESS)
                tpm2_flush(c, &nv);
}

static int define_in_tpm(Tpm2Context *c, ESYS_TR session, const TPM2B_NV_PUBLIC *pub, const char *pin,
                         Tpm2Error *error) {
        TPM2B_AUTH auth = {};
        ESYS_TR nv = ESYS_TR_NONE;
        Tpm2NvInfo info;
        TSS2_RC rc;
        int r;

        if (pin) {
                r = tpm2_pin_auth(pin, &auth);
                if (r < 0)
                        return r;
        }

        /* The salted session authorizes the owner and encrypts the authValue (first parameter). */
        rc = Esys_NV_DefineSpace(tpm2_context_esys(c), ESYS_TR_RH_OWNER, session, ESYS_TR_NONE, ESYS_TR_NONE,
                                 &auth, pub, &nv);
        erase_mem(&auth, sizeof(auth));
        if (rc != TSS2_RC_SUCCESS) {
                r = tss2_rc_to_errno(rc);
                if (r == -EEXIST)
                        return tpm2_error_set(error, r, "NV index 0x%08x is defined already",
                                              pub->nvPublic.nvIndex);
                if (r == -ENOSPC)
                        return tpm2_error_set(error, r, "the TPM has no NV space left for %u bytes",
                                              (unsigned) pub->nvPublic.dataSize);
                return auth_error(c, r, "define", pub->nvPublic.nvIndex, false, error);
        }

        /* nv_open() below gets the same ESYS object for this index from ESYS and releases it. */
        tpm2_flush(c, &nv);

        /* What the TPM made must be what we asked for; anything else is removed again. */
        r = nv_open(c, pub->nvPublic.nvIndex, NULL, &info, error);
        if (r >= 0 &&
            (info.foreign || info.size != pub->nvPublic.dataSize ||
             info.attributes != pub->nvPublic.attributes))
                r = tpm2_error_set(error, -EBADMSG, "the TPM defined NV index 0x%08x otherwise than asked",
                                   pub->nvPublic.nvIndex);
        if (r < 0)
                undefine_unchecked(c, pub->nvPublic.nvIndex);
        return r;
}

int tpm2_nv_define(Tpm2Context *c, const char *state_dir, uint32_t index, size_t size, const char *pin,
                   Tpm2Error *error) {
        ESYS_TR srk = ESYS_TR_NONE, session = ESYS_TR_NONE;
        uint32_t index_max;
        int r;

        assert(c);

        r = check_arguments(index, pin, error);
        if (r < 0)
                return r;
        if (size == 0)
                return tpm2_error_set(error, -EINVAL, "an NV index of 0 bytes holds nothing");

        r = tpm2_get_property(c, TPM2_PT_NV_INDEX_MAX, &index_max);
        if (r < 0)
                return tpm2_error_set(error, r, "cannot read the TPM's NV index size limit: %s", strerror(-r));
        if (size > index_max || size > UINT16_MAX)
                return tpm2_error_set(error, -EFBIG,
                                      "%zu bytes is too big for this TPM: an NV index holds at most %" PRIu32
                                      " bytes",
                                      size, MIN(index_max, (uint32_t) UINT16_MAX));

        r = tpm2_handle_present(c, index);
        if (r < 0)
                return tpm2_error_set(error, r, "cannot look for NV index 0x%08x: %s", index, strerror(-r));
        if (r > 0)
                return tpm2_error_set(error, -EEXIST, "NV index 0x%08x is defined already", index);

        TPM2B_NV_PUBLIC pub = {
                .nvPublic = {
                        .nvIndex = index,
                        .nameAlg = NV_NAME_ALG,
                        .attributes = pin ? TPM2_NV_ATTRIBUTES_PIN : TPM2_NV_ATTRIBUTES_OWNER,
                        .dataSize = (uint16_t) size,
                },
        };

        r = start_session(c, state_dir, &srk, &session, error);
        if (r >= 0)
                r = define_in_tpm(c, session, &pub, pin, error);

        tpm2_flush(c, &session);
        tpm2_flush(c, &srk);
        return r;
}

/* Opens index for a read or write of size bytes at offset: ours, the PIN as the index wants it, in range.
 * ret_chunk: how many bytes one TPM2_NV_Read/Write may move. */
static int open_for_access(Tpm2Context *c, uint32_t index, size_t offset, size_t *size, const char *pin,
                           bool reading, ESYS_TR *ret_nv, Tpm2NvInfo *ret_info, size_t *ret_chunk,
                           Tpm2Error *error) {
        ESYS_TR nv = ESYS_TR_NONE;
        Tpm2NvInfo info;
        int r;

        r = tpm2_get_nv_buffer_max(c, ret_chunk);
        if (r < 0)
                return tpm2_error_set(error, r, "cannot read the TPM's NV buffer size: %s", strerror(-r));

        r = nv_open(c, index, &nv, &info, error);
        if (r < 0)
                return r;

        r = refuse_foreign(&info, error);
        if (r >= 0)
                r = check_pin_matches(&info, pin, error);
        if (r >= 0 && reading && *size == 0) {
                if (offset >= info.size)
                        r = tpm2_error_set(error, -ERANGE,
                                           "offset %zu is beyond the end of NV index 0x%08x (%u bytes)",
                                           offset, index, (unsigned) info.size);
                else
                        *size = info.size - offset;
        }
        if (r >= 0)
                r = check_range(&info, offset, *size, error);
        if (r >= 0 && reading && !info.written)
                r = tpm2_error_set(error, -ENODATA, "NV index 0x%08x was never written", index);
        if (r >= 0 && pin)
                r = set_pin(c, nv, pin);
        if (r < 0) {
                tpm2_flush(c, &nv);
                return r;
        }

        *ret_nv = nv;
        *ret_info = info;
        return 0;
}

int tpm2_nv_write(Tpm2Context *c, const char *state_dir, uint32_t index, size_t offset, const void *data,
                  size_t size, const char *pin, Tpm2Error *error) {
        ESYS_TR srk = ESYS_TR_NONE, session = ESYS_TR_NONE, nv = ESYS_TR_NONE;
        TPM2B_MAX_NV_BUFFER buf = {};
        size_t chunk = 0, done = 0;
        Tpm2NvInfo info;
        int r;

        assert(c);
        assert(data || size == 0);

        r = check_arguments(index, pin, error);
        if (r < 0)
                return r;
        if (size == 0)
                return tpm2_error_set(error, -EINVAL, "nothing to write");

        r = open_for_access(c, index, offset, &size, pin, false, &nv, &info, &chunk, error);
        if (r < 0)
                return r;

        r = start_session(c, state_dir, &srk, &session, error);
        while (r >= 0 && done < size) {
                TSS2_RC rc;

                buf.size = (uint16_t) MIN(chunk, size - done);
                memcpy(buf.buffer, (const uint8_t *) data + done, buf.size);

                /* The data is the first parameter: the session encrypts it on the way to the TPM. */
                rc = Esys_NV_Write(tpm2_context_esys(c), info.has_pin ? nv : ESYS_TR_RH_OWNER, nv, session,
                                   ESYS_TR_NONE, ESYS_TR_NONE, &buf, (uint16_t) (offset + done));
                if (rc != TSS2_RC_SUCCESS)
                        r = auth_error(c, tss2_rc_to_errno(rc), "write", index, info.has_pin, error);
                else
                        done += buf.size;
        }
        erase_mem(&buf, sizeof(buf));

        tpm2_flush(c, &session);
        tpm2_flush(c, &srk);
        tpm2_flush(c, &nv);
        return r < 0 ? r : 0;
}

int tpm2_nv_read(Tpm2Context *c, const char *state_dir, uint32_t index, size_t offset, size_t size,
                 const char *pin, void **ret, size_t *ret_size, Tpm2Error *error) {
        ESYS_TR srk = ESYS_TR_NONE, session = ESYS_TR_NONE, nv = ESYS_TR_NONE;
        _cleanup_erase_free_ uint8_t *out = NULL;
        size_t chunk = 0, done = 0;
        Tpm2NvInfo info;
        int r;

        assert(c);
        assert(ret);
        assert(ret_size);

        r = check_arguments(index, pin, error);
        if (r < 0)
                return r;

        r = open_for_access(c, index, offset, &size, pin, true, &nv, &info, &chunk, error);
        if (r < 0)
                return r;

        out = malloc(size);
        if (!out)
                r = -ENOMEM;
        if (r >= 0)
                r = start_session(c, state_dir, &srk, &session, error);
        while (r >= 0 && done < size) {
                TPM2B_MAX_NV_BUFFER *data = NULL;
                uint16_t n = (uint16_t) MIN(chunk, size - done);
                TSS2_RC rc;

                /* The session encrypts the data (first response parameter) on the way back. */
                rc = Esys_NV_Read(tpm2_context_esys(c), info.has_pin ? nv : ESYS_TR_RH_OWNER, nv, session,
                                  ESYS_TR_NONE, ESYS_TR_NONE, n, (uint16_t) (offset + done), &data);
                if (rc != TSS2_RC_SUCCESS)
                        r = auth_error(c, tss2_rc_to_errno(rc), "read", index, info.has_pin, error);
                else if (!data || data->size != n)
                        r = tpm2_error_set(error, -EBADMSG,
                                           "the TPM returned %u bytes of NV index 0x%08x, %u asked",
                                           data ? data->size : 0U, index, n);
                else {
                        memcpy(out + done, data->buffer, n);
                        done += n;
                }
                if (data) {
                        erase_mem(data, sizeof(*data));
                        Esys_Free(data);
                }
        }

        tpm2_flush(c, &session);
        tpm2_flush(c, &srk);
        tpm2_flush(c, &nv);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(out);
        *ret_size = size;
        return 0;
}

int tpm2_nv_undefine(Tpm2Context *c, uint32_t index, Tpm2Error *error) {
        ESYS_TR nv = ESYS_TR_NONE;
        Tpm2NvInfo info;
        TSS2_RC rc;
        int r;

        assert(c);

        r = check_ours(index, error);
        if (r < 0)
                return r;

        r = nv_open(c, index, &nv, &info, error);
        if (r < 0)
                return r;
        r = refuse_foreign(&info, error);
        if (r < 0) {
                tpm2_flush(c, &nv);
                return r;
        }

        /* No parameter carries anything secret, and the owner authorization is empty by design (see
         * docs/ARCHITECTURE.md): a password session suffices. On success ESYS releases nv itself. */
        rc = Esys_NV_UndefineSpace(tpm2_context_esys(c), ESYS_TR_RH_OWNER, nv, ESYS_TR_PASSWORD,
                                   ESYS_TR_NONE, ESYS_TR_NONE);
        if (rc != TSS2_RC_SUCCESS) {
                tpm2_flush(c, &nv);
                return auth_error(c, tss2_rc_to_errno(rc), "undefine", index, false, error);
        }
        return 0;
}

int tpm2_nv_get_info(Tpm2Context *c, uint32_t index, Tpm2NvInfo *ret, Tpm2Error *error) {
        int r;

        assert(c);
        assert(ret);

        r = check_ours(index, error);
        if (r < 0)
                return r;
        return nv_open(c, index, NULL, ret, error);
}

int tpm2_nv_list(Tpm2Context *c, Tpm2NvInfo **ret, size_t *ret_n) {
        _cleanup_free_ TPM2_HANDLE *handles = NULL;
        _cleanup_free_ Tpm2NvInfo *list = NULL;
        size_t n_handles = 0, n = 0;
        int r;

        assert(c);
        assert(ret);
        assert(ret_n);

        r = tpm2_get_handles(c, TPM2_NV_RANGE_FIRST, &handles, &n_handles);
        if (r < 0)
                return r;

        for (size_t i = 0; i < n_handles && handles[i] <= TPM2_NV_RANGE_LAST; i++) {
                Tpm2NvInfo *l;

                l = reallocarray(list, n + 1, sizeof(Tpm2NvInfo));
                if (!l)
                        return -ENOMEM;
                list = l;

                r = nv_open(c, handles[i], NULL, list + n, NULL);
                if (r == -ENOENT)
                        continue; /* undefined in between */
                if (r < 0)
                        return r;
                n++;
        }

        *ret = TAKE_PTR(list);
        *ret_n = n;
        return 0;
}
