"""The kiosk core: clock, journal full, config, commands, feedback, on CPython and
on the MicroPython Unix port (cases in cases_kiosk.py)."""

import cases_kiosk as cases
import pytest
from mphelp import assert_passes_on_micropython, case_names

CASES = case_names(cases)


@pytest.mark.parametrize("case", CASES)
def test_kiosk_on_cpython(case):
    getattr(cases, case)()


@pytest.mark.parametrize("case", CASES)
def test_kiosk_on_micropython(case, micropython_cases):
    assert_passes_on_micropython(micropython_cases, "cases_kiosk", case)
