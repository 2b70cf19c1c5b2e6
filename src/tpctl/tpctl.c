/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* tpctl: the command-line client of trusted-platformd. This file parses the global options and
 * dispatches to the verbs; the verbs live in tpctl-status.c and tpctl-tpm.c. */

#include <getopt.h>
#include <locale.h>
#include <stdio.h>

#include "basic/log.h"
#include "basic/string-util.h"
#include "tpctl/tpctl-util.h"
#include "tpctl/tpctl.h"

JsonMode arg_json = JSON_MODE_OFF;
bool arg_pager = true;
bool arg_legend = true;
bool arg_quiet = false;
bool arg_hex = false;
const char *arg_bank = NULL;
const char *arg_pcrs = NULL;
bool arg_pin = false;
bool arg_accept_risk = false;
bool arg_force = false;
bool arg_recovery_key = false;
const char *arg_label = NULL;
const char *arg_nonce = NULL;
const char *arg_authorize_key = NULL;
const char *arg_expected_pcrs = NULL;
const char *arg_signed_policy = NULL;
const char *arg_key = NULL;
const char *arg_pcr_values = NULL;
const char *arg_append_to = NULL;
const char *arg_out_dir = NULL;
const char *arg_alg = NULL;
bool arg_persist = false;
const char *arg_cert_out = NULL;
const char *arg_public_out = NULL;
bool arg_reset = false;
const char *arg_offset = NULL;
const char *arg_size = NULL;
const char *arg_certificate = NULL;
const char *arg_ek_public = NULL;
const char *arg_ak_name = NULL;
const char *arg_ek = NULL;
bool arg_compare_tpm = false;
const char *arg_eventlog = NULL;
const char *arg_quote = NULL;
const char *arg_profile = NULL;
const char *arg_validity_days = NULL;
const char *arg_reason = NULL;
const char *arg_url = NULL;
const char *arg_purpose = NULL;
const char *arg_key_in = NULL;
const char *arg_passphrase_file = NULL;
const char *arg_tpm_manufacturer = NULL;
const char *arg_tpm_model = NULL;
const char *arg_tpm_version = NULL;
bool arg_verbose = false;
static bool arg_help = false;

/* Options that only some verbs accept; a verb lists them in its "options" mask. 64 bits: the next free bit
 * is the one after the last below. */
typedef uint64_t VerbOptionMask;
#define VERB_OPT_BIT(n) (UINT64_C(1) << (n))
#define VERB_OPT_HEX VERB_OPT_BIT(0)
#define VERB_OPT_BANK VERB_OPT_BIT(1)
#define VERB_OPT_PCRS VERB_OPT_BIT(2)
#define VERB_OPT_PIN VERB_OPT_BIT(3)
#define VERB_OPT_NONCE VERB_OPT_BIT(4)
#define VERB_OPT_OUT_DIR VERB_OPT_BIT(5)
#define VERB_OPT_ALG VERB_OPT_BIT(6)
#define VERB_OPT_PERSIST VERB_OPT_BIT(7)
#define VERB_OPT_CERT_OUT VERB_OPT_BIT(8)
#define VERB_OPT_PUBLIC_OUT VERB_OPT_BIT(9)
#define VERB_OPT_RESET VERB_OPT_BIT(10)
#define VERB_OPT_OFFSET VERB_OPT_BIT(11)
#define VERB_OPT_SIZE VERB_OPT_BIT(12)
#define VERB_OPT_AUTHORIZE_KEY VERB_OPT_BIT(13)
#define VERB_OPT_EXPECTED_PCRS VERB_OPT_BIT(14)
#define VERB_OPT_SIGNED_POLICY VERB_OPT_BIT(15)
#define VERB_OPT_KEY VERB_OPT_BIT(16)
#define VERB_OPT_PCR_VALUES VERB_OPT_BIT(17)
#define VERB_OPT_APPEND_TO VERB_OPT_BIT(18)
#define VERB_OPT_CERTIFICATE VERB_OPT_BIT(19)
#define VERB_OPT_EK_PUBLIC VERB_OPT_BIT(20)
#define VERB_OPT_AK_NAME VERB_OPT_BIT(21)
#define VERB_OPT_EK VERB_OPT_BIT(22)
#define VERB_OPT_COMPARE_TPM VERB_OPT_BIT(23)
#define VERB_OPT_EVENTLOG VERB_OPT_BIT(24)
#define VERB_OPT_QUOTE VERB_OPT_BIT(25)
#define VERB_OPT_PROFILE VERB_OPT_BIT(26)
#define VERB_OPT_VALIDITY_DAYS VERB_OPT_BIT(27)
#define VERB_OPT_REASON VERB_OPT_BIT(28)
#define VERB_OPT_PURPOSE VERB_OPT_BIT(29)
#define VERB_OPT_URL VERB_OPT_BIT(30)
#define VERB_OPT_KEY_IN VERB_OPT_BIT(31)
#define VERB_OPT_TPM_MANUFACTURER VERB_OPT_BIT(32)
#define VERB_OPT_TPM_MODEL VERB_OPT_BIT(33)
#define VERB_OPT_TPM_VERSION VERB_OPT_BIT(34)
#define VERB_OPT_PASSPHRASE_FILE VERB_OPT_BIT(35)
#define VERB_OPT_ACCEPT_RISK VERB_OPT_BIT(36)
#define VERB_OPT_VERBOSE VERB_OPT_BIT(37)
#define VERB_OPT_FORCE VERB_OPT_BIT(38)
#define VERB_OPT_RECOVERY_KEY VERB_OPT_BIT(39)
#define VERB_OPT_LABEL VERB_OPT_BIT(40)
#define VERB_OPT_TPM_INFO (VERB_OPT_TPM_MANUFACTURER | VERB_OPT_TPM_MODEL | VERB_OPT_TPM_VERSION)

/* The verb options: one row each. A flag sets its bool, an option with a value
 * (never empty) its string. Which verbs accept one comes from the verbs' masks, also in the error. */
typedef struct VerbOption {
        VerbOptionMask bit; /* one VERB_OPT_* */
        const char *name;
        bool *flag;
        const char **value;
} VerbOption;

static const VerbOption verb_options[] = {
        { VERB_OPT_HEX, "hex", &arg_hex, NULL },
        { VERB_OPT_BANK, "bank", NULL, &arg_bank },
        { VERB_OPT_PCRS, "pcrs", NULL, &arg_pcrs },
        { VERB_OPT_PIN, "pin", &arg_pin, NULL },
        { VERB_OPT_NONCE, "nonce", NULL, &arg_nonce },
        { VERB_OPT_OUT_DIR, "out-dir", NULL, &arg_out_dir },
        { VERB_OPT_ALG, "alg", NULL, &arg_alg },
        { VERB_OPT_PERSIST, "persist", &arg_persist, NULL },
        { VERB_OPT_CERT_OUT, "cert-out", NULL, &arg_cert_out },
        { VERB_OPT_PUBLIC_OUT, "public-out", NULL, &arg_public_out },
        { VERB_OPT_RESET, "reset", &arg_reset, NULL },
        { VERB_OPT_OFFSET, "offset", NULL, &arg_offset },
        { VERB_OPT_SIZE, "size", NULL, &arg_size },
        { VERB_OPT_AUTHORIZE_KEY, "authorize-key", NULL, &arg_authorize_key },
        { VERB_OPT_EXPECTED_PCRS, "expected-pcrs", NULL, &arg_expected_pcrs },
        { VERB_OPT_SIGNED_POLICY, "signed-policy", NULL, &arg_signed_policy },
        { VERB_OPT_KEY, "key", NULL, &arg_key },
        { VERB_OPT_PCR_VALUES, "pcr-values", NULL, &arg_pcr_values },
        { VERB_OPT_APPEND_TO, "append-to", NULL, &arg_append_to },
        { VERB_OPT_CERTIFICATE, "certificate", NULL, &arg_certificate },
        { VERB_OPT_EK_PUBLIC, "ek-public", NULL, &arg_ek_public },
        { VERB_OPT_AK_NAME, "ak-name", NULL, &arg_ak_name },
        { VERB_OPT_EK, "ek", NULL, &arg_ek },
        { VERB_OPT_COMPARE_TPM, "compare-tpm", &arg_compare_tpm, NULL },
        { VERB_OPT_EVENTLOG, "eventlog", NULL, &arg_eventlog },
        { VERB_OPT_QUOTE, "quote", NULL, &arg_quote },
        { VERB_OPT_PROFILE, "profile", NULL, &arg_profile },
        { VERB_OPT_VALIDITY_DAYS, "validity-days", NULL, &arg_validity_days },
        { VERB_OPT_REASON, "reason", NULL, &arg_reason },
        { VERB_OPT_URL, "url", NULL, &arg_url },
        { VERB_OPT_PURPOSE, "purpose", NULL, &arg_purpose },
        { VERB_OPT_KEY_IN, "key-in", NULL, &arg_key_in },
        { VERB_OPT_TPM_MANUFACTURER, "tpm-manufacturer", NULL, &arg_tpm_manufacturer },
        { VERB_OPT_TPM_MODEL, "tpm-model", NULL, &arg_tpm_model },
        { VERB_OPT_TPM_VERSION, "tpm-version", NULL, &arg_tpm_version },
        { VERB_OPT_PASSPHRASE_FILE, "passphrase-file", NULL, &arg_passphrase_file },
        { VERB_OPT_ACCEPT_RISK, "accept-risk", &arg_accept_risk, NULL },
        { VERB_OPT_VERBOSE, "verbose", &arg_verbose, NULL },
        { VERB_OPT_FORCE, "force", &arg_force, NULL },
        { VERB_OPT_RECOVERY_KEY, "recovery-key", &arg_recovery_key, NULL },
        { VERB_OPT_LABEL, "label", NULL, &arg_label },
};
_Static_assert(ELEMENTSOF(verb_options) <= 8 * sizeof(VerbOptionMask), "more verb options than mask bits");

