# Firmware measurements on the MicroPython Unix port (run by bench/firmware_bench.py):
#
#   MICROPYPATH=<repo>:<repo>/tests/firmware micropython -X heapsize=4M bench/mp_firmware_bench.py [quick]
#
# Prints one JSON object per line: {"name": ..., ...}.

import gc
import json
import os
import sys
import time

from fake_mfrc522 import FakeCard, FakeMFRC522, FakePin
from lfs_powercut import Flash

from firmware.core import feedback as fb
from firmware.core.clock import Clock
from firmware.core.journal import SEG_HEADER, Journal, encode_record
from firmware.core.kiosk import Kiosk
from firmware.core.mfrc522 import MFRC522

QUICK = len(sys.argv) > 1 and sys.argv[1] == "quick"
T0 = 1767225600


def out(name, **d):
    d["name"] = name
    print(json.dumps(d))


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))]


class Stamp(fb.Feedback):
    """Notes when the feedback is given: the end of the tap path."""

    def __init__(self):
        self.at = None
        self.event = None

    def show(self, event, detail=""):
        self.at = time.ticks_us()
        self.event = event


def mount_lfs(blocks):
    dev = Flash(None, blocks)
    os.VfsLfs2.mkfs(dev)
    os.mount(os.VfsLfs2(dev), "/flash")
    return dev


def kiosk_on(root):
    chip = FakeMFRC522()
    drv = MFRC522(chip.spi, chip.cs, FakePin())
    drv.init()
    j = Journal(root, max_records=10**6).open()
    stamp = Stamp()
    k = Kiosk("B1", j, drv, stamp, Clock(lambda: T0))
    return k, chip, stamp


def bench_tap_path(label, root, n):
    """Card arrives -> the poll that reads it -> presence -> journal append
    (write + sync) -> feedback. Measured from the start of that poll."""
    k, chip, stamp = kiosk_on(root)
    xs = []
    now = 0
    for i in range(n):
        card = chip.enter(FakeCard(bytes((4, 0xB0, (i >> 8) & 255, i & 255))))
        t0 = time.ticks_us()
        k.step(now)
        xs.append(time.ticks_diff(stamp.at, t0))
        chip.leave(card)
        for _ in range(4):
            now += 50
            k.step(now)
        now += 50
    out("tap_to_feedback_us", fs=label, n=n, median=pct(xs, 0.5), p95=pct(xs, 0.95), max=max(xs))
    k.journal.close()


def bench_durable_ratio(label, root, n):
    """journal.append vs a bare write + flush of the same 16 bytes."""
    j = Journal(root + "/j", max_records=10**6).open()
    uid = b"\x04\xa1\xb2\xc3"
    t = time.ticks_us()
    for i in range(n):
        j.append(uid, T0 * 1000 + i)
    journal_us = time.ticks_diff(time.ticks_us(), t) / n
    j.close()
    rec = encode_record(1, uid, T0 * 1000, "punch", False)
    f = open(root + "/bare.bin", "wb")
    t = time.ticks_us()
    for _ in range(n):
        f.write(rec)
        f.flush()
    bare_us = time.ticks_diff(time.ticks_us(), t) / n
    f.close()
    out(
        "durable_append_us",
        fs=label,
        n=n,
        journal=round(journal_us, 1),
        bare_write_flush=round(bare_us, 1),
        ratio=round(journal_us / bare_us, 2),
    )


def bench_poll_allocation(polls):
    """Heap allocated by no-card polls of the whole loop step (driver over SPI
    to the fake chip, presence, feedback tick, housekeeping with its
    once-a-second clock check), link off: gc disabled, mem_alloc compared."""
    k, chip, stamp = kiosk_on("/tmp/noxus-bench-alloc")
    now = k._next_clock_check  # the clock check runs every 20 polls, whatever the uptime
    for _ in range(100):  # warm up: first calls intern names
        k.step(now)
        now = time.ticks_add(now, 50)
    gc.collect()
    gc.disable()
    before = gc.mem_alloc()
    free_before = gc.mem_free()
    for _ in range(polls):
        k.step(now)
        now = time.ticks_add(now, 50)
    delta = gc.mem_alloc() - before
    free_after = gc.mem_free()
    gc.enable()
    out(
        "no_card_poll_alloc",
        polls=polls,
        bytes_allocated=delta,
        per_poll=delta / polls,
        mem_free_before=free_before,
        mem_free_after=free_after,
        simulated_s=polls * 50 // 1000,
    )
    k.journal.close()


def bench_capacity():
    """Fill an 848 KiB littlefs (212 blocks of 4 KiB, the Pico W's) with
    4-byte-UID punches until the journal refuses."""
    dev = mount_lfs(212)
    j = Journal("/flash/journal", max_records=10**6).open()
    n = 0
    t = time.ticks_ms()
    ops0 = dev.ops
    try:
        while True:
            j.append(bytes((4, 0xC0, (n >> 8) & 255, n & 255)), T0 * 1000 + n)
            n += 1
    except Exception as e:
        reason = repr(e)
    out(
        "capacity_848k",
        punches=n,
        stopped_by=reason,
        seg_records=j.seg_records,
        flash_ops_per_punch=round((dev.ops - ops0) / n, 1),
        seconds=time.ticks_diff(time.ticks_ms(), t) // 1000,
    )
    j.close()
    os.umount("/flash")


def main():
    n = 200 if QUICK else 1000
    for uid_len, _code_len in ((4, 16), (7, 19), (10, 22)):
        rec = encode_record(1, bytes(uid_len), T0 * 1000, "punch", False)
        out(
            "bytes_per_punch",
            uid_bytes=uid_len,
            record=len(rec),
            with_segment_header=round((SEG_HEADER + 2040 * len(rec)) / 2040, 3),
        )
    bench_poll_allocation(10000)
    try:
        os.mkdir("/tmp/noxus-bench")
    except OSError:
        pass
    root = "/tmp/noxus-bench/%d" % time.ticks_ms()
    os.mkdir(root)
    bench_tap_path("host (VfsPosix)", root + "/tap", n)
    bench_durable_ratio("host (VfsPosix)", root, n)
    mount_lfs(64)
    bench_tap_path("littlefs (VfsLfs2, RAM flash)", "/flash/tap", n)
    bench_durable_ratio("littlefs (VfsLfs2, RAM flash)", "/flash", n)
    os.umount("/flash")
    if not QUICK:
        bench_capacity()


main()
