#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Runs "tpctl ima show" and "tpctl ima replay" as a user would, on the IMA fixtures (no daemon, no
TPM), and checks what they print and how they exit. Expected PCR values: tests/fixtures/imalogs/
expected.txt. Output is TAP.

Usage: test-ima-tpctl.py TPCTL FIXTURES_DIR"""

import json
import os
import subprocess
import sys
import tempfile

TPCTL, FIX = sys.argv[1:3]
results = []


def check(name, cond, detail=''):
    results.append((name, bool(cond), detail))


def run(*args, env=None):
    e = dict(os.environ)
    e['TRUSTED_PLATFORM_LOG_LEVEL'] = 'info'
    e['LC_ALL'] = 'C'
    e.pop('TRUSTED_PLATFORM_IMA_LOG', None)
    if env:
        e.update(env)
    p = subprocess.run([TPCTL, '--no-pager', *args], env=e, stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=60)
    return p.returncode, p.stdout.decode(errors='replace'), p.stderr.decode(errors='replace')


def expect(name, args, rc_want, stdout_has=(), stderr_has=(), env=None):
    rc, out, err = run(*args, env=env)
    ok = rc == rc_want and all(s in out for s in stdout_has) and all(s in err for s in stderr_has)
    check(name, ok, f'rc={rc} stdout={out[:300]!r} stderr={err[:300]!r}')
    return rc, out, err


def expected():
    d = {}
    for line in open(os.path.join(FIX, 'expected.txt')):
        if not line.startswith('#'):
            k, _, v = line.strip().rpartition(' ')
            d[k] = v
    return d


def fix(name):
    return os.path.join(FIX, name)


EXP = expected()

rc, out, _ = expect('show lists the ASCII fixture', ['ima', 'show', fix('ima-evm-utils-test_ascii_runtime_measurements')], 0,
                    stdout_has=['INDEX', 'TEMPLATE', 'boot_aggregate', '/bin/sh',
                                'sha256:ae06e032a65fed8102aff5f8f31c678dcf2eb25b826f77ecb699faa0411f89e0'])

rc, out, err = run('ima', 'show', '--json=short', fix('synthetic_binary_runtime_measurements'))
try:
    entries = json.loads(out)
except ValueError:
    entries = []
check('show --json gives every entry', rc == 0 and len(entries) == 12, out[:200])
if len(entries) == 12:
    check('show --json: ima template', entries[0]['Template'] == 'ima' and entries[0]['DigestAlgorithm'] == 'sha1')
    check('show --json: signature', entries[3]['Signature'].startswith('030204'))
    check('show --json: empty signature', entries[4]['Signature'] == '')
    check('show --json: buffer', bytes.fromhex(entries[5]['Buffer']) == b'root=/dev/sda1 ro')
    check('show --json: appended signature digest',
          entries[6]['AppendedSignatureDigestAlgorithm'] == 'sha256' and len(entries[6]['AppendedSignatureDigest']) == 64)
    check('show --json: name with spaces', entries[8]['Name'] == '/tmp/a file with spaces')
    check('show --json: violation', entries[9]['Violation'] is True and entries[8]['Violation'] is False)
    check('show --json: digest type', entries[11]['DigestType'] == 'verity' and 'DigestType' not in entries[8])
    check('show --json: binary offsets', entries[0]['Offset'] == 0 and entries[1]['Offset'] > 0)

for log, name in (('ima-evm-utils', 'ima-evm-utils-test_ascii_runtime_measurements'),
                  ('ima-evm-utils', 'ima-evm-utils-test_binary_runtime_measurements'),
                  ('synthetic', 'synthetic_ascii_runtime_measurements'),
                  ('synthetic', 'synthetic_binary_runtime_measurements')):
    rc, out, err = run('ima', 'replay', '--json=short', fix(name))
    try:
        j = json.loads(out)
        got = {(p['Bank'], p['Rule']): p['Digest'] for p in j['PCRs'] if p['PCR'] == 10}
    except (ValueError, KeyError):
        j, got = {}, {}
    want = {('sha1', 'template-hash'): EXP[f'pcr10 {log} template-hash sha1'],
            ('sha256', 'template-hash'): EXP[f'pcr10 {log} template-hash sha256'],
            ('sha256', 'padded-sha1'): EXP[f'pcr10 {log} padded-sha1 sha256']}
    check(f'replay {name}: PCR 10 as expected', rc == 0 and got == want, f'rc={rc} {out[:300]} {err[:200]}')

expect('replay table', ['ima', 'replay', fix('synthetic_ascii_runtime_measurements')], 0,
       stdout_has=['PCR', 'BANK', 'RULE', EXP['pcr10 synthetic template-hash sha256'], '12 entries, 1 violations'])
expect('default path from $TRUSTED_PLATFORM_IMA_LOG', ['ima', 'show'], 0, stdout_has=['/bin/sh'],
       env={'TRUSTED_PLATFORM_IMA_LOG': fix('ima-evm-utils-test_ascii_runtime_measurements')})

with tempfile.TemporaryDirectory() as d:
    tampered = os.path.join(d, 'tampered')
    with open(fix('ima-evm-utils-test_ascii_runtime_measurements')) as f, open(tampered, 'w') as g:
        g.write(f.read().replace('/init', '/inix'))
    expect('replay of a tampered path fails at its entry', ['ima', 'replay', tampered], 1,
           stderr_has=['entry 1 (line 2)', 'template hash does not match', '"/inix"'])
    expect('show of a tampered path lists it, then fails', ['ima', 'show', tampered], 1, stdout_has=['/inix'],
           stderr_has=['entry 1 (line 2)'])

    cut = os.path.join(d, 'cut')
    with open(fix('synthetic_binary_runtime_measurements'), 'rb') as f, open(cut, 'wb') as g:
        g.write(f.read()[:100])
    expect('truncated binary log', ['ima', 'show', cut], 1, stderr_has=['entry 1 at byte offset', 'truncated'])

    esc = os.path.join(d, 'esc')
    with open(esc, 'wb') as g:
        g.write(b'10 983dcd8e6f7c84a1a5f10e762d1850623966ceab ima-ng sha256:' + b'ab' * 32 + b' /x\x1b[31mred\n')
    rc, out, err = run('ima', 'show', esc)
    check('control characters in names do not reach the terminal', '\x1b' not in out and '\\x1b' in out, repr(out))

expect('missing file', ['ima', 'show', '/nonexistent/ima'], 1, stderr_has=["'/nonexistent/ima'"])
expect('unknown ima command', ['ima', 'frob'], 2, stderr_has=["'frob'"])
expect('too many arguments', ['ima', 'show', 'a', 'b'], 2, stderr_has=['Too many arguments'])
expect('ima show --help', ['ima', 'show', '--help'], 0, stdout_has=['TRUSTED_PLATFORM_IMA_LOG'])

print(f'1..{len(results)}')
for i, (name, ok, detail) in enumerate(results, 1):
    print(f'{"ok" if ok else "not ok"} {i} - {name}')
    if not ok:
        print(f'# {detail}')
sys.exit(0 if all(ok for _, ok, _ in results) else 1)
