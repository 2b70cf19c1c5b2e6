/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <dlfcn.h>
#include <stdio.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include "basic/log.h"
#include "tpm2/tpm2-context-internal.h"
#include "tpm2/tpm2-tcti-guard.h"
#include "tpm2/tpm2-util.h"

struct Tpm2Context {
        char *tcti_string;
        TSS2_TCTI_CONTEXT *tcti;
        bool own_tcti;          /* loaded by us through tctildr */
        TSS2_TCTI_CONTEXT *guard; /* what ESYS talks to: checks every response against its header */
        ESYS_CONTEXT *esys;

        /* Transient objects and sessions handed out and not yet flushed. */
        ESYS_TR *tracked;
        size_t n_tracked, n_allocated;
};

static int context_init_esys(Tpm2Context *c) {
        TSS2_RC rc;
        int r;

        r = tpm2_tcti_guard_new(c->tcti, &c->guard);
        if (r < 0)
                return r;

        rc = Esys_Initialize(&c->esys, c->guard, NULL);
        if (rc != TSS2_RC_SUCCESS) {
                c->esys = NULL;
                return log_debug_errno(tss2_rc_to_errno(rc), "Failed to initialize ESYS context: %m");
        }
        return 0;
}

/* tctildr dlopen()s the TCTI library by its short name on every context (first "NAME" itself along the
 * whole library path, which fails, then "libtss2-tcti-NAME.so.0") and dlclose()s it with the context, so
 * a process that opens one context per unseal (the token plugin inside libcryptsetup, the unlock helper)
 * paid a failed path search and a full load and relocation of the library every time: about a sixth of an
 * unseal's CPU time. The library is therefore held for the process's lifetime (RTLD_NODELETE) and handed
 * to tctildr by its file name, which makes both dlopen()s a reference count. Only for plain names
 * (a-z, 0-9, '-'), which tctildr would have turned into the same file name; anything else, or a library
 * that does not load, goes to tctildr unchanged. Returns NULL then, or on OOM. */
static char *tcti_by_library(const char *tcti) {
        size_t n = strcspn(tcti, ":");
        char lib[64], *s = NULL;
        void *h;

        if (n == 0 || n > 32 || strspn(tcti, "abcdefghijklmnopqrstuvwxyz0123456789-") < n)
                return NULL;
        (void) snprintf(lib, sizeof(lib), "libtss2-tcti-%.*s.so.0", (int) n, tcti);

        h = dlopen(lib, RTLD_NOW | RTLD_NODELETE);
        if (!h)
                return NULL;
        (void) dlclose(h);

        if (asprintf(&s, "%s%s", lib, tcti + n) < 0)
                return NULL;
        return s;
}

int tpm2_context_new(const char *tcti, Tpm2Context **ret) {
        _cleanup_(tpm2_context_freep) Tpm2Context *c = NULL;
        TSS2_RC rc;
        int r;

        assert(ret);

        if (!tcti)
                tcti = secure_getenv("TRUSTED_PLATFORM_TCTI");
        if (isempty(tcti))
                tcti = DEFAULT_TCTI;

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->tcti_string = strdup(tcti);
        if (!c->tcti_string)
                return -ENOMEM;

        _cleanup_free_ char *by_library = tcti_by_library(tcti);
        rc = Tss2_TctiLdr_Initialize(by_library ?: tcti, &c->tcti);
        if (rc != TSS2_RC_SUCCESS) {
                c->tcti = NULL;
                (void) tss2_rc_to_errno(rc); /* for the decoded text in the debug log */
                return log_debug_errno(ENODEV, "Failed to open TCTI '%s'.", tcti);
        }
        c->own_tcti = true;

        r = context_init_esys(c);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(c);
        return 0;
}

int tpm2_context_new_from_tcti(TSS2_TCTI_CONTEXT *tcti, Tpm2Context **ret) {
        _cleanup_(tpm2_context_freep) Tpm2Context *c = NULL;
        int r;

        assert(tcti);
        assert(ret);

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->tcti_string = strdup("(external)");
        if (!c->tcti_string)
                return -ENOMEM;
        c->tcti = tcti;

        r = context_init_esys(c);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(c);
        return 0;
}

Tpm2Context *tpm2_context_free(Tpm2Context *c) {
        if (!c)
                return NULL;

        if (c->esys) {
                for (size_t i = 0; i < c->n_tracked; i++) {
                        TSS2_RC rc = Esys_FlushContext(c->esys, c->tracked[i]);
                        if (rc != TSS2_RC_SUCCESS)
                                log_debug("Failed to flush leftover TPM handle: %s", Tss2_RC_Decode(rc));
                }
                Esys_Finalize(&c->esys);
        }
        free(c->tracked);
        tpm2_tcti_guard_free(c->guard);

        if (c->own_tcti)
                Tss2_TctiLdr_Finalize(&c->tcti);

        free(c->tcti_string);
        free(c);
        return NULL;
}

ESYS_CONTEXT *tpm2_context_esys(Tpm2Context *c) {
        assert(c);
        return c->esys;
}

const char *tpm2_context_tcti(Tpm2Context *c) {
        assert(c);
        return c->tcti_string;
}

int tpm2_context_track(Tpm2Context *c, ESYS_TR handle) {
        assert(c);

        if (handle == ESYS_TR_NONE)
                return 0;

        if (c->n_tracked >= c->n_allocated) {
                size_t n = MAX(c->n_allocated * 2, (size_t) 4);
                ESYS_TR *t = reallocarray(c->tracked, n, sizeof(ESYS_TR));
                if (!t)
                        return -ENOMEM;
                c->tracked = t;
                c->n_allocated = n;
        }
        c->tracked[c->n_tracked++] = handle;
        return 0;
}

void tpm2_context_untrack(Tpm2Context *c, ESYS_TR handle) {
        assert(c);

        for (size_t i = 0; i < c->n_tracked; i++)
                if (c->tracked[i] == handle) {
                        c->tracked[i] = c->tracked[--c->n_tracked];
                        return;
                }
}
