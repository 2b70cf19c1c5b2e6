/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* tpctl tpm nv define|write|read|undefine|list: the NV methods of trusted-platformd's TPM interface. Data
 * comes from a file or standard input and goes to a file (0600, written atomically) or standard output. */

#include <inttypes.h>
#include <stdio.h>

#include "basic/log.h"
#include "basic/secure-mem.h"
#include "tpctl/tpctl-agent.h"
#include "tpctl/tpctl-util.h"
#include "tpctl/tpctl.h"

/* NV offsets and sizes are 16 bits in the TPM. */
#define NV_BYTES_MAX 65535U

static int parse_index(const char *s, uint32_t *ret) {
        uint32_t index;

        if (tpctl_parse_handle(s, &index) < 0 || index < TPCTL_NV_INDEX_FIRST || index > TPCTL_NV_INDEX_LAST) {
                log_error("Invalid NV index '%s': expected 0x%08x to 0x%08x, the range trusted-platformd "
                          "manages.",
                          s, TPCTL_NV_INDEX_FIRST, TPCTL_NV_INDEX_LAST);
                return -EINVAL;
        }
        *ret = index;
        return 0;
}

static int parse_bytes(const char *option, const char *s, uint32_t min, uint32_t *ret) {
        uint32_t v;

        if (tpctl_parse_uint32(s, &v) < 0 || v < min || v > NV_BYTES_MAX) {
                log_error("Invalid %s '%s': expected a number from %" PRIu32 " to %u.", option, s, min,
                          NV_BYTES_MAX);
                return -EINVAL;
        }
        *ret = v;
        return 0;
}

/* Appends the options a{sv}: Offset and Size when given, PIN when not NULL. */
static int append_options(sd_bus_message *m, bool offset, uint32_t offset_value, bool size,
                          uint32_t size_value, const char *pin) {
        int r;

        r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0 && offset)
                r = sd_bus_message_append(m, "{sv}", "Offset", "u", offset_value);
        if (r >= 0 && size)
                r = sd_bus_message_append(m, "{sv}", "Size", "u", size_value);
        if (r >= 0 && pin)
                r = sd_bus_message_append(m, "{sv}", "PIN", "s", pin);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r;
}

static int call_nv(const char *method, uint32_t index, const void *data, size_t data_size, bool with_data,
                   bool with_size, uint32_t size, const char *what, sd_bus_message **ret_reply) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_erase_free_ char *pin = NULL;
        uint32_t offset = 0, read_size = 0;
        int r;

        if (arg_offset && parse_bytes("--offset=", arg_offset, 0, &offset) < 0)
                return TPCTL_EXIT_USAGE;
        if (arg_size && parse_bytes("--size=", arg_size, 1, &read_size) < 0)
                return TPCTL_EXIT_USAGE;
        if (arg_pin && tpctl_get_pin(&pin) < 0)
                return TPCTL_EXIT_FAILURE;

        r = tpctl_bus_open(&bus);
        if (r != 0)
                return r;

        r = sd_bus_message_new_method_call(bus, &m, TPCTL_BUS_NAME, TPCTL_BUS_PATH, TPCTL_IFACE_TPM, method);
        if (r >= 0)
                r = sd_bus_message_append(m, "u", index);
        if (r >= 0 && with_size)
                r = sd_bus_message_append(m, "u", size);
        if (r >= 0 && with_data)
                r = sd_bus_message_append_array(m, 'y', data, data_size);
        if (r >= 0)
                r = append_options(m, arg_offset, offset, arg_size, read_size, pin);
        if (r < 0)
                return log_error_errno(r, "Failed to build the %s() call: %m", method), TPCTL_EXIT_FAILURE;

        r = tpctl_call_sensitive(bus, m, &reply, &error);
        if (r < 0)
                return tpctl_log_bus_error(&error, r, what);

        if (ret_reply)
                *ret_reply = TAKE_PTR(reply);
        return TPCTL_EXIT_SUCCESS;
}

int verb_tpm_nv_define(int argc, char *argv[]) {
        uint32_t index, size;

        if (parse_index(argv[0], &index) < 0 || parse_bytes("size", argv[1], 1, &size) < 0)
                return TPCTL_EXIT_USAGE;

        return call_nv("NVDefine", index, NULL, 0, false, true, size, "define the NV index", NULL);
}

int verb_tpm_nv_write(int argc, char *argv[]) {
        _cleanup_erase_free_ char *data = NULL;
        uint32_t index;
        size_t size;

        if (parse_index(argv[0], &index) < 0)
                return TPCTL_EXIT_USAGE;
        if (tpctl_read_input(argc > 1 ? argv[1] : NULL, NV_BYTES_MAX, &data, &size) < 0)
                return TPCTL_EXIT_FAILURE;
        if (size == 0) {
                log_error("The data to write is empty.");
                return TPCTL_EXIT_USAGE;
        }

        return call_nv("NVWrite", index, data, size, true, false, 0, "write the NV index", NULL);
}

int verb_tpm_nv_read(int argc, char *argv[]) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const void *data;
        uint32_t index;
        size_t size;
        int r;

        if (parse_index(argv[0], &index) < 0)
                return TPCTL_EXIT_USAGE;

        r = call_nv("NVRead", index, NULL, 0, false, false, 0, "read the NV index", &reply);
        if (r != TPCTL_EXIT_SUCCESS)
                return r;

        r = sd_bus_message_read_array(reply, 'y', &data, &size);
        if (r < 0)
                return log_error_errno(r, "Failed to parse the NVRead() reply: %m"), TPCTL_EXIT_FAILURE;

        return tpctl_write_output(argc > 1 ? argv[1] : NULL, data, size) < 0 ? TPCTL_EXIT_FAILURE
                                                                             : TPCTL_EXIT_SUCCESS;
}

