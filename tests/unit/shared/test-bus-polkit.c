/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* bus_verify_polkit_async() against a fake polkit authority, on a private dbus-daemon started by the
 * test (a socketpair has no bus names, so polkit could not be addressed nor a sender named).
 *
 * Three connections in one process and one sd-event loop: "pk" owns org.freedesktop.PolicyKit1 and
 * answers CheckAuthorization as the test tells it, "svc" serves a method that asks polkit, "cl" calls
 * that method. When the test runs as root, "cl" connects with euid nobody (seteuid() around connect
 * and authentication), so the bus knows it as an unprivileged caller. */

#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include <cmocka.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <systemd/sd-event.h>

#include "basic/fileio.h"
#include "basic/string-util.h"
#include "shared/bus-polkit.h"
#include "../basic/tmpdir-util.h"

#define TEST_ACTION "org.trustedplatform.test.do"
#define NOBODY_UID 65534

typedef enum PkMode {
        PK_ALLOW,
        PK_DENY,
        PK_CHALLENGE, /* challenge unless AllowUserInteraction was set; then allow (the user authenticated) */
        PK_HOLD,      /* keep the call, answer later through pk_release() */
        PK_ERROR,     /* answer with a D-Bus error */
} PkMode;

static struct {
        char *dir;
        pid_t daemon_pid;
        char *address;

        sd_event *event;
        sd_bus *pk, *svc, *cl;
        const char *cl_name;

        /* fake polkit */
        PkMode mode;
        unsigned pk_calls;
        char *subject_kind, *subject_name, *action, *detail_arg;
        unsigned subject_keys;
        uint32_t flags;
        sd_bus_message *held;

        /* service */
        PolkitRegistry *registry;
        unsigned handler_calls, side_effects;

        /* client */
        bool replied;
        char *reply_error;
} t;

static int method_check_authorization(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        const char *kind, *action, *key;
        int r;

        t.pk_calls++;

        r = sd_bus_message_enter_container(m, 'r', "sa{sv}");
        assert_true(r >= 0);
        assert_true(sd_bus_message_read(m, "s", &kind) >= 0);
        free(t.subject_kind);
        t.subject_kind = strdup(kind);
        t.subject_keys = 0;
        assert_true(sd_bus_message_enter_container(m, 'a', "{sv}") >= 0);
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                assert_true(sd_bus_message_read(m, "s", &key) >= 0);
                t.subject_keys++;
                if (streq(key, "name")) {
                        const char *name;
                        assert_true(sd_bus_message_read(m, "v", "s", &name) >= 0);
                        free(t.subject_name);
                        t.subject_name = strdup(name);
                } else
                        assert_true(sd_bus_message_skip(m, "v") >= 0);
                assert_true(sd_bus_message_exit_container(m) >= 0);
        }
        assert_true(r >= 0);
        assert_true(sd_bus_message_exit_container(m) >= 0);
        assert_true(sd_bus_message_exit_container(m) >= 0);

        assert_true(sd_bus_message_read(m, "s", &action) >= 0);
        free(t.action);
        t.action = strdup(action);

        assert_true(sd_bus_message_enter_container(m, 'a', "{ss}") >= 0);
        while ((r = sd_bus_message_enter_container(m, 'e', "ss")) > 0) {
                const char *k, *v;
                assert_true(sd_bus_message_read(m, "ss", &k, &v) >= 0);
                if (streq(k, "arg")) {
                        free(t.detail_arg);
                        t.detail_arg = strdup(v);
                }
                assert_true(sd_bus_message_exit_container(m) >= 0);
        }
        assert_true(sd_bus_message_exit_container(m) >= 0);
        assert_true(sd_bus_message_read(m, "u", &t.flags) >= 0);

        switch (t.mode) {
        case PK_ALLOW:
                return sd_bus_reply_method_return(m, "(bba{ss})", 1, 0, 0);
        case PK_DENY:
                return sd_bus_reply_method_return(m, "(bba{ss})", 0, 0, 0);
        case PK_CHALLENGE:
                if (t.flags & 1)
                        return sd_bus_reply_method_return(m, "(bba{ss})", 1, 0, 0);
                return sd_bus_reply_method_return(m, "(bba{ss})", 0, 1, 0);
        case PK_HOLD:
                t.held = sd_bus_message_ref(m);
                return 1;
        case PK_ERROR:
        default:
                return sd_bus_error_set(error, "org.freedesktop.PolicyKit1.Error.Failed", "Broken");
        }
}

