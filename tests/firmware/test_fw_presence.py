"""The presence state machine (flicker, cooldown, already recorded), on CPython and
on the MicroPython Unix port (cases in cases_presence.py)."""

import cases_presence as cases
import pytest
from mphelp import assert_passes_on_micropython, case_names

CASES = case_names(cases)


@pytest.mark.parametrize("case", CASES)
def test_presence_on_cpython(case):
    getattr(cases, case)()


@pytest.mark.parametrize("case", CASES)
def test_presence_on_micropython(case, micropython_cases):
    assert_passes_on_micropython(micropython_cases, "cases_presence", case)
