/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* tpctl ca ocsp SERIAL|CERTFILE [--url=URL]: asks an OCSP responder (RFC 6960) about a certificate of
 * the daemon's CA, the way a relying party would. The certificate (by serial, or from a file), the
 * intermediate and the root come from the daemon over D-Bus; the request carries a nonce and goes to
 * --url or the certificate's own AIA OCSP URL by HTTP POST (libcurl). The answer counts only when the
 * response verifies: its signer chains to the root, is the intermediate or a certificate the
 * intermediate delegated OCSP signing to, the nonce came back and the response is current. */

#include <ctype.h>
#include <curl/curl.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>

#include "basic/fileio.h"
#include "basic/log.h"
#include "basic/string-util.h"
#include "shared/openssl-util.h"
#include "tpctl/tpctl-output.h"
#include "tpctl/tpctl-util.h"
#include "tpctl/tpctl.h"

#define OCSP_RESPONSE_MAX (64U * 1024U)
#define OCSP_CERT_FILE_MAX (64U * 1024U)
#define OCSP_TIMEOUT_SEC 10L
#define OCSP_CLOCK_SKEW_SEC 300L
#define OCSP_URL_MAX 2048U
#define SERIAL_HEX 32U

DEFINE_TRIVIAL_CLEANUP_FUNC(OCSP_REQUEST *, OCSP_REQUEST_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(OCSP_RESPONSE *, OCSP_RESPONSE_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(OCSP_BASICRESP *, OCSP_BASICRESP_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(OCSP_CERTID *, OCSP_CERTID_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(CURL *, curl_easy_cleanup);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct curl_slist *, curl_slist_free_all);

static void sk_X509_pop_freep(STACK_OF(X509) * *s) {
        if (*s)
                sk_X509_pop_free(*s, X509_free);
}

static int pem_to_x509(const char *pem, size_t size, X509 **ret) {
        _cleanup_(BIO_free_allp) BIO *b = NULL;
        X509 *x;

        b = BIO_new_mem_buf(pem, (int) size);
        if (!b)
                return -ENOMEM;
        x = PEM_read_bio_X509(b, NULL, NULL, NULL);
        if (!x) {
                /* Not PEM: DER. */
                const unsigned char *p = (const unsigned char *) pem;
                x = d2i_X509(NULL, &p, (long) size);
                if (!x || p != (const unsigned char *) pem + size) {
                        X509_free(x);
                        return -EBADMSG;
                }
        }
        *ret = x;
        return 0;
}

static int get_cert(sd_bus *bus, const char *which, X509 **ret) {
        _cleanup_free_ char *pem = NULL;
        int r;

        r = tpctl_ca_get_certificate(bus, which, &pem);
        if (r != 0)
                return r;
        if (pem_to_x509(pem, strlen(pem), ret) < 0) {
                log_error("The daemon sent an unreadable certificate for %s.", which);
                return TPCTL_EXIT_FAILURE;
        }
        return 0;
}

typedef struct Buffer {
        uint8_t *data;
        size_t size;
        bool too_big;
} Buffer;

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata) {
        Buffer *b = userdata;
        size_t n = size * nmemb;
        uint8_t *p;

        if (n > OCSP_RESPONSE_MAX || b->size + n > OCSP_RESPONSE_MAX) {
                b->too_big = true;
                return 0; /* aborts the transfer */
        }
        p = realloc(b->data, b->size + n);
        if (!p)
                return 0;
        memcpy(p + b->size, ptr, n);
        b->data = p;
        b->size += n;
        return n;
}

/* POSTs der to url and returns the response body, at most OCSP_RESPONSE_MAX bytes. */
static int http_post(const char *url, const unsigned char *der, size_t size, uint8_t **ret, size_t *ret_size) {
        _cleanup_(curl_slist_free_allp) struct curl_slist *headers = NULL;
        _cleanup_(curl_easy_cleanupp) CURL *c = NULL;
        Buffer b = {};
        long code = 0;
        CURLcode e;

        c = curl_easy_init();
        if (!c)
                return log_oom();
        headers = curl_slist_append(NULL, "Content-Type: application/ocsp-request");
        if (!headers)
                return log_oom();

        if (curl_easy_setopt(c, CURLOPT_URL, url) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_POSTFIELDS, der) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long) size) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_TIMEOUT, OCSP_TIMEOUT_SEC) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_WRITEDATA, &b) != CURLE_OK)
                return log_error_errno(-EINVAL, "Failed to set up the HTTP request.");

        e = curl_easy_perform(c);
        if (e != CURLE_OK) {
                free(b.data);
                if (b.too_big)
                        return log_error_errno(-E2BIG, "The OCSP response from %s is larger than %u bytes.",
                                               url, OCSP_RESPONSE_MAX);
                return log_error_errno(-EIO, "Failed to query %s: %s", url, curl_easy_strerror(e));
        }
        (void) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        if (code != 200) {
                free(b.data);
                return log_error_errno(-EIO, "%s answered with HTTP status %ld.", url, code);
        }

        *ret = b.data;
        *ret_size = b.size;
        return 0;
}

