# Journal behaviour checks that run unchanged on CPython and on the MicroPython
# Unix port (plain filesystem; littlefs power-cut sweeps live with the
# firmware's own tests). Each check_* function takes a scratch directory and
# raises AssertionError on a failure. Run them all on MicroPython with
#
#   micropython tests/firmware_core/journal_checks.py <scratch-dir> [names...]
#
# which prints "ok <name>" or "FAIL <name>: <reason>" per check and "DONE".
# MicroPython-compatible on purpose: no f-strings, typing, pathlib, shutil.

import json
import os
import sys

from scratch import rmtree

from firmware.core import fsutil
from firmware.core import journal as J
from firmware.core.protocol import KIND_ENROLL
from firmware.ports.pico import tailjournal as TJ

T0 = 1767225600000
REC = 16  # bytes per record with a 4-byte UID
HDR = J.SEG_HEADER


def uid(n):
    return bytes((0x04, (n >> 16) & 255, (n >> 8) & 255, n & 255))


def fresh(root, seg_records=4, **kw):
    rmtree(root)
    return reopen(root, seg_records, **kw)


def reopen(root, seg_records=4, **kw):
    """tail=N: the Pico's TailJournal (firmware/ports/pico/tailjournal.py)."""
    cls = TJ.TailJournal if kw.get("tail") else J.Journal
    return cls(root, seg_records=seg_records, **kw).open()


def fill(j, n):
    out = []
    for _ in range(n):
        s = j.last_seq + 1
        out.append(j.append(uid(s), T0 + s * 1000))
    return out


def segments(root):
    return sorted(n for n in os.listdir(root) if n.endswith(J.SEG_SUFFIX))


def state(root):
    with open(root + "/state.json") as f:
        return json.loads(f.read())


def seqs(punches):
    return [p.seq for p in punches]


def eq(got, want, what):
    assert got == want, "%s: got %r, want %r" % (what, got, want)


def snapshot(root):
    """The journal's files as bytes: sweeps restore it instead of re-appending
    (each append syncs, which is what makes a sweep slow)."""
    return {n: fsutil.read(root + "/" + n) for n in os.listdir(root)}


def restore(root, snap):
    rmtree(root)
    os.mkdir(root)
    for name in snap:
        with open(root + "/" + name, "wb") as f:
            f.write(snap[name])


def truncate(path, size):
    data = fsutil.read(path, b"")
    with open(path, "wb") as f:
        f.write(data[:size])


# -- checks --------------------------------------------------------------


def check_append_is_durable_and_reads_back_in_order(root):
    j = fresh(root)
    written = fill(j, 10)
    j.append(uid(99), 123456, KIND_ENROLL, True)
    j.close()
    j = reopen(root)
    got = j.unacked(100)
    eq(seqs(got), list(range(1, 12)), "seqs after reboot")
    eq([p.to_wire() for p in got[:10]], [p.to_wire() for p in written], "punches after reboot")
    last = got[-1]
    eq(
        (last.kind, last.ts_ms, last.boot, last.uptime_ms),
        (KIND_ENROLL, None, 1, 123456),
        "estimated punch keeps the boot it was taken in",
    )
    eq(seqs(j.unacked(3)), [1, 2, 3], "unacked honours its limit")


