/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* One call to the daemon's TPM interface that prints the D-Bus error name, which busctl does not show
 * (and dbus-send cannot build a{sv}). Arguments follow busctl's syntax for the types the TPM methods
 * use, except that "ay" is one hex string ("" for empty):
 *
 *   bus-call METHOD SIGNATURE ARGS...    ("zeros:N" as "ay": N zero bytes)
 *     u: a number; s: a string; ay: hex; au: count, numbers; as: count, strings;
 *     a{sv}: count, then key, type (s, u, b, au, ay or a(uay)), value(s); a(sau): count, then bank, count,
 *     numbers; a(uay): count, then index and hex pairs.
 *
 * $TP_BUS_INTERFACE names another interface of the daemon (e.g. ...TrustedPlatform1.CA), $TP_BUS_PATH another
 * object (a Volume). Also i and t (numbers) at the top level and in a{sv}.
 *
 * Prints "ok" and exits 0, or prints "error NAME MESSAGE" and exits 3; 1 for a usage or setup failure. */

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>

#define NAME "org.trustedplatform.TrustedPlatform1"
#define PATH "/org/trustedplatform/TrustedPlatform1"
#define INTERFACE NAME ".TPM"

static char **args;
static int n_args;

static const char *next(void) {
        if (n_args <= 0) {
                fprintf(stderr, "too few arguments\n");
                exit(1);
        }
        n_args--;
        return *args++;
}

static unsigned long next_number(void) {
        return strtoul(next(), NULL, 0);
}

static int append_hex(sd_bus_message *m) {
        const char *h = next();
        bool zeros = strncmp(h, "zeros:", 6) == 0; /* "zeros:N": N zero bytes, too big for argv as hex */
        size_t n = zeros ? strtoul(h + 6, NULL, 10) : strlen(h) / 2;
        unsigned char *b = calloc(1, n + 1);
        int r;

        if (!b)
                return -ENOMEM;
        for (size_t i = 0; !zeros && i < n; i++)
                sscanf(h + 2 * i, "%2hhx", &b[i]);
        r = sd_bus_message_append_array(m, 'y', b, n);
        free(b);
        return r;
}

static int append_au(sd_bus_message *m) {
        unsigned long n = next_number();
        int r;

        r = sd_bus_message_open_container(m, 'a', "u");
        for (unsigned long i = 0; r >= 0 && i < n; i++)
                r = sd_bus_message_append(m, "u", (uint32_t) next_number());
        return r < 0 ? r : sd_bus_message_close_container(m);
}

static int append_auay(sd_bus_message *m) {
        unsigned long n = next_number();
        int r;

        r = sd_bus_message_open_container(m, 'a', "(uay)");
        for (unsigned long i = 0; r >= 0 && i < n; i++) {
                r = sd_bus_message_open_container(m, 'r', "uay");
                if (r >= 0)
                        r = sd_bus_message_append(m, "u", (uint32_t) next_number());
                if (r >= 0)
                        r = append_hex(m);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
        }
        return r < 0 ? r : sd_bus_message_close_container(m);
}

static int append_asv(sd_bus_message *m) {
        unsigned long n = next_number();
        int r;

        r = sd_bus_message_open_container(m, 'a', "{sv}");
        for (unsigned long i = 0; r >= 0 && i < n; i++) {
                const char *key = next(), *type = next();

                r = sd_bus_message_open_container(m, 'e', "sv");
                if (r >= 0)
                        r = sd_bus_message_append(m, "s", key);
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'v', type);
                if (r < 0)
                        return r;
                if (strcmp(type, "s") == 0)
                        r = sd_bus_message_append(m, "s", next());
                else if (strcmp(type, "u") == 0)
                        r = sd_bus_message_append(m, "u", (uint32_t) next_number());
                else if (strcmp(type, "i") == 0)
                        r = sd_bus_message_append(m, "i", (int32_t) strtol(next(), NULL, 0));
                else if (strcmp(type, "t") == 0)
                        r = sd_bus_message_append(m, "t", (uint64_t) strtoull(next(), NULL, 0));
                else if (strcmp(type, "b") == 0)
                        r = sd_bus_message_append(m, "b", (int) next_number());
                else if (strcmp(type, "au") == 0)
                        r = append_au(m);
                else if (strcmp(type, "ay") == 0)
                        r = append_hex(m);
                else if (strcmp(type, "a(uay)") == 0)
                        r = append_auay(m);
                else {
                        fprintf(stderr, "unsupported variant type %s\n", type);
                        exit(1);
                }
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
        }
        return r < 0 ? r : sd_bus_message_close_container(m);
}

