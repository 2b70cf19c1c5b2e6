/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* D-Bus glue for the NV methods of org.trustedplatform.TrustedPlatform1.TPM: NVDefine, NVWrite, NVRead,
 * NVUndefine, ListNV, over src/tpm2/tpm2-nv.c. Only indexes of our range (TPM2_NV_RANGE_FIRST..LAST) are
 * accepted; the range is checked here already, so a foreign index never reaches polkit or the TPM.
 *
 * Authorization: defining, undefining and writing need org.trustedplatform.tpm.manage-nv (auth_admin).
 * Reading with a PIN needs nothing more: the PIN is the authorization, the library refuses a PIN for an
 * owner-authorized index, and the TPM's dictionary-attack lockout bounds guessing. Reading without a PIN
 * uses the owner authorization and so needs manage-nv too. ListNV shows public areas only and is open. */

#include <inttypes.h>

#include "basic/hexdecoct.h"
#include "basic/log.h"
#include "basic/secure-mem.h"
#include "daemon/manager-bus.h"
#include "daemon/tpm-bus.h"
#include "daemon/tpm-call.h"
#include "shared/bus-error.h"
#include "shared/bus-polkit.h"
#include "tpm2/tpm2-nv.h"

#define NV_ACTION_MANAGE "org.trustedplatform.tpm.manage-nv"

/* TPM2B sizes and NV offsets are 16 bits: nothing larger can be defined, written or read. */
#define NV_BYTES_MAX UINT16_MAX

typedef enum NvOption {
        NV_OPTION_PIN = 1U << 0,
        NV_OPTION_OFFSET = 1U << 1,
        NV_OPTION_SIZE = 1U << 2,
} NvOption;

typedef struct NvCall {
        uint32_t index;
        uint32_t size;   /* NVDefine: the index size; NVRead: bytes to read, 0 = up to the end */
        uint32_t offset; /* NVWrite, NVRead */
        char *pin;       /* NULL or the PIN (wiped on free) */
        uint8_t *data;   /* NVWrite: what to write; NVRead: what was read (wiped on free) */
        size_t data_size;
        Tpm2NvInfo *list; /* ListNV */
        size_t n_list;
} NvCall;

static void nv_call_free(void *p) {
        NvCall *n = p;

        if (!n)
                return;
        erase_and_free(n->pin);
        erase_and_free(n->data);
        free(n->list);
        free(n);
}

typedef struct NvOptions {
        unsigned seen; /* NvOption bits */
        char *pin;
        uint32_t offset;
        uint32_t size;
} NvOptions;

static int read_u32_option(sd_bus_message *message, const char *key, uint32_t *ret, sd_bus_error *error) {
        int r;

        r = tpm_bus_enter_option_variant(message, key, "u", error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(message, "u", ret);
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(message);
}

/* Reads the a{sv} options, accepting only the keys in allowed, each at most once and of its type. */
static int read_nv_options(sd_bus_message *message, unsigned allowed, NvOptions *o, sd_bus_error *error) {
        static const struct {
                const char *key;
                NvOption option;
        } table[] = {
                { "PIN", NV_OPTION_PIN },
                { "Offset", NV_OPTION_OFFSET },
                { "Size", NV_OPTION_SIZE },
        };
        int r;

        r = sd_bus_message_enter_container(message, 'a', "{sv}");
        if (r < 0)
                return r;

        for (;;) {
                NvOption option = 0;
                const char *key;

                r = sd_bus_message_enter_container(message, 'e', "sv");
                if (r < 0)
                        return r;
                if (r == 0)
                        break;

                r = sd_bus_message_read(message, "s", &key);
                if (r < 0)
                        return r;

                for (size_t i = 0; i < ELEMENTSOF(table); i++)
                        if (streq(key, table[i].key))
                                option = table[i].option;
                if (!(option & allowed))
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Unknown option '%s'.",
                                                 key);
                if (o->seen & option)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Option '%s' given twice.", key);
                o->seen |= option;

                switch (option) {
                case NV_OPTION_PIN:
                        r = tpm_bus_read_pin_option(message, &o->pin, error);
                        break;
                case NV_OPTION_OFFSET:
                        r = read_u32_option(message, key, &o->offset, error);
                        break;
                case NV_OPTION_SIZE:
                        r = read_u32_option(message, key, &o->size, error);
                        break;
                default:
                        assert(false);
                        r = -EINVAL;
                }
                if (r < 0)
                        return r;

                r = sd_bus_message_exit_container(message); /* the dict entry */
                if (r < 0)
                        return r;
        }

        return sd_bus_message_exit_container(message);
}

