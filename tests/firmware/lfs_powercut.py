# Power-cut sweep of the punch journal on a real littlefs (MicroPython Unix port).
#
#   micropython lfs_powercut.py [clean|torn] [first_n] [last_n]
#
# The journal runs on os.VfsLfs2 over a RAM flash whose N-th program or erase
# fails (clean: not applied; torn: half of it applied) and every later one too:
# the power is gone. The scenario covers appends, segment rotations, acks
# (cursor updates, segment deletes) and a reboot. Then the flash is mounted
# again and checked:
#   - every punch whose "accepted" feedback was given (append returned) and
#     that the backend has not acked is in the journal exactly once, unchanged;
#   - nothing else is there but the one append that was cut (at most once);
#   - seqs are strictly increasing and the next punch gets a seq above all of
#     them: the counter never goes back.
# Modes: clean, torn, clean-recovery, torn-recovery (the boot after the cut is
# cut again, at each of its first writes); tail-clean, tail-torn: the Pico's
# TailJournal (firmware/ports/pico/tailjournal.py) appends into its tail and
# merges it into the segments in idle time and when it is full, so cuts land
# between a tail write and its merge, inside a merge and inside the tail's
# reset (tail-torn-recovery: and again).
# One line per N: "OK <n>/<m>" or "FAIL <n>/<m> <reason>", then "END <runs> <writes>".

import os
import sys

from firmware.core.journal import Journal
from firmware.ports.pico.tailjournal import TailJournal

BS = 4096
BLOCKS = 48
ROOT = "/flash/journal"
SEG = 4  # records per segment: many rotations in a short scenario
RECOVERY_CUTS = 4  # a boot after a cut writes state, maybe a truncated segment
TAIL_RECORDS = 3  # with a tail: merged by flush() from 2 records, by the tap at 4
TAIL = [0]  # the tail's size in bytes for this run (0: none)


class PowerCut(Exception):
    pass