/* The VERB_OPT_* options given on the command line. */
static VerbOptionMask arg_verb_options = 0;

typedef struct Verb {
        const char *name; /* one to three words: "status", "tpm random", "tpm nv read" */
        unsigned min_args;
        unsigned max_args;
        VerbOptionMask options;
        int (*run)(int argc, char *argv[]);
        const char *usage;   /* after "tpctl [OPTIONS...] " */
        const char *summary; /* one line, for the command list */
        const char *details; /* more text for "tpctl VERB --help", may be NULL */
} Verb;

#define ARGS_ANY UINT32_MAX

#define TPM_INFO_HELP                                                                                  \
        "     --tpm-manufacturer=id:XXXXXXXX   For ak and ek (all three required there, refused\n"     \
        "     --tpm-model=MODEL                elsewhere): the TPM the certificate is about, put in\n" \
        "     --tpm-version=id:XXXX            its subjectAltName (TCG vendor ID as 8 hex digits,\n"   \
        "                                      model as 1 to 64 printable characters, firmware\n"      \
        "                                      version as 2 to 16 hex digits)\n"

static const Verb verbs[] = {
        { "status", 0, 0, 0, verb_status, "status", "Show the trust state of the platform and of its TPM",
          "Shows the daemon version, whether a TPM is present, the trust state and its reasons, the last\n"
          "attestation, Secure Boot, whether the storage root key (SRK) is provisioned and the TPM\n"
          "connection (TCTI). \"tpctl\" without a command runs \"tpctl status\".\n" },
        { "attest", 0, 0, 0, verb_attest, "attest", "Attest the platform now and show the trust state",
          "Asks trusted-platformd to attest the platform against its measured-boot policy now (a fresh\n"
          "quote, the event logs replayed, the policy evaluated) and shows the resulting trust state and\n"
          "the reasons. Exits 0 when the platform is trusted, 1 when it is untrusted or unknown.\n" },
        { "verdict submit", 1, 1, 0, verb_verdict_submit, "verdict submit FILE|-",
          "Submit a verifier's signed verdict (compact JWS)",
          "Hands a remote attestation verdict (a compact JWS, ES256, signed by a key in [Attestation]\n"
          "VerifierKeys=, for this machine's audience, with an expiry) from FILE or standard input (-) to\n"
          "trusted-platformd, which verifies it and folds it into the trust state as [Attestation]\n"
          "RemoteVerdict= says. Shows the resulting trust state, its reasons and when the verdict expires.\n"
          "Exits 0 when the verdict was accepted (whatever it says), 1 with the daemon's reason when it\n"
          "was refused (expired, unknown key, an algorithm other than ES256, another audience, ...).\n" },
        { "verdict show", 0, 0, 0, verb_verdict_show, "verdict show",
          "Show the trust state and when the remote verdict expires",
          "Shows the trust state, its reasons (those of the remote verdict start with \"remote:\") and\n"
          "when the verdict stored by trusted-platformd expires (\"no verdict\" when there is none).\n" },
        { "security", 0, 0, VERB_OPT_VERBOSE, verb_security, "security [-v]",
          "Show the platform security attributes",
          "Shows the security attributes of trusted-platformd (GetSecurityAttributes(), as a desktop\n"
          "shows them): one line per check with its result (pass, fail, unknown, not-applicable), the\n"
          "severity of a failure (critical, high, medium, low) and a summary. -v (--verbose) adds what\n"
          "an administrator can do about it; --json= always includes it. Exits 0 whatever the results.\n" },
        { "tpm info", 0, 0, 0, verb_tpm_info, "tpm info",
          "Show manufacturer, firmware, algorithms, PCR banks, lockout",
          "Shows the TPM manufacturer, vendor string and firmware version, the specification level,\n"
          "revision and date, the supported algorithms, the PCR banks and count, and the dictionary\n"
          "attack lockout state (counter, maximum failures, interval and recovery time).\n" },
        { "tpm random", 1, 1, VERB_OPT_HEX, verb_tpm_random, "tpm random N [--hex]",
          "Get N random bytes (1-4096) from the TPM",
          "Writes the raw bytes to standard output when it is not a terminal (e.g. a pipe or a file),\n"
          "and lowercase hex followed by a newline when it is a terminal.\n\n"
          "     --hex                Print hex even when standard output is not a terminal\n" },
        { "tpm pcrs", 0, ARGS_ANY, VERB_OPT_BANK, verb_tpm_pcrs, "tpm pcrs [--bank=BANK] [PCR...]",
          "Show PCR values (all 24 when none are given)",
          "PCR arguments are indexes 0-23, ranges like 0-7, or comma-separated lists like 0,2,4-7.\n"
          "The table has the columns INDEX, BANK and DIGEST (lowercase hex).\n\n"
          "     --bank=BANK          PCR bank to read: sha1, sha256, sha384, ... (default: sha256)\n" },
        { "tpm provision", 0, 0, 0, verb_tpm_provision, "tpm provision",
          "Create or adopt the storage root key (SRK)",
          "Creates the SRK at the persistent handle 0x81000001 with the TCG template (ECC P-256 when\n"
          "the TPM supports it, else RSA 2048), or adopts the one that is there. Needs the polkit\n"
          "authorization org.trustedplatform.tpm.provision (administrator by default): run as root or\n"
          "through a polkit authentication agent.\n" },
        { "tpm seal", 0, 2,
          VERB_OPT_BANK | VERB_OPT_PCRS | VERB_OPT_PIN | VERB_OPT_AUTHORIZE_KEY | VERB_OPT_EXPECTED_PCRS,
          verb_tpm_seal,
          "tpm seal [--pcrs=LIST] [--bank=BANK] [--expected-pcrs=FILE | --authorize-key=PUB] [--pin] [IN [OUT]]",
          "Seal a secret to this TPM and the current PCR values",
          "Reads the secret (1 byte to 1 MiB) from IN or standard input (\"-\") and writes the sealed\n"
          "blob to OUT (mode 0600) or standard output. Unsealing works only on this TPM and while the\n"
          "PCRs have the values they have now. PCRs 16 and 23 are refused: anyone can reset them.\n"
          "Needs the polkit authorization org.trustedplatform.tpm.seal (allowed in an active local\n"
          "session, administrator otherwise).\n\n"
          "     --pcrs=LIST          PCRs to seal to, like 0,2,7 or 0-7 (default: 7)\n"
          "     --bank=BANK          PCR bank: sha1, sha256, ... (default: sha256)\n"
          "     --expected-pcrs=FILE Seal to these values instead of the current ones: \"bank:index=hex\"\n"
          "                          items of one bank (e.g. \"sha256:7=ab12...\"), the PCRs sealed to\n"
          "     --authorize-key=PUB  Seal to a signing key (public key, PEM or DER; RSA 2048-4096 or\n"
          "                          ECC P-256) instead of PCR values: unsealing then needs a PCR\n"
          "                          policy signed by its private key (\"tpm sign-policy\"), which\n"
          "                          a new signature renews after an update changed the PCRs\n"
          "     --pin                Also require a PIN: read from $TPCTL_PIN, else asked on the\n"
          "                          terminal. Wrong PINs count towards the TPM's lockout; with\n"
          "                          --authorize-key= no signed policy can do without it\n" },
        { "tpm sign-policy", 0, 1,
          VERB_OPT_BANK | VERB_OPT_PCRS | VERB_OPT_KEY | VERB_OPT_PCR_VALUES | VERB_OPT_APPEND_TO,
          verb_tpm_sign_policy,
          "tpm sign-policy --key=PRIV [--bank=BANK] [--pcrs=LIST] [--pcr-values=FILE] [--append-to=OLD] [OUT]",
          "Sign a PCR policy for secrets sealed with --authorize-key=",
          "Signs the PCR policy over the PCRs' values with the private key (in tpctl, no daemon\n"
          "privilege) and writes the signed-policy file (JSON) to OUT or standard output. The values\n"
          "are the current ones, read from trusted-platformd, or those of --pcr-values=. PCRs 16 and\n"
          "23 are refused.\n\n"
          "     --key=PRIV           Unencrypted private key, PEM or DER (e.g. from openssl genpkey)\n"
          "     --bank=BANK          PCR bank (default: sha256)\n"
          "     --pcrs=LIST          PCRs to sign, like 0,2,7 (default: 7, or all of the bank's in\n"
          "                          --pcr-values=)\n"
          "     --pcr-values=FILE    Sign these values: \"bank:index=hex\" items, e.g. the values an\n"
          "                          update will produce\n"
          "     --append-to=OLD      Keep the entries of the signed-policy file OLD (old and new values\n"
          "                          side by side while an update rolls out; at most 16)\n" },
        { "tpm unseal", 0, 2, VERB_OPT_PIN | VERB_OPT_SIGNED_POLICY, verb_tpm_unseal,
          "tpm unseal [--pin] [--signed-policy=FILE] [IN [OUT]]", "Unseal a secret sealed with \"tpm seal\"",
          "Reads the sealed blob from IN or standard input and writes the secret to OUT (mode 0600)\n"
          "or standard output. Fails (exit status 1) with the daemon's reason when a PCR changed,\n"
          "the PIN is wrong (saying how many tries are left) or the TPM is in lockout. Needs the\n"
          "polkit authorization org.trustedplatform.tpm.unseal.\n\n"
          "     --pin                The blob needs a PIN: read from $TPCTL_PIN, else asked on the\n"
          "                          terminal\n"
          "     --signed-policy=FILE The blob is sealed to a signing key: the signed-policy file from\n"
          "                          \"tpm sign-policy\"; the entry matching the current PCRs is used\n" },
        { "tpm quote", 0, 0, VERB_OPT_NONCE | VERB_OPT_PCRS | VERB_OPT_BANK | VERB_OPT_OUT_DIR,
          verb_tpm_quote, "tpm quote --nonce=HEX [--pcrs=LIST] [--bank=BANK] [--out-dir=DIR]",
          "Have the TPM sign PCR values with the attestation key",
          "Asks trusted-platformd for a quote over the PCRs with the daemon's attestation key\n"
          "\"default\" and writes attest.bin, signature.bin, pcrs.json and ak.pub into DIR. Creating\n"
          "the key on first use needs org.trustedplatform.tpm.manage-keys (administrator).\n\n"
          "     --nonce=HEX          The verifier's fresh challenge, 16 to 64 bytes\n"
          "     --pcrs=LIST          PCRs to quote, like 0,2,7 or 0-7 (default: 0-7)\n"
          "     --bank=BANK          PCR bank (default: sha256)\n"
          "     --out-dir=DIR        Where to write the files (default: the current directory)\n" },
        { "tpm verify-quote", 1, 1, VERB_OPT_NONCE, verb_tpm_verify_quote,
          "tpm verify-quote --nonce=HEX DIR", "Verify a quote written by \"tpm quote\", without a TPM",
          "Checks the quote in DIR against the nonce: structure, magic, type, nonce, PCR selection,\n"
          "the PCR digest over pcrs.json's values and the signature with ak.pub. Prints each check;\n"
          "exit status 1 and the reason when one fails. Needs neither the daemon nor a TPM.\n\n"
          "     --nonce=HEX          The nonce the quote must carry\n" },
        { "tpm extend", 1, 2, VERB_OPT_BANK, verb_tpm_extend, "tpm extend [--bank=BANK] PCR [IN]",
          "Measure data into a PCR",
          "Extends PCR (0-23) of BANK with the bank's hash of the data read from IN or standard\n"
          "input. Secrets sealed to that PCR cannot be unsealed until the next boot. Needs the\n"
          "polkit authorization org.trustedplatform.tpm.extend (administrator by default).\n\n"
          "     --bank=BANK          PCR bank (default: sha256)\n" },
        { "tpm ek", 0, 0, VERB_OPT_ALG | VERB_OPT_PERSIST | VERB_OPT_CERT_OUT | VERB_OPT_CERTIFICATE,
          verb_tpm_ek, "tpm ek [--alg=rsa|ecc] [--certificate=FILE] [--persist] [--cert-out=FILE]",
          "Show the endorsement key and check its certificate",
          "Recreates the endorsement key (EK) from the TCG template, reads its certificate from the\n"
          "TPM's NV memory and shows the certificate's subject, issuer, serial and validity, whether\n"
          "the certificate is for this EK, and whether its chain verifies against the manufacturer\n"
          "certificates in [Endorsement] CertificateDirectory= (never fetched from the network).\n"
          "Reading is open to everyone; --persist needs org.trustedplatform.tpm.manage-keys.\n\n"
          "     --alg=rsa|ecc        The EK: RSA 2048 or ECC P-256 (default: rsa)\n"
          "     --certificate=FILE   Check this EK certificate (PEM or DER) instead of the one in NV,\n"
          "                          for TPMs that come without one\n"
          "     --persist            Make the EK persistent at 0x81010001 (rsa) or 0x81010002 (ecc)\n"
          "     --cert-out=FILE      Write the EK certificate (DER) to FILE\n" },
        { "tpm ak", 1, 2, VERB_OPT_ALG | VERB_OPT_PUBLIC_OUT, verb_tpm_ak, "tpm ak create|show|list [NAME]",
          "Create, show or list attestation keys",
          "  create NAME [--alg=ecc|rsa]      Create a restricted signing key under the EK and store it\n"
          "                                   in the state directory (needs\n"
          "                                   org.trustedplatform.tpm.manage-keys); refused when NAME\n"
          "                                   exists\n"
          "  show NAME [--public-out=FILE]    Show the key's algorithm and TPM name; write its public\n"
          "                                   key (PEM) to FILE\n"
          "  list                             List the stored attestation keys\n\n"
          "Names are 1 to 64 characters of A-Z, a-z, 0-9, '_' and '-'. \"tpm quote\" signs with the\n"
          "key \"default\".\n\n"
          "     --alg=ecc|rsa        ECC P-256 with ECDSA (default) or RSA 2048 with RSASSA\n"
          "     --public-out=FILE    With \"show\": write the public key as PEM to FILE\n" },
        { "tpm lockout", 0, 0, VERB_OPT_RESET, verb_tpm_lockout, "tpm lockout [--reset]",
          "Show (or reset) the dictionary-attack lockout",
          "Shows how many failed authorizations (such as wrong PINs) the TPM has counted, how many it\n"
          "allows before locking out, how long one failure takes to be forgiven, and whether the TPM\n"
          "is in lockout. --reset clears the counter and the lockout with the lockout hierarchy; it\n"
          "needs org.trustedplatform.tpm.manage-lockout (administrator) and fails when the lockout\n"
          "hierarchy has an authorization value.\n\n"
          "     --reset              Reset the lockout first, then show the state\n" },
        { "tpm make-credential", 0, 2, VERB_OPT_EK_PUBLIC | VERB_OPT_AK_NAME, verb_tpm_make_credential,
          "tpm make-credential --ek-public=FILE --ak-name=NAME [IN [OUT]]",
          "Wrap a secret for a TPM's EK and one of its attestation keys (offline)",
          "The verifier's side of the credential challenge, in software: needs neither the daemon nor a\n"
          "TPM. Wraps the secret read from IN or standard input (1 to 32 bytes for a SHA-256 EK) for the\n"
          "endorsement key in FILE (a TPM2B_PUBLIC as tpm2_createek -u writes it, or the decoded Public\n"
          "field of \"tpctl tpm ek --json\"), bound to the attestation key named NAME (hex, as \"tpctl tpm\n"
          "ak show\" prints it, or a file with the name in binary or hex). Writes the credential in the\n"
          "tpm2-tools format (tpm2_activatecredential reads it) to OUT or standard output.\n\n"
          "     --ek-public=FILE     The endorsement key of the TPM to challenge\n"
          "     --ak-name=NAME       The TPM name of its attestation key (hex, or a file)\n" },
        { "tpm activate-credential", 1, 3, VERB_OPT_EK, verb_tpm_activate_credential,
          "tpm activate-credential [--ek=rsa|ecc] AK [IN [OUT]]",
          "Recover the secret of a credential with this TPM's EK and attestation key AK",
          "Reads a credential file (tpctl tpm make-credential, tpm2_makecredential) from IN or standard\n"
          "input and has the TPM recover its secret with the endorsement key and the attestation key\n"
          "AK; the secret goes to OUT (mode 0600) or standard output. Fails when the credential was\n"
          "made for another TPM or another key. Needs org.trustedplatform.tpm.manage-keys.\n\n"
          "     --ek=rsa|ecc         The endorsement key the credential is for (default: rsa)\n" },
        { "tpm nv define", 2, 2, VERB_OPT_PIN, verb_tpm_nv_define, "tpm nv define [--pin] INDEX SIZE",
          "Define an NV index of SIZE bytes",
          "Defines INDEX (0x01a50000 to 0x01a500ff, the range trusted-platformd manages) with SIZE bytes\n"
          "(the TPM's limit is often 2048). Without --pin the index is authorized by the owner; with\n"
          "--pin by the PIN alone, and wrong PINs count towards the TPM's lockout. Needs the polkit\n"
          "authorization org.trustedplatform.tpm.manage-nv (administrator by default).\n\n"
          "     --pin                Protect the index with a PIN: read from $TPCTL_PIN, else asked on\n"
          "                          the terminal\n" },
        { "tpm nv write", 1, 2, VERB_OPT_PIN | VERB_OPT_OFFSET, verb_tpm_nv_write,
          "tpm nv write [--offset=N] [--pin] INDEX [IN]", "Write data into an NV index",
          "Writes the data read from IN or standard input (\"-\") into INDEX at byte N (default 0).\n"
          "Needs org.trustedplatform.tpm.manage-nv.\n\n"
          "     --offset=N           Where to start writing (default: 0)\n"
          "     --pin                The index has a PIN: read from $TPCTL_PIN, else asked on the\n"
          "                          terminal\n" },
        { "tpm nv read", 1, 2, VERB_OPT_PIN | VERB_OPT_OFFSET | VERB_OPT_SIZE, verb_tpm_nv_read,
          "tpm nv read [--offset=N] [--size=N] [--pin] INDEX [OUT]", "Read data from an NV index",
          "Writes the bytes of INDEX from --offset (default 0) for --size bytes (default: up to the\n"
          "end) to OUT (mode 0600) or standard output. With --pin the PIN authorizes the read and no\n"
          "polkit authorization is needed; without, org.trustedplatform.tpm.manage-nv is needed.\n\n"
          "     --offset=N           Where to start reading (default: 0)\n"
          "     --size=N             How many bytes to read (default: up to the end)\n"
          "     --pin                The index has a PIN: read from $TPCTL_PIN, else asked on the\n"
          "                          terminal\n" },
        { "tpm nv undefine", 1, 1, 0, verb_tpm_nv_undefine, "tpm nv undefine INDEX", "Remove an NV index",
          "Removes INDEX and its data with owner authorization, also an index with a PIN. Needs\n"
          "org.trustedplatform.tpm.manage-nv.\n" },
        { "tpm nv list", 0, 0, 0, verb_tpm_nv_list, "tpm nv list", "List the NV indexes of trusted-platformd",
          "Lists the defined indexes of the range 0x01a50000-0x01a500ff with the columns INDEX, SIZE,\n"
          "AUTH (pin, owner, or foreign for an index trusted-platformd did not define and leaves\n"
          "alone), WRITTEN and NAME (the TPM name, hex). Needs no authorization.\n" },
        { "volume list", 0, 0, 0, verb_volume_list, "volume list", "List the LUKS2 volumes the daemon knows",
          "Lists the volumes registered with the daemon (created or enrolled through it) and those of\n"
          "[Volumes] Paths=: the device or image path and the D-Bus object.\n" },
        { "volume status", 1, 1, 0, verb_volume_status, "volume status PATH",
          "Show a volume's keyslots and tokens",
          "Shows the UUID, label, the keyslots with their role (passphrase, tpm2, recovery) and the\n"
          "tokens with their policy. --json=short|pretty prints the structured form.\n" },
        { "volume create", 1, 1,
          VERB_OPT_SIZE | VERB_OPT_ALG | VERB_OPT_PASSPHRASE_FILE | VERB_OPT_FORCE | VERB_OPT_RECOVERY_KEY |
                  VERB_OPT_LABEL,
          verb_volume_create,
          "volume create [--size=BYTES] [--alg=argon2id|pbkdf2[:N]] [--passphrase-file=F] [--label=L]\n"
          "              [--recovery-key] [--force] PATH",
          "Format a block device or image file as LUKS2",
          "Formats PATH (an image file is created with --size=, bytes or with a suffix K, M, G or T for\n"
          "KiB to TiB, at least 32M) as LUKS2 with a passphrase keyslot. A relative PATH is taken from the\n"
          "current directory, as for every volume command. --label= sets the LUKS2 label,\n"
          "--recovery-key also adds a recovery key (shown once), --force formats over an existing\n"
          "file system or partition table signature.\n"
          "--alg= picks the keyslot KDF (default argon2id, benchmarked to 2 s). The passphrase comes from\n"
          "--passphrase-file=, else systemd-ask-password. Needs org.trustedplatform.volume.manage.\n" },
        { "volume enroll", 1, 1,
          VERB_OPT_PCRS | VERB_OPT_ACCEPT_RISK | VERB_OPT_BANK | VERB_OPT_PIN | VERB_OPT_PASSPHRASE_FILE |
                  VERB_OPT_AUTHORIZE_KEY | VERB_OPT_SIGNED_POLICY,
          verb_volume_enroll,
          "volume enroll [--pcrs=LIST] [--accept-risk] [--bank=B] [--authorize-key=PEM --signed-policy=F]\n"
          "              [--pin] [--passphrase-file=F] PATH",
          "Add a TPM-sealed keyslot to a volume",
          "Seals a new random key to the TPM (PCR 7 by default) and adds a keyslot for it, unlocked with\n"
          "the current passphrase or a recovery key; the new keyslot is test-unlocked before success.\n"
          "A --pcrs= set without PCR 4 or 11 is refused unless --accept-risk (any OS signed under a\n"
          "CA in db could unseal it).\n" },
        { "volume unenroll", 2, 2, 0, verb_volume_unenroll, "volume unenroll PATH TOKEN",
          "Remove a TPM token or recovery key and its keyslot",
          "Removes the token TOKEN (its number, as \"tpctl volume status PATH\" lists them under Tokens)\n"
          "and the keyslot it unlocks. The last keyslot that opens the volume is never removed.\n" },
        { "volume reseal", 1, 1,
          VERB_OPT_PCRS | VERB_OPT_ACCEPT_RISK | VERB_OPT_BANK | VERB_OPT_PIN | VERB_OPT_PASSPHRASE_FILE |
                  VERB_OPT_AUTHORIZE_KEY | VERB_OPT_SIGNED_POLICY,
          verb_volume_reseal,
          "volume reseal [--pcrs=LIST] [--accept-risk] [--bank=B] [--authorize-key=PEM --signed-policy=F]\n"
          "              [--pin] [--passphrase-file=F] PATH",
          "Seal the volume's TPM key to the current PCR values",
          "Replaces the TPM token by one sealed to the current PCR values. When the PCRs changed, the\n"
          "old token cannot unseal: give the passphrase with --passphrase-file=.\n" },
        { "volume recovery-key", 1, 1, VERB_OPT_ALG | VERB_OPT_PASSPHRASE_FILE, verb_volume_recovery_key,
          "volume recovery-key [--alg=A] [--passphrase-file=F] PATH", "Add a generated recovery key",
          "Adds a recovery key keyslot and prints the key once.\n" },
        { "volume unlock-test", 1, 1, VERB_OPT_PASSPHRASE_FILE, verb_volume_unlock_test,
          "volume unlock-test [--passphrase-file=F] PATH",
          "Check a passphrase or recovery key against the header, offline",
          "Runs here, without the daemon, and changes nothing: prints the keyslot that opens.\n" },
        { "ca init", 0, 0, 0, verb_ca_init, "ca init", "Create the certificate authority (or adopt it)",
          "Creates the platform's root CA and issuing intermediate CA in trusted-platformd's state\n"
          "directory from [CA] RootSubject=, IntermediateSubject= and KeyType= of the configuration.\n"
          "Idempotent: an existing CA is adopted and never replaced. Needs\n"
          "org.trustedplatform.ca.manage.\n" },
        { "ca issue", 1, 1,
          VERB_OPT_PROFILE | VERB_OPT_ALG | VERB_OPT_OUT_DIR | VERB_OPT_VALIDITY_DAYS | VERB_OPT_KEY_IN |
                  VERB_OPT_TPM_INFO,
          verb_ca_issue, "ca issue [--profile=P] [--alg=A] [--key-in=tpm|daemon|local] [--out-dir=DIR] NAME",
          "Have the CA certify a new key, made in the TPM or here",
          "Makes a key (--alg=ecdsa-p256 (default), ecdsa-p384, rsa-2048, rsa-3072, rsa-4096 or ed25519)\n"
          "and has the daemon issue a certificate with subject CN=NAME (and subjectAltName DNS:NAME for\n"
          "tls-server and device). Writes DIR/NAME.pem (the certificate, then the intermediate) and\n"
          "DIR/NAME.key (mode 0600): with --key-in=local a PKCS#8 PEM key made here, with tpm the\n"
          "TPM-wrapped TSS2 PRIVATE KEY (openssl -provider tpm2), with daemon none when the daemon's\n"
          "key store does not hand keys out (then \"ca sign\" uses the key). Needs\n"
          "org.trustedplatform.ca.issue.\n\n"
          "     --profile=P          tls-server (default), tls-client, code-signing, email, device,\n"
          "                          sub-ca, ocsp-signing, ak, ek (tpm and daemon: not sub-ca,\n"
          "                          ocsp-signing, ak, ek)\n"
          "     --alg=A              The key type\n"
          "     --key-in=WHERE       tpm: made and kept by the daemon in the TPM (refused when its key\n"
          "                          store is not the TPM); daemon: made and kept by the daemon in its\n"
          "                          key store, whichever it is; local: made here. Default: tpm when the\n"
          "                          daemon's store is the TPM and can hold the key type, else local\n"
          "     --out-dir=DIR        Where to write the files (default: the current directory)\n"
          "     --validity-days=N    Validity (default: the profile's)\n" TPM_INFO_HELP },
        { "ca sign-csr", 0, 2, VERB_OPT_PROFILE | VERB_OPT_VALIDITY_DAYS | VERB_OPT_TPM_INFO,
          verb_ca_sign_csr, "ca sign-csr [--profile=P] [CSR [OUT]]", "Issue a certificate for a CSR",
          "Submits the PKCS#10 request in CSR (PEM or DER; default: standard input) and writes the\n"
          "certificate and the intermediate (PEM) to OUT or standard output. The CSR's signature must\n"
          "verify; the profile, not the request, decides the extensions. Needs\n"
          "org.trustedplatform.ca.issue.\n\n"
          "     --profile=P          tls-server (default), tls-client, code-signing, email, device,\n"
          "                          sub-ca, ocsp-signing, ak or ek\n"
          "     --validity-days=N    Validity (default: the profile's)\n" TPM_INFO_HELP },
        { "ca revoke", 1, 1, VERB_OPT_REASON, verb_ca_revoke, "ca revoke [--reason=R] SERIAL",
          "Revoke an issued certificate",
          "Marks the certificate revoked; the next CRL lists it. R is an RFC 5280 reason:\n"
          "unspecified (default), keyCompromise, affiliationChanged, superseded,\n"
          "cessationOfOperation, certificateHold or privilegeWithdrawn. Needs\n"
          "org.trustedplatform.ca.revoke.\n" },
        { "ca list", 0, 0, 0, verb_ca_list, "ca list", "List the issued certificates",
          "Lists every certificate the CA issued with the columns SERIAL, PROFILE, STATUS (valid or\n"
          "revoked), NOT AFTER and SUBJECT. Needs no authorization.\n" },
        { "ca show", 1, 2, 0, verb_ca_show, "ca show root|intermediate|SERIAL [OUT]",
          "Show a CA or issued certificate",
          "Prints the index record of an issued certificate and its PEM, or the PEM of the root or\n"
          "intermediate CA. With OUT, writes only the PEM there. Needs no authorization.\n" },
        { "ca crl", 0, 1, 0, verb_ca_crl, "ca crl [OUT]", "Write a fresh CRL (PEM)",
          "Writes a CRL signed by the intermediate CA, valid for [CA] CRLHours= (24), as PEM to OUT or standard\n"
          "output (openssl verify -crl_check -CRLfile OUT). Needs no authorization.\n" },
        { "ca bundle", 0, 1, 0, verb_ca_bundle, "ca bundle [OUT]", "Write the CA certificates (PEM)",
          "Writes the intermediate and the root CA certificate (PEM) to OUT or standard output.\n" },
        { "ca sign", 2, 3, 0, verb_ca_sign, "ca sign SERIAL FILE [SIG]",
          "Sign a file with a key the daemon keeps for a certificate",
          "Has trusted-platformd sign FILE (at most 16 MiB; \"-\" for standard input) with the key it\n"
          "keeps for the certificate SERIAL (\"ca issue --key-in=tpm|daemon\"), and writes the detached\n"
          "CMS signature (DER, with the certificate and the intermediate) to SIG or standard output.\n"
          "openssl cms -verify -binary -inform DER -content FILE -CAfile ROOT checks it. Refused for\n"
          "a revoked or expired certificate or one not for signing. Needs org.trustedplatform.ca.sign.\n" },
        { "ca verify", 2, 2, 0, verb_ca_verify, "ca verify FILE SIG",
          "Check a signature against the CA's root and revocations",
          "Checks the detached CMS signature SIG (DER) over FILE: the data must match, the signer must\n"
          "chain to the CA's root, be valid now, be for digital signatures and not be revoked. Prints\n"
          "the signer or the reason; exit status 0 when valid, 1 when not. Needs no authorization.\n" },
        { "ca ocsp", 1, 1, VERB_OPT_URL, verb_ca_ocsp, "ca ocsp [--url=URL] SERIAL|CERTFILE",
          "Ask the OCSP responder about a certificate",
          "Builds an OCSP request (with a nonce) for the certificate with SERIAL or in CERTFILE (PEM\n"
          "or DER) against the CA's intermediate, POSTs it to URL (default: the certificate's AIA\n"
          "OCSP URL) and prints good, revoked (with time and reason) or unknown. The answer counts\n"
          "only if the response verifies against the CA's root (signed by the intermediate or its\n"
          "delegated OCSP signer), echoes the nonce and is current; else exit status 1. Needs the\n"
          "daemon for the CA certificates, no authorization.\n" },
        { "ca trust import", 1, 1, 0, verb_ca_trust_import, "ca trust import FILE",
          "Import root or intermediate CA certificates into the trust store",
          "Imports the certificates in FILE (\"-\": standard input; one DER certificate or PEM with\n"
          "one or more) into trusted-platformd's trust store, all or nothing. Each must be a CA\n"
          "certificate (basicConstraints cA, keyCertSign) that is valid now and has a strong key. A\n"
          "self-signed certificate becomes a trust anchor; any other is kept as an intermediate and\n"
          "must chain to an anchor in the store or in FILE. Importing again changes nothing. Needs\n"
          "org.trustedplatform.ca.manage.\n" },
        { "ca trust list", 0, 0, 0, verb_ca_trust_list, "ca trust list", "List the trust store",
          "Lists the anchors and intermediates of the trust store with the columns FINGERPRINT (SHA-256),\n"
          "KIND, NOT AFTER and SUBJECT. Needs no authorization.\n" },
        { "ca trust remove", 1, 1, 0, verb_ca_trust_remove, "ca trust remove FINGERPRINT",
          "Remove a certificate from the trust store",
          "Removes the certificate with this SHA-256 fingerprint (64 hex digits, as \"openssl x509\n"
          "-fingerprint -sha256\" prints it or without colons). Needs org.trustedplatform.ca.manage.\n" },
        { "ca trust install", 0, 0, 0, verb_ca_trust_install, "ca trust install",
          "Install the CA root into the system trust store",
          "Puts the CA's root certificate into the operating system's trust store: on Debian\n"
          "/usr/local/share/ca-certificates/trusted-platform-root.crt and update-ca-certificates, on\n"
          "Fedora /etc/pki/ca-trust/source/anchors and update-ca-trust, else p11-kit's trust anchor.\n"
          "Idempotent. Needs org.trustedplatform.ca.manage.\n" },
        { "ca trust uninstall", 0, 0, 0, verb_ca_trust_uninstall, "ca trust uninstall",
          "Remove the CA root from the system trust store",
          "Removes the file \"ca trust install\" wrote (and nothing else) and updates the system trust\n"
          "store. Needs org.trustedplatform.ca.manage.\n" },
        { "ca verify-cert", 1, 1, VERB_OPT_PURPOSE, verb_ca_verify_cert, "ca verify-cert [--purpose=P] FILE",
          "Verify a certificate chain against the trust store",
          "Verifies the first certificate in FILE (\"-\": standard input) with the others as its\n"
          "untrusted chain against the trust store's anchors and the CA's own root, and prints valid\n"
          "and the chain, or invalid and why (exit status 1). Needs no authorization.\n\n"
          "     --purpose=P          any (default), tls-server, tls-client, code-signing or email\n" },
        { "ima show", 0, 1, 0, verb_ima_show, "ima show [FILE]", "Show the IMA runtime measurement log",
          "Lists the entries of the IMA log FILE (default: $TRUSTED_PLATFORM_IMA_LOG, else\n"
          "/sys/kernel/security/ima/binary_runtime_measurements), binary or ASCII format, with\n"
          "the columns INDEX, PCR, TEMPLATE, DIGEST and NAME, then checks every template hash:\n"
          "exit status 1 and the first entry that does not match. Needs neither the daemon nor a TPM.\n" },
        { "ima replay", 0, 1, VERB_OPT_EVENTLOG | VERB_OPT_COMPARE_TPM, verb_ima_replay,
          "ima replay [--eventlog=FILE | --compare-tpm] [FILE]", "Replay the IMA log into PCR values",
          "Checks every template hash of the IMA log FILE (default as for \"ima show\") and replays\n"
          "it into the PCRs it names (PCR 10 normally), for the sha1 and sha256 banks. The sha256\n"
          "bank is shown under both kernel rules: template-hash (Linux >= 5.10 extends the sha256\n"
          "of the template data) and padded-sha1 (older kernels extend the sha1 template hash\n"
          "zero-padded). Compare with \"tpctl tpm pcrs 10\". With a firmware event log (--eventlog=\n"
          "or $TRUSTED_PLATFORM_EVENTLOG) or --compare-tpm, also checks the log's first entry,\n"
          "boot_aggregate, against PCRs 0-9 replayed from that log or read from the TPM: exit status\n"
          "1 when it does not match. Needs neither the daemon nor a TPM without --compare-tpm.\n\n"
          "     --eventlog=FILE      The firmware event log (binary_bios_measurements) to check\n"
          "                          boot_aggregate against\n"
          "     --compare-tpm        Check boot_aggregate against the TPM's PCRs 0-9 (through\n"
          "                          trusted-platformd)\n" },
        { "eventlog show", 0, 1, 0, verb_eventlog_show, "eventlog show [FILE]",
          "Show the events of the firmware event log",
          "Lists the events of the TCG firmware event log FILE (default: $TRUSTED_PLATFORM_EVENTLOG,\n"
          "else /sys/kernel/security/tpm0/binary_bios_measurements), legacy SHA1 or crypto-agile\n"
          "format, with the columns INDEX, PCR, TYPE and SUMMARY (the decoded event data). Events\n"
          "whose data does not match their digest are flagged and named on standard error. A\n"
          "malformed log: exit status 1 and the event and byte offset where it breaks. Needs neither\n"
          "the daemon nor a TPM.\n" },
        { "eventlog replay", 0, 1, VERB_OPT_COMPARE_TPM | VERB_OPT_BANK | VERB_OPT_QUOTE | VERB_OPT_NONCE,
          verb_eventlog_replay,
          "eventlog replay [--compare-tpm | --quote=DIR --nonce=HEX] [--bank=BANK] [FILE]",
          "Replay the firmware event log into PCR values",
          "Replays the event log FILE (default as for \"eventlog show\") into PCR values for every bank\n"
          "it declares that has a hash, and checks the digest of every event whose digest is defined\n"
          "over its data. With --compare-tpm, compares the result with the TPM's PCRs (read through\n"
          "trusted-platformd): one line per PCR and bank, match or MISMATCH with the last event\n"
          "logged into it; exit status 1 when any PCR differs.\n\n"
          "     --compare-tpm        Compare with the TPM's PCRs\n"
          "     --quote=DIR          Compare with the PCR values of the quote in DIR (from \"tpm\n"
          "                          quote\"), verified against --nonce= first\n"
          "     --nonce=HEX          The nonce the quote must carry\n"
          "     --bank=BANK          Only this bank: sha1, sha256, ... (default: all of the log's)\n" },
        { "eventlog facts", 0, 1, 0, verb_eventlog_facts, "eventlog facts [FILE]",
          "Show the machine state the firmware event log describes",
          "Shows what measured-boot policies are written against: Secure Boot and setup mode, PK,\n"
          "KEK, db and dbx, boot order and entries, boot applications, boot loader and kernel, kernel\n"
          "command line, separators, firmware blobs. Facts are taken only from events whose digest\n"
          "matches their data. The JSON object is documented in tpctl(1).\n" },
        { "eventlog diff", 2, 2, 0, verb_eventlog_diff, "eventlog diff OLD NEW",
          "Say what changed between two boots",
          "Compares two firmware event logs, or facts saved with \"eventlog facts --json=short\", and\n"
          "names each change: certificates added to db, dbx hashes, Secure Boot, boot order, boot\n"
          "applications and their digests, kernel command line, firmware blobs, and with two logs\n"
          "every PCR whose events differ. Prints \"No changes.\" when there are none.\n" },
        { "policy learn", 0, 1, VERB_OPT_BANK | VERB_OPT_PCRS | VERB_OPT_EVENTLOG, verb_policy_learn,
          "policy learn [--bank=BANK] [--pcrs=LIST] [--eventlog=FILE] [OUT]",
          "Write a measured-boot policy from this machine",
          "Reads the TPM's PCRs (--pcrs=, default 0-7, of --bank=, default sha256) through\n"
          "trusted-platformd and the facts of the firmware event log (--eventlog=, default as for\n"
          "\"eventlog show\"; only when its replay matches those PCRs), and writes a policy (JSON,\n"
          "trusted-platform-policy(5)) that accepts exactly this state, to OUT or standard output, for\n"
          "review before it is installed.\n" },
        { "policy check", 0, 1, VERB_OPT_EVENTLOG, verb_policy_check,
          "policy check [--eventlog=FILE] [POLICY]", "Evaluate a measured-boot policy now",
          "Evaluates POLICY (default /etc/trusted-platform/policy.json) against this machine: the PCRs it\n"
          "names (read through trusted-platformd), the facts of the firmware event log (when its replay\n"
          "matches the TPM) and the IMA log. One line per rule, ok or FAIL with what was found; exit\n"
          "status 1 when any rule fails. A policy that does not parse is an error naming its place.\n" },
};

