#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Runs "tpctl eventlog show/replay/facts/diff" as a user would, on every firmware event log fixture (no
daemon, no TPM), and "tpctl ima replay" with the firmware log for the boot_aggregate check. Replayed PCR
values are checked against tests/harness/tcglog.py (via tp-simulate-boot --dry-run), a reader that
shares no code with src/eventlog. Malformed logs must fail with the parser's message (event, byte offset)
and exit status 1, never crash. Output is TAP.

Usage: test-eventlog-tpctl.py TPCTL SOURCE_ROOT"""

import json
import os
import subprocess
import sys
import tempfile

TPCTL, TOP = sys.argv[1:3]
FIX = os.path.join(TOP, 'tests', 'fixtures', 'eventlogs')
IMA = os.path.join(TOP, 'tests', 'fixtures', 'imalogs')
SIMULATE = os.path.join(TOP, 'tests', 'harness', 'tp-simulate-boot')
# Every fixture is a whole log (specid-vendordata.bin's vendor info follows its Spec ID event, as tpm2-tools
# writes it, and is read from there); malformed logs are made below by cutting and flipping.
GOOD = ['event.bin', 'event-uefivar.bin', 'event-uefiaction.bin', 'event-uefiservices.bin',
        'event-uefi-sha1-log.bin', 'event-bootorder.bin', 'event-postcode.bin', 'event-arch-linux.bin',
        'specid-vendordata.bin']
BAD = []
CRASH_SIGNS = ('Sanitizer', 'runtime error', 'Segmentation', 'Aborted', 'core dumped', 'Assertion')
results = []


def check(name, cond, detail=''):
    results.append((name, bool(cond), detail))


def run(*args, env=None):
    e = dict(os.environ)
    e['TRUSTED_PLATFORM_LOG_LEVEL'] = 'info'
    e['LC_ALL'] = 'C'
    for k in ('TRUSTED_PLATFORM_EVENTLOG', 'TRUSTED_PLATFORM_IMA_LOG'):
        e.pop(k, None)
    if env:
        e.update(env)
    p = subprocess.run([TPCTL, '--no-pager', *args], env=e, stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=120)
    return p.returncode, p.stdout.decode(errors='replace'), p.stderr.decode(errors='replace')


def expect(name, args, rc_want, stdout_has=(), stderr_has=(), env=None):
    rc, out, err = run(*args, env=env)
    ok = (rc == rc_want and all(s in out for s in stdout_has) and all(s in err for s in stderr_has)
          and not any(s in err for s in CRASH_SIGNS))
    check(name, ok, f'rc={rc} stdout={out[:300]!r} stderr={err[:400]!r}')
    return rc, out, err


def run_json(name, *args):
    rc, out, err = run('--json=short', *args)
    try:
        j = json.loads(out)
    except ValueError:
        j = None
    check(name, rc == 0 and j is not None, f'rc={rc} stdout={out[:200]!r} stderr={err[:300]!r}')
    return j


def fix(name):
    return os.path.join(FIX, name)


def independent_replay(name):
    p = subprocess.run([sys.executable, SIMULATE, '--dry-run', '--json', fix(name)], capture_output=True, text=True)
    return {b: pcrs for b, pcrs in json.loads(p.stdout)['banks'].items() if pcrs}


EVENT_KEYS = {'index', 'offset', 'pcr', 'type', 'type_name', 'digests', 'decoded', 'digest_status'}

for name in GOOD:
    rc, out, err = expect(f'show {name}', ['eventlog', 'show', fix(name)], 0,
                          stdout_has=['INDEX', 'PCR', 'TYPE', 'SUMMARY', ' events, '])
    events = run_json(f'show --json {name} parses', 'eventlog', 'show', fix(name)) or []
    check(f'show --json {name}: every event with the documented keys',
          len(events) > 0 and all(EVENT_KEYS <= set(e) for e in events)
          and [e['index'] for e in events] == list(range(len(events)))
          and all(e['digest_status'] in ('not-checked', 'verified', 'mismatch') for e in events),
          json.dumps(events[:2])[:300])
    check(f'show --json {name}: offsets increase',
          all(a['offset'] < b['offset'] for a, b in zip(events, events[1:])))

    j = run_json(f'replay --json {name} parses', 'eventlog', 'replay', fix(name)) or {}
    got = {}
    for p in j.get('pcrs', []):
        got.setdefault(p['bank'], {})[str(p['pcr'])] = p['digest']
    want = independent_replay(name)
    # A log without measurements (specid-vendordata.bin) replays nothing: every PCR stays zero.
    check(f'replay {name}: PCRs as the independent reader replays them',
          (want and all(got.get(b, {}).get(k) == v for b, pcrs in want.items() for k, v in pcrs.items()))
          or (not want and got and all(set(v) == {'0'} for pcrs in got.values() for v in pcrs.values())),
          f'want={json.dumps(want)[:300]} got={json.dumps(got)[:300]}')
    expect(f'replay {name} (table)', ['eventlog', 'replay', fix(name)], 0, stdout_has=['PCR', 'BANK', 'DIGEST', 'replayed'])

    expect(f'facts {name} (text)', ['eventlog', 'facts', fix(name)], 0, stdout_has=['Secure Boot', 'Format'])
    f = run_json(f'facts --json {name} parses', 'eventlog', 'facts', fix(name))
    check(f'facts --json {name}: an object with format and banks',
          isinstance(f, dict) and f.get('format') in ('legacy', 'crypto-agile') and isinstance(f.get('banks'), list),
          json.dumps(f)[:300])

    expect(f'diff {name} with itself', ['eventlog', 'diff', fix(name), fix(name)], 0, stdout_has=['No changes.'])

# The legacy SHA1 log and a crypto-agile one are told apart.
f = run_json('facts of the legacy log', 'eventlog', 'facts', fix('event-uefi-sha1-log.bin')) or {}
check('facts: legacy format, sha1 only', f.get('format') == 'legacy' and f.get('banks') == ['sha1'], json.dumps(f)[:200])

# event-arch-linux.bin: event 24's data does not match its digest.
ARCH = fix('event-arch-linux.bin')
rc, out, err = expect('replay of event-arch-linux.bin names event 24', ['eventlog', 'replay', ARCH], 0,
                      stderr_has=['event 24'], stdout_has=['1 digest mismatch'])
j = run_json('replay --json event-arch-linux.bin', 'eventlog', 'replay', ARCH) or {}
check('replay --json: digest_mismatches is exactly event 24',
      [m.get('event') for m in j.get('digest_mismatches', [])] == [24], json.dumps(j.get('digest_mismatches'))[:300])
events = run_json('show --json event-arch-linux.bin', 'eventlog', 'show', ARCH) or []
check('show --json: event 24 (only) has digest_status mismatch',
      [e['index'] for e in events if e['digest_status'] == 'mismatch'] == [24])
expect('show flags event 24 in the table', ['eventlog', 'show', ARCH], 0, stdout_has=['DIGEST MISMATCH'],
       stderr_has=['event 24'])
f = run_json('facts --json event-arch-linux.bin', 'eventlog', 'facts', ARCH) or {}
check('facts: digest_mismatches [24]', f.get('digest_mismatches') == [24], json.dumps(f.get('digest_mismatches')))

# diff between two machines' logs, and against saved facts.
rc, out, err = expect('diff between two real logs', ['eventlog', 'diff', fix('event-bootorder.bin'), ARCH], 0)
check('diff between two real logs names changes', out.strip() and 'No changes.' not in out, out[:300])
changes = run_json('diff --json between two real logs', 'eventlog', 'diff', fix('event-bootorder.bin'), ARCH) or []
check('diff --json: changes with kind, what, old, new, message',
      len(changes) > 0 and all({'kind', 'what', 'old', 'new', 'message'} <= set(c) for c in changes),
      json.dumps(changes)[:300])
check('diff --json: the PCRs whose events differ are named',
      any(c['kind'] == 'pcr-events' for c in changes), json.dumps(changes)[:300])
check('diff --json: event 24 now mismatches', any(c['kind'] == 'digest-mismatches' for c in changes))

with tempfile.TemporaryDirectory() as d:
    saved = os.path.join(d, 'facts.json')
    rc, out, err = run('--json=short', 'eventlog', 'facts', fix('event-bootorder.bin'))
    with open(saved, 'w') as g:
        g.write(out)
    expect('diff saved facts with the same log', ['eventlog', 'diff', saved, fix('event-bootorder.bin')], 0,
           stdout_has=['No changes.'])
    # Saved facts edited the way an attacker's boot would differ.
    facts = json.loads(out)
    facts['kernel_cmdline'] = 'root=/dev/sda1 ro'
    facts['secure_boot'] = not facts.get('secure_boot') if facts.get('secure_boot') is not None else True
    edited = os.path.join(d, 'edited.json')
    with open(edited, 'w') as g:
        json.dump(facts, g)
    rc, out, err = expect('diff edited facts', ['eventlog', 'diff', saved, edited], 0,
                          stdout_has=['kernel command line changed', 'Secure Boot'])
    bad_json = os.path.join(d, 'bad.json')
    with open(bad_json, 'w') as g:
        g.write('{"format": ')
    expect('diff with broken facts JSON', ['eventlog', 'diff', bad_json, saved], 1, stderr_has=['Invalid facts JSON'])

    # Malformed logs: the parser's message, exit status 1, no crash.
    for name in BAD:
        for verb in ('show', 'replay', 'facts'):
            expect(f'{verb} {name} is refused', ['eventlog', verb, fix(name)], 1,
                   stderr_has=['Invalid event log', 'byte offset'])
    with open(fix('event-bootorder.bin'), 'rb') as g:
        blob = g.read()
    cuts = [1, 8, 31, 40, 60, 100, 1000, 5000, len(blob) - 3]
    for n in cuts:
        path = os.path.join(d, f'cut{n}')
        with open(path, 'wb') as g:
            g.write(blob[:n])
        expect(f'log cut at byte {n} is refused with its offset', ['eventlog', 'show', path], 1,
               stderr_has=['Invalid event log', 'byte offset'])
    flipped = bytearray(blob)
    flipped[0x20 + 8] ^= 0xff  # inside the Spec ID event's header fields
    for name, data in (('empty', b''), ('garbage', bytes(range(256)) * 4), ('flipped', bytes(flipped))):
        path = os.path.join(d, name)
        with open(path, 'wb') as g:
            g.write(data)
        rc, out, err = run('eventlog', 'replay', path)
        check(f'{name} log: clean result, no crash', rc in (0, 1) and not any(s in err for s in CRASH_SIGNS)
              and (rc == 0 or 'event log' in err), f'rc={rc} {err[:300]!r}')
    expect('diff with a malformed log', ['eventlog', 'diff', os.path.join(d, 'cut100'), fix('event.bin')], 1,
           stderr_has=['byte offset'])

expect('missing file', ['eventlog', 'show', '/nonexistent/log'], 1, stderr_has=["'/nonexistent/log'"])
expect('default path from $TRUSTED_PLATFORM_EVENTLOG', ['eventlog', 'show'], 0, stdout_has=['EV_'],
       env={'TRUSTED_PLATFORM_EVENTLOG': fix('event-bootorder.bin')})
expect('replay --bank=sha256', ['eventlog', 'replay', '--bank=sha256', fix('event.bin')], 0, stdout_has=['sha256'])
rc, out, err = run('eventlog', 'replay', '--bank=sha256', fix('event.bin'))
check('replay --bank=sha256 shows no other bank', 'sha384' not in out and 'sha1 ' not in out, out[:300])
expect('replay --bank of a bank the log lacks', ['eventlog', 'replay', '--bank=sha384', fix('event-uefi-sha1-log.bin')],
       1, stderr_has=['sha384'])

# Bad arguments: usage errors (exit status 2).
expect('unknown eventlog command', ['eventlog', 'frob'], 2, stderr_has=["'frob'"])
expect('missing eventlog command', ['eventlog'], 2, stderr_has=['show, replay, facts or diff'])
expect('show: too many arguments', ['eventlog', 'show', 'a', 'b'], 2, stderr_has=['Too many arguments'])
expect('diff: too few arguments', ['eventlog', 'diff', fix('event.bin')], 2, stderr_has=['Too few arguments'])
expect('show --compare-tpm refused', ['eventlog', 'show', '--compare-tpm', fix('event.bin')], 2,
       stderr_has=['--compare-tpm', 'only valid with'])
expect('replay --bank=md5', ['eventlog', 'replay', '--bank=md5', fix('event.bin')], 2, stderr_has=["'md5'"])
expect('replay --compare-tpm --quote', ['eventlog', 'replay', '--compare-tpm', '--quote=/tmp', fix('event.bin')], 2,
       stderr_has=['exclude each other'])
expect('replay --nonce without --quote', ['eventlog', 'replay', '--nonce=00', fix('event.bin')], 2,
       stderr_has=['--quote='])
expect('replay --quote without --nonce', ['eventlog', 'replay', '--quote=/nonexistent', fix('event.bin')], 2,
       stderr_has=['--nonce'])
expect('replay --quote of a missing directory', ['eventlog', 'replay', '--quote=/nonexistent/q', '--nonce=' + '00' * 16,
                                                  fix('event.bin')], 1, stderr_has=['/nonexistent/q'])
expect('ima replay --eventlog with --compare-tpm', ['ima', 'replay', '--eventlog=x', '--compare-tpm', 'y'], 2,
       stderr_has=['exclude each other'])
expect('ima show --eventlog refused', ['ima', 'show', '--eventlog=x'], 2, stderr_has=['only valid with'])
expect('eventlog show --help', ['eventlog', 'show', '--help'], 0, stdout_has=['TRUSTED_PLATFORM_EVENTLOG'])
expect('eventlog replay --help', ['eventlog', 'replay', '--help'], 0, stdout_has=['--compare-tpm'])

# tpctl ima replay: boot_aggregate against the firmware log of the same machine.
IMA_LOG = os.path.join(IMA, 'ima-evm-utils-test_ascii_runtime_measurements')
BIOS = os.path.join(IMA, 'ima-evm-utils-test_binary_bios_measurements')
rc, out, err = run('--json=short', 'ima', 'replay', '--eventlog', BIOS, IMA_LOG)
try:
    agg = json.loads(out).get('BootAggregate')
except ValueError:
    agg = None
check('ima replay --eventlog: boot_aggregate matches (sha256, PCRs 0-7)',
      rc == 0 and agg == {'Result': 'match', 'Variant': 'pcr0-7', 'Source': BIOS}, f'rc={rc} {out[:300]} {err[:300]}')
expect('ima replay with $TRUSTED_PLATFORM_EVENTLOG', ['ima', 'replay', IMA_LOG], 0,
       stdout_has=['boot_aggregate matches', 'pcr0-7'], env={'TRUSTED_PLATFORM_EVENTLOG': BIOS})
expect('ima replay binary log with the firmware log', ['ima', 'replay', '--eventlog', BIOS,
                                                        os.path.join(IMA, 'ima-evm-utils-test_binary_runtime_measurements')],
       0, stdout_has=['boot_aggregate matches'])
expect('ima replay against another machine\'s firmware log', ['ima', 'replay', '--eventlog', fix('event-bootorder.bin'),
                                                               IMA_LOG], 1, stderr_has=['boot_aggregate does NOT match'])
with tempfile.NamedTemporaryFile(suffix='.bin') as cut:
    with open(fix('event-arch-linux.bin'), 'rb') as g:
        cut.write(g.read()[:1000])
    cut.flush()
    expect('ima replay with a malformed firmware log', ['ima', 'replay', '--eventlog', cut.name, IMA_LOG],
           1, stderr_has=['Invalid event log'])
rc, out, err = run('--json=short', 'ima', 'replay', IMA_LOG)
check('ima replay without a firmware log does not check boot_aggregate',
      rc == 0 and 'BootAggregate' not in json.loads(out or '{}'), f'rc={rc} {out[:200]}')

print(f'1..{len(results)}')
for i, (name, ok, detail) in enumerate(results, 1):
    print(f'{"ok" if ok else "not ok"} {i} - {name}')
    if not ok:
        print(f'# {detail}')
sys.exit(0 if all(ok for _, ok, _ in results) else 1)
