#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A stand-in for trusted-platformd, to test the Daemon driver alone: records its environment,
sends READY=1 on NOTIFY_SOCKET, waits for SIGTERM, sends STOPPING=1 and exits 0.
  --exit-before-ready   exits 3 without READY=1
  --no-stopping         exits 0 on SIGTERM without STOPPING=1
  --ignore-term         ignores SIGTERM (the driver must SIGKILL it)"""

import json
import os
import signal
import socket
import sys


def notify(text):
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.connect(os.environ["NOTIFY_SOCKET"])
        s.send(text.encode())


def main():
    opts = set(sys.argv[1:])
    print("stand-in daemon starting", file=sys.stderr, flush=True)
    if "--exit-before-ready" in opts:
        print("stand-in daemon: failing on purpose", file=sys.stderr, flush=True)
        sys.exit(3)
    with open(os.path.join(os.environ["TRUSTED_PLATFORM_STATE_DIR"], "standin-env.json"), "w") as f:
        json.dump({"pid": os.getpid(), "env": dict(os.environ)}, f)
    if "--ignore-term" in opts:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    else:
        # Blocked before READY=1 and collected with sigwait(): a SIGTERM that arrives right after
        # READY=1 is still pending, not lost before we start waiting.
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    notify("READY=1\nSTATUS=standing in")
    if "--ignore-term" in opts:
        while True:
            signal.pause()
    signal.sigwait({signal.SIGTERM})
    if "--no-stopping" not in opts:
        notify("STOPPING=1")
    sys.exit(0)


if __name__ == "__main__":
    main()
