"""Firmware tests: the portable case modules beside this file are imported by
name (pytest runs with --import-mode=importlib, so put this folder on sys.path)."""

import pathlib
import sys

import pytest

HERE = str(pathlib.Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from mphelp import MicroPythonCases  # noqa: E402  (after the sys.path insert above)


@pytest.fixture(autouse=True)
def fw_scratch(tmp_path, monkeypatch):
    monkeypatch.setenv("FW_SCRATCH", str(tmp_path))


@pytest.fixture(scope="session")
def micropython_cases():
    return MicroPythonCases()
