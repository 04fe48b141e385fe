"""Run the portable firmware checks on the MicroPython Unix port."""

import io
import os
import pathlib
import subprocess
from contextlib import redirect_stdout

import pytest

from devstack.kiosks import REPO, micropython_exe, mpylib

# The portable core's proof: codec, journal and sender run in a 128 KB heap (the simulated
# kiosks of devstack get more: they also hold the whole program's bytecode).
HEAP = "128K"

HERE = pathlib.Path(__file__).resolve().parent
CORE_MODULES = sorted(p.stem for p in (REPO / "firmware" / "core").glob("*.py") if p.stem != "__init__")


def cpython_cases(root: str) -> dict:
    """portable_cases.py run here, on CPython: the results every port must give."""
    import portable_cases

    buf = io.StringIO()
    with redirect_stdout(buf):
        portable_cases.main(root)
    return portable_cases.parse_output(buf.getvalue())


def run_micropython(args: list[str], timeout: float = 60, root: pathlib.Path = REPO) -> str:
    """`micropython -X heapsize=128K <args>` in `root` (default: the repo's sources) with it and
    the compiled kiosk libraries on MICROPYPATH; returns stdout, fails the test on a crash."""
    env = {**os.environ, "MICROPYPATH": f"{root}:{mpylib()}"}
    proc = subprocess.run(
        [micropython_exe(), "-X", f"heapsize={HEAP}", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=root,
        check=False,
    )
    if proc.returncode != 0:
        pytest.fail(
            f"micropython {' '.join(args)} exited {proc.returncode}:\n"
            f"{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
        )
    return proc.stdout


def check_outcomes(args: list[str]) -> dict[str, str | None]:
    """Run a checks module (journal_checks, link_checks) on the Unix port: each check prints
    `ok NAME` or `FAIL NAME: reason`, then `DONE`; returns {name: None or the reason}."""
    out = run_micropython(args)
    lines = out.splitlines()
    assert lines[-1] == "DONE", out[-2000:]
    outcomes: dict[str, str | None] = {}
    for line in lines[:-1]:
        status, _, rest = line.partition(" ")
        name, _, reason = rest.partition(": ")
        outcomes[name] = None if status == "ok" else reason
    return outcomes
