"""Journal behaviour on a plain filesystem, the same checks on CPython and on
the MicroPython Unix port (tests/firmware_core/journal_checks.py)."""

import pathlib

import journal_checks
import pytest
from mp_runner import HERE, check_outcomes


@pytest.fixture(scope="module")
def unix_port_outcomes(tmp_path_factory):
    return check_outcomes([str(HERE / "journal_checks.py"), str(tmp_path_factory.mktemp("j") / "j")])


@pytest.mark.parametrize("check", journal_checks.CHECKS)
def test_on_cpython(check, tmp_path):
    getattr(journal_checks, check)(str(tmp_path / "journal"))


@pytest.mark.parametrize("check", journal_checks.CHECKS)
def test_on_micropython_unix_port(check, unix_port_outcomes):
    assert check in unix_port_outcomes, f"{check} did not run on MicroPython"
    assert unix_port_outcomes[check] is None, unix_port_outcomes[check]


def test_a_corrupt_record_mid_segment_neither_drops_later_records_nor_reuses_their_seqs(tmp_path):
    root = str(tmp_path / "journal")
    j = journal_checks.fresh(root, seg_records=8)
    journal_checks.fill(j, 6)
    j.close()
    path = root + "/00000001.nxj"
    data = bytearray(pathlib.Path(path).read_bytes())
    data[journal_checks.HDR + journal_checks.REC + 5] ^= 1  # one bit of record 2
    pathlib.Path(path).write_bytes(bytes(data))
    j = journal_checks.reopen(root, seg_records=8)
    assert journal_checks.seqs(j.unacked(10)) == [1, 3, 4, 5, 6]
    assert j.append(journal_checks.uid(7), journal_checks.T0).seq == 7
