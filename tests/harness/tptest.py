# SPDX-License-Identifier: LGPL-2.1-or-later
"""A minimal TAP runner for unittest test cases, so meson (protocol: 'tap') counts each case.

    import tptest
    class FooTest(unittest.TestCase): ...
    if __name__ == "__main__":
        tptest.main()

TAP goes to the original stdout; while tests run, fd 1 points at stderr so that nothing a test or
a child process prints can corrupt the TAP stream. Prints `ok N - name`, `not ok N - name` with
the traceback as `#` diagnostics, `ok N - name # SKIP reason`, and the plan at the end.
Exit status: 0 when nothing failed, 1 otherwise. SIGTERM/SIGINT unwind the running test so its
helpers are stopped."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tpharness  # noqa: E402


class TapResult(unittest.TestResult):
    def __init__(self, out):
        super().__init__()
        self.out = out
        self.n = 0

    def _emit(self, test, ok, directive="", diag=""):
        self.n += 1
        name = test.id().split(".", 1)[-1] if hasattr(test, "id") else str(test)
        self.out.write(f"{'ok' if ok else 'not ok'} {self.n} - {name}{directive}\n")
        for line in diag.rstrip("\n").splitlines():
            self.out.write(f"# {line}\n")
        self.out.flush()

    def addSuccess(self, test):
        super().addSuccess(test)
        self._emit(test, True)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._emit(test, False, diag=self.failures[-1][1])

    def addError(self, test, err):
        super().addError(test, err)
        self._emit(test, False, diag=self.errors[-1][1])

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._emit(test, True, directive=f" # SKIP {reason}")

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self._emit(test, True, directive=" # TODO expected failure")

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._emit(test, False, diag="unexpected success")

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            self._emit(subtest, False, diag=self._exc_info_to_string(err, test))


def main(module="__main__", argv=None):
    tpharness.install_signal_handlers()
    argv = sys.argv[1:] if argv is None else argv
    loader = unittest.TestLoader()
    if argv:  # names of TestCase.test_method to run
        suite = loader.loadTestsFromNames(argv, sys.modules[module])
    else:
        suite = loader.loadTestsFromModule(sys.modules[module])
    sys.stdout.flush()
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    result = TapResult(out)
    interrupted = None
    try:
        suite.run(result)
    except tpharness.Interrupted as e:
        interrupted = e
        out.write(f"not ok {result.n + 1} - interrupted by signal {e.signum}\n")
        result.n += 1
        result.errors.append((None, str(e)))
    out.write(f"1..{result.n}\n")
    out.flush()
    if interrupted:
        sys.exit(128 + interrupted.signum)
    sys.exit(0 if result.wasSuccessful() and result.n > 0 else 1)