class Flash:
    """Block device (MicroPython extended interface) with a power switch."""

    def __init__(self, data=None, blocks=BLOCKS):
        self.blocks = blocks
        self.data = data if data is not None else bytearray(b"\xff" * (BS * blocks))
        self.mv = memoryview(self.data)
        self.ops = 0
        self.cut = 0  # 0: never
        self.torn = False
        self.dead = False

    def _op(self):
        if self.dead:
            raise OSError(5)
        self.ops += 1
        return self.cut and self.ops >= self.cut

    def readblocks(self, block, buf, off=0):
        a = block * BS + off
        n = len(buf)
        try:
            buf[0:n] = self.mv[a : a + n]
        except MemoryError:
            # Called with the heap locked (a file closed by the GC finaliser):
            # copy without allocating.
            d = self.data
            for i in range(n):
                buf[i] = d[a + i]

    def writeblocks(self, block, buf, off=None):
        if off is None:  # simple interface: erase then program the whole block
            self.ioctl(6, block)
            off = 0
        a = block * BS + off
        n = len(buf)
        if self._op():
            self.dead = True
            if self.torn:
                h = n // 2
                self.data[a : a + h] = buf[0:h]
            raise OSError(5)
        self.data[a : a + n] = buf

    def ioctl(self, op, arg):
        if op == 4:
            return self.blocks
        if op == 5:
            return BS
        if op == 6:
            if self._op():
                self.dead = True
                if self.torn:
                    a = arg * BS
                    for i in range(a, a + BS // 2):
                        self.data[i] = 0xFF
                raise OSError(5)
            a = arg * BS
            self.data[a : a + BS] = b"\xff" * BS
            return 0
        return 0


def mount(dev, mkfs=False):
    if mkfs:
        os.VfsLfs2.mkfs(dev)
    fs = os.VfsLfs2(dev)
    os.mount(fs, "/flash")


def umount():
    try:
        os.umount("/flash")
    except OSError:
        pass


def uid(i):
    return bytes((0x04, 0xA0, (i >> 8) & 0xFF, i & 0xFF))


def journal():
    if TAIL[0]:
        return TailJournal(ROOT, seg_records=SEG, tail=TAIL[0]).open()
    return Journal(ROOT, seg_records=SEG).open()


def idle(j):
    """What the kiosk loop does between taps (with a tail: merge it)."""
    if TAIL[0]:
        j.prepare()
        j.flush()


def scenario(log):
    """The journal's life; log(kind, value) records what the kiosk saw."""
    j = journal()
    idle(j)
    t = 1767225600000
    n = 0
    for step in range(3):
        for k in range(6):
            n += 1
            log("try", n)
            p = j.append(uid(n), t + n * 1000)
            log("accepted", p)  # the green LED
            if k in (2, 3):
                idle(j)
        upto = (0, 3, 9)[step] if step < 2 else j.last_seq - 2
        if upto:
            j.ack(upto)
            log("acked", upto)
    j.close()
    j = journal()  # reboot
    idle(j)
    for _ in range(3):
        n += 1
        log("try", n)
        p = j.append(uid(n), t + n * 1000, estimated=False)
        log("accepted", p)
    j.ack(j.last_seq)  # all acked: every segment deleted
    log("acked", j.last_seq)
    n += 1
    log("try", n)
    log("accepted", j.append(uid(n), t + n * 1000))
    j.close()


def check(dev_data):
    """Remount after the cut and verify; -> None or a failure reason."""
    dev = Flash(dev_data)
    try:
        mount(dev)
    except OSError as e:
        return "filesystem does not mount after the cut: %r" % (e,)
    try:
        j = journal()
        pend = j.unacked(100000)
        seqs = [p.seq for p in pend]
        for i in range(1, len(seqs)):
            if seqs[i] <= seqs[i - 1]:
                return "seqs not increasing: %r" % (seqs,)
        return j, pend
    finally:
        pass


def recover_with_cut(data, cut, torn):
    """Boot after the first cut and lose power again during recovery."""
    dev = Flash(data)
    try:
        mount(dev)
        base = dev.ops
        dev.cut = base + cut
        dev.torn = torn
        j = journal()
        j.unacked(100000)
        j.close()
    except OSError:
        pass
    umount()
    return dev.ops - base if not dev.dead else cut


def run(cut, torn, recovery_cut=0):
    dev = Flash()
    mount(dev, mkfs=True)
    base = dev.ops
    dev.cut = (base + cut) if cut else 0
    dev.torn = torn
    seen = {"accepted": [], "acked": [0], "try": [0]}

    def log(kind, value):
        seen[kind].append(value)

    cut_hit = False
    try:
        scenario(log)
    except OSError:
        cut_hit = True
    umount()
    writes = dev.ops - base
    if recovery_cut:
        recover_with_cut(dev.data, recovery_cut, torn)
    res = check(dev.data)
    if isinstance(res, str):
        umount()
        return res, writes, cut_hit
    j, pend = res
    by_seq = {}
    for p in pend:
        by_seq[p.seq] = p
    accepted = seen["accepted"]
    max_acked = max(seen["acked"])
    if j.acked > max_acked:
        umount()
        return "journal acked %d but the backend only acked %d" % (j.acked, max_acked), writes, cut_hit
    for a in accepted:
        if a.seq <= j.acked:
            continue
        p = by_seq.get(a.seq)
        if p is None:
            umount()
            return (
                "accepted punch seq %d lost (acked=%d, held %r)" % (a.seq, j.acked, sorted(by_seq)),
                writes,
                cut_hit,
            )
        if p.uid != a.uid or p.ts_ms != a.ts_ms:
            umount()
            return "punch %d changed: %r vs %r" % (a.seq, p, a), writes, cut_hit
    accepted_seqs = [a.seq for a in accepted]
    top = max(accepted_seqs) if accepted_seqs else 0
    for p in pend:
        if p.seq not in accepted_seqs and p.seq != top + 1:
            umount()
            return "unexpected punch %r in journal" % (p,), writes, cut_hit
    nxt = j.append(uid(999), 1767225600000)
    highest = max([top] + [p.seq for p in pend])
    if nxt.seq <= highest:
        umount()
        return "seq went back: new punch got %d, %d already used" % (nxt.seq, highest), writes, cut_hit
    j.close()
    umount()
    return None, writes, cut_hit


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else "clean"
    torn = "torn" in mode
    if mode.startswith("tail"):
        TAIL[0] = 8 + TAIL_RECORDS * 16
    recovery = mode.endswith("recovery")
    # An uncut run tells how many programs and erases the scenario makes.
    err, total, _ = run(0, torn)
    if err:
        print("FAIL 0 " + err)
    first = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    last = int(sys.argv[3]) if len(sys.argv) > 3 else total
    runs = 0
    for n in range(first, min(last, total) + 1):
        # With recovery: the boot after the cut is itself cut at each of its
        # first RECOVERY_CUTS writes (a power that flickers back and forth).
        for m in range(1, RECOVERY_CUTS + 1) if recovery else (0,):
            err, _, hit = run(n, torn, m)
            runs += 1
            if err:
                print("FAIL %d/%d %s" % (n, m, err))
            elif not hit:
                print("FAIL %d the cut was never reached" % n)
            else:
                print("OK %d/%d" % (n, m))
    print("END %d %d" % (runs, total))


if __name__ == "__main__":
    main()
