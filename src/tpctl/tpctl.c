/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* tpctl: the command-line client of trusted-platformd. This file parses the global options and
 * dispatches to the verbs; the verbs live in tpctl-status.c and tpctl-tpm.c. */

#include <getopt.h>
#include <stdio.h>

#include "basic/log.h"
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
const char *arg_nonce = NULL;
const char *arg_authorize_key = NULL;
const char *arg_expected_pcrs = NULL;
const char *arg_signed_policy = NULL;
const char *arg_key = NULL;
const char *arg_pcr_values = NULL;
const char *arg_append_to = NULL;
const char *arg_out_dir = NULL;
static bool arg_help = false;

/* Options that only some verbs accept; a verb lists them in its "options" mask. */
enum {
        VERB_OPT_HEX = 1U << 0,
        VERB_OPT_BANK = 1U << 1,
        VERB_OPT_PCRS = 1U << 2,
        VERB_OPT_PIN = 1U << 3,
        VERB_OPT_NONCE = 1U << 4,
        VERB_OPT_OUT_DIR = 1U << 5,
        VERB_OPT_SEAL = 1U << 6,        /* --authorize-key=, --expected-pcrs= */
        VERB_OPT_UNSEAL = 1U << 7,      /* --signed-policy= */
        VERB_OPT_SIGN_POLICY = 1U << 8, /* --key=, --pcr-values=, --append-to= */
};

typedef struct Verb {
        const char *name; /* one or two words: "status", "tpm random" */
        unsigned min_args;
        unsigned max_args;
        unsigned options;
        int (*run)(int argc, char *argv[]);
        const char *usage;   /* after "tpctl [OPTIONS...] " */
        const char *summary; /* one line, for the command list */
        const char *details; /* more text for "tpctl VERB --help", may be NULL */
} Verb;

#define ARGS_ANY UINT32_MAX

