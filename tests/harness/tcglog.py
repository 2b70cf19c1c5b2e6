# SPDX-License-Identifier: LGPL-2.1-or-later
"""A deliberately small, independent reader of TCG PC Client firmware event logs, for tests.

It knows just enough to replay a log: the legacy SHA1 format (TCG_PCClientPCREvent) and the
crypto-agile format (a Spec ID Event03 first, then TCG_PCR_EVENT2 records), EV_NO_ACTION events
(never extended) and the StartupLocality event (PCR 0 starts at the locality). It shares no code with
src/eventlog, so that the C parser's replay can be checked against it and against a TPM that had the
log's digests extended into it (tp-simulate-boot). It trusts its input: fixtures only."""

import hashlib
import struct

EV_NO_ACTION = 0x00000003
SPEC_ID_SIGNATURE = b"Spec ID Event03\0"
STARTUP_LOCALITY_SIGNATURE = b"StartupLocality\0"

# TPM_ALG_ID -> (name, digest size)
ALGORITHMS = {
    0x0004: ("sha1", 20),
    0x000B: ("sha256", 32),
    0x000C: ("sha384", 48),
    0x000D: ("sha512", 64),
    0x0012: ("sm3_256", 32),
}


class Event:
    def __init__(self, index, pcr, type_, digests, data, offset=0):
        self.index = index
        self.offset = offset  # of the event's first byte in the log
        self.pcr = pcr
        self.type = type_
        self.digests = digests  # {bank name: bytes}
        self.data = data


class Log:
    def __init__(self, banks, events, startup_locality):
        self.banks = banks  # bank names the log carries digests for, in the log's order
        self.events = events
        self.startup_locality = startup_locality

    def replay(self, n_pcrs=24):
        """{bank: {pcr: bytes}} for every PCR that has an extended event (PCR 0 also when the
        StartupLocality event gave it a non-zero start)."""
        values = {}
        for bank in self.banks:
            size = hashlib.new(bank).digest_size
            pcrs = {}
            if self.startup_locality:
                pcrs[0] = bytes(size - 1) + bytes([self.startup_locality])
            for e in self.events:
                if e.type == EV_NO_ACTION or e.pcr >= n_pcrs or bank not in e.digests:
                    continue
                old = pcrs.get(e.pcr, bytes(size))
                pcrs[e.pcr] = hashlib.new(bank, old + e.digests[bank]).digest()
            values[bank] = pcrs
        return values


def parse(blob):
    off = 0

    def take(n):
        nonlocal off
        if off + n > len(blob):
            raise ValueError(f"truncated at offset {off}")
        chunk = blob[off:off + n]
        off += n
        return chunk

    # The first event is always in the legacy format.
    pcr, type_ = struct.unpack("<II", take(8))
    digest = take(20)
    (size,) = struct.unpack("<I", take(4))
    data = take(size)
    events = []
    startup_locality = 0

    if type_ == EV_NO_ACTION and data.startswith(SPEC_ID_SIGNATURE):
        # Spec ID Event03: signature, platformClass u32, minor u8, major u8, errata u8, uintnSize u8,
        # numberOfAlgorithms u32, then (algorithmId u16, digestSize u16) each.
        (count,) = struct.unpack_from("<I", data, 24)
        sizes = {}
        banks = []
        for i in range(count):
            alg, dsize = struct.unpack_from("<HH", data, 28 + 4 * i)
            name = ALGORITHMS.get(alg, (f"alg-0x{alg:04x}", dsize))[0]
            sizes[alg] = (name, dsize)
            banks.append(name)
        # vendorInfoSize u8, vendorInfo. tpm2-tools writes EventSize up to vendorInfoSize only and the
        # vendor info after the event; its tpm2_eventlog reads it from there, and so do we.
        vendor_at = 28 + 4 * count
        if len(data) == vendor_at + 1 and data[vendor_at] > 0:
            take(data[vendor_at])
        events.append(Event(0, pcr, type_, {}, data))
        while off < len(blob):
            index, start = len(events), off
            pcr, type_, count = struct.unpack("<III", take(12))
            digests = {}
            for _ in range(count):
                (alg,) = struct.unpack("<H", take(2))
                name, dsize = sizes[alg]
                digests[name] = take(dsize)
            (size,) = struct.unpack("<I", take(4))
            data = take(size)
            if type_ == EV_NO_ACTION and data.startswith(STARTUP_LOCALITY_SIGNATURE):
                startup_locality = data[len(STARTUP_LOCALITY_SIGNATURE)]
            events.append(Event(index, pcr, type_, digests, data, start))
        return Log([b for b in banks if b in hashlib.algorithms_available], events, startup_locality)

    events.append(Event(0, pcr, type_, {"sha1": digest}, data))
    while off < len(blob):
        start = off
        pcr, type_ = struct.unpack("<II", take(8))
        digest = take(20)
        (size,) = struct.unpack("<I", take(4))
        events.append(Event(len(events), pcr, type_, {"sha1": digest}, take(size), start))
    return Log(["sha1"], events, 0)


def parse_file(path):
    with open(path, "rb") as f:
        return parse(f.read())


def event_offsets(blob):
    """Where each event of the log starts."""
    return [e.offset for e in parse(blob).events]
