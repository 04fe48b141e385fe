"""The Pico kiosk on an emulated RP2040 running the real MicroPython rp2
firmware: the MFRC522 on SPI0 (a register-level model), LED and buzzer as
GPIO edges in emulated time, the journal on the rp2 littlefs in flash, the
watchdog, and power cuts at random cycles. docs/rp2040-emulation.md."""

import itertools
import json
import os
import random
import tempfile

from firmware.core.journal import Journal
from tests.rp2040 import emulator
from tests.rp2040.conftest import PINS
from tests.rp2040.emulator import Pico

RESULTS = emulator.RESULTS
GREEN, RED, BUZZER = PINS["green"], PINS["red"], PINS["buzzer"]
WATCH = (BUZZER, GREEN, RED)
TAP_BUDGET_MS = 150


def report(**figures):
    """Figures for `make bench` (docs/benchmarks.md) and the test log."""
    try:
        data = json.loads(RESULTS.read_text())
    except (OSError, ValueError):
        data = {}
    data.update(figures)
    try:
        RESULTS.write_text(json.dumps(data, indent=1))
    except OSError:
        pass
    print("rp2040:", figures)


def journal_of(image):
    """The punches in the image's journal, read by the same Journal code on
    the host (littlefs-python mounts the image as the board does)."""
    with tempfile.TemporaryDirectory() as d:
        emulator.extract(image, "journal", d)
        j = Journal(os.path.join(d, "journal")).open()
        return j.unacked(100000), j


def rising(pico, pin, after_ns=0):
    return [e["t_ns"] for e in pico.gpio(pin) if e["value"] == 1 and e["t_ns"] >= after_ns]


def level(pico, pin, t):
    v = 0
    for e in pico.gpio(pin):
        if e["t_ns"] > t:
            break
        v = e["value"] or 0
    return v


def feedbacks(pico, after_ns=0, before_ns=float("inf")):
    """[(t_ns, "green"|"red")]: buzzer rising edges with the LED lit then
    (PinFeedback.show sets the LED, then starts the beep). One per feedback
    for single-beep patterns ("accepted"); multi-beep ones give one per beep."""
    out = []
    for t in rising(pico, BUZZER, after_ns):
        if t < before_ns:
            out.append((t, "green" if level(pico, GREEN, t) else "red" if level(pico, RED, t) else "none"))
    return out


def buzzer_segments(pico, after_ns, before_ns=float("inf")):
    """Lengths (ms) of the buzzer's on and off segments between two times."""
    edges = [e for e in pico.gpio(BUZZER) if after_ns <= e["t_ns"] < before_ns]
    return [round((b["t_ns"] - a["t_ns"]) / 1e6) for a, b in itertools.pairwise(edges)]


def pattern(segments, nominal, poll_ms=50):
    """The buzzer played `nominal` (ms on, off, on...): the main loop ticks the
    feedback once a poll, so each edge comes up to one poll (+ the loop's own
    work) late; segment ends are scheduled from the nominal times, so a late
    edge shortens the next segment."""
    return len(segments) == len(nominal) and all(
        abs(s - n) <= poll_ms + 40 for s, n in zip(segments, nominal))


def tap(uid, at_ms, hold_ms=250):
    return [{"after_ms": at_ms, "cmd": "present", "uid": uid},
            {"after_ms": at_ms + hold_ms, "cmd": "remove"}]


def run_script(pico, steps, end_ms):
    pico.script(steps + [{"after_ms": end_ms, "cmd": "status"}])
    n = len(pico.events)
    pico.wait_for(lambda e: e["ev"] == "status", start=n, timeout=600)


def read_before(pico, t):
    """The UID the program read last before t (the card the MFRC522 model
    saw selected): the kiosk loop reads, records, then gives the feedback,
    so this is the card a feedback at t is for, however slow the write."""
    return [e["uid"] for e in pico.events if e["ev"] == "selected" and e["t_ns"] <= t][-1]