static const sd_bus_vtable pk_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD("CheckAuthorization", "(sa{sv})sa{ss}us", "(bba{ss})", method_check_authorization, 0),
        SD_BUS_VTABLE_END,
};

static int method_do(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        const char *arg;
        int r;

        t.handler_calls++;

        assert_true(sd_bus_message_read(m, "s", &arg) >= 0);
        r = bus_verify_polkit_async(m, TEST_ACTION, (const char *[]) { "arg", arg, NULL }, &t.registry, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;

        t.side_effects++;
        return sd_bus_reply_method_return(m, "s", "done");
}

static const sd_bus_vtable svc_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD("Do", "s", "s", method_do, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

static int bus_connect(sd_bus **ret) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *b = NULL;
        int r;

        r = sd_bus_new(&b);
        if (r < 0)
                return r;
        r = sd_bus_set_address(b, t.address);
        if (r < 0)
                return r;
        r = sd_bus_set_bus_client(b, true);
        if (r < 0)
                return r;
        r = sd_bus_start(b);
        if (r < 0)
                return r;
        /* A round trip: authentication and Hello are done when it returns. */
        r = sd_bus_call_method(b, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "GetId",
                               NULL, NULL, NULL);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(b);
        return 0;
}

static int start_dbus_daemon(void) {
        _cleanup_free_ char *conf = NULL, *conf_path = NULL, *sock = NULL;
        char buf[512];
        int pipefd[2];
        ssize_t n;
        size_t got = 0;

        if (!strextend(&sock, t.dir, "/bus.sock") || !strextend(&conf_path, t.dir, "/bus.conf"))
                return -ENOMEM;
        if (!strextend(&conf,
                       "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
                       " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
                       "<busconfig>\n"
                       "  <listen>unix:path=", sock, "</listen>\n"
                       "  <auth>EXTERNAL</auth>\n"
                       "  <policy context=\"default\">\n"
                       "    <allow user=\"*\"/>\n"
                       "    <allow own=\"*\"/>\n"
                       "    <allow send_destination=\"*\"/>\n"
                       "    <allow receive_sender=\"*\"/>\n"
                       "  </policy>\n"
                       "</busconfig>\n"))
                return -ENOMEM;
        if (write_file_atomic(conf_path, conf, strlen(conf), 0644) < 0)
                return -EIO;

        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return -errno;

        t.daemon_pid = fork();
        if (t.daemon_pid < 0)
                return -errno;
        if (t.daemon_pid == 0) {
                char arg_conf[4096], arg_fd[64];

                snprintf(arg_conf, sizeof(arg_conf), "--config-file=%s", conf_path);
                if (pipefd[1] == 3) {
                        if (fcntl(3, F_SETFD, 0) < 0)
                                _exit(127);
                } else if (dup2(pipefd[1], 3) < 0)
                        _exit(127);
                snprintf(arg_fd, sizeof(arg_fd), "--print-address=3");
                execlp("dbus-daemon", "dbus-daemon", "--nofork", "--nopidfile", arg_conf, arg_fd, (char *) NULL);
                _exit(127);
        }
        close(pipefd[1]);

        /* The daemon prints its address once it listens: no sleeping, no polling. */
        while (got < sizeof(buf) - 1 && (n = read(pipefd[0], buf + got, sizeof(buf) - 1 - got)) > 0) {
                got += (size_t) n;
                if (memchr(buf, '\n', got))
                        break;
        }
        close(pipefd[0]);
        buf[got] = 0;
        if (!strchr(buf, '\n')) {
                print_error("dbus-daemon did not start\n");
                return -EIO;
        }
        *strchr(buf, '\n') = 0;
        t.address = strdup(buf);
        return t.address ? 0 : -ENOMEM;
}

static int setup(void **state) {
        uid_t euid = geteuid();
        int r;

        memset(&t, 0, sizeof(t));
        t.dir = test_mkdtemp();
        if (!t.dir)
                return -1;
        /* The unprivileged client must reach the socket. */
        if (chmod(t.dir, 0755) < 0)
                return -1;
        r = start_dbus_daemon();
        if (r < 0)
                return -1;

        assert_int_equal(sd_event_new(&t.event), 0);

        assert_int_equal(bus_connect(&t.pk), 0);
        assert_true(sd_bus_request_name(t.pk, "org.freedesktop.PolicyKit1", 0) >= 0);
        assert_true(sd_bus_add_object_vtable(t.pk, NULL, "/org/freedesktop/PolicyKit1/Authority",
                                             "org.freedesktop.PolicyKit1.Authority", pk_vtable, NULL) >= 0);

        assert_int_equal(bus_connect(&t.svc), 0);
        assert_true(sd_bus_add_object_vtable(t.svc, NULL, "/test", "org.trustedplatform.Test", svc_vtable, NULL) >= 0);

        if (euid == 0)
                assert_int_equal(seteuid(NOBODY_UID), 0);
        r = bus_connect(&t.cl);
        if (euid == 0)
                assert_int_equal(seteuid(0), 0);
        assert_int_equal(r, 0);
        assert_int_equal(sd_bus_get_unique_name(t.cl, &t.cl_name), 0);

        assert_true(sd_bus_attach_event(t.pk, t.event, 0) >= 0);
        assert_true(sd_bus_attach_event(t.svc, t.event, 0) >= 0);
        assert_true(sd_bus_attach_event(t.cl, t.event, 0) >= 0);
        return 0;
}

static int teardown(void **state) {
        t.held = sd_bus_message_unref(t.held);
        t.registry = polkit_registry_free(t.registry);
        t.cl = sd_bus_flush_close_unref(t.cl);
        t.svc = sd_bus_flush_close_unref(t.svc);
        t.pk = sd_bus_flush_close_unref(t.pk);
        t.event = sd_event_unref(t.event);
        if (t.daemon_pid > 0) {
                (void) kill(t.daemon_pid, SIGTERM);
                (void) waitpid(t.daemon_pid, NULL, 0);
        }
        test_rmdtemp(t.dir);
        free(t.address);
        free(t.subject_kind);
        free(t.subject_name);
        free(t.action);
        free(t.detail_arg);
        free(t.reply_error);
        return 0;
}

static int on_reply(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        const sd_bus_error *e = sd_bus_message_get_error(m);

        t.replied = true;
        if (e)
                t.reply_error = strdup(e->name);
        return 0;
}

/* Runs the loop until pred() holds; the loop only sleeps while waiting for bus traffic. */
static void run_until(bool (*pred)(void)) {
        for (unsigned i = 0; i < 10000 && !pred(); i++)
                assert_true(sd_event_run(t.event, 5 * 1000 * 1000) > 0);
        assert_true(pred());
}

static bool replied(void) {
        return t.replied;
}
static bool pk_called(void) {
        return t.pk_calls > 0 && t.held;
}

/* Makes sure everything pk sent has reached svc and was dispatched, without sleeping: a round trip
 * pk -> daemon means the daemon has routed pk's earlier messages; then a round trip svc -> daemon
 * means they are in svc's read queue (sd-bus keeps them while waiting), and the loop dispatches them. */
static void flush_pk_to_svc(void) {
        assert_true(sd_bus_call_method(t.pk, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                       "GetId", NULL, NULL, NULL) >= 0);
        assert_true(sd_bus_call_method(t.svc, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus", "GetId", NULL, NULL, NULL) >= 0);
        for (unsigned i = 0; i < 100; i++)
                if (sd_event_run(t.event, 0) <= 0)
                        break;
}

static void call_do(sd_bus *from, const char *arg, bool interactive) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        const char *svc_name;

        assert_int_equal(sd_bus_get_unique_name(t.svc, &svc_name), 0);
        assert_true(sd_bus_message_new_method_call(from, &m, svc_name, "/test", "org.trustedplatform.Test", "Do") >= 0);
        assert_true(sd_bus_message_append(m, "s", arg) >= 0);
        assert_true(sd_bus_message_set_allow_interactive_authorization(m, interactive) >= 0);
        assert_true(sd_bus_call_async(from, NULL, m, on_reply, NULL, 0) >= 0);
}

static void test_allowed(void **state) {
        t.mode = PK_ALLOW;
        call_do(t.cl, "hello", false);
        run_until(replied);

        assert_null(t.reply_error);
        assert_int_equal(t.side_effects, 1);
        /* First call asked polkit, the re-dispatched one collected the verdict. */
        assert_int_equal(t.handler_calls, 2);
        assert_int_equal(t.pk_calls, 1);
        assert_string_equal(t.action, TEST_ACTION);
        assert_string_equal(t.detail_arg, "hello");
        assert_int_equal(t.flags, 0);
        assert_int_equal(polkit_registry_size(t.registry), 0);
}

/* ATTACKS.md b-8 (CVE-2013-4288, CVE-2019-6133): the subject is the caller's unique bus name only. */
static void test_subject_is_bus_name(void **state) {
        t.mode = PK_ALLOW;
        call_do(t.cl, "x", false);
        run_until(replied);

        assert_string_equal(t.subject_kind, "system-bus-name");
        assert_int_equal(t.subject_keys, 1);
        assert_string_equal(t.subject_name, t.cl_name);
}

static void test_denied(void **state) {
        t.mode = PK_DENY;
        call_do(t.cl, "x", false);
        run_until(replied);

        assert_non_null(t.reply_error);
        assert_string_equal(t.reply_error, SD_BUS_ERROR_ACCESS_DENIED);
        assert_int_equal(t.side_effects, 0);
        assert_int_equal(polkit_registry_size(t.registry), 0);
}

static void test_polkit_error_denies(void **state) {
        t.mode = PK_ERROR;
        call_do(t.cl, "x", false);
        run_until(replied);

        assert_non_null(t.reply_error);
        assert_string_equal(t.reply_error, SD_BUS_ERROR_ACCESS_DENIED);
        assert_int_equal(t.side_effects, 0);
}

static void test_challenge_without_interactive(void **state) {
        t.mode = PK_CHALLENGE;
        call_do(t.cl, "x", false);
        run_until(replied);

        assert_int_equal(t.flags, 0);
        assert_non_null(t.reply_error);
        assert_string_equal(t.reply_error, SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED);
        assert_int_equal(t.side_effects, 0);
}

static void test_challenge_with_interactive(void **state) {
        t.mode = PK_CHALLENGE;
        call_do(t.cl, "x", true);
        run_until(replied);

        /* AllowUserInteraction was passed on, and the (fake) user authenticated. */
        assert_int_equal(t.flags, 1);
        assert_null(t.reply_error);
        assert_int_equal(t.side_effects, 1);
}

/* CVE-2020-1712: the registry (the service's object) goes away while polkit is still thinking. The
 * late answer must be dropped without touching freed memory (ASan in the sanitizer build) and the
 * action must never run. */
static void test_registry_freed_while_pending(void **state) {
        t.mode = PK_HOLD;
        call_do(t.cl, "x", false);
        run_until(pk_called);

        assert_int_equal(polkit_registry_size(t.registry), 1);
        t.registry = polkit_registry_free(t.registry);

        /* Now polkit says yes. */
        assert_true(sd_bus_reply_method_return(t.held, "(bba{ss})", 1, 0, 0) >= 0);
        t.held = sd_bus_message_unref(t.held);

        flush_pk_to_svc();

        assert_int_equal(t.handler_calls, 1);
        assert_int_equal(t.side_effects, 0);
        assert_false(t.replied);
}

/* The caller disconnects while polkit is thinking; then the registry is freed and polkit answers. */
static void test_caller_disconnects_while_pending(void **state) {
        t.mode = PK_HOLD;
        call_do(t.cl, "x", false);
        run_until(pk_called);

        t.cl = sd_bus_flush_close_unref(t.cl);
        assert_true(sd_bus_reply_method_return(t.held, "(bba{ss})", 0, 0, 0) >= 0);
        t.held = sd_bus_message_unref(t.held);
        flush_pk_to_svc();

        /* Denied, and the reply to the vanished caller went nowhere. */
        assert_int_equal(t.side_effects, 0);
        assert_int_equal(polkit_registry_size(t.registry), 0);
}

/* Root is authorized without asking polkit (when the test runs as root, which CI does). */
static void test_root_skips_polkit(void **state) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *own = NULL;

        t.mode = PK_DENY;
        assert_int_equal(bus_connect(&own), 0);
        assert_true(sd_bus_attach_event(own, t.event, 0) >= 0);
        call_do(own, "x", false);
        run_until(replied);

        if (geteuid() == 0) {
                assert_null(t.reply_error);
                assert_int_equal(t.side_effects, 1);
                assert_int_equal(t.pk_calls, 0);
        } else {
                print_message("# not root: checking that an unprivileged uid is sent to polkit instead\n");
                assert_non_null(t.reply_error);
                assert_int_equal(t.pk_calls, 1);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_allowed, setup, teardown),
                cmocka_unit_test_setup_teardown(test_subject_is_bus_name, setup, teardown),
                cmocka_unit_test_setup_teardown(test_denied, setup, teardown),
                cmocka_unit_test_setup_teardown(test_polkit_error_denies, setup, teardown),
                cmocka_unit_test_setup_teardown(test_challenge_without_interactive, setup, teardown),
                cmocka_unit_test_setup_teardown(test_challenge_with_interactive, setup, teardown),
                cmocka_unit_test_setup_teardown(test_registry_freed_while_pending, setup, teardown),
                cmocka_unit_test_setup_teardown(test_caller_disconnects_while_pending, setup, teardown),
                cmocka_unit_test_setup_teardown(test_root_skips_polkit, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