static const Verb verbs[] = {
        { "status", 0, 0, 0, verb_status, "status", "Show the trust state of the platform and of its TPM",
          "Shows the daemon version, whether a TPM is present, the trust state and its reasons, the last\n"
          "attestation, Secure Boot, whether the storage root key (SRK) is provisioned and the TPM\n"
          "connection (TCTI). \"tpctl\" without a command runs \"tpctl status\".\n" },
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
        { "tpm seal", 0, 2, VERB_OPT_BANK | VERB_OPT_PCRS | VERB_OPT_PIN | VERB_OPT_SEAL, verb_tpm_seal,
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
        { "tpm sign-policy", 0, 1, VERB_OPT_BANK | VERB_OPT_PCRS | VERB_OPT_SIGN_POLICY, verb_tpm_sign_policy,
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
        { "tpm unseal", 0, 2, VERB_OPT_PIN | VERB_OPT_UNSEAL, verb_tpm_unseal,
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
        "7 trusted-platformd is not running.\n";

static void help_main(void) {
        printf("tpctl [OPTIONS...] COMMAND ...\n\n"
               "Query and control trusted-platformd, the Trusted Platform service.\n\n"
               "Commands:\n");
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                printf("  %-32s %s\n", verbs[i].usage, verbs[i].summary);
        printf("\nOptions:\n%s"
               "     --hex                With \"tpm random\": print hex even into a pipe\n"
               "     --bank=BANK          With \"tpm pcrs\": PCR bank to read (default: sha256)\n"
               "\n%s\nSee the tpctl(1) man page for details.\n",
               global_options_help, exit_status_help);
}

static void help_tpm(void) {
        printf("tpctl [OPTIONS...] tpm COMMAND ...\n\n"
               "Query and provision the TPM through trusted-platformd.\n\n"
               "Commands:\n");
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (strncmp(verbs[i].name, "tpm ", 4) == 0)
                        printf("  %-32s %s\n", verbs[i].usage, verbs[i].summary);
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
                ARG_HEX,
                ARG_BANK,
                ARG_PCRS,
                ARG_PIN,
                ARG_NONCE,
                ARG_OUT_DIR,
                ARG_AUTHORIZE_KEY,
                ARG_EXPECTED_PCRS,
                ARG_SIGNED_POLICY,
                ARG_KEY,
                ARG_PCR_VALUES,
                ARG_APPEND_TO,
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "json", required_argument, NULL, ARG_JSON },
                { "no-pager", no_argument, NULL, ARG_NO_PAGER },
                { "no-legend", no_argument, NULL, ARG_NO_LEGEND },
                { "quiet", no_argument, NULL, 'q' },
                { "hex", no_argument, NULL, ARG_HEX },
                { "bank", required_argument, NULL, ARG_BANK },
                { "pcrs", required_argument, NULL, ARG_PCRS },
                { "pin", no_argument, NULL, ARG_PIN },
                { "nonce", required_argument, NULL, ARG_NONCE },
                { "out-dir", required_argument, NULL, ARG_OUT_DIR },
                { "authorize-key", required_argument, NULL, ARG_AUTHORIZE_KEY },
                { "expected-pcrs", required_argument, NULL, ARG_EXPECTED_PCRS },
                { "signed-policy", required_argument, NULL, ARG_SIGNED_POLICY },
                { "key", required_argument, NULL, ARG_KEY },
                { "pcr-values", required_argument, NULL, ARG_PCR_VALUES },
                { "append-to", required_argument, NULL, ARG_APPEND_TO },
                {},
        };
        int c;

        /* Options may follow the command ("tpctl tpm random 16 --hex"), as with systemctl: getopt
         * permutes argv and leaves the positional arguments at the end. */
        while ((c = getopt_long(argc, argv, "hq", options, NULL)) >= 0)
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
                case ARG_HEX:
                        arg_hex = true;
                        break;
                case ARG_BANK:
                        if (isempty(optarg)) {
                                log_error("Invalid --bank= value '': expected a bank name such as sha256.");
                                return -EINVAL;
                        }
                        arg_bank = optarg;
                        break;
                case ARG_PCRS:
                        arg_pcrs = optarg;
                        break;
                case ARG_PIN:
                        arg_pin = true;
                        break;
                case ARG_NONCE:
                        arg_nonce = optarg;
                        break;
                case ARG_OUT_DIR:
                        arg_out_dir = optarg;
                        break;
                case ARG_AUTHORIZE_KEY:
                        arg_authorize_key = optarg;
                        break;
                case ARG_EXPECTED_PCRS:
                        arg_expected_pcrs = optarg;
                        break;
                case ARG_SIGNED_POLICY:
                        arg_signed_policy = optarg;
                        break;
                case ARG_KEY:
                        arg_key = optarg;
                        break;
                case ARG_PCR_VALUES:
                        arg_pcr_values = optarg;
                        break;
                case ARG_APPEND_TO:
                        arg_append_to = optarg;
                        break;
                case '?':
                        return -EINVAL; /* getopt_long() printed the reason */
                default:
                        assert(false);
                }

        return 1;
}

static const Verb *verb_find(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (streq(verbs[i].name, name))
                        return verbs + i;
        return NULL;
}

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
        } else if (streq(argv[0], "tpm")) {
                if (argc >= 2) {
                        _cleanup_free_ char *name = NULL;

                        if (asprintf(&name, "tpm %s", argv[1]) < 0)
                                return log_oom(), TPCTL_EXIT_FAILURE;
                        v = verb_find(name);
                        words = 2;
                }
                if (!v) {
                        if (arg_help) {
                                help_tpm();
                                return TPCTL_EXIT_SUCCESS;
                        }
                        if (argc < 2)
                                log_error(
                                        "Missing tpm command: one of info, random, pcrs, provision, seal, unseal, "
                                        "sign-policy, quote, verify-quote, extend. See \"tpctl tpm --help\".");
                        else
                                log_error("Unknown tpm command '%s': expected info, random, pcrs, provision, seal, "
                                          "unseal, sign-policy, quote, verify-quote or extend. See \"tpctl tpm --help\".",
                                          argv[1]);
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

        if (arg_hex && !(v->options & VERB_OPT_HEX)) {
                log_error("Option --hex is only valid with \"tpm random\".");
                return TPCTL_EXIT_USAGE;
        }
        if (arg_bank && !(v->options & VERB_OPT_BANK)) {
                log_error("Option --bank= is only valid with \"tpm pcrs\", \"seal\", \"sign-policy\", \"quote\" and \"extend\".");
                return TPCTL_EXIT_USAGE;
        }
        if (arg_pcrs && !(v->options & VERB_OPT_PCRS)) {
                log_error("Option --pcrs= is only valid with \"tpm seal\", \"tpm sign-policy\" and \"tpm quote\".");
                return TPCTL_EXIT_USAGE;
        }
        if (arg_nonce && !(v->options & VERB_OPT_NONCE)) {
                log_error("Option --nonce= is only valid with \"tpm quote\" and \"tpm verify-quote\".");
                return TPCTL_EXIT_USAGE;
        }
        if (arg_out_dir && !(v->options & VERB_OPT_OUT_DIR)) {
                log_error("Option --out-dir= is only valid with \"tpm quote\".");
                return TPCTL_EXIT_USAGE;
        }
        if ((arg_authorize_key || arg_expected_pcrs) && !(v->options & VERB_OPT_SEAL)) {
                log_error("Options --authorize-key= and --expected-pcrs= are only valid with \"tpm seal\".");
                return TPCTL_EXIT_USAGE;
        }
        if (arg_signed_policy && !(v->options & VERB_OPT_UNSEAL)) {
                log_error("Option --signed-policy= is only valid with \"tpm unseal\".");
                return TPCTL_EXIT_USAGE;
        }
        if ((arg_key || arg_pcr_values || arg_append_to) && !(v->options & VERB_OPT_SIGN_POLICY)) {
                log_error("Options --key=, --pcr-values= and --append-to= are only valid with \"tpm sign-policy\".");
                return TPCTL_EXIT_USAGE;
        }
        if (arg_pin && !(v->options & VERB_OPT_PIN)) {
                log_error("Option --pin is only valid with \"tpm seal\" and \"tpm unseal\".");
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
