/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <string.h>

#include "basic/log.h"
#include "basic/secure-mem.h"
#include "daemon/tpm-call.h"
#include "daemon/tpm-worker.h"
#include "shared/bus-error.h"

TpmCall *tpm_call_free(TpmCall *c) {
        if (!c)
                return NULL;
        sd_bus_message_unref(c->message);
        tpm2_info_free(c->info);
        free(c->random);
        free(c->values);
        free(c->state_dir);
        erase_and_free(c->data);
        erase_and_free(c->pin);
        tpm2_sealed_blob_free(c->blob);
        tpm2_quote_free(c->quote);
        erase_and_free(c->out);
        tpm2_srk_info_done(&c->srk);
        if (c->payload_free)
                c->payload_free(c->payload);
        return mfree(c);
}

int tpm_call_new(Manager *m, sd_bus_message *message, const char *what, TpmCall **ret) {
        TpmCall *c;

        c = calloc(1, sizeof(TpmCall));
        if (!c)
                return -ENOMEM;

        c->manager = m;
        c->message = sd_bus_message_ref(message);
        c->what = what;
        *ret = c;
        return 0;
}

static int tpm_call_run(Tpm2Context *tpm, void *userdata) {
        TpmCall *c = userdata;
        return c->run(tpm, c);
}

static int tpm_call_reply(TpmCall *c, int result) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        if (result == -ECANCELED)
                return tpm_reply_shutting_down(c->message);
        if (result == -ENODEV)
                bus_error_from_errno(&error, result, "No TPM is available at '%s'.", c->manager->tcti);
        else if (result < 0) {
                if (!c->error || c->error(c, result, &error) == 0)
                        bus_error_from_errno(&error, result, "Failed to %s: %s", c->what, strerror(-result));
        }
        if (result < 0)
                return sd_bus_reply_method_error(c->message, &error);

        r = sd_bus_message_new_method_return(c->message, &reply);
        if (r < 0)
                return r;

        r = c->append(c, reply);
        if (r < 0)
                return r;

        return sd_bus_send(NULL, reply, NULL);
}

static void tpm_call_done(int result, void *userdata) {
        _cleanup_(tpm_call_freep) TpmCall *c = userdata;
        int r;

        if (result == -ENODEV)
                result = log_debug_errno(result, "No TPM at '%s': %m", c->manager->tcti);

        r = tpm_call_reply(c, result);
        if (r < 0)
                log_warning_errno(r, "Failed to reply to %s(): %m",
                                  strna(sd_bus_message_get_member(c->message)));
}

int tpm_call_submit(TpmCall *c) {
        int r;

        r = tpm_worker_submit(c->manager->tpm_worker, tpm_call_run, tpm_call_done, c);
        if (r < 0) {
                tpm_call_free(c);
                return r;
        }
        return 1;
}

int tpm_reply_shutting_down(sd_bus_message *message) {
        return sd_bus_reply_method_errorf(message, SD_BUS_ERROR_NO_REPLY, "The service is shutting down.");
}