static const char global_options_help[] =
        "  -h --help               Show this help (\"tpctl COMMAND --help\" for one command)\n"
        "     --version            Show the package version\n"
        "     --json=pretty|short|off\n"
        "                          Print JSON instead of a table. Keys are the D-Bus names, as\n"
        "                          busctl shows them; byte arrays are lowercase hex strings\n"
        "     --no-pager           Do not pipe the output into a pager\n"
        "     --no-legend          Do not print column headers and footers\n"
        "  -q --quiet              Suppress informational messages\n";

static const char exit_status_help[] =
        "Exit status: 0 success, 1 failure, 2 usage error, 4 access denied,\n"
        "7 trusted-platformd is not running, 130 a volume job cancelled with Ctrl-C.\n";

/* One line of a command list: the usage, then the summary in a column, or on the next line when the usage
 * is longer than the column. */
static void print_verb_line(const Verb *v) {
        if (strlen(v->usage) <= 32)
                printf("  %-32s %s\n", v->usage, v->summary);
        else
                printf("  %s\n  %-32s %s\n", v->usage, "", v->summary);
}

static void help_main(void) {
        printf("tpctl [OPTIONS...] COMMAND ...\n\n"
               "Query and control trusted-platformd, the Trusted Platform service.\n\n"
               "Commands:\n");
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                print_verb_line(verbs + i);
        printf("\nOptions:\n%s"
               "\nThe options of single commands (--bank=BANK, --pcrs=LIST, --hex, --passphrase-file=FILE, ...)\n"
               "are listed by \"tpctl COMMAND --help\".\n"
               "\n%s\nSee the tpctl(1) man page for details.\n",
               global_options_help, exit_status_help);
}