int verb_tpm_nv_undefine(int argc, char *argv[]) {
        uint32_t index;

        if (parse_index(argv[0], &index) < 0)
                return TPCTL_EXIT_USAGE;

        return call_nv("NVUndefine", index, NULL, 0, false, false, 0, "undefine the NV index", NULL);
}

/* The ListNV() reply as a JSON array of {"Index", "Size", "Attributes", "Name", "PIN", "Written", "Foreign"}. */
static int read_list_reply(sd_bus_message *reply, json_t **ret) {
        _cleanup_(json_decrefp) json_t *list = json_array();
        int r;

        if (!list)
                return -ENOMEM;

        r = sd_bus_message_enter_container(reply, 'a', "(uua{sv})");
        if (r < 0)
                return r;
        for (;;) {
                _cleanup_(json_decrefp) json_t *props = NULL;
                uint32_t index, size;

                r = sd_bus_message_enter_container(reply, 'r', "uua{sv}");
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                r = sd_bus_message_read(reply, "uu", &index, &size);
                if (r < 0)
                        return r;
                r = bus_message_read_dict_json(reply, &props);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(reply);
                if (r < 0)
                        return r;

                if (json_object_set_new(props, "Index", json_integer(index)) < 0 ||
                    json_object_set_new(props, "Size", json_integer(size)) < 0 ||
                    json_array_append(list, props) < 0)
                        return -ENOMEM;
        }
        r = sd_bus_message_exit_container(reply);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(list);
        return 0;
}

static int nv_table_add(struct libscols_table *t, const json_t *e) {
        const json_t *index = json_object_get(e, "Index"), *name = json_object_get(e, "Name");
        struct libscols_line *line;
        char *cells[5] = {};
        int r = 0;

        line = scols_table_new_line(t, NULL);
        if (!line)
                return -ENOMEM;

        if (asprintf(&cells[0], "0x%08" PRIx32, (uint32_t) json_integer_value(index)) < 0 ||
            asprintf(&cells[1], "%" JSON_INTEGER_FORMAT, json_integer_value(json_object_get(e, "Size"))) < 0)
                r = -ENOMEM;
        if (r >= 0) {
                const char *auth = json_is_true(json_object_get(e, "Foreign")) ? "foreign"
                        : json_is_true(json_object_get(e, "PIN"))              ? "pin"
                                                                               : "owner";
                cells[2] = strdup(auth);
                cells[3] = strdup(json_is_true(json_object_get(e, "Written")) ? "yes" : "no");
                cells[4] = strdup(json_is_string(name) ? json_string_value(name) : "n/a");
                if (!cells[2] || !cells[3] || !cells[4])
                        r = -ENOMEM;
        }
        for (size_t c = 0; c < ELEMENTSOF(cells); c++) {
                if (r >= 0 && scols_line_refer_data(line, c, cells[c]) < 0)
                        r = -ENOMEM;
                if (r < 0)
                        free(cells[c]);
        }
        return r;
}

int verb_tpm_nv_list(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(scols_unref_tablep) struct libscols_table *t = NULL;
        _cleanup_(json_decrefp) json_t *list = NULL;
        size_t i;
        json_t *e;
        int r;

        r = tpctl_bus_open(&bus);
        if (r != 0)
                return r;

        r = sd_bus_call_method(bus, TPCTL_BUS_NAME, TPCTL_BUS_PATH, TPCTL_IFACE_TPM, "ListNV", &error,
                               &reply, "");
        if (r < 0)
                return tpctl_log_bus_error(&error, r, "list the NV indexes");
        r = read_list_reply(reply, &list);
        if (r < 0)
                return log_error_errno(r, "Failed to parse the ListNV() reply: %m"), TPCTL_EXIT_FAILURE;

        if (arg_pager)
                (void) pager_open();

        if (arg_json != JSON_MODE_OFF)
                r = json_print(stdout, list, arg_json);
        else {
                t = scols_new_table();
                if (!t)
                        return log_oom(), TPCTL_EXIT_FAILURE;
                scols_table_enable_noheadings(t, !arg_legend);
                if (!scols_table_new_column(t, "INDEX", 0, 0) ||
                    !scols_table_new_column(t, "SIZE", 0, SCOLS_FL_RIGHT) ||
                    !scols_table_new_column(t, "AUTH", 0, 0) ||
                    !scols_table_new_column(t, "WRITTEN", 0, 0) || !scols_table_new_column(t, "NAME", 0, 0))
                        return log_oom(), TPCTL_EXIT_FAILURE;
                json_array_foreach(list, i, e) {
                        r = nv_table_add(t, e);
                        if (r < 0)
                                return log_error_errno(r, "Failed to build the table: %m"), TPCTL_EXIT_FAILURE;
                }
                r = table_print(t, stdout);
                if (r >= 0 && arg_legend && !arg_quiet)
                        r = printf("\n%zu NV index%s listed.\n", json_array_size(list),
                                   json_array_size(list) == 1 ? "" : "es") < 0
                                ? -EIO
                                : 0;
        }
        if (r < 0)
                return log_error_errno(r, "Failed to write the output: %m"), TPCTL_EXIT_FAILURE;
        return TPCTL_EXIT_SUCCESS;
}
