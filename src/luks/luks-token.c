/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdarg.h>
#include <stdio.h>

#include "basic/hexdecoct.h"
#include "basic/log.h"
#include "basic/string-util.h"
#include "luks/luks-token.h"
#include "shared/json-util.h"
#include "tpm2/tpm2-pcr.h"
#include "tpm2/tpm2-srk.h"

static int refuse(char *reason, size_t size, int r, const char *format, ...) _printf_(4, 5);
static int refuse(char *reason, size_t size, int r, const char *format, ...) {
        va_list ap;

        if (reason && size > 0) {
                va_start(ap, format);
                vsnprintf(reason, size, format, ap);
                va_end(ap);
        }
        return r;
}

LuksToken *luks_token_free(LuksToken *t) {
        if (!t)
                return NULL;
        tpm2_sealed_blob_free(t->blob);
        free(t->tcti);
        free(t);
        return NULL;
}

/* A TPM name in hex: nameAlg (sha256, sha384, sha512) and its digest. */
static int parse_name(const char *hex, TPM2B_NAME *ret) {
        _cleanup_free_ void *bin = NULL;
        const uint8_t *b;
        size_t n;

        if (unhexmem(hex, SIZE_MAX, &bin, &n) < 0 || n < 2 || n > sizeof(ret->name))
                return -EBADMSG;
        b = bin;
        switch ((b[0] << 8) | b[1]) {
        case TPM2_ALG_SHA256:
                if (n != 2 + 32)
                        return -EBADMSG;
                break;
        case TPM2_ALG_SHA384:
                if (n != 2 + 48)
                        return -EBADMSG;
                break;
        case TPM2_ALG_SHA512:
                if (n != 2 + 64)
                        return -EBADMSG;
                break;
        default:
                return -EBADMSG;
        }
        ret->size = (UINT16) n;
        memcpy(ret->name, bin, n);
        return 0;
}

static bool all_digits(const char *s) {
        return s[0] != 0 && strspn(s, "0123456789") == strlen(s);
}

