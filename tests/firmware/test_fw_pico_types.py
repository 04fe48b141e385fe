"""Type check of the Pico W port against the MicroPython rp2 Pico W stubs
(micropython-rp2-rpi-pico-w-stubs, with its MicroPython stdlib stubs as the
typeshed), with mypy. bootstrap installs both outside the venv's site-packages
(.venv/picostubs, .venv/mypytool). The stubs themselves do not pass mypy
cleanly (they are written for pyright), so only findings in our files count."""

import os
import pathlib
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
STUBS = REPO / ".venv" / "picostubs"
MYPY = REPO / ".venv" / "mypytool"


@pytest.mark.skipif(not (STUBS / "machine.pyi").exists() or not (MYPY / "mypy").exists(),
                    reason="Pico W stubs or mypy missing: run NOXUS_WITH_TEST_DEPS=1 scripts/bootstrap.sh")
def test_pico_port_type_checks_against_the_pico_w_stubs(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(MYPY), "MYPYPATH": str(STUBS)}
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--custom-typeshed-dir", str(STUBS), "--python-version", "3.11",
         "--no-site-packages", "--ignore-missing-imports", "--follow-imports=silent", "--check-untyped-defs",
         "--cache-dir", str(tmp_path / "cache"), "firmware/ports/pico"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    ours = [line for line in proc.stdout.splitlines() if line.startswith("firmware/")]
    assert "checked" in proc.stdout or "Success" in proc.stdout, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert ours == []
