"""python -m bench.rp2040 [--heap-taps N] [--online-taps N] [--drain-taps N] [--cuts N] [--no-write]

The emulated Pico's figures (docs/rp2040-emulation.md): tap -> feedback time
in emulated time (offline, and online with acks coming back), gc.mem_free()
after start-up and after N taps on the real rp2 heap (offline and online),
the journal's flash use per punch, power-cut runs, and how fast the wired
kiosk drains a backlog of offline taps. Runs the
tests/rp2040 tests with bigger counts and writes the table into
docs/benchmarks.md between <!-- bench:rp2040 --> markers.
"""

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
from datetime import UTC, datetime

REPO = pathlib.Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "benchmarks.md"
BEGIN, END = "<!-- bench:rp2040 -->", "<!-- /bench:rp2040 -->"


def table(r: dict) -> str:
    rows = [
        ("tap → feedback (emulated time, budget 150 ms)", f"{r.get('program_tap_to_feedback_ms', '?')} ms"),
        (
            "tap → feedback, steady state (2nd and 3rd tap, worst)",
            f"{r.get('tap_to_feedback_steady_ms', '?')} ms",
        ),
        (
            (
                f"online, {r.get('online_taps', '?')} taps 250 ms apart with acks: tap → feedback "
                "first / median / worst"
            ),
            (
                f"{r.get('online_tap_to_feedback_first_ms', '?')} / {r.get('online_tap_to_feedback_median_ms', '?')}"
                f" / {r.get('online_tap_to_feedback_max_ms', '?')} ms, "
                f"{r.get('online_taps_over_budget', '?')} over budget"
            ),
        ),
        (
            "online: gc.mem_free() every 25 taps with acks",
            " / ".join(f"{v} B" for v in (r.get("online_mem_free_after_taps") or {}).values()) or "?",
        ),
        (
            "online: journal-cursor writes over those taps (one per ack before coalescing)",
            f"{r.get('online_cursor_writes', '?')}",
        ),
        (
            f"backlog of {r.get('drain_taps', '?')} offline taps drained (emulated time, cable plugged back)",
            f"{r.get('drain_punches_per_s', '?')} punches/s",
        ),
        ("tap → name on the SSD1306 (first tap after boot)", f"{r.get('tap_to_display_ms', '?')} ms"),
        ("'accepted' beep as played (nominal 80 ms)", f"{r.get('accepted_beep_ms', '?')} ms"),
        ("frozen image: gc.mem_free() after start-up", f"{r.get('frozen_heap_free_after_start', '?')} B"),
        (
            f"frozen image: gc.mem_free() after {r.get('frozen_heap_taps', '?')} taps (after gc.collect())",
            f"{r.get('frozen_heap_free_after_taps', '?')} B",
        ),
        ("rp2 heap (gc.mem_free() + gc.mem_alloc())", f"{r.get('heap_total_bytes', '?')} B"),
        (
            "smallest heap the frozen program runs in (start-up + 30 taps, offline, 1 KiB steps)",
            f"{r.get('min_heap_bytes', '?')} B",
        ),
        ("code on the filesystem: gc.mem_free() after start-up", f"{r.get('heap_free_after_start', '?')} B"),
        (
            f"code on the filesystem: gc.mem_free() after {r.get('heap_first_every', 100)} taps",
            f"{r.get('heap_free_after_first', '?')} B",
        ),
        (
            f"code on the filesystem: gc.mem_free() after {r.get('heap_taps', '?')} taps",
            f"{r.get('heap_free_after_taps', '?')} B",
        ),
        (
            f"flash used by {r.get('fill_punches', '?')} punches (4-byte UIDs)",
            f"{r.get('fill_flash_bytes', '?')} B = {r.get('fill_bytes_per_punch', '?')} B/punch",
        ),
        (
            "flash per punch once the journal directory exists (record: 16 B)",
            f"{r.get('fill_marginal_bytes_per_punch', '?')} B",
        ),
        (
            (
                f"journal capacity of the free filesystem ({r.get('fs_free_blocks_before', '?')} of "
                f"{r.get('fs_blocks', '?')} blocks free after the program's files)"
            ),
            f"~{r.get('journal_capacity_punches', '?')} punches",
        ),
        (
            "power-cut runs / punches fed back, all found once",
            (
                f"{r.get('power_cut_runs', '?')} / {r.get('power_cut_punches_fed_back', '?')} "
                f"(seed {r.get('power_cut_seed', '?')})"
            ),
        ),
    ]
    lines = [
        BEGIN,
        "## Pico on the emulated RP2040 (MicroPython rp2 1.25, rp2040js 1.4.1)",
        "",
        (
            f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `python -m bench.rp2040` "
            "(tests/rp2040, docs/rp2040-emulation.md)."
        ),
        "",
        "| figure | value |",
        "| --- | --- |",
    ]
    lines += [f"| {a} | {b} |" for a, b in rows]
    lines += ["", END]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--heap-taps", type=int, default=1000)
    ap.add_argument("--online-taps", type=int, default=1000)
    ap.add_argument("--drain-taps", type=int, default=1000)
    ap.add_argument("--cuts", type=int, default=20)
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument(
        "--from-last-test-run",
        action="store_true",
        help="write the figures the last tests/rp2040 run left in the cache, without running",
    )
    a = ap.parse_args()
    if a.from_last_test_run:
        from tests.rp2040.emulator import RESULTS

        write(json.loads(RESULTS.read_text()), 0, a.no_write)
        return
    with tempfile.TemporaryDirectory() as d:
        results = pathlib.Path(d) / "results.json"
        env = dict(
            os.environ,
            NOXUS_RP2_RESULTS=str(results),
            NOXUS_RP2_HEAP_TAPS=str(a.heap_taps),
            NOXUS_RP2_ONLINE_TAPS=str(a.online_taps),
            NOXUS_RP2_DRAIN_TAPS=str(a.drain_taps),
            NOXUS_RP2_CUTS=str(a.cuts),
            NOXUS_RP2_MIN_HEAP_STEPS="7",
        )
        rc = subprocess.call(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:randomly",
                "-s",
                "--timeout=3600",
                "tests/rp2040",
            ],
            cwd=REPO,
            env=env,
        )
        r = json.loads(results.read_text()) if results.exists() else {}
    write(r, rc, a.no_write)


def write(r: dict, rc: int, no_write: bool) -> None:
    text = table(r)
    print(text)
    if rc != 0:
        raise SystemExit(f"tests/rp2040 failed (exit {rc}): figures not written")
    if not no_write:
        doc = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
        if BEGIN in doc and END in doc:
            doc = doc[: doc.index(BEGIN)] + text + doc[doc.index(END) + len(END) :]
        else:
            doc = doc.rstrip("\n") + "\n\n" + text + "\n"
        DOC.write_text(doc)
        print(f"written to {DOC}")


if __name__ == "__main__":
    main()