def card_times(pico):
    return [(e["t_ns"], e["uid"]) for e in pico.events if e["ev"] == "card"]


def test_tap_gives_accepted_pattern_and_one_record_within_budget(kiosk_image):
    with Pico(kiosk_image(), watch_pins=WATCH) as pico:
        pico.wait_out("NX boot 1 seq 0")
        run_script(pico, tap("04a1b2c3", 10), 1800)
        (t_card, _), _ = card_times(pico)
        fbs = feedbacks(pico, t_card)
        assert [c for _, c in fbs] == ["green"], f"one accepted feedback expected: {fbs}"
        latency_ms = (fbs[0][0] - t_card) / 1e6
        # "accepted": one 80 ms beep with the green LED
        assert pattern(buzzer_segments(pico, t_card), [80]), buzzer_segments(pico, t_card)
        beep_ms = buzzer_segments(pico, t_card)[0]
        image = pico.power_off()
    punches, _ = journal_of(image)
    assert [(p.seq, p.uid) for p in punches] == [(1, "04A1B2C3")]
    report(tap_to_feedback_ms=round(latency_ms, 2), accepted_beep_ms=beep_ms)
    assert latency_ms < TAP_BUDGET_MS, f"tap -> feedback took {latency_ms:.1f} ms of emulated time"


def test_uids_of_4_7_and_10_bytes_are_read_whole(kiosk_image):
    uids = ["04a1b2c3", "04112233445566", "04aabbccddeeff001122"]
    with Pico(kiosk_image(), watch_pins=WATCH) as pico:
        pico.wait_out("NX boot")
        run_script(pico, tap(uids[0], 10) + tap(uids[1], 500) + tap(uids[2], 1000), 1600)
        assert [c for _, c in feedbacks(pico)] == ["green"] * 3
        image = pico.power_off()
    punches, _ = journal_of(image)
    assert [p.uid for p in punches] == [u.upper() for u in uids]


def test_flicker_and_cooldown_make_no_second_punch(kiosk_image):
    uid = "04a1b2c3"
    steps = [{"after_ms": 10, "cmd": "present", "uid": uid}]
    # the card flickers in and out of the field for 400 ms, then leaves
    for k in range(10):
        steps.append({"after_ms": 100 + 40 * k, "cmd": "remove" if k % 2 == 0 else "present", "uid": uid})
    steps.append({"after_ms": 520, "cmd": "remove"})
    steps += tap(uid, 1500)  # back within the 3 s cooldown: "already recorded"
    steps += tap(uid, 5500)  # after the cooldown: a new punch
    with Pico(kiosk_image(cooldown_ms=3000), watch_pins=WATCH) as pico:
        pico.wait_out("NX boot")
        run_script(pico, steps, 7000)
        t0 = card_times(pico)[0][0]
        t_back = t0 + 1490e6
        t_late = t0 + 5490e6
        first, back, late = (buzzer_segments(pico, t0, t_back), buzzer_segments(pico, t_back, t_late),
                             buzzer_segments(pico, t_late))
        assert pattern(first, [80]), f"the flickering first tap: buzzer {first}"
        assert pattern(back, [60, 80, 60]), f"no 'already recorded' feedback: buzzer {back}"
        assert pattern(late, [80]), f"after the cooldown: buzzer {late}"
        image = pico.power_off()
    punches, _ = journal_of(image)
    assert [(p.seq, p.uid) for p in punches] == [(1, "04A1B2C3"), (2, "04A1B2C3")]