static int append_asau(sd_bus_message *m) {
        unsigned long n = next_number();
        int r;

        r = sd_bus_message_open_container(m, 'a', "(sau)");
        for (unsigned long i = 0; r >= 0 && i < n; i++) {
                r = sd_bus_message_open_container(m, 'r', "sau");
                if (r >= 0)
                        r = sd_bus_message_append(m, "s", next());
                if (r >= 0)
                        r = append_au(m);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
        }
        return r < 0 ? r : sd_bus_message_close_container(m);
}

int main(int argc, char *argv[]) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *m = NULL, *reply = NULL;
        sd_bus *bus = NULL;
        const char *sig;
        int r;

        if (argc < 3) {
                fprintf(stderr, "usage: bus-call METHOD SIGNATURE ARGS...\n");
                return 1;
        }
        sig = argv[2];
        args = argv + 3;
        n_args = argc - 3;

        r = sd_bus_open_system(&bus);
        if (r >= 0)
                r = sd_bus_message_new_method_call(bus, &m, NAME, getenv("TP_BUS_PATH") ?: PATH,
                                                   getenv("TP_BUS_INTERFACE") ?: INTERFACE, argv[1]);
        while (r >= 0 && *sig) {
                if (strncmp(sig, "a{sv}", 5) == 0) {
                        r = append_asv(m);
                        sig += 5;
                } else if (strncmp(sig, "a(sau)", 6) == 0) {
                        r = append_asau(m);
                        sig += 6;
                } else if (strncmp(sig, "ay", 2) == 0) {
                        r = append_hex(m);
                        sig += 2;
                } else if (strncmp(sig, "as", 2) == 0) {
                        unsigned long n = next_number();

                        r = sd_bus_message_open_container(m, 'a', "s");
                        for (unsigned long i = 0; r >= 0 && i < n; i++)
                                r = sd_bus_message_append(m, "s", next());
                        if (r >= 0)
                                r = sd_bus_message_close_container(m);
                        sig += 2;
                } else if (strncmp(sig, "au", 2) == 0) {
                        r = append_au(m);
                        sig += 2;
                } else if (*sig == 'u') {
                        r = sd_bus_message_append(m, "u", (uint32_t) next_number());
                        sig++;
                } else if (*sig == 'i') {
                        r = sd_bus_message_append(m, "i", (int32_t) strtol(next(), NULL, 0));
                        sig++;
                } else if (*sig == 's') {
                        r = sd_bus_message_append(m, "s", next());
                        sig++;
                } else {
                        fprintf(stderr, "unsupported signature at %s\n", sig);
                        return 1;
                }
        }
        if (r < 0) {
                fprintf(stderr, "setup failed: %s\n", strerror(-r));
                sd_bus_message_unref(m);
                sd_bus_flush_close_unref(bus);
                return 1;
        }

        r = sd_bus_call(bus, m, 60 * 1000000ULL, &error, &reply);
        if (r < 0)
                printf("error %s %s\n", error.name ? error.name : "-", error.message ? error.message : "");
        else
                printf("ok\n");

        /* Everything freed: the sanitizer build's leak check runs on this helper too. */
        sd_bus_error_free(&error);
        sd_bus_message_unref(reply);
        sd_bus_message_unref(m);
        sd_bus_flush_close_unref(bus);
        return r < 0 ? 3 : 0;
}
