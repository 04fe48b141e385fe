"""Helpers to run portable firmware test modules under the MicroPython Unix port.

A portable module holds `case_*` functions. Under CPython pytest calls them
directly; under MicroPython tests/firmware/mprun.py runs the whole module in
one subprocess (fast) and each pytest test asserts on its own PASS line."""

import os
import pathlib
import subprocess
import tempfile

import pytest

from devstack.kiosks import micropython_exe

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parents[1]
HEAP = "1M"  # case modules build fakes and many journals; the 128 KB proof is separate


def mp_env(extra_paths=()):
    paths = [str(REPO), str(HERE), *map(str, extra_paths), str(REPO / "build" / "mpylib")]
    scratch = tempfile.mkdtemp(prefix="fwcases-")
    return {**os.environ, "MICROPYPATH": ":".join(paths), "FW_SCRATCH": scratch}


def run_micropython(args, heap=HEAP, timeout=300, cwd=None):
    cmd = [micropython_exe(), "-X", f"heapsize={heap}", *map(str, args)]
    return subprocess.run(cmd, env=mp_env(), capture_output=True, text=True, timeout=timeout, cwd=cwd or HERE)


def case_names(module):
    return sorted(n for n in dir(module) if n.startswith("case_"))


class MicroPythonCases:
    def __init__(self):
        self._results = {}

    def result(self, modname, case):
        if modname not in self._results:
            proc = run_micropython([HERE / "mprun.py", modname])
            lines = {}
            for line in proc.stdout.splitlines():
                parts = line.split(" ", 2)
                if parts[0] in ("PASS", "FAIL") and len(parts) >= 2:
                    lines[parts[1]] = line
            self._results[modname] = (lines, proc.stdout[-4000:] + proc.stderr[-2000:])
        lines, tail = self._results[modname]
        if case not in lines:
            pytest.fail(f"MicroPython did not run {modname}.{case}:\n{tail}")
        return lines[case]


def assert_passes_on_micropython(micropython_cases, modname, case):
    line = micropython_cases.result(modname, case)
    assert line.startswith("PASS"), line
