"""The kiosk's claim state machine on CPython (the Pi) and on the MicroPython Unix
port (the Pico), cases in cases_claim.py; storing the credentials under a power
cut at every flash write on a real littlefs (claim_powercut.py)."""

import cases_claim as cases
import pytest
from mphelp import HERE, assert_passes_on_micropython, case_names, run_micropython

CASES = case_names(cases)


@pytest.mark.parametrize("case", CASES)
def test_claim_on_cpython(case):
    getattr(cases, case)()


@pytest.mark.parametrize("case", CASES)
def test_claim_on_micropython(case, micropython_cases):
    assert_passes_on_micropython(micropython_cases, "cases_claim", case)


@pytest.mark.parametrize("mode", ["clean", "torn"])
def test_power_cut_while_storing_credentials_leaves_the_old_or_the_new_state_never_half(mode):
    proc = run_micropython([HERE / "claim_powercut.py", mode], heap="4M", timeout=300)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(("OK", "FAIL", "END"))]
    assert lines and lines[-1].startswith("END"), proc.stdout[-3000:] + proc.stderr[-3000:]
    _, runs, writes = lines[-1].split()
    assert int(writes) >= 6, "ca.pem, kiosk.json, claim.json: several programs and erases"
    assert int(runs) == int(writes)
    assert [ln for ln in lines if ln.startswith("FAIL")] == []
    old = [ln for ln in lines if ln.endswith(" old")]
    new = [ln for ln in lines if ln.endswith(" new")]
    assert old and new, "cuts land both before and after the commit point"
