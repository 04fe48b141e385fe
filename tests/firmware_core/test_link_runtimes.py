"""Broker list, jittered reconnect backoff and the pipelined sender: the same
deterministic checks on CPython and on the MicroPython Unix port
(tests/firmware_core/link_checks.py)."""

import link_checks
import pytest
from mp_runner import HERE, check_outcomes


@pytest.fixture(scope="module")
def unix_port_outcomes():
    return check_outcomes([str(HERE / "link_checks.py")])


@pytest.mark.parametrize("check", link_checks.CHECKS)
def test_on_cpython(check):
    getattr(link_checks, check)()


@pytest.mark.parametrize("check", link_checks.CHECKS)
def test_on_micropython_unix_port(check, unix_port_outcomes):
    assert check in unix_port_outcomes, f"{check} did not run on MicroPython"
    assert unix_port_outcomes[check] is None, unix_port_outcomes[check]
