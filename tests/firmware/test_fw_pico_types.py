"""Type check of the Pico W port against the MicroPython rp2 Pico W stubs
(micropython-rp2-rpi-pico-w-stubs, with its MicroPython stdlib stubs as the
typeshed), with mypy (a dev dependency). bootstrap installs the stubs outside the venv's
site-packages (.venv/picostubs): they shadow CPython's standard library stubs. The stubs themselves do not pass mypy
cleanly (they are written for pyright), so only findings in our files count."""

import os
import pathlib
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parents[2]
STUBS = REPO / ".venv" / "picostubs"


def test_pico_port_type_checks_against_the_pico_w_stubs(tmp_path):
    assert (STUBS / "machine.pyi").exists(), (
        f"Pico W stubs missing in {STUBS}: run `make test-deps` (NOXUS_WITH_TEST_DEPS=1 scripts/bootstrap.sh)"
    )
    env = {**os.environ, "MYPYPATH": str(STUBS)}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--custom-typeshed-dir",
            str(STUBS),
            "--python-version",
            "3.11",
            "--no-site-packages",
            "--ignore-missing-imports",
            "--follow-imports=silent",
            "--check-untyped-defs",
            "--cache-dir",
            str(tmp_path / "cache"),
            "firmware/ports/pico",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    ours = [line for line in proc.stdout.splitlines() if line.startswith("firmware/")]
    assert "checked" in proc.stdout or "Success" in proc.stdout, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert ours == []