static int check_index(uint32_t index, sd_bus_error *error) {
        if (tpm2_nv_index_is_ours(index))
                return 0;
        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                 "NV index 0x%08" PRIx32 " is outside the range reserved for trusted-platform "
                                 "(0x%08x-0x%08x).",
                                 index, TPM2_NV_RANGE_FIRST, TPM2_NV_RANGE_LAST);
}

/* The library's range and size refusals are about the caller's arguments. */
static int nv_error(TpmCall *c, int r, sd_bus_error *error) {
        const char *msg = c->tpm_error.message[0] ? c->tpm_error.message : NULL;

        switch (r) {
        case -ERANGE:
        case -EFBIG:
        case -EADDRINUSE: /* an index of our range that we did not define */
                sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Failed to %s: %s", c->what,
                                  msg ?: strerror(-r));
                return 1;
        case -EPERM:
                /* Not a PCR policy here: a locked index or a disabled hierarchy. */
                bus_error_from_errno(error, r, "Failed to %s: %s", c->what, msg ?: strerror(-r));
                return 1;
        default:
                return tpm_bus_tpm2_error(c, r, error);
        }
}

/* A TpmCall with an NvCall payload; takes *pin over (NULL or a PIN). */
static int nv_call_new(Manager *m, sd_bus_message *message, const char *what, uint32_t index,
                       const NvOptions *o, char **pin, TpmCall **ret) {
        _cleanup_(tpm_call_freep) TpmCall *c = NULL;
        NvCall *n;
        int r;

        r = tpm_call_new(m, message, what, &c);
        if (r < 0)
                return r;

        n = calloc(1, sizeof(NvCall));
        if (!n)
                return -ENOMEM;
        c->payload = n;
        c->payload_free = nv_call_free;

        c->state_dir = strdup(m->state_dir);
        if (!c->state_dir)
                return -ENOMEM;

        n->index = index;
        n->pin = pin ? TAKE_PTR(*pin) : NULL;
        n->offset = o->offset;
        n->size = o->size;
        c->error = nv_error;
        c->append = tpm_bus_empty_append;
        *ret = TAKE_PTR(c);
        return 0;
}

/* ---- NVDefine ------------------------------------------------------------------------------------- */

static int nv_define_run(Tpm2Context *tpm, TpmCall *c) {
        NvCall *n = c->payload;
        int r;

        r = tpm2_nv_define(tpm, c->state_dir, n->index, n->size, n->pin, &c->tpm_error);
        if (r >= 0)
                log_info("NV index 0x%08" PRIx32 " defined (%" PRIu32 " bytes, %s).", n->index, n->size,
                         n->pin ? "PIN" : "owner authorization");
        return r;
}

static int method_nv_define(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_erase_free_ char *pin = NULL;
        Manager *m = userdata;
        NvOptions o = {};
        uint32_t index, size;
        TpmCall *c;
        int r;

        (void) sd_bus_message_sensitive(message);

        r = sd_bus_message_read(message, "uu", &index, &size);
        if (r < 0)
                return r;
        r = read_nv_options(message, NV_OPTION_PIN, &o, error);
        pin = o.pin;
        if (r < 0)
                return r;

        r = check_index(index, error);
        if (r < 0)
                return r;
        if (size < 1 || size > NV_BYTES_MAX)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "An NV index of %" PRIu32 " bytes cannot be defined; the size must be "
                                         "from 1 to %u bytes (and within the TPM's limit).",
                                         size, NV_BYTES_MAX);

        r = bus_verify_polkit_async(message, NV_ACTION_MANAGE, NULL, &m->polkit_registry, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* polkit will call us again with its answer */

        o.size = size;
        r = nv_call_new(m, message, "define the NV index", index, &o, &pin, &c);
        if (r < 0)
                return r;
        c->run = nv_define_run;
        return tpm_call_submit(c);
}

