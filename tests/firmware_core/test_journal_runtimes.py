"""Journal behaviour on a plain filesystem, the same checks on CPython and on
the MicroPython Unix port (tests/firmware_core/journal_checks.py)."""

import journal_checks
import pytest
from mp_runner import HERE, run_micropython


@pytest.fixture(scope="module")
def unix_port_outcomes(tmp_path_factory):
    out = run_micropython([str(HERE / "journal_checks.py"), str(tmp_path_factory.mktemp("j") / "j")])
    lines = out.splitlines()
    assert lines[-1] == "DONE", out[-2000:]
    outcomes = {}
    for line in lines[:-1]:
        status, _, rest = line.partition(" ")
        name, _, reason = rest.partition(": ")
        outcomes[name] = None if status == "ok" else reason
    return outcomes


@pytest.mark.parametrize("check", journal_checks.CHECKS)
def test_on_cpython(check, tmp_path):
    getattr(journal_checks, check)(str(tmp_path / "journal"))


@pytest.mark.parametrize("check", journal_checks.CHECKS)
def test_on_micropython_unix_port(check, unix_port_outcomes):
    assert check in unix_port_outcomes, f"{check} did not run on MicroPython"
    assert unix_port_outcomes[check] is None, unix_port_outcomes[check]