bool luks_token_tcti_is_safe(const char *tcti) {
        const char *p, *conf;

        if (!tcti || !string_is_safe(tcti, LUKS_TOKEN_TCTI_MAX))
                return false;

        /* A TPM character device, nothing else: the device TCTI writes commands to whatever it opens. */
        p = startswith(tcti, "device:");
        if (p) {
                const char *n = startswith(p, "/dev/tpmrm") ?: startswith(p, "/dev/tpm");
                return n && all_digits(n);
        }

        /* The simulator and resource-manager TCTIs by module name, never a library name or path (the
         * TCTI loader would dlopen() it) and never a TCTI that writes files (pcap) or runs commands. */
        conf = strchr(tcti, ':');
        if (!conf) {
                return streq(tcti, "swtpm") || streq(tcti, "mssim") || streq(tcti, "tabrmd");
        }
        if (!(startswith(tcti, "swtpm:") || startswith(tcti, "mssim:") || startswith(tcti, "tabrmd:")))
                return false;
        return strspn(conf + 1, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789=,._/-") ==
                strlen(conf + 1);
}

static const char *string_field(json_t *o, const char *key) {
        json_t *v = json_object_get(o, key);
        return json_is_string(v) ? json_string_value(v) : NULL;
}

int luks_token_parse(const char *json, size_t size, LuksToken **ret, char *reason, size_t reason_size) {
        _cleanup_(luks_token_freep) LuksToken *t = NULL;
        _cleanup_(json_decrefp) json_t *o = NULL;
        _cleanup_free_ void *blob = NULL;
        const char *s;
        size_t blob_size, i;
        uint32_t slot, mask = 0;
        json_t *v, *e;
        int r;

        assert(json || size == 0);
        assert(ret);

        if (size > LUKS_TOKEN_SIZE_MAX)
                return refuse(reason, reason_size, -E2BIG, "token larger than %u bytes", LUKS_TOKEN_SIZE_MAX);
        r = json_parse_strict(json, size, &o);
        if (r == -ENOMEM)
                return r;
        if (r < 0 || !json_is_object(o))
                return refuse(reason, reason_size, -EBADMSG, "token is not a JSON object");

        s = string_field(o, "type");
        if (!s || !streq(s, LUKS_TOKEN_TYPE))
                return refuse(reason, reason_size, -EINVAL, "token type is not \"%s\"", LUKS_TOKEN_TYPE);

        v = json_object_get(o, "tp-version");
        if (!json_is_integer(v))
                return refuse(reason, reason_size, -EBADMSG, "tp-version is missing or not a number");
        if (json_integer_value(v) != LUKS_TOKEN_VERSION)
                return refuse(reason, reason_size, -EPROTONOSUPPORT,
                              "token version %lld is not supported (%d is)",
                              (long long) json_integer_value(v), LUKS_TOKEN_VERSION);

        t = calloc(1, sizeof(LuksToken));
        if (!t)
                return -ENOMEM;

        v = json_object_get(o, "keyslots");
        if (!json_is_array(v) || json_array_size(v) != 1)
                return refuse(reason, reason_size, -EINVAL, "keyslots must list exactly one keyslot");
        s = json_string_value(json_array_get(v, 0));
        if (!s || safe_atou32(s, &slot) < 0 || slot >= LUKS_TOKEN_KEYSLOTS_MAX || (s[0] == '0' && s[1]))
                return refuse(reason, reason_size, -EINVAL, "keyslot is not a number 0..%u",
                              LUKS_TOKEN_KEYSLOTS_MAX - 1);
        t->keyslot = (int) slot;

        s = string_field(o, "tp-blob");
        if (!s || unbase64mem(s, SIZE_MAX, &blob, &blob_size) < 0)
                return refuse(reason, reason_size, -EBADMSG, "tp-blob is missing or not base64");
        r = tpm2_sealed_blob_parse(blob, blob_size, &t->blob);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return refuse(reason, reason_size, -EBADMSG, "tp-blob is not a sealed blob of ours");

        s = string_field(o, "tp-srk");
        if (!s || parse_name(s, &t->srk_name) < 0)
                return refuse(reason, reason_size, -EBADMSG, "tp-srk is missing or not a TPM name in hex");

        v = json_object_get(o, "tp-pin");
        if (!json_is_boolean(v))
                return refuse(reason, reason_size, -EBADMSG, "tp-pin is missing or not true/false");
        if (json_is_true(v) != t->blob->has_pin)
                return refuse(reason, reason_size, -EBADMSG, "tp-pin says %s, the sealed blob %s",
                              json_is_true(v) ? "a PIN is needed" : "no PIN",
                              t->blob->has_pin ? "needs one" : "does not");

        if (t->blob->authorize) {
                TPM2B_NAME key_name, claimed;

                if (json_object_get(o, "tp-pcr-bank") || json_object_get(o, "tp-pcrs"))
                        return refuse(reason, reason_size, -EBADMSG,
                                      "tp-pcr-bank/tp-pcrs given for a blob sealed to an authorizing key");
                s = string_field(o, "tp-authorize-key");
                if (!s || parse_name(s, &claimed) < 0)
                        return refuse(reason, reason_size, -EBADMSG,
                                      "tp-authorize-key is missing or not a TPM name");
                if (tpm2_public_name(&t->blob->authorize_key, &key_name) < 0 ||
                    key_name.size != claimed.size || memcmp(key_name.name, claimed.name, key_name.size) != 0)
                        return refuse(reason, reason_size, -EBADMSG,
                                      "tp-authorize-key is not the key the blob was sealed to");
        } else {
                const char *bank_name = tpm2_hash_alg_to_string(t->blob->bank);
                json_int_t last = -1;

                if (json_object_get(o, "tp-authorize-key"))
                        return refuse(reason, reason_size, -EBADMSG,
                                      "tp-authorize-key given for a PCR-sealed blob");
                s = string_field(o, "tp-pcr-bank");
                if (!s || !bank_name || !streq(s, bank_name))
                        return refuse(reason, reason_size, -EBADMSG,
                                      "tp-pcr-bank is not the blob's bank (%s)", bank_name ?: "?");
                v = json_object_get(o, "tp-pcrs");
                if (!json_is_array(v) || json_array_size(v) > TPM2_PCRS_MAX)
                        return refuse(reason, reason_size, -EBADMSG,
                                      "tp-pcrs is missing or not a list of PCRs");
                json_array_foreach(v, i, e) {
                        json_int_t x = json_is_integer(e) ? json_integer_value(e) : -1;

                        if (x < 0 || x >= (json_int_t) TPM2_PCRS_MAX || x <= last)
                                return refuse(reason, reason_size, -EBADMSG,
                                              "tp-pcrs entry %zu is not an ascending PCR index 0..%u", i,
                                              TPM2_PCRS_MAX - 1);
                        mask |= UINT32_C(1) << x;
                        last = x;
                }
                if (mask != t->blob->pcr_mask)
                        return refuse(reason, reason_size, -EBADMSG,
                                      "tp-pcrs does not list the PCRs the blob was sealed to");
        }

        v = json_object_get(o, "tp-tcti");
        if (v) {
                s = json_string_value(v);
                if (!s || !luks_token_tcti_is_safe(s))
                        return refuse(reason, reason_size, -EBADMSG,
                                      "tp-tcti is not a TPM device (device:/dev/tpmrmN) or a swtpm, mssim or "
                                      "tabrmd TCTI");
                t->tcti = strdup(s);
                if (!t->tcti)
                        return -ENOMEM;
        }

        *ret = TAKE_PTR(t);
        return 0;
}

int luks_token_format(int keyslot, const Tpm2SealedBlob *blob, const TPM2B_NAME *srk_name, const char *tcti,
                      char **ret) {
        _cleanup_(json_decrefp) json_t *o = NULL;
        _cleanup_free_ uint8_t *wire = NULL;
        _cleanup_free_ char *b64 = NULL, *srk_hex = NULL;
        size_t wire_size;
        char slot[16];
        char *text;
        int r;

        assert(blob);
        assert(srk_name);
        assert(ret);

        if (keyslot < 0 || keyslot >= (int) LUKS_TOKEN_KEYSLOTS_MAX ||
            (tcti && !luks_token_tcti_is_safe(tcti)))
                return -EINVAL;
        r = tpm2_sealed_blob_serialize(blob, &wire, &wire_size);
        if (r < 0)
                return r;
        if (base64mem(wire, wire_size, &b64) < 0 || hexmem(srk_name->name, srk_name->size, &srk_hex) < 0)
                return -ENOMEM;
        snprintf(slot, sizeof(slot), "%d", keyslot);

        o = json_pack("{s:s, s:[s], s:i, s:s, s:b, s:s}", "type", LUKS_TOKEN_TYPE, "keyslots", slot,
                      "tp-version", LUKS_TOKEN_VERSION, "tp-blob", b64, "tp-pin", blob->has_pin, "tp-srk",
                      srk_hex);
        if (!o)
                return -ENOMEM;
        if (blob->authorize) {
                _cleanup_free_ char *key_hex = NULL;
                TPM2B_NAME key_name;

                r = tpm2_public_name(&blob->authorize_key, &key_name);
                if (r < 0)
                        return r;
                if (hexmem(key_name.name, key_name.size, &key_hex) < 0 ||
                    json_object_set_new(o, "tp-authorize-key", json_string(key_hex)) < 0)
                        return -ENOMEM;
        } else {
                json_t *pcrs = json_array();

                if (!pcrs || json_object_set_new(o, "tp-pcrs", pcrs) < 0 ||
                    json_object_set_new(o, "tp-pcr-bank", json_string(tpm2_hash_alg_to_string(blob->bank))) < 0)
                        return -ENOMEM;
                for (unsigned i = 0; i < TPM2_PCRS_MAX; i++)
                        if ((blob->pcr_mask & (UINT32_C(1) << i)) &&
                            json_array_append_new(pcrs, json_integer(i)) < 0)
                                return -ENOMEM;
        }
        if (tcti && json_object_set_new(o, "tp-tcti", json_string(tcti)) < 0)
                return -ENOMEM;

        text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
        if (!text)
                return -ENOMEM;
        *ret = text;
        return 0;
}

int luks_token_describe(const LuksToken *t, char **ret) {
        _cleanup_free_ char *pcrs = NULL, *srk = NULL, *text = NULL;

        assert(t);
        assert(ret);

        if (hexmem(t->srk_name.name, t->srk_name.size, &srk) < 0)
                return -ENOMEM;
        if (t->blob->authorize) {
                _cleanup_free_ char *key = NULL;
                TPM2B_NAME n;

                if (tpm2_public_name(&t->blob->authorize_key, &n) < 0 || hexmem(n.name, n.size, &key) < 0)
                        return -ENOMEM;
                if (asprintf(&pcrs, "signed policy, key %s", key) < 0)
                        return -ENOMEM;
        } else {
                pcrs = strdup(tpm2_hash_alg_to_string(t->blob->bank) ?: "?");
                if (!pcrs)
                        return -ENOMEM;
                for (unsigned i = 0; i < TPM2_PCRS_MAX; i++)
                        if (t->blob->pcr_mask & (UINT32_C(1) << i)) {
                                char n[8];
                                snprintf(n, sizeof(n), " %u", i);
                                if (!strextend(&pcrs, n))
                                        return -ENOMEM;
                        }
        }
        if (asprintf(&text, "\tTPM policy: %s\n\tPIN:        %s\n\tSRK:        %s\n\tTCTI:       %s\n", pcrs,
                     t->blob->has_pin ? "yes" : "no", srk, t->tcti ?: "(default)") < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(text);
        return 0;
}