/* ---- NVWrite -------------------------------------------------------------------------------------- */

static int nv_write_run(Tpm2Context *tpm, TpmCall *c) {
        NvCall *n = c->payload;

        return tpm2_nv_write(tpm, c->state_dir, n->index, n->offset, n->data, n->data_size, n->pin,
                             &c->tpm_error);
}

static int method_nv_write(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_erase_free_ char *pin = NULL;
        Manager *m = userdata;
        NvOptions o = {};
        const void *data;
        uint32_t index;
        size_t size;
        TpmCall *c;
        int r;

        (void) sd_bus_message_sensitive(message);

        r = sd_bus_message_read(message, "u", &index);
        if (r < 0)
                return r;
        r = sd_bus_message_read_array(message, 'y', &data, &size);
        if (r < 0)
                return r;
        r = read_nv_options(message, NV_OPTION_PIN | NV_OPTION_OFFSET, &o, error);
        pin = o.pin;
        if (r < 0)
                return r;

        r = check_index(index, error);
        if (r < 0)
                return r;
        if (size == 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "The data to write is empty.");
        if (size > NV_BYTES_MAX || o.offset > NV_BYTES_MAX - size)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "%zu bytes at offset %" PRIu32 " reach beyond the largest possible NV "
                                         "index (%u bytes).",
                                         size, o.offset, NV_BYTES_MAX);

        r = bus_verify_polkit_async(message, NV_ACTION_MANAGE, NULL, &m->polkit_registry, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;

        r = nv_call_new(m, message, "write the NV index", index, &o, &pin, &c);
        if (r < 0)
                return r;

        NvCall *n = c->payload;
        n->data = malloc(size);
        if (!n->data) {
                tpm_call_free(c);
                return -ENOMEM;
        }
        memcpy(n->data, data, size);
        n->data_size = size;
        c->run = nv_write_run;
        return tpm_call_submit(c);
}

/* ---- NVRead --------------------------------------------------------------------------------------- */

static int nv_read_run(Tpm2Context *tpm, TpmCall *c) {
        NvCall *n = c->payload;
        void *data = NULL;
        size_t size = 0;
        int r;

        r = tpm2_nv_read(tpm, c->state_dir, n->index, n->offset, n->size, n->pin, &data, &size, &c->tpm_error);
        if (r < 0)
                return r;
        n->data = data;
        n->data_size = size;
        return 0;
}

static int nv_read_append(TpmCall *c, sd_bus_message *reply) {
        NvCall *n = c->payload;

        (void) sd_bus_message_sensitive(reply);
        return sd_bus_message_append_array(reply, 'y', n->data, n->data_size);
}

static int method_nv_read(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_erase_free_ char *pin = NULL;
        Manager *m = userdata;
        NvOptions o = {};
        uint32_t index;
        TpmCall *c;
        int r;

        (void) sd_bus_message_sensitive(message);

        r = sd_bus_message_read(message, "u", &index);
        if (r < 0)
                return r;
        r = read_nv_options(message, NV_OPTION_PIN | NV_OPTION_OFFSET | NV_OPTION_SIZE, &o, error);
        pin = o.pin;
        if (r < 0)
                return r;

        r = check_index(index, error);
        if (r < 0)
                return r;
        if ((o.seen & NV_OPTION_SIZE) && o.size == 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Option 'Size' must not be 0; leave it out to read up to the end.");
        if (o.offset >= NV_BYTES_MAX || o.size > NV_BYTES_MAX - o.offset)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "%" PRIu32 " bytes at offset %" PRIu32 " reach beyond the largest "
                                         "possible NV index (%u bytes).",
                                         o.size, o.offset, NV_BYTES_MAX);

        /* With a PIN, the PIN authorizes (the library refuses one for an index that has none); without,
         * the owner authorization is used on the caller's behalf. */
        if (!pin) {
                r = bus_verify_polkit_async(message, NV_ACTION_MANAGE, NULL, &m->polkit_registry, error);
                if (r < 0)
                        return r;
                if (r == 0)
                        return 1;
        }

        r = nv_call_new(m, message, "read the NV index", index, &o, &pin, &c);
        if (r < 0)
                return r;
        c->run = nv_read_run;
        c->append = nv_read_append;
        return tpm_call_submit(c);
}

