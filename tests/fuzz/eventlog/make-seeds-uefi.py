#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# Writes the seed corpus of fuzz-eventlog-uefi (framing in fuzz-eventlog-uefi.c: one selector byte, then
# event data) from the event data of the firmware log fixtures, read with tests/harness/tcglog.py: one seed
# per distinct (type, data) up to 8 KB, plus the typed decoders' inputs (device paths, signature lists,
# load options, certificates) cut out of them.
import hashlib
import os
import struct
import sys

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.join(here, '..', '..', '..')
sys.path.insert(0, os.path.join(root, 'tests', 'harness'))
import tcglog  # noqa: E402

fixtures = os.path.join(root, 'tests', 'fixtures', 'eventlogs')
out = os.path.join(here, 'corpus', 'fuzz-eventlog-uefi')

# Keep in step with types[] in fuzz-eventlog-uefi.c: (type, pcr)
TYPES = [(0x3, 0), (0x4, 0), (0x5, 0), (0x80000007, 4), (0x8, 0), (0x7, 0), (0x1, 0), (0x13, 0),
         (0x80000008, 0), (0x8000000A, 0), (0x80000001, 7), (0x80000002, 1), (0x8000000C, 1),
         (0x800000E0, 7), (0x80000003, 4), (0x80000004, 2), (0x80000005, 2), (0x80000006, 5),
         (0x8000000D, 5), (0x80000009, 1), (0x8000000B, 1), (0xD, 8), (0xD, 9), (0xD, 12), (0x6, 12),
         (0x12, 4), (0x80000010, 0), (0x12345678, 3)]
DIRECT_UTF16, DIRECT_ASCII, DIRECT_DEVICE_PATH, DIRECT_SIGNATURE_LISTS, DIRECT_LOAD_OPTION, DIRECT_X509 = \
    (len(TYPES) + i for i in range(6))
MAX_SEED = 8192
PER_SELECTOR = 6  # the fixtures have 65 GRUB commands: a few of each kind are enough

seeds = {}
per_selector = {}


def add(selector, data):
    if len(data) + 1 > MAX_SEED or per_selector.get(selector, 0) >= PER_SELECTOR:
        return
    blob = bytes([selector]) + data
    h = hashlib.sha256(blob).hexdigest()[:16]
    if h not in seeds:
        seeds[h] = blob
        per_selector[selector] = per_selector.get(selector, 0) + 1


def selector(type_, pcr):
    for i, (t, p) in enumerate(TYPES):
        if t == type_ and p == pcr:
            return i
    for i, (t, p) in enumerate(TYPES):
        if t == type_:
            return i
    return None


for name in sorted(os.listdir(fixtures)):
    if not name.endswith('.bin'):
        continue
    try:
        log = tcglog.parse_file(os.path.join(fixtures, name))
    except ValueError:
        continue
    for e in log.events:
        s = selector(e.type, e.pcr)
        if s is not None:
            add(s, e.data)
        d = e.data
        if e.type in (0x80000001, 0x80000002, 0x800000E0) and len(d) >= 32:
            nl, dl = struct.unpack_from('<QQ', d, 16)
            name16, value = d[32:32 + nl * 2], d[32 + nl * 2:32 + nl * 2 + dl]
            add(DIRECT_UTF16, name16)
            if name16.decode('utf-16le') in ('PK', 'KEK', 'db', 'dbx'):
                add(DIRECT_SIGNATURE_LISTS, value)
            if name16.decode('utf-16le').startswith('Boot0'):
                add(DIRECT_LOAD_OPTION, value)
            if e.type == 0x800000E0 and len(value) > 16:
                add(DIRECT_X509, value[16:] if value[16:17] == b'\x30' else value)
        if e.type in (0x80000003, 0x80000004) and len(d) >= 32:
            (dpl,) = struct.unpack_from('<Q', d, 24)
            add(DIRECT_DEVICE_PATH, d[32:32 + dpl])
        if e.type in (0x5, 0x80000007, 0xD):
            add(DIRECT_ASCII, d)

os.makedirs(out, exist_ok=True)
for h, blob in sorted(seeds.items()):
    with open(os.path.join(out, h), 'wb') as f:
        f.write(blob)
print(f'{len(seeds)} seeds in {out}')