def check_torn_tail_dropped_at_boot_for_every_cut_point(root):
    # 6 records, 4 per segment: segment 5 holds seqs 5 and 6 (8 + 2 * 16 bytes).
    # A power cut after any byte of it: the complete records survive, the
    # tail is dropped, the next seq is past every seq that reached the disk,
    # and new punches are readable after it.
    j = fresh(root)
    fill(j, 6)
    j.close()
    snap = snapshot(root)
    for cut in range(HDR + 2 * REC):
        restore(root, snap)
        truncate(root + "/00000005.nxj", cut)
        j = reopen(root)
        whole = max(0, (cut - HDR) // REC)  # complete records in segment 5
        seq_on_disk = 4 + whole
        if cut >= HDR and whole < 2 and (cut - HDR) % REC >= 4:
            seq_on_disk += 1  # the torn record's seq field reached the disk
        what = "cut at byte %d" % cut
        eq(seqs(j.unacked(100)), list(range(1, 5 + whole)), what + ": records kept")
        eq(j.last_seq, seq_on_disk, what + ": seq resumes past the highest seq on disk")
        p = j.append(uid(77), T0)
        eq(p.seq, seq_on_disk + 1, what + ": next seq")
        j.close()
        j = reopen(root)
        eq(
            seqs(j.unacked(100)),
            list(range(1, 5 + whole)) + [p.seq],
            what + ": the punch taken after the cut is readable after the next reboot",
        )
        j.close()


def check_torn_tail_is_counted(root):
    j = fresh(root)
    fill(j, 3)
    j.close()
    truncate(root + "/00000001.nxj", HDR + 2 * REC + 7)
    j = reopen(root)
    eq(j.dropped_torn, 1, "dropped_torn")
    eq(seqs(j.unacked(10)), [1, 2], "kept")


def check_any_bit_flip_in_the_last_record_drops_only_that_record(root):
    j = fresh(root)
    fill(j, 3)
    j.close()
    snap = snapshot(root)
    for byte in range(REC):
        for bit in (0, 7):
            restore(root, snap)
            path = root + "/00000001.nxj"
            data = bytearray(fsutil.read(path))
            data[HDR + 2 * REC + byte] ^= 1 << bit
            with open(path, "wb") as f:
                f.write(data)
            j = reopen(root)
            what = "bit %d of byte %d" % (bit, byte)
            eq(seqs(j.unacked(10)), [1, 2], what)
            assert j.last_seq >= 2, what
            j.close()


def check_seq_resumes_past_highest_seq_after_reboots(root):
    j = fresh(root)
    fill(j, 5)
    j.close()
    for boot in range(2, 5):
        j = reopen(root)
        eq(j.boot, boot, "boot id")
        eq(j.last_seq, 5 + (boot - 2) * 2, "last seq at boot %d" % boot)
        fill(j, 2)
        j.close()


def check_seq_resumes_after_every_segment_was_acked_and_deleted(root):
    j = fresh(root, seg_records=2)
    fill(j, 5)
    j.close()
    j = reopen(root, seg_records=2)
    j.ack(5)
    eq(segments(root), [], "every segment deleted once fully acked")
    j.close()
    j = reopen(root, seg_records=2)
    eq((j.last_seq, j.acked, j.pending()), (5, 5, 0), "cursor after all deleted")
    eq(j.append(uid(6), T0).seq, 6, "next seq after all segments were deleted")
    j.close()


def check_seq_resumes_when_acked_while_writing(root):
    # The open segment survives the ack; the state file carries the floor.
    j = fresh(root, seg_records=2)
    fill(j, 5)
    j.ack(5)
    j.close()
    for name in segments(root):
        os.remove(root + "/" + name)  # even if the segments vanish
    j = reopen(root, seg_records=2)
    eq(j.append(uid(6), T0).seq, 6, "next seq")


def check_acked_cursor_survives_reboot(root):
    j = fresh(root)
    fill(j, 10)
    j.ack(7)
    j.close()
    j = reopen(root)
    eq((j.acked, j.last_seq), (7, 10), "cursor")
    eq(seqs(j.unacked(100)), [8, 9, 10], "unacked after reboot")
    eq(state(root)["acked"], 7, "state.json acked")


def check_lazy_ack_moves_the_cursor_in_ram_and_flush_writes_it_then_frees_segments(root):
    j = fresh(root)
    fill(j, 10)  # segments 1 (1-4), 5 (5-8), 9 (9-10)
    j.lazy_ack = True
    eq(j.unsaved(), False, "nothing to flush before an ack")
    j.ack(8)
    eq((j.acked, j.saved_acked, j.pending()), (8, 0, 2), "cursor in RAM only")
    eq(seqs(j.unacked(100)), [9, 10], "the sender reads past the RAM cursor")
    eq(state(root)["acked"], 0, "state.json untouched by a lazy ack")
    eq(
        segments(root),
        ["00000001.nxj", "00000005.nxj", "00000009.nxj"],
        "no segment deleted under a cursor that is not on flash",
    )
    eq(j.unsaved(), True, "flush due")
    eq(j.flush(), True, "flush wrote")
    eq((state(root)["acked"], j.saved_acked), (8, 8), "cursor on flash")
    eq(segments(root), ["00000009.nxj"], "segments the saved cursor covers deleted")
    eq((j.unsaved(), j.flush()), (False, False), "a second flush has nothing to do")


def check_power_cut_between_lazy_ack_and_flush_resends_acked_punches_and_drops_none(root):
    j = fresh(root)
    fill(j, 10)
    j.ack(3)  # eager: on flash
    j.lazy_ack = True
    j.ack(9)
    # power cut: no flush, no close; the files stay as they are
    j = reopen(root)
    eq((j.acked, j.last_seq), (3, 10), "cursor back to the one on flash")
    eq(seqs(j.unacked(100)), [4, 5, 6, 7, 8, 9, 10], "acked punches resent, the unacked one kept")
    eq(j.append(uid(11), T0).seq, 11, "no seq reused")
    j.lazy_ack = True
    j.ack(11)
    j.close()  # a clean shutdown flushes
    j = reopen(root)
    eq((j.acked, j.unacked(100)), (11, []), "cursor written by close")


class _CrashingOs:
    """os as fsutil sees it, except that rename fails: a power cut between the
    temporary file's sync and the rename."""

    def __init__(self, real):
        self._real = real

    def rename(self, a, b):
        raise OSError(5)

    def __getattr__(self, name):
        return getattr(self._real, name)


def check_acked_cursor_write_is_atomic(root):
    j = fresh(root)
    fill(j, 10)
    j.ack(4)
    real = fsutil.os
    fsutil.os = _CrashingOs(real)
    try:
        try:
            j.ack(8)
            crashed = False
        except OSError:
            crashed = True
    finally:
        fsutil.os = real
    assert crashed, "the simulated power cut did not reach the state write"
    # A half-written temporary file must not matter either.
    with open(root + "/state.json.tmp", "wb") as f:
        f.write(b'{"acked": 9')
    j = reopen(root)
    eq(j.acked, 4, "cursor after a cut during its write: the old value")
    eq(seqs(j.unacked(100)), [5, 6, 7, 8, 9, 10], "punches after the old cursor are still held")
    j.ack(8)
    j.close()
    j = reopen(root)
    eq(j.acked, 8, "cursor written after the cut")


def check_segments_deleted_only_when_fully_acked(root):
    j = fresh(root)
    fill(j, 10)  # segments 1 (1-4), 5 (5-8), 9 (9-10)
    eq(segments(root), ["00000001.nxj", "00000005.nxj", "00000009.nxj"], "segments")
    for upto in range(11):
        j.ack(upto)
        names = segments(root)
        for first in (1, 5, 9):
            last = min(first + 3, 10)
            name = "%08x.nxj" % first
            if last > upto:
                assert name in names, "ack %d deleted %s which still holds seq %d" % (upto, name, last)
        if upto >= 4:
            assert "00000001.nxj" not in names, "ack %d kept a fully acked segment" % upto
        if upto >= 8:
            assert "00000005.nxj" not in names, "ack %d kept a fully acked segment" % upto
        eq(seqs(j.unacked(100)), list(range(upto + 1, 11)), "unacked after ack %d" % upto)
    j.close()
    j = reopen(root)
    eq(j.unacked(100), [], "nothing pending after reboot")


def check_ack_sweep_survives_reboot_at_every_cursor(root):
    j = fresh(root)
    fill(j, 10)
    j.close()
    snap = snapshot(root)
    for upto in range(11):
        restore(root, snap)
        j = reopen(root)
        j.ack(upto)
        j.close()
        j = reopen(root)
        eq(seqs(j.unacked(100)), list(range(upto + 1, 11)), "after ack %d and reboot" % upto)
        eq(j.append(uid(1), T0).seq, 11, "next seq after ack %d and reboots" % upto)
        j.close()


def check_stale_or_repeated_ack_changes_nothing(root):
    j = fresh(root)
    fill(j, 6)
    j.ack(5)
    eq(j.ack(3), False, "stale ack")
    eq(j.ack(5), False, "repeated ack")
    eq((j.acked, seqs(j.unacked(10))), (5, [6]), "cursor")


def check_ack_beyond_last_seq_bumps_the_seq_floor(root):
    # The backend stores seqs this journal never wrote (it was wiped or
    # replaced): no new punch may reuse them, also across a reboot.
    j = fresh(root)
    fill(j, 3)
    j.ack(10)
    eq((j.last_seq, j.acked, j.pending()), (10, 10, 0), "after ack beyond last seq")
    eq(j.append(uid(11), T0).seq, 11, "next seq")
    j.close()
    j = reopen(root)
    eq(j.last_seq, 11, "after reboot")
    eq(seqs(j.unacked(10)), [11], "unacked")
    j.close()
    rmtree(root)
    j = fresh(root)
    j.ack(42)  # a wiped kiosk's first ack
    j.close()
    j = reopen(root)
    eq(j.append(uid(1), T0).seq, 43, "next seq of a wiped journal after its first ack and a reboot")


def check_full_journal_refuses_without_overwriting(root):
    j = fresh(root, max_records=5)
    fill(j, 5)
    try:
        j.append(uid(6), T0)
        refused = False
    except J.JournalFull:
        refused = True
    assert refused, "a full journal accepted a punch"
    eq(seqs(j.unacked(10)), [1, 2, 3, 4, 5], "nothing overwritten")
    j.ack(2)
    eq(j.append(uid(6), T0).seq, 6, "space again after an ack")


def check_segment_header_carries_the_boot_id(root):
    j = fresh(root)
    fill(j, 1)
    j.close()
    j = reopen(root)
    fill(j, 1)
    j.close()
    names = segments(root)
    eq(len(names), 2, "one segment per boot")
    heads = [fsutil.read(root + "/" + n)[:HDR] for n in names]
    eq([h[:3] for h in heads], [J.SEG_MAGIC + bytes((J.SEG_VERSION,))] * 2, "magic and version")
    eq([h[4] | h[5] << 8 for h in heads], [1, 2], "boot ids")


def check_prepared_segments_keep_file_creation_off_the_tap_path(root):
    j = fresh(root)  # 4 records per segment
    eq(j.prepare(), True, "boot creates the first segment")
    names = segments(root)
    fill(j, 4)
    eq(segments(root), names, "the first taps only append")
    eq(j.prepare(), True, "idle time creates the next segment once this one is full")
    eq(j.prepare(), False, "and only once")
    fill(j, 1)
    eq(j.rolls_on_tap, 0, "segments created on the tap path")
    j.close()
    j = reopen(root)  # a reboot: the new boot's segment is prepared again, no seq reused
    j.prepare()
    fill(j, 2)
    eq(j.rolls_on_tap, 0, "segments created on the tap path after the reboot")
    eq(seqs(j.unacked(100)), [1, 2, 3, 4, 5, 6, 7], "every punch once, in order")
    j.ack(7)
    j.close()
    j = reopen(root)
    j.prepare()
    fill(j, 1)
    eq(seqs(j.unacked(100)), [8], "after the ack")
    j.close()


# -- the tail (tailjournal.py: records in a small file inline in littlefs
# metadata, merged into the segment off the tap path) -----------------------

TAIL = HDR + 6 * REC  # room for 6 records; flush() merges from 4


def tail_path(root):
    return root + "/" + TJ.TAIL_NAME


def tailed(root, n, seg_records=8):
    """A fresh journal with a tail, n punches appended (none merged yet)."""
    j = fresh(root, seg_records=seg_records, tail=TAIL)
    j.prepare()
    fill(j, n)
    return j


def check_tail_takes_the_appends_and_the_segment_gets_them_in_one_merge(root):
    j = tailed(root, 3)
    seg = root + "/00000001.nxj"
    eq(fsutil.size(seg), HDR, "the segment is not written on the tap path")
    eq(fsutil.size(tail_path(root)), HDR + 3 * REC, "the tail holds the records")
    eq(seqs(j.unacked(100)), [1, 2, 3], "the sender reads them from the tail")
    eq(seqs(j.unacked(2)), [1, 2], "unacked honours its limit in the tail")
    eq((j.unsaved(), j.flush()), (False, False), "under half full: no merge yet")
    fill(j, 1)
    eq(j.unsaved(), True, "over half full: flush has work")
    eq(j.flush(), True, "flush merged")
    eq(fsutil.size(seg), HDR + 4 * REC, "the segment got the four records")
    eq(fsutil.size(tail_path(root)), HDR, "the tail is empty again")
    fill(j, 2)
    eq(seqs(j.unacked(100)), [1, 2, 3, 4, 5, 6], "segment then tail, in order")
    j.ack(5)
    eq(seqs(j.unacked(100)), [6], "the cursor covers records in both")
    eq(j.merges_on_tap, 0, "no tap merged")
    j.close()


def check_a_full_tail_is_merged_by_the_tap_and_segments_still_roll(root):
    j = tailed(root, 20, seg_records=8)  # never flushed: every 6th tap merges
    assert j.merges_on_tap > 0, "a full tail makes the tap merge"
    eq(seqs(j.unacked(100)), list(range(1, 21)), "every punch once, in order")
    eq(segments(root), ["00000001.nxj", "00000009.nxj", "00000011.nxj"], "8 records a segment")
    j.close()
    j = reopen(root, seg_records=8, tail=TAIL)
    eq(seqs(j.unacked(100)), list(range(1, 21)), "after a reboot")
    eq(j.append(uid(21), T0).seq, 21, "next seq")


def check_power_cut_between_tail_write_and_merge_loses_nothing(root):
    j = tailed(root, 3)
    j.append(uid(4), T0, KIND_ENROLL, True)
    snap = snapshot(root)  # the power goes: the records are in the tail only
    restore(root, snap)
    j = reopen(root, tail=TAIL)
    eq(TJ.TAIL_NAME in os.listdir(root), False, "the boot moved the tail into the segment")
    got = j.unacked(100)
    eq(seqs(got), [1, 2, 3, 4], "every accepted punch, once")
    eq((got[3].kind, got[3].boot, got[3].uptime_ms), (KIND_ENROLL, 1, T0), "with its boot")
    eq(j.append(uid(5), T0).seq, 5, "no seq reused")
    j.close()
    j = reopen(root, tail=TAIL)
    eq(seqs(j.unacked(100)), [1, 2, 3, 4, 5], "and after the next boot")


def check_power_cut_mid_merge_keeps_every_record_once(root):
    # The merge writes the tail's records to the segment, syncs, then empties
    # the tail. A cut anywhere in that: the segment holds any prefix of those
    # bytes (whole records or a torn one) and the tail is still full.
    j = tailed(root, 2)
    j.flush()  # seqs 1, 2 in the segment
    fill(j, 4)  # seqs 3-6 in the tail
    before = snapshot(root)
    j.merge()
    merged = fsutil.read(root + "/00000001.nxj")
    eq(len(merged), HDR + 6 * REC, "merged")
    for cut in range(HDR + 2 * REC, len(merged) + 1):
        restore(root, before)
        with open(root + "/00000001.nxj", "wb") as f:
            f.write(merged[:cut])
        j = reopen(root, tail=TAIL)
        what = "segment cut at %d" % cut
        eq(seqs(j.unacked(100)), [1, 2, 3, 4, 5, 6], what)
        eq(j.append(uid(7), T0).seq, 7, what)
        j.close()
        j = reopen(root, tail=TAIL)
        eq(seqs(j.unacked(100)), [1, 2, 3, 4, 5, 6, 7], what + ", next boot")
        j.close()


def check_power_cut_after_merge_before_the_tail_is_emptied(root):
    j = tailed(root, 4)
    tail = fsutil.read(tail_path(root))
    j.merge()
    j.close()
    with open(tail_path(root), "wb") as f:  # the segment is synced, the tail still full
        f.write(tail)
    j = reopen(root, tail=TAIL)
    eq(seqs(j.unacked(100)), [1, 2, 3, 4], "each record once")
    eq(fsutil.size(root + "/00000001.nxj"), HDR + 4 * REC, "not written twice")
    eq(j.append(uid(5), T0).seq, 5, "next seq")


def check_torn_tail_keeps_whole_records_for_every_cut_point(root):
    j = tailed(root, 3)
    snap = snapshot(root)
    size = HDR + 3 * REC
    for cut in range(size):
        restore(root, snap)
        truncate(tail_path(root), cut)
        j = reopen(root, tail=TAIL)
        whole = max(0, (cut - HDR) // REC)
        on_disk = whole + (1 if cut >= HDR and (cut - HDR) % REC >= 4 else 0)
        what = "tail cut at %d" % cut
        eq(seqs(j.unacked(100)), list(range(1, whole + 1)), what)
        assert j.last_seq >= on_disk, what + ": a seq on disk would be reused"
        nxt = j.append(uid(9), T0).seq
        eq(seqs(j.unacked(100)), list(range(1, whole + 1)) + [nxt], what + ": appends after it")
        j.close()


def check_wipe_drops_the_tail_and_keeps_the_seq_floor(root):
    j = tailed(root, 3)
    j.wipe()
    eq(TJ.TAIL_NAME in os.listdir(root), False, "tail deleted")
    eq(j.unacked(100), [], "nothing left")
    j.close()
    j = reopen(root, tail=TAIL)
    eq(j.append(uid(4), T0).seq, 4, "no seq reused")


CHECKS = [n for n in sorted(globals()) if n.startswith("check_")]


def run(root, names=None):
    """-> list of (name, None | reason)."""
    out = []
    for name in names or CHECKS:
        try:
            globals()[name](root)
            out.append((name, None))
        except Exception as e:  # report every failure, keep going
            out.append((name, "%s: %s" % (type(e).__name__, e)))
        rmtree(root)
    return out


if __name__ == "__main__":
    for name, err in run(sys.argv[1], sys.argv[2:]):
        print("ok " + name if err is None else "FAIL %s: %s" % (name, err))
    print("DONE")