/* ---- NVUndefine ----------------------------------------------------------------------------------- */

static int nv_undefine_run(Tpm2Context *tpm, TpmCall *c) {
        NvCall *n = c->payload;
        int r;

        r = tpm2_nv_undefine(tpm, n->index, &c->tpm_error);
        if (r >= 0)
                log_info("NV index 0x%08" PRIx32 " undefined.", n->index);
        return r;
}

static int method_nv_undefine(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        NvOptions o = {};
        uint32_t index;
        TpmCall *c;
        int r;

        r = sd_bus_message_read(message, "u", &index);
        if (r < 0)
                return r;
        r = read_nv_options(message, 0, &o, error); /* no options defined: any key is refused */
        if (r < 0)
                return r;

        r = check_index(index, error);
        if (r < 0)
                return r;

        r = bus_verify_polkit_async(message, NV_ACTION_MANAGE, NULL, &m->polkit_registry, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;

        r = nv_call_new(m, message, "undefine the NV index", index, &o, NULL, &c);
        if (r < 0)
                return r;
        c->run = nv_undefine_run;
        return tpm_call_submit(c);
}

/* ---- ListNV --------------------------------------------------------------------------------------- */

static int list_nv_run(Tpm2Context *tpm, TpmCall *c) {
        NvCall *n = c->payload;

        return tpm2_nv_list(tpm, &n->list, &n->n_list);
}

static int list_nv_append(TpmCall *c, sd_bus_message *reply) {
        NvCall *n = c->payload;
        int r;

        r = sd_bus_message_open_container(reply, 'a', "(uua{sv})");
        if (r < 0)
                return r;

        for (size_t i = 0; i < n->n_list; i++) {
                const Tpm2NvInfo *e = n->list + i;
                _cleanup_free_ char *name = NULL;

                r = hexmem(e->name.name, e->name.size, &name);
                if (r < 0)
                        return r;

                r = sd_bus_message_append(reply, "(uua{sv})", e->index, (uint32_t) e->size, 5, "Attributes",
                                          "u", e->attributes, "Name", "s", name, "PIN", "b", e->has_pin,
                                          "Written", "b", e->written, "Foreign", "b", e->foreign);
                if (r < 0)
                        return r;
        }

        return sd_bus_message_close_container(reply);
}

static int method_list_nv(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        NvOptions o = {};
        TpmCall *c;
        int r;

        r = nv_call_new(m, message, "list the NV indexes", 0, &o, NULL, &c);
        if (r < 0)
                return r;
        c->run = list_nv_run;
        c->append = list_nv_append;
        return tpm_call_submit(c);
}

const sd_bus_vtable tpm_nv_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_ARGS("NVDefine", SD_BUS_ARGS("u", index, "u", size, "a{sv}", options),
                                SD_BUS_NO_RESULT, method_nv_define,
                                SD_BUS_VTABLE_UNPRIVILEGED | SD_BUS_VTABLE_SENSITIVE),
        SD_BUS_METHOD_WITH_ARGS("NVWrite", SD_BUS_ARGS("u", index, "ay", data, "a{sv}", options),
                                SD_BUS_NO_RESULT, method_nv_write,
                                SD_BUS_VTABLE_UNPRIVILEGED | SD_BUS_VTABLE_SENSITIVE),
        SD_BUS_METHOD_WITH_ARGS("NVRead", SD_BUS_ARGS("u", index, "a{sv}", options), SD_BUS_RESULT("ay", data),
                                method_nv_read, SD_BUS_VTABLE_UNPRIVILEGED | SD_BUS_VTABLE_SENSITIVE),
        SD_BUS_METHOD_WITH_ARGS("NVUndefine", SD_BUS_ARGS("u", index, "a{sv}", options), SD_BUS_NO_RESULT,
                                method_nv_undefine, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListNV", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(uua{sv})", indexes),
                                method_list_nv, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};
