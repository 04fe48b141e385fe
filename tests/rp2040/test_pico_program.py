"""The real Pico program (firmware/ports/pico, as noxus-provision installs
it) on the emulated RP2040: offline (the `network` module is stubbed: no
CYW43 radio in rp2040js), reader, LEDs and buzzer from hardware/pinmap.json.
The program prints nothing: it is up when it first talks to the reader."""

import os
import random

from tests.rp2040.emulator import Pico
from tests.rp2040.test_pico_emulated import (
    TAP_BUDGET_MS,
    WATCH,
    buzzer_segments,
    card_times,
    feedbacks,
    journal_of,
    pattern,
    read_before,
    report,
    run_script,
    tap,
)

BOOT_S = 300  # wall seconds: the program imports the MQTT client at boot


def test_program_tap_gives_accepted_pattern_and_one_record(program_image):
    with Pico(program_image(), watch_pins=WATCH) as pico:
        pico.wait_for(lambda e: e["ev"] == "reader", timeout=BOOT_S)
        run_script(pico, tap("04a1b2c3", 10), 1800)
        (t_card, _), _ = card_times(pico)
        fbs = feedbacks(pico, t_card)
        assert [c for _, c in fbs] == ["green"], f"one accepted feedback expected: {fbs}"
        assert pattern(buzzer_segments(pico, t_card), [80]), buzzer_segments(pico, t_card)
        latency_ms = (fbs[0][0] - t_card) / 1e6
        image = pico.power_off()
    punches, _ = journal_of(image)
    assert [(p.seq, p.uid) for p in punches] == [(1, "04A1B2C3")]
    report(program_tap_to_feedback_ms=round(latency_ms, 2))
    assert latency_ms < TAP_BUDGET_MS, f"tap -> feedback took {latency_ms:.1f} ms of emulated time"


def test_program_power_cuts_lose_no_acknowledged_punch(program_image):
    runs = int(os.environ.get("NOXUS_RP2_PROGRAM_CUTS", "4"))
    seed = int(os.environ.get("NOXUS_RP2_SEED", random.randrange(1 << 30)))
    rnd = random.Random(seed)
    image = program_image()
    fed_back, n = [], 0
    msg = f"seed {seed} (NOXUS_RP2_SEED to replay)"
    for run in range(runs):
        op = rnd.randint(1, 30) if run % 2 else None
        with Pico(image, watch_pins=WATCH, cut_at_flash_op=op, seed=rnd.randrange(1 << 30)) as pico:
            up = pico.wait_for(lambda e: e["ev"] in ("reader", "off", "exit"), timeout=BOOT_S)
            if up["ev"] != "reader":
                image = pico.wait_off()
                print(f"run {run}: cut in flash op {op} ({pico.off.get('during')}) before the kiosk started")
                continue
            steps = []
            for k in range(4):
                steps += tap(f"0e{n:06x}", 10 + 250 * k, hold_ms=120)
                n += 1
            pico.script(steps + [{"after_ms": rnd.uniform(0, 1000) if op is None else 1000, "cmd": "cut"}])
            image = pico.wait_off()
            assert image is not None and pico.off["reason"] == "cut", pico.off
            for t, color in feedbacks(pico):
                assert color == "green", f"a first tap of a new card got {color}; {msg}"
                fed_back.append(read_before(pico, t).upper())
            print(f"run {run}: cut at cycle {pico.off['cycle']}, flash op {op}: "
                  f"{pico.off.get('during', 'between flash ops')}")
    with Pico(image, watch_pins=WATCH) as pico:
        pico.wait_for(lambda e: e["ev"] == "reader", timeout=BOOT_S)  # it mounts and starts
        image = pico.power_off()
    punches, _ = journal_of(image)
    uids, seqs = [p.uid for p in punches], [p.seq for p in punches]
    assert seqs == sorted(set(seqs)), f"seq not strictly increasing: {seqs}; {msg}"
    for uid in fed_back:
        assert uids.count(uid) == 1, f"{uid} got its feedback but is in the journal {uids.count(uid)} times; {msg}"
    assert len(set(uids)) == len(uids), f"a punch recorded twice: {uids}; {msg}"
    report(program_power_cut_runs=runs, program_power_cut_punches_fed_back=len(fed_back))
