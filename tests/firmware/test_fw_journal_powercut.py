"""Power cut at every flash write of the journal's life (appends, segment
rotations, acks and a reboot) on a real littlefs (os.VfsLfs2 on the MicroPython
Unix port over a RAM flash that dies after its N-th program or erase). After
remounting, every punch that got its "accepted" feedback and was not acked is
there exactly once, nothing else is, and the next seq is above every seq used.
See lfs_powercut.py."""

import pytest
from mphelp import HERE, run_micropython


def sweep(mode):
    proc = run_micropython([HERE / "lfs_powercut.py", mode], heap="4M", timeout=300)
    lines = [line for line in proc.stdout.splitlines() if line.startswith(("OK", "FAIL", "END"))]
    assert lines and lines[-1].startswith("END"), proc.stdout[-3000:] + proc.stderr[-3000:]
    _, runs, writes = lines[-1].split()
    return [line for line in lines if line.startswith("FAIL")], int(runs), int(writes)


@pytest.mark.parametrize("mode", ["clean", "torn", "tail-clean", "tail-torn"])
def test_no_accepted_punch_lost_and_seq_never_reused_for_a_cut_at_every_write(mode):
    fails, runs, writes = sweep(mode)
    assert writes > 50, "the scenario should make dozens of flash writes"
    assert runs == writes, "one run per write of the scenario"
    assert fails == []


@pytest.mark.parametrize("mode", ["clean-recovery", "torn-recovery", "tail-torn-recovery"])
def test_a_second_cut_during_the_recovery_boot_loses_nothing_either(mode):
    fails, runs, writes = sweep(mode)
    assert runs == writes * 4
    assert fails == []
