"""mypy over the backend (configuration in pyproject.toml, [tool.mypy]) and over the
portable firmware core against the MicroPython stubs of the Pico W port, so that
`make test` fails on any type error. docs/testing.md, "Types"."""

import os
import pathlib
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parents[1]
STUBS = REPO / ".venv" / "picostubs"  # micropython-rp2-rpi-pico-w-stubs (scripts/bootstrap.sh)
INSTALL = "run `make test-deps` (NOXUS_WITH_TEST_DEPS=1 scripts/bootstrap.sh)"


def mypy(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
        env={**os.environ, **(env or {})},
    )
    assert "No module named mypy" not in proc.stderr, f"mypy is not installed: {INSTALL}"
    return proc


def test_backend_has_no_type_errors():
    proc = mypy("--cache-dir", str(REPO / ".mypy_cache" / "cpython"))
    assert proc.returncode == 0 and "Success" in proc.stdout, proc.stdout[-6000:] + proc.stderr[-2000:]


def test_firmware_core_has_no_type_errors_against_the_micropython_stubs():
    # The stubs are the typeshed (MicroPython's stdlib, not CPython's); they do not
    # pass mypy themselves (written for pyright), so only findings in our files count.
    assert (STUBS / "machine.pyi").exists(), f"MicroPython stubs missing in {STUBS}: {INSTALL}"
    proc = mypy(
        "--custom-typeshed-dir",
        str(STUBS),
        "--no-site-packages",
        "--follow-imports=silent",
        "--cache-dir",
        str(REPO / ".mypy_cache" / "micropython"),
        "firmware/core",
        env={"MYPYPATH": str(STUBS)},
    )
    ours = [line for line in proc.stdout.splitlines() if line.startswith("firmware/")]
    assert "Found" in proc.stdout or "Success" in proc.stdout, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert ours == [], "\n".join(ours)