static void help_tpm(void) {
        printf("tpctl [OPTIONS...] tpm COMMAND ...\n\n"
               "Query and provision the TPM through trusted-platformd.\n\n"
               "Commands:\n");
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (strncmp(verbs[i].name, "tpm ", 4) == 0)
                        print_verb_line(verbs + i);
        printf("\nSee \"tpctl tpm COMMAND --help\" for the options of one command, and \"tpctl --help\".\n");
}

static void help_verb(const Verb *v) {
        printf("tpctl [OPTIONS...] %s\n\n%s.\n", v->usage, v->summary);
        if (v->details)
                printf("\n%s", v->details);
        printf("\nGlobal options:\n%s\n%s", global_options_help, exit_status_help);
}

static int parse_argv(int argc, char *argv[]) {
        enum {
                ARG_VERSION = 0x100,
                ARG_JSON,
                ARG_NO_PAGER,
                ARG_NO_LEGEND,
                ARG_VERB_OPTION = 0x200, /* + index in verb_options[] */
        };
        static const struct option global_options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "json", required_argument, NULL, ARG_JSON },
                { "no-pager", no_argument, NULL, ARG_NO_PAGER },
                { "no-legend", no_argument, NULL, ARG_NO_LEGEND },
                { "quiet", no_argument, NULL, 'q' },
        };
        struct option options[ELEMENTSOF(global_options) + ELEMENTSOF(verb_options) + 1] = {};
        size_t n = 0;
        int c;

        for (size_t i = 0; i < ELEMENTSOF(global_options); i++)
                options[n++] = global_options[i];
        for (size_t i = 0; i < ELEMENTSOF(verb_options); i++)
                options[n++] = (struct option){ verb_options[i].name,
                                                verb_options[i].flag ? no_argument : required_argument, NULL,
                                                ARG_VERB_OPTION + (int) i };

        /* Options may follow the command ("tpctl tpm random 16 --hex"), as with systemctl: getopt
         * permutes argv and leaves the positional arguments at the end. */
        while ((c = getopt_long(argc, argv, "hqv", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        arg_help = true;
                        break;
                case ARG_VERSION:
                        printf("tpctl (trusted-platform) %s\n", PROJECT_VERSION);
                        return 0;
                case ARG_JSON: {
                        JsonMode m = json_mode_from_string(optarg);
                        if (m < 0) {
                                log_error("Invalid --json= mode '%s': expected pretty, short or off.", optarg);
                                return -EINVAL;
                        }
                        arg_json = m;
                        break;
                }
                case ARG_NO_PAGER:
                        arg_pager = false;
                        break;
                case ARG_NO_LEGEND:
                        arg_legend = false;
                        break;
                case 'q':
                        arg_quiet = true;
                        break;
                case 'v': /* --verbose */
                        arg_verbose = true;
                        arg_verb_options |= VERB_OPT_VERBOSE;
                        break;
                case '?':
                        return -EINVAL; /* getopt_long() printed the reason */
                default: {
                        assert(c >= ARG_VERB_OPTION && c < ARG_VERB_OPTION + (int) ELEMENTSOF(verb_options));
                        const VerbOption *o = verb_options + (c - ARG_VERB_OPTION);

                        if (o->flag)
                                *o->flag = true;
                        else if (isempty(optarg)) {
                                log_error("Option --%s= needs a value.", o->name);
                                return -EINVAL;
                        } else
                                *o->value = optarg;
                        arg_verb_options |= o->bit;
                }
                }

        return 1;
}

static const Verb *verb_find(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (streq(verbs[i].name, name))
                        return verbs + i;
        return NULL;
}

/* "\"tpm seal\", \"tpm unseal\" and \"tpm nv read\"": the verbs that accept the option bit. */
static char *verbs_accepting(VerbOptionMask bit) {
        size_t n = 0, k = 0;
        char *s = NULL;

        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                n += !!(verbs[i].options & bit);
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (verbs[i].options & bit) {
                        k++;
                        if (!strextend(&s, k == 1 ? "" : k == n ? " and " : ", ", "\"", verbs[i].name, "\""))
                                return mfree(s);
                }
        return s;
}

static void log_verb_option_refused(VerbOptionMask bits) {
        for (size_t i = 0; i < ELEMENTSOF(verb_options); i++)
                if (bits & verb_options[i].bit) {
                        _cleanup_free_ char *list = verbs_accepting(verb_options[i].bit);

                        log_error("Option --%s%s is only valid with %s.", verb_options[i].name,
                                  verb_options[i].flag ? "" : "=", strna(list));
                        return;
                }
}

/* The second word of a "tpm ..." verb: "nv" for "tpm nv read". */
static size_t tpm_word(const Verb *v, const char **ret) {
        const char *w = startswith(v->name, "tpm ");

        if (!w)
                return 0;
        *ret = w;
        return strcspn(w, " ");
}

/* "info, random, ..., nv": the tpm commands, each once, in the order of the verbs table. */
static char *tpm_commands(void) {
        char *s = NULL;

        for (size_t i = 0; i < ELEMENTSOF(verbs); i++) {
                const char *w, *other;
                size_t n = tpm_word(verbs + i, &w);
                bool seen = false;
                char word[32];

                if (n == 0 || n >= sizeof(word))
                        continue;
                for (size_t j = 0; j < i && !seen; j++)
                        seen = tpm_word(verbs + j, &other) == n && strncmp(other, w, n) == 0;
                if (seen)
                        continue;
                memcpy(word, w, n);
                word[n] = '\0';
                if (!strextend(&s, s ? ", " : "", word))
                        return mfree(s);
        }
        return s;
}

#define CA_COMMANDS \
        "init, issue, sign-csr, revoke, list, show, crl, bundle, sign, verify, ocsp, trust or verify-cert"
#define CA_TRUST_COMMANDS "import, list, remove, install or uninstall"

static int dispatch(int argc, char *argv[]) {
        const Verb *v = NULL;
        unsigned words = 1;

        if (argc == 0) {
                if (arg_help) {
                        help_main();
                        return TPCTL_EXIT_SUCCESS;
                }
                v = verb_find("status");
                words = 0;
        } else if (streq(argv[0], "ima") || streq(argv[0], "eventlog") || streq(argv[0], "ca") ||
                   streq(argv[0], "policy") || streq(argv[0], "volume") || streq(argv[0], "verdict")) {
                _cleanup_free_ char *name = NULL;
                const char *commands = streq(argv[0], "volume")
                        ? "create, enroll, unenroll, reseal, recovery-key, list, status or unlock-test"
                        : streq(argv[0], "ima")      ? "show or replay"
                        : streq(argv[0], "eventlog") ? "show, replay, facts or diff"
                        : streq(argv[0], "policy")   ? "learn or check"
                        : streq(argv[0], "verdict")  ? "submit or show"
                                                     : CA_COMMANDS;

                if (argc < 2 && arg_help) {
                        help_main();
                        return TPCTL_EXIT_SUCCESS;
                }
                if (argc < 2) {
                        log_error("Missing %s command: one of %s. See \"tpctl --help\".", argv[0], commands);
                        return TPCTL_EXIT_USAGE;
                }
                if (streq(argv[0], "ca") && streq(argv[1], "trust")) {
                        /* "ca trust VERB" has three words. */
                        if (argc < 3) {
                                log_error("Missing ca trust command: one of %s.", CA_TRUST_COMMANDS);
                                return TPCTL_EXIT_USAGE;
                        }
                        if (asprintf(&name, "ca trust %s", argv[2]) < 0)
                                return log_oom(), TPCTL_EXIT_FAILURE;
                        v = verb_find(name);
                        words = 3;
                        if (!v) {
                                log_error("Unknown ca trust command '%s': expected %s.", argv[2],
                                          CA_TRUST_COMMANDS);
                                return TPCTL_EXIT_USAGE;
                        }
                } else if (asprintf(&name, "%s %s", argv[0], argv[1]) < 0)
                        return log_oom(), TPCTL_EXIT_FAILURE;
                if (!v) {
                        v = verb_find(name);
                        words = 2;
                }
                if (!v) {
                        log_error("Unknown %s command '%s': expected %s.", argv[0], argv[1], commands);
                        return TPCTL_EXIT_USAGE;
                }
        } else if (streq(argv[0], "tpm")) {
                if (argc >= 2) {
                        _cleanup_free_ char *name = NULL;

                        /* "tpm nv VERB" has three words. */
                        words = streq(argv[1], "nv") && argc >= 3 ? 3 : 2;
                        if ((words == 3 ? asprintf(&name, "tpm nv %s", argv[2])
                                        : asprintf(&name, "tpm %s", argv[1])) < 0)
                                return log_oom(), TPCTL_EXIT_FAILURE;
                        v = verb_find(name);
                }
                if (!v) {
                        if (arg_help) {
                                help_tpm();
                                return TPCTL_EXIT_SUCCESS;
                        }
                        _cleanup_free_ char *commands = tpm_commands();
                        if (argc < 2)
                                log_error("Missing tpm command: one of %s. See \"tpctl tpm --help\".",
                                          strna(commands));
                        else if (streq(argv[1], "nv"))
                                log_error("%s nv command%s%s%s: expected define, write, read, undefine or list. "
                                          "See \"tpctl tpm --help\".",
                                          argc < 3 ? "Missing" : "Unknown", argc < 3 ? "" : " '",
                                          argc < 3 ? "" : argv[2], argc < 3 ? "" : "'");
                        else
                                log_error("Unknown tpm command '%s': expected one of %s. See \"tpctl tpm --help\".",
                                          argv[1], strna(commands));
                        return TPCTL_EXIT_USAGE;
                }
        } else
                v = verb_find(argv[0]);

        if (!v) {
                log_error("Unknown command '%s'. See \"tpctl --help\".", argv[0]);
                return TPCTL_EXIT_USAGE;
        }

        if (arg_help) {
                help_verb(v);
                return TPCTL_EXIT_SUCCESS;
        }

        if (arg_verb_options & ~v->options) {
                log_verb_option_refused(arg_verb_options & ~v->options);
                return TPCTL_EXIT_USAGE;
        }

        argc -= (int) words;
        argv += words;
        if ((unsigned) argc < v->min_args) {
                log_error("Too few arguments. Usage: tpctl %s", v->usage);
                return TPCTL_EXIT_USAGE;
        }
        if (v->max_args != ARGS_ANY && (unsigned) argc > v->max_args) {
                log_error("Too many arguments. Usage: tpctl %s", v->usage);
                return TPCTL_EXIT_USAGE;
        }

        return v->run(argc, argv);
}

int tpctl_bus_open(sd_bus **ret) {
        sd_bus *bus = NULL;
        int r;

        /* sd_bus_open_system() follows $DBUS_SYSTEM_BUS_ADDRESS. */
        r = sd_bus_open_system(&bus);
        if (r < 0)
                return tpctl_log_bus_error(NULL, r, "connect to the system bus");

        *ret = bus;
        return 0;
}

int tpctl_print_object(const json_t *obj, const FieldFormat *fields, size_t n_fields, bool paged) {
        _cleanup_(scols_unref_tablep) struct libscols_table *t = NULL;
        int r;

        if (paged && arg_pager)
                (void) pager_open();

        if (arg_json != JSON_MODE_OFF)
                r = json_print(stdout, obj, arg_json);
        else {
                r = kv_table_new(obj, fields, n_fields, &t);
                if (r < 0)
                        return log_error_errno(r, "Failed to build the table: %m"), TPCTL_EXIT_FAILURE;
                r = table_print(t, stdout);
        }
        if (r < 0)
                return log_error_errno(r, "Failed to write the output: %m"), TPCTL_EXIT_FAILURE;
        return TPCTL_EXIT_SUCCESS;
}

int main(int argc, char *argv[]) {
        int r;

        /* Without a locale libsmartcols escapes every non-ASCII byte of the daemon's messages: the "…" of a
         * trust reason became "\xe2\x80\xa6" for root in a shell, unit or cron job without LANG. Where no
         * character set was chosen at all (C, POSIX), take C.UTF-8 (built into glibc >= 2.35), as --json
         * output is UTF-8 anyway; control characters are still escaped. A chosen legacy charset is kept. */
        const char *l = setlocale(LC_CTYPE, "");
        if (!l || streq(l, "C") || streq(l, "POSIX"))
                (void) setlocale(LC_CTYPE, "C.UTF-8");
        log_parse_environment();

        r = parse_argv(argc, argv);
        if (r < 0)
                return TPCTL_EXIT_USAGE;
        if (r == 0)
                return TPCTL_EXIT_SUCCESS;

        r = dispatch(argc - optind, argv + optind);

        pager_close();
        if (fflush(stdout) == EOF && r == TPCTL_EXIT_SUCCESS) {
                log_error_errno(errno, "Failed to write to standard output: %m");
                r = TPCTL_EXIT_FAILURE;
        }
        return r;
}
