#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Runs tpctl as a user would and checks what it prints and how it exits.

Usage: test-tpctl.py cli|bus TPCTL FAKE_DAEMON DBUS_DAEMON

cli: usage errors, --help and --version, and a system bus that does not exist (no helpers needed).
bus: a private dbus-daemon (system bus configuration) with fake-trusted-platformd on it, standing in
for trusted-platformd, so that the real client, bus and wire format are exercised. Output is TAP."""

import json
import os
import shlex
import subprocess
import sys
import tempfile

MODE, TPCTL, FAKE, DBUS_DAEMON = sys.argv[1:5]

results = []
bus_address = None


def check(name, cond, detail=''):
    results.append((name, bool(cond), detail))


def run(*args, env=None, address=None):
    e = dict(os.environ)
    # Messages without the debug-level source location, and no pager or locale surprises.
    e['TRUSTED_PLATFORM_LOG_LEVEL'] = 'info'
    e['LC_ALL'] = 'C'
    e['TZ'] = 'UTC'
    e.pop('PAGER', None)
    e.pop('TPCTL_PAGER', None)
    e['DBUS_SYSTEM_BUS_ADDRESS'] = address or bus_address or 'unix:path=/nonexistent/tpctl-test-bus'
    if env:
        e.update(env)
    p = subprocess.run([TPCTL, *args], env=e, stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    return p.returncode, p.stdout, p.stderr.decode(errors='replace')


def describe(rc, out, err):
    return f'rc={rc} stdout={out[:400]!r} stderr={err[:400]!r}'


def expect(name, args, rc_want, stdout_has=(), stderr_has=(), **kw):
    rc, out, err = run(*args, **kw)
    text = out.decode(errors='replace')
    ok = rc == rc_want and all(s in text for s in stdout_has) and all(s in err for s in stderr_has)
    check(name, ok, describe(rc, out, err))
    return rc, out, err


def kv(text):
    """Parses a "Label: value" table into a dict."""
    d = {}
    for line in text.splitlines():
        k, sep, v = line.strip().partition(': ')
        if sep:
            d[k] = v
    return d


NOT_RUNNING = ('trusted-platformd is not running (org.trustedplatform.TrustedPlatform1 is not on the '
               'system bus). Start it with: systemctl start trusted-platformd')


def cli_tests():
    expect('unknown option is a usage error', ['--bogus'], 2, stderr_has=["'--bogus'"])
    expect('--json=bogus is a usage error', ['--json=bogus', 'status'], 2,
           stderr_has=["Invalid --json= mode 'bogus'"])
    expect('--json needs a value', ['status', '--json'], 2)
    expect('unknown command is a usage error', ['frobnicate'], 2, stderr_has=["'frobnicate'"])
    expect('unknown tpm command is a usage error', ['tpm', 'frob'], 2, stderr_has=["'frob'"])
    expect('tpm without a command is a usage error', ['tpm'], 2, stderr_has=['tpctl tpm --help'])
    expect('status takes no arguments', ['status', 'extra'], 2, stderr_has=['Too many arguments'])
    expect('ca without a command is a usage error', ['ca'], 2, stderr_has=['Missing ca command'])
    expect('unknown ca command is a usage error', ['ca', 'frob'], 2, stderr_has=["'frob'", 'sign-csr'])
    expect('ca revoke checks the serial', ['ca', 'revoke', 'xyz'], 2, stderr_has=['32 hexadecimal digits'])
    expect('ca issue checks the profile', ['ca', 'issue', '--profile=bogus', 'x'], 2, stderr_has=["'bogus'"])
    expect('--reason only with ca revoke', ['ca', 'list', '--reason=superseded'], 2, stderr_has=['--reason='])
    expect('ca issue --help', ['ca', 'issue', '--help'], 0, stdout_has=['org.trustedplatform.ca.issue', '0600'])
    expect('ca issue checks --key-in', ['ca', 'issue', '--key-in=floppy', 'x'], 2, stderr_has=['--key-in=floppy'])
    expect('--key-in only with ca issue', ['ca', 'list', '--key-in=tpm'], 2, stderr_has=['"ca issue"'])
    expect('ca sign checks the serial', ['ca', 'sign', 'xyz', '/dev/null', '/dev/null'], 2,
           stderr_has=['32 hexadecimal digits'])
    expect('ca sign needs a file', ['ca', 'sign', '0' * 32], 2, stderr_has=['Too few arguments'])
    expect('ca verify needs a signature', ['ca', 'verify', '/dev/null'], 2, stderr_has=['Too few arguments'])
    expect('ca sign --help', ['ca', 'sign', '--help'], 0, stdout_has=['org.trustedplatform.ca.sign', 'openssl cms'])
    expect('ca verify --help', ['ca', 'verify', '--help'], 0, stdout_has=['exit status 0 when valid'])
    expect('tpm random needs N', ['tpm', 'random'], 2, stderr_has=['Too few arguments'])
    expect('--hex only with tpm random', ['status', '--hex'], 2, stderr_has=['--hex'])
    expect('--bank only with tpm pcrs', ['tpm', 'info', '--bank=sha1'], 2, stderr_has=['--bank='])

    # Local validation: a bad value is refused before any bus is contacted (no bus exists here, so a
    # connection attempt would end in exit status 7 instead of 2).
    for n in ['0', '4097', 'abc', '-5', '99999999999999999999']:
        expect(f'tpm random {n} is refused locally', ['tpm', 'random', '--', n], 2,
               stderr_has=[f"Invalid byte count '{n}': expected a number from 1 to 4096."])
    for spec in ['24', '7-3', '1,,2', 'a', '', '0-99']:
        expect(f'tpm pcrs {spec!r} is refused locally', ['tpm', 'pcrs', '--', '0', spec], 2,
               stderr_has=[f"Invalid PCR '{spec}'"])

    # tpm ek|ak|lockout: options of another verb and bad values are refused before any bus call.
    expect('tpm ek --alg=dsa is refused locally', ['tpm', 'ek', '--alg=dsa'], 2, stderr_has=["'dsa'"])
    expect('--reset only with tpm lockout', ['tpm', 'ek', '--reset'], 2, stderr_has=['--reset'])
    expect('--persist only with tpm ek', ['tpm', 'lockout', '--persist'], 2, stderr_has=['--persist'])
    expect('--cert-out only with tpm ek', ['tpm', 'ak', 'list', '--cert-out=x'], 2, stderr_has=['--cert-out='])
    expect('tpm ak needs a command', ['tpm', 'ak'], 2, stderr_has=['Too few arguments'])
    expect('unknown tpm ak command', ['tpm', 'ak', 'frob', 'x'], 2, stderr_has=["'frob'"])
    expect('tpm ak create needs a name', ['tpm', 'ak', 'create'], 2, stderr_has=['Usage'])
    expect('tpm ak list takes no name', ['tpm', 'ak', 'list', 'x'], 2, stderr_has=['Usage'])
    expect('--alg only with tpm ak create', ['tpm', 'ak', 'show', 'x', '--alg=rsa'], 2, stderr_has=['--alg='])
    expect('--public-out only with tpm ak show', ['tpm', 'ak', 'create', 'x', '--public-out=f'], 2,
           stderr_has=['--public-out='])
    expect('tpm ak --help', ['tpm', 'ak', '--help'], 0, stdout_has=['create NAME', 'show NAME', 'list'])
    expect('tpm lockout --help', ['tpm', 'lockout', '--help'], 0,
           stdout_has=['org.trustedplatform.tpm.manage-lockout'])

    rc, out, err = expect('--help', ['--help'], 0,
                          stdout_has=['status', 'tpm info', 'tpm random N', 'tpm pcrs', 'tpm provision',
                                      '--json=pretty|short|off', '--no-pager', '--no-legend', '--quiet',
                                      '--version', '--hex', '--bank=BANK', 'D-Bus names',
                                      'tpctl COMMAND --help', '130 a volume job cancelled'])
    check('--help does not tie --bank= to one command', b'With "tpm pcrs"' not in out, out)
    expect('volume unenroll --help', ['volume', 'unenroll', '--help'], 0,
           stdout_has=['tpctl volume status PATH', 'never removed'])
    check('--help writes nothing to stderr', err == '', err)
    expect('tpm --help', ['tpm', '--help'], 0, stdout_has=['tpctl [OPTIONS...] tpm COMMAND', 'tpm random N'])
    expect('tpm random --help', ['tpm', 'random', '--help'], 0,
           stdout_has=['tpctl [OPTIONS...] tpm random N', '--hex', 'Global options'])
    expect('tpm pcrs --help', ['tpm', 'pcrs', '-h'], 0, stdout_has=['--bank=BANK', '0-7'])
    expect('tpm info --help', ['--help', 'tpm', 'info'], 0, stdout_has=['tpctl [OPTIONS...] tpm info'])
    expect('tpm provision --help', ['tpm', 'provision', '--help'], 0,
           stdout_has=['org.trustedplatform.tpm.provision'])
    expect('status --help', ['status', '--help'], 0, stdout_has=['tpctl [OPTIONS...] status'])
    expect('--version', ['--version'], 0, stdout_has=['tpctl (trusted-platform) '])

    expect('no system bus at all: exit 7', ['status'], 7, stderr_has=[NOT_RUNNING])
    expect('no system bus at all, tpm info: exit 7', ['tpm', 'info', '--json=short'], 7,
           stderr_has=[NOT_RUNNING])


class Helper:
    """A child process that announces readiness with a first line on stdout; stopped by its pid."""

    def __init__(self, argv, env):
        self.proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
        self.first_line = self.proc.stdout.readline().decode().strip()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        self.proc.wait(timeout=10)


BUS_CONFIG = '''<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={dir}/bus.sock</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
'''


def start_fake(mode):
    env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=bus_address)
    fake = Helper([FAKE, mode], env)
    if fake.first_line != 'READY':
        fake.stop()
        raise RuntimeError(f'fake-trusted-platformd did not start: {fake.first_line!r}')
    return fake


def bus_tests(tmp):
    global bus_address

    with open(f'{tmp}/bus.conf', 'w') as f:
        f.write(BUS_CONFIG.format(dir=tmp))
    bus = Helper([DBUS_DAEMON, f'--config-file={tmp}/bus.conf', '--nofork', '--nopidfile', '--print-address'],
                 dict(os.environ))
    fake = None
    try:
        bus_address = bus.first_line
        if not bus_address.startswith('unix:'):
            raise RuntimeError(f'dbus-daemon did not print its address: {bus_address!r}')

        expect('service not on the bus: status exits 7', ['status'], 7, stderr_has=[NOT_RUNNING])
        expect('service not on the bus: tpm random exits 7', ['tpm', 'random', '4'], 7,
               stderr_has=[NOT_RUNNING])

        fake = start_fake('allow')
        bus_ok_tests()
        fake.stop()

        fake = start_fake('deny')
        rc, out, err = expect('Provision refused by polkit: exit 4', ['tpm', 'provision'], 4,
                              stderr_has=['access denied', 'root', 'polkit authentication agent'])
        # The stand-in says which error it chose: AccessDenied only when tpctl allowed interactive
        # authorization, as it must so that an agent can ask for a password.
        check('Provision is called with allow-interactive-authorization',
              'interactive authorization was allowed' in err, err)
        check('nothing on stdout when denied', out == b'', out)
    finally:
        if fake:
            fake.stop()
        bus.stop()


def run_on_tty(*args, pager):
    """Runs tpctl with its stdout on a pseudo-terminal (through script(1)) and $PAGER set."""
    cmd = shlex.join([TPCTL, *args])
    rc, out, err = None, b'', ''
    e = dict(os.environ, TRUSTED_PLATFORM_LOG_LEVEL='info', LC_ALL='C', PAGER=pager,
             DBUS_SYSTEM_BUS_ADDRESS=bus_address)
    e.pop('TPCTL_PAGER', None)
    p = subprocess.run(['script', '-qefc', cmd, '/dev/null'], env=e, stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=60)
    return p.returncode, p.stdout.replace(b'\r\n', b'\n').decode(errors='replace')


def tty_tests():
    marker = 'sed s/^/PAGED:/'
    rc, out = run_on_tty('tpm', 'pcrs', '0-1', pager=marker)
    lines = out.splitlines()
    check('on a terminal, tpm pcrs goes through $PAGER',
          rc == 0 and len(lines) == 5 and all(line.startswith('PAGED:') for line in lines), out)
    rc, out = run_on_tty('tpm', 'info', pager=marker)
    check('on a terminal, tpm info goes through $PAGER', rc == 0 and 'PAGED:     Manufacturer: IBM' in out, out)
    rc, out = run_on_tty('tpm', 'pcrs', '0-1', '--no-pager', pager=marker)
    check('--no-pager keeps the output off the pager',
          rc == 0 and 'INDEX BANK' in out and 'PAGED:' not in out, out)
    rc, out = run_on_tty('tpm', 'random', '4', pager=marker)
    check('on a terminal, tpm random prints hex and is never paged', rc == 0 and out == '00010203\n', out)
    rc, out = run_on_tty('tpm', 'pcrs', '0', pager='echo "LESS=$LESS"; cat >/dev/null')
    check('the pager gets LESS=FRSXMK', rc == 0 and out == 'LESS=FRSXMK\n', out)
    rc, out, err = run('tpm', 'pcrs', '0', env={'PAGER': marker})
    check('into a pipe, no pager even with $PAGER set', rc == 0 and b'PAGED:' not in out and b'INDEX' in out,
          describe(rc, out, err))


def bus_ok_tests():
    tty_tests()

    # status: GetStatus() merged with the Manager properties.
    rc, out, err = expect('status', ['status'], 0)
    got = kv(out.decode())
    want = {
        'Daemon version': '0.1.0-fake',
        'Trust state': 'unknown',
        'Trust reasons': 'no attestation yet',
        'Last attestation': 'never',
        'Secure Boot': 'disabled',
        'TPM present': 'yes',
        'SRK provisioned': 'no',
        'TPM connection': 'swtpm:path=/fake',
        'FutureKey': 'from the future',
    }
    check('status shows every field, unknown keys included', got == want, f'{got!r}')
    # One trust reason per line (they contain ", " themselves), aligned under the first.
    lines = out.decode().splitlines()
    first = [i for i, line in enumerate(lines) if 'Trust reasons: ' in line]
    check('status shows each trust reason on a line of its own',
          len(first) == 1 and lines[first[0] + 1] == ' ' * lines[first[0]].index('no attestation') +
          'event log not checked', out.decode())

    rc, out, err = expect('status --json=short', ['status', '--json=short'], 0)
    check('status --json=short is one line', out.count(b'\n') == 1, out)
    try:
        j = json.loads(out)
    except ValueError:
        j = None
    check('status JSON uses the D-Bus names and types',
          j == {'Version': '0.1.0-fake', 'TPMPresent': True, 'TrustState': 'unknown', 'SRKProvisioned': False,
                'TCTI': 'swtpm:path=/fake', 'FutureKey': 'from the future',
                'TrustReasons': ['no attestation yet', 'event log not checked'], 'LastAttestation': 0,
                'SecureBoot': False}, f'{j!r}')

    info_want = {
        'Manufacturer': 'IBM', 'VendorString': 'SW   TPM', 'FirmwareVersion': '8217.4131.22.13379',
        'SpecLevel': 0, 'SpecRevision': 164, 'SpecYear': 2021, 'SpecDayOfYear': 104,
        'Algorithms': ['rsa', 'sha1', 'sha256', 'ecc'], 'PCRBanks': ['sha1', 'sha256'], 'PCRCount': 24,
        'InLockout': False, 'LockoutCounter': 0, 'MaxAuthFail': 3, 'LockoutInterval': 1000,
        'LockoutRecovery': 86400, 'NewerKey': 7,
    }
    rc, out, err = expect('tpm info --json=short', ['tpm', 'info', '--json=short'], 0)
    check('tpm info --json=short is one line', out.count(b'\n') == 1, out)
    try:
        j = json.loads(out)
    except ValueError:
        j = None
    check('tpm info JSON matches GetInfo() key for key', j == info_want, f'{j!r}')
    check('tpm info JSON keeps the daemon\'s key order', j is not None and list(j) == list(info_want), f'{j!r}')

    rc, out, err = expect('tpm info --json=pretty', ['tpm', 'info', '--json=pretty'], 0)
    check('tpm info --json=pretty is indented and equal',
          out.count(b'\n') > 10 and json.loads(out) == info_want, out)

    rc, out, err = expect('tpm info table', ['tpm', 'info'], 0)
    got = kv(out.decode())
    want = {
        'Manufacturer': 'IBM', 'Vendor string': 'SW   TPM', 'Firmware version': '8217.4131.22.13379',
        'Spec level': '0', 'Spec revision': '1.64', 'Spec date': '2021-04-14',
        'Algorithms': 'rsa, sha1, sha256, ecc', 'PCR banks': 'sha1, sha256', 'PCR count': '24',
        'In lockout': 'no', 'Lockout counter': '0', 'Max auth failures': '3',
        'Lockout interval': '16min 40s', 'Lockout recovery': '1d', 'NewerKey': '7',
    }
    check('tpm info table shows readable values', got == want, f'{got!r}')

    expect('tpm random 16 --hex', ['tpm', 'random', '16', '--hex'], 0)
    rc, out, err = run('tpm', 'random', '16', '--hex')
    check('tpm random 16 --hex prints 32 hex digits and a newline',
          out == b'000102030405060708090a0b0c0d0e0f\n', out)
    rc, out, err = run('tpm', 'random', '16')
    check('tpm random 16 into a pipe writes the raw bytes', rc == 0 and out == bytes(range(16)),
          describe(rc, out, err))
    rc, out, err = run('tpm', 'random', '4096')
    check('tpm random 4096 writes 4096 bytes', rc == 0 and out == bytes(i & 0xff for i in range(4096)),
          describe(rc, out[:20], err))
    rc, out, err = run('tpm', 'random', '4', '--json=short')
    check('tpm random --json=short', rc == 0 and out == b'{"Random":"00010203"}\n', describe(rc, out, err))

    rc, out, err = expect('tpm pcrs 0-2', ['tpm', 'pcrs', '0-2'], 0)
    want = ('INDEX BANK   DIGEST\n'
            f'    0 sha256 {"00" * 32}\n'
            f'    1 sha256 {"01" * 32}\n'
            f'    2 sha256 {"02" * 32}\n'
            '\n3 PCRs listed.\n')
    check('tpm pcrs 0-2 prints the INDEX BANK DIGEST table', out.decode() == want, out)

    rc, out, err = run('tpm', 'pcrs', '2,0-1', '--no-legend')
    want = ''.join(f'    {i} sha256 {f"{i:02x}" * 32}\n' for i in range(3))
    check('tpm pcrs --no-legend drops header and footer', rc == 0 and out.decode() == want,
          describe(rc, out, err))

    rc, out, err = run('tpm', 'pcrs', '--bank', 'sha1', '5', '0', '--json=short')
    try:
        j = json.loads(out)
    except ValueError:
        j = None
    check('tpm pcrs --bank sha1 --json=short: sorted objects with hex digests',
          rc == 0 and j == [{'Index': 0, 'Bank': 'sha1', 'Digest': '00' * 20},
                            {'Index': 5, 'Bank': 'sha1', 'Digest': '05' * 20}], describe(rc, out, err))

    rc, out, err = run('tpm', 'pcrs', '--json=short')
    try:
        j = json.loads(out)
    except ValueError:
        j = None
    check('tpm pcrs without PCRs lists all 24',
          rc == 0 and j is not None and [e['Index'] for e in j] == list(range(24)), describe(rc, out, err))

    expect('an argument the daemon refuses is printed, exit 2', ['tpm', 'pcrs', '--bank=md5'], 2,
           stderr_has=["Failed to read the PCRs: Unknown PCR bank 'md5'"])

    rc, out, err = expect('tpm provision', ['tpm', 'provision'], 0)
    got = kv(out.decode())
    check('tpm provision shows the SRK',
          got == {'SRK created': 'yes', 'SRK handle': '0x81000001', 'SRK algorithm': 'ecc',
                  'SRK name': '000b1234'}, f'{got!r}')
    rc, out, err = run('tpm', 'provision', '--json=short')
    check('tpm provision --json=short',
          rc == 0 and json.loads(out or b'null') == {'Created': True, 'SRKHandle': 0x81000001,
                                                     'SRKAlgorithm': 'ecc', 'SRKName': '000b1234'},
          describe(rc, out, err))
    rc, out, err = run('-q', 'tpm', 'provision')
    check('tpm provision -q prints nothing', rc == 0 and out == b'' and err == '', describe(rc, out, err))


def main():
    try:
        if MODE == 'cli':
            cli_tests()
        elif MODE == 'bus':
            with tempfile.TemporaryDirectory(prefix='tpctl-test-') as tmp:
                bus_tests(tmp)
        else:
            print(f'Bail out! unknown mode {MODE!r}')
            return 1
    except Exception as e:  # a broken helper must fail the run loudly, not skip
        check('test setup', False, repr(e))

    for i, (name, ok, detail) in enumerate(results, 1):
        print(f'{"ok" if ok else "not ok"} {i} - {name}')
        if not ok:
            for line in detail.splitlines() or ['']:
                print(f'# {line}')
    print(f'1..{len(results)}')
    return 0 if all(ok for _, ok, _ in results) else 1


if __name__ == '__main__':
    sys.exit(main())