def test_power_cuts_at_random_cycles_lose_no_acknowledged_punch(kiosk_image):
    """Each run boots from the flash as the previous cut left it, taps
    distinct cards and loses power at a random cycle (erase and program
    operations can be torn). Small segments make the journal rotate."""
    runs = int(os.environ.get("NOXUS_RP2_CUTS", "6"))
    seed = int(os.environ.get("NOXUS_RP2_SEED", random.randrange(1 << 30)))
    rnd = random.Random(seed)
    image = kiosk_image(seg_records=3)
    fed_back = []  # UIDs whose "accepted" feedback was given
    boot_seqs = []
    n = 0
    for run in range(runs):
        # odd runs: inside a random flash operation (erase or program, torn);
        # even runs: at a random emulated time, wherever the program is
        op = rnd.randint(1, 20) if run % 2 else None  # boot + 5 taps: ~20 operations
        with Pico(image, watch_pins=WATCH, cut_at_flash_op=op, seed=rnd.randrange(1 << 30)) as pico:
            if not pico.wait_out("NX boot", or_off=True):
                # the cut came while the kiosk was still opening its journal
                image = pico.wait_off()
                print(f"run {run}: cut in flash op {op} ({pico.off.get('during')}) before the kiosk started")
                continue
            line = bytes(pico.out).decode(errors="replace").split("NX boot")[1].split()
            boot_seqs.append(int(line[2]))
            steps = []
            for k in range(5):
                steps += tap(f"0b{n:06x}", 10 + 220 * k, hold_ms=120)
                n += 1
            cut_ms = rnd.uniform(0, 1150) if op is None else 1150
            pico.script(steps + [{"after_ms": cut_ms, "cmd": "cut"}])
            image = pico.wait_off()
            assert image is not None and pico.off["reason"] == "cut", pico.off
            for t, color in feedbacks(pico):
                assert color == "green", f"a first tap of a new card got {color}"
                uid = read_before(pico, t)
                fed_back.append(uid.upper())
            print(f"run {run}: cut at cycle {pico.off['cycle']}, flash op {op}: "
                  f"{pico.off.get('during', 'between flash ops')}, seq at boot {boot_seqs[-1]}, "
                  f"{pico.off['flash_erases']} erases + {pico.off['flash_programs']} page programs")
    # the last boot: the filesystem mounts and the kiosk opens its journal
    with Pico(image, watch_pins=WATCH) as pico:
        pico.wait_out("NX boot")
        boot_seqs.append(int(bytes(pico.out).decode().split("NX boot")[1].split()[2]))
        image = pico.power_off()
    punches, _ = journal_of(image)
    uids = [p.uid for p in punches]
    seqs = [p.seq for p in punches]
    msg = f"seed {seed} (NOXUS_RP2_SEED to replay)"
    assert seqs == sorted(set(seqs)), f"seq not strictly increasing: {seqs}; {msg}"
    assert boot_seqs == sorted(boot_seqs), f"seq went back across boots: {boot_seqs}; {msg}"
    for uid in fed_back:
        assert uids.count(uid) == 1, f"{uid} got its feedback but is in the journal {uids.count(uid)} times; {msg}"
    assert len(set(uids)) == len(uids), f"a punch recorded twice: {uids}; {msg}"
    report(power_cut_runs=runs, power_cut_punches_fed_back=len(fed_back), power_cut_seed=seed)


def test_watchdog_resets_a_hung_main_loop(kiosk_image):
    with Pico(kiosk_image(hang_after_ms=300, wdt_ms=1000), watch_pins=WATCH) as pico:
        pico.wait_out("NX hang")
        pico.wait_for(lambda e: e["ev"] == "watchdog", timeout=300)
        pico.wait_for(lambda e: e["ev"] == "boot" and e["t_ns"] > 0, timeout=60)
        pico.wait_out("NX boot 2")


