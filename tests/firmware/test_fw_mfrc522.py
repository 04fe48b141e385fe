"""The MFRC522 driver against a fake chip at SPI/register level, on CPython and
on the MicroPython Unix port (cases in cases_mfrc522.py)."""

import cases_mfrc522 as cases
import pytest
from mphelp import assert_passes_on_micropython, case_names

CASES = case_names(cases)


@pytest.mark.parametrize("case", CASES)
def test_mfrc522_on_cpython(case):
    getattr(cases, case)()


@pytest.mark.parametrize("case", CASES)
def test_mfrc522_on_micropython(case, micropython_cases):
    assert_passes_on_micropython(micropython_cases, "cases_mfrc522", case)
