#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# Writes the seed corpus of fuzz-quote-verify (framing in fuzz-quote-verify.c) from the captured quote
# vectors in tests/unit/attest/vectors: the genuine quotes, and a few near misses.
import os
import struct

here = os.path.dirname(os.path.abspath(__file__))
vectors = os.path.join(here, '..', '..', 'unit', 'attest', 'vectors')
out = os.path.join(here, 'corpus', 'fuzz-quote-verify')

# sha256 {0,1,7} + sha1 {0}: count, then (hash, sizeofSelect, 3 bytes) per bank
SELECTION = struct.pack('>I', 2) + struct.pack('>HB', 0x000B, 3) + bytes([0x83, 0, 0]) \
          + struct.pack('>HB', 0x0004, 3) + bytes([0x01, 0, 0])


def frame(attest, sig, ak, nonce, sel, pcrs):
    return (struct.pack('>H', len(attest)) + attest + struct.pack('>H', len(sig)) + sig
            + struct.pack('>H', len(ak)) + ak + struct.pack('>B', len(nonce)) + nonce
            + struct.pack('>H', len(sel)) + sel + pcrs)


def read(alg, name):
    with open(os.path.join(vectors, f'{alg}-{name}'), 'rb') as f:
        return f.read()


os.makedirs(out, exist_ok=True)
for alg in ('ecc', 'rsa'):
    attest, sig, ak, nonce = (read(alg, n) for n in ('attest.bin', 'signature.bin', 'ak.pub', 'nonce.bin'))
    # values in selection order: sha256 0, 1, 7, then sha1 0
    vals = dict(line.split('=') for line in read(alg, 'pcrs.txt').decode().split())
    pcrs = b''.join(bytes.fromhex(vals[k]) for k in ('sha256:0', 'sha256:1', 'sha256:7', 'sha1:0'))
    seeds = {
        'genuine': frame(attest, sig, ak, nonce, SELECTION, pcrs),
        'bad-magic': frame(b'\x00' + attest[1:], sig, ak, nonce, SELECTION, pcrs),
        'wrong-nonce': frame(attest, sig, ak, nonce[:-1] + b'\xff', SELECTION, pcrs),
        'trailing': frame(attest + b'\x00', sig, ak, nonce, SELECTION, pcrs),
        'wrong-pcr': frame(attest, sig, ak, nonce, SELECTION, b'\x01' + pcrs[1:]),
        'short-values': frame(attest, sig, ak, nonce, SELECTION, pcrs[:40]),
    }
    for name, data in seeds.items():
        with open(os.path.join(out, f'{alg}-{name}'), 'wb') as f:
            f.write(data)