def test_journal_fill_matches_bytes_per_punch_and_full_feedback(kiosk_image):
    """2 000 punches through the real Journal on the rp2 littlefs (driven over
    the raw REPL: tapping them through the reader would take an hour of
    emulation), then a tap on the full journal gets the "memory full" feedback."""
    punches = 2000
    with Pico(kiosk_image(idle=True), watch_pins=WATCH) as pico:
        pico.wait_out("NX idle")
        pico.repl()
        free = [pico.eval("__import__('os').statvfs('/')[3]")]
        for half in range(2):
            pico.exec(
                "from firmware.core.journal import Journal\n"
                "j = Journal('/journal').open()\n"
                "u = bytearray(b'\\x0c\\x00\\x00\\x00')\n"
                f"for i in range({half * punches // 2}, {(half + 1) * punches // 2}):\n"
                "    u[2] = i >> 8; u[3] = i & 255\n"
                "    j.append(bytes(u), 1000 * i)\n"
                "j.close()\n", timeout=900)
            free.append(pico.eval("__import__('os').statvfs('/')[3]"))
        image = pico.power_off()
    used = (free[0] - free[2]) * emulator.FS_BLOCK
    # the second half: what one more punch costs once the directory exists
    marginal = (free[1] - free[2]) * emulator.FS_BLOCK / (punches // 2)
    record = 16  # docs/protocol.md: 16 bytes for a 4-byte UID
    # what the rp2 filesystem left free after the program's files holds, at this rate
    capacity = punches // 2 + int(free[1] * emulator.FS_BLOCK / marginal)
    report(fill_punches=punches, fill_flash_bytes=used, fill_bytes_per_punch=round(used / punches, 1),
           fill_marginal_bytes_per_punch=round(marginal, 1), fs_blocks=emulator.FS_BLOCKS,
           fs_free_blocks_before=free[0], journal_capacity_punches=capacity)
    stored, _ = journal_of(image)
    assert len(stored) == punches and stored[-1].seq == punches
    assert used >= punches * record, "the journal stored less than its records"
    # 16 B a record; littlefs stores a segment in whole 4 KiB blocks: at most
    # one more block a segment if a header made it spill
    assert marginal <= 2 * record, f"{marginal:.1f} bytes of flash a punch, the format says {record}"

    # The same flash, now at max_records = 2000: full. A tap gets "memory full".
    files = emulator.read_files(image)
    cfg = json.loads(files["emu.json"])
    cfg["max_records"] = punches
    del cfg["idle"]
    files["emu.json"] = json.dumps(cfg).encode()
    with Pico(emulator.make_image(files), watch_pins=WATCH) as pico:
        pico.wait_out(f" seq {punches} mem_free")
        run_script(pico, tap("04a1b2c3", 10), 1500)
        t_card = card_times(pico)[0][0]
        fbs = feedbacks(pico, t_card)
        segs = buzzer_segments(pico, t_card)
        # "memory full": red LED, beeps 300/150/300/150/300 ms, once
        assert fbs and {c for _, c in fbs} == {"red"}, f"a tap on a full journal: {fbs}"
        assert pattern(segs, [300, 150, 300, 150, 300]), f"'memory full' buzzer: {segs}"
        image = pico.power_off()
    stored, _ = journal_of(image)
    assert len(stored) == punches


def test_heap_after_start_and_after_taps_does_not_grow(kiosk_image):
    taps = int(os.environ.get("NOXUS_RP2_HEAP_TAPS", "200"))
    every = 50
    with Pico(kiosk_image(cooldown_ms=0, poll_ms=20, mem_every=every), watch_pins=WATCH) as pico:
        pico.wait_out("NX boot")
        # a new card every 150 ms, held 100 ms: room for the journal write
        steps = []
        for k in range(taps):
            steps += tap(f"0d{k:06x}", 10 + 150 * k, hold_ms=100)
        run_script(pico, steps, 150 * taps + 300)
        out = bytes(pico.out).decode(errors="replace")
    start_free = int(out.split("mem_free ")[1].split()[0])
    after = {int(line.split()[2]): int(line.split()[4]) for line in out.splitlines() if line.startswith("NX taps")}
    # kiosk.taps counts recorded punches: every tap recorded
    assert sorted(after) == list(range(every, taps + 1, every)), f"taps were missed: {out[-500:]}"
    report(heap_free_after_start=start_free, heap_taps=taps, heap_free_after_taps=after[taps],
           heap_first_every=every, heap_free_after_first=after[every])
    # after a gc.collect() in the loop, what is live must not grow with taps
    assert after[taps] >= after[every] - 256, f"heap grew over {taps} taps: {after}"
