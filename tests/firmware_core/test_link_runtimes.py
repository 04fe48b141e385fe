"""Broker list, jittered reconnect backoff and the pipelined sender: the same
deterministic checks on CPython and on the MicroPython Unix port
(tests/firmware_core/link_checks.py)."""

import link_checks
import pytest
from mp_runner import HERE, run_micropython


@pytest.fixture(scope="module")
def unix_port_outcomes():
    out = run_micropython([str(HERE / "link_checks.py")])
    lines = out.splitlines()
    assert lines[-1] == "DONE", out[-2000:]
    outcomes = {}
    for line in lines[:-1]:
        status, _, rest = line.partition(" ")
        name, _, reason = rest.partition(": ")
        outcomes[name] = None if status == "ok" else reason
    return outcomes


@pytest.mark.parametrize("check", link_checks.CHECKS)
def test_on_cpython(check):
    getattr(link_checks, check)()


@pytest.mark.parametrize("check", link_checks.CHECKS)
def test_on_micropython_unix_port(check, unix_port_outcomes):
    assert check in unix_port_outcomes, f"{check} did not run on MicroPython"
    assert unix_port_outcomes[check] is None, unix_port_outcomes[check]