/* The serial as the daemon writes it: 32 upper-case hexadecimal digits for our 128-bit serials. */
static int serial_to_hex(X509 *cert, char **ret) {
        _cleanup_(BN_freep) BIGNUM *bn = NULL;
        _cleanup_(OPENSSL_freep) char *hex = NULL;
        char *s;
        size_t n;

        bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
        if (!bn)
                return -EBADMSG;
        hex = BN_bn2hex(bn);
        if (!hex)
                return -ENOMEM;
        n = strlen(hex);
        if (n >= SERIAL_HEX || hex[0] == '-')
                s = strdup(hex);
        else if (asprintf(&s, "%0*d%s", (int) (SERIAL_HEX - n), 0, hex) < 0)
                s = NULL;
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

static int asn1_time_to_usec(const ASN1_GENERALIZEDTIME *t, json_int_t *ret) {
        struct tm tm;
        time_t s;

        if (!t) {
                *ret = 0;
                return 0;
        }
        if (ASN1_TIME_to_tm(t, &tm) != 1)
                return -EBADMSG;
        s = timegm(&tm);
        if (s < 0)
                return -EBADMSG;
        *ret = (json_int_t) s * 1000000;
        return 0;
}

int verb_ca_ocsp(int argc, char *argv[]) {
        _cleanup_(sk_X509_pop_freep) STACK_OF(X509) *untrusted = NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(X509_STORE_freep) X509_STORE *store = NULL;
        _cleanup_(OCSP_BASICRESP_freep) OCSP_BASICRESP *basic = NULL;
        _cleanup_(OCSP_RESPONSE_freep) OCSP_RESPONSE *resp = NULL;
        _cleanup_(OCSP_REQUEST_freep) OCSP_REQUEST *req = NULL;
        _cleanup_(OCSP_CERTID_freep) OCSP_CERTID *id = NULL;
        _cleanup_(X509_freep) X509 *cert = NULL, *inter = NULL, *root = NULL;
        _cleanup_(OPENSSL_freep) unsigned char *der = NULL;
        _cleanup_free_ uint8_t *body = NULL;
        _cleanup_free_ char *file = NULL, *url = NULL, *revoked_text = NULL, *serial = NULL;
        _cleanup_(json_decrefp) json_t *o = NULL;
        ASN1_GENERALIZEDTIME *revoked_at = NULL, *this_update = NULL, *next_update = NULL;
        json_int_t revoked_usec = 0, this_usec = 0, next_usec = 0;
        const unsigned char *p;
        const char *what = argv[0], *status_str, *reason_str = "";
        size_t body_size = 0, file_size;
        int der_size, status, reason = -1, r;

        if (arg_url &&
            (strlen(arg_url) > OCSP_URL_MAX ||
             !(startswith(arg_url, "http://") || startswith(arg_url, "https://")))) {
                log_error("Invalid --url=%s: expected an http:// or https:// URL.", arg_url);
                return TPCTL_EXIT_USAGE;
        }

        r = tpctl_bus_open(&bus);
        if (r != 0)
                return r;

        if (strlen(what) == SERIAL_HEX && strspn(what, "0123456789abcdefABCDEF") == SERIAL_HEX) {
                /* With --url the serial suffices (the responder answers "unknown" for one we never
                 * issued); without, the certificate is fetched for its AIA OCSP URL. */
                if (!arg_url) {
                        r = get_cert(bus, what, &cert);
                        if (r != 0)
                                return r;
                }
        } else {
                r = read_full_file(what, OCSP_CERT_FILE_MAX, &file, &file_size);
                if (r < 0) {
                        log_error_errno(r,
                                        "Failed to read %s (neither a serial of %u hexadecimal digits nor a "
                                        "certificate file): %m",
                                        what, SERIAL_HEX);
                        return TPCTL_EXIT_FAILURE;
                }
                if (pem_to_x509(file, file_size, &cert) < 0) {
                        log_error("%s is not a certificate (PEM or DER).", what);
                        return TPCTL_EXIT_FAILURE;
                }
        }
        r = get_cert(bus, "intermediate", &inter);
        if (r == 0)
                r = get_cert(bus, "root", &root);
        if (r != 0)
                return r;

        if (arg_url)
                url = strdup(arg_url);
        else {
                STACK_OF(OPENSSL_STRING) *urls = X509_get1_ocsp(cert);

                if (urls && sk_OPENSSL_STRING_num(urls) > 0)
                        url = strdup(sk_OPENSSL_STRING_value(urls, 0));
                else
                        url = strdup("");
                X509_email_free(urls);
                if (url && isempty(url)) {
                        log_error("The certificate names no OCSP responder; give one with --url=URL.");
                        return TPCTL_EXIT_USAGE;
                }
        }
        if (!url)
                return log_oom(), TPCTL_EXIT_FAILURE;

        if (cert) {
                r = serial_to_hex(cert, &serial);
                if (r < 0)
                        return log_error_errno(r, "Failed to read the certificate's serial number: %m"),
                               TPCTL_EXIT_FAILURE;
        } else {
                serial = strdup(what);
                if (!serial)
                        return log_oom(), TPCTL_EXIT_FAILURE;
                for (char *c = serial; *c; c++)
                        *c = (char) toupper((unsigned char) *c);
        }

        /* The request: the certificate's ID under the intermediate, and a nonce. */
        req = OCSP_REQUEST_new();
        if (cert)
                id = OCSP_cert_to_id(EVP_sha1(), cert, inter);
        else {
                _cleanup_(BN_freep) BIGNUM *bn = NULL;
                ASN1_INTEGER *sn = NULL;

                if (BN_hex2bn(&bn, serial) != (int) SERIAL_HEX || !(sn = BN_to_ASN1_INTEGER(bn, NULL)))
                        return log_oom(), TPCTL_EXIT_FAILURE;
                id = OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(inter),
                                      X509_get0_pubkey_bitstr(inter), sn);
                ASN1_INTEGER_free(sn);
        }
        if (!req || !id)
                return log_oom(), TPCTL_EXIT_FAILURE;
        {
                OCSP_CERTID *copy = OCSP_CERTID_dup(id);

                if (!copy || !OCSP_request_add0_id(req, copy)) {
                        OCSP_CERTID_free(copy);
                        return log_oom(), TPCTL_EXIT_FAILURE;
                }
        }
        if (OCSP_request_add1_nonce(req, NULL, -1) != 1)
                return log_oom(), TPCTL_EXIT_FAILURE;
        der_size = i2d_OCSP_REQUEST(req, &der);
        if (der_size <= 0)
                return log_oom(), TPCTL_EXIT_FAILURE;

        r = http_post(url, der, (size_t) der_size, &body, &body_size);
        if (r < 0)
                return TPCTL_EXIT_FAILURE;

        p = body;
        resp = d2i_OCSP_RESPONSE(NULL, &p, (long) body_size);
        if (!resp || p != body + body_size) {
                log_error("%s sent something that is not an OCSP response.", url);
                return TPCTL_EXIT_FAILURE;
        }
        status = OCSP_response_status(resp);
        if (status != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
                log_error("The responder refused the request: %s.", OCSP_response_status_str(status));
                return TPCTL_EXIT_FAILURE;
        }
        basic = OCSP_response_get1_basic(resp);
        if (!basic) {
                log_error("The OCSP response has no basic response.");
                return TPCTL_EXIT_FAILURE;
        }

        /* Only a response signed by the CA or its delegated responder, chaining to our root, counts. */
        store = X509_STORE_new();
        untrusted = sk_X509_new_null();
        if (!store || !untrusted || X509_STORE_add_cert(store, root) != 1 || !sk_X509_push(untrusted, inter))
                return log_oom(), TPCTL_EXIT_FAILURE;
        X509_up_ref(inter);
        if (OCSP_basic_verify(basic, untrusted, store, 0) <= 0) {
                log_error("The OCSP response does not verify against the CA.");
                return TPCTL_EXIT_FAILURE;
        }
        if (OCSP_check_nonce(req, basic) != 1) {
                log_error("The OCSP response does not carry our nonce (replayed?).");
                return TPCTL_EXIT_FAILURE;
        }
        if (OCSP_resp_find_status(basic, id, &status, &reason, &revoked_at, &this_update, &next_update) != 1) {
                log_error("The OCSP response has no status for certificate %s.", serial);
                return TPCTL_EXIT_FAILURE;
        }
        if (OCSP_check_validity(this_update, next_update, OCSP_CLOCK_SKEW_SEC, -1) != 1) {
                log_error("The OCSP response is not current.");
                return TPCTL_EXIT_FAILURE;
        }

        status_str = status == V_OCSP_CERTSTATUS_GOOD ? "good"
                : status == V_OCSP_CERTSTATUS_REVOKED ? "revoked"
                                                      : "unknown";
        if (status == V_OCSP_CERTSTATUS_REVOKED)
                reason_str = reason >= 0 ? OCSP_crl_reason_str(reason) : "unspecified";
        if (asn1_time_to_usec(revoked_at, &revoked_usec) < 0 ||
            asn1_time_to_usec(this_update, &this_usec) < 0 || asn1_time_to_usec(next_update, &next_usec) < 0) {
                log_error("The OCSP response has an unreadable time.");
                return TPCTL_EXIT_FAILURE;
        }

        if (arg_json != JSON_MODE_OFF) {
                o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I}", "Serial", serial, "URL", url, "Status",
                              status_str, "Reason", reason_str, "RevokedAt", revoked_usec, "ThisUpdate",
                              this_usec, "NextUpdate", next_usec);
                if (!o)
                        return log_oom(), TPCTL_EXIT_FAILURE;
                return json_print(stdout, o, arg_json) < 0 ? TPCTL_EXIT_FAILURE : TPCTL_EXIT_SUCCESS;
        }

        printf("%s: %s\n", serial, status_str);
        if (status == V_OCSP_CERTSTATUS_REVOKED) {
                if (revoked_usec > 0 && format_timestamp_usec((uint64_t) revoked_usec, &revoked_text) < 0)
                        return log_oom(), TPCTL_EXIT_FAILURE;
                printf("  Revoked at: %s\n  Reason: %s\n", strna(revoked_text), reason_str);
        }
        if (!arg_quiet)
                printf("  Responder: %s (response verified, nonce matched)\n", url);
        return TPCTL_EXIT_SUCCESS;
}
