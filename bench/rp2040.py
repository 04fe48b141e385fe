"""python -m bench.rp2040 [--heap-taps N] [--online-taps N] [--drain-taps N] [--cuts N] [--tests EXPR] [--no-write]

The emulated Pico's figures (docs/rp2040-emulation.md): tap -> feedback time
in emulated time (offline, and online with acks coming back: first, median,
p95, worst), gc.mem_free() after start-up, after the MQTT connect and after N
taps on the real rp2 heap (offline and online), the smallest heap the program
runs in (offline, and online over plain MQTT and TLS), the journal's flash use per punch, power-cut runs, and how fast the wired
kiosk drains a backlog of offline taps. Runs the
tests/rp2040 tests with bigger counts and writes the table into
docs/benchmarks.md between <!-- bench:rp2040 --> markers.
"""

import argparse
import hashlib
import json
import os
import pathlib
import shlex
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime

from bench.report import write_block

REPO = pathlib.Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "benchmarks.md"


def rows_of(r: dict) -> list[tuple[str, str]]:
    """(figure, value) for each figure the run measured: a row whose figures are all
    missing (its test not selected with --tests, or it failed) is left out."""

    def g(key: str):
        v = r.get(key)
        return "?" if v is None else v

    def mem(key: str) -> str:
        """{taps: mem_free}: the first and last point, and the range of all of them."""
        after = r.get(key) or {}
        if not after:
            return "?"
        (first, a), (last, b) = next(iter(after.items())), list(after.items())[-1]
        return f"{a} B after {first}, {b} B after {last} (all {len(after)}: {min(after.values())}–{max(after.values())} B)"

    rows = [
        (
            "program_tap_to_feedback_ms",
            "tap → feedback, first tap after boot (emulated time, budget 150 ms)",
            f"{g('program_tap_to_feedback_ms')} ms",
        ),
        (
            "tap_to_feedback_steady_ms",
            "tap → feedback, steady state (2nd and 3rd tap, worst)",
            f"{g('tap_to_feedback_steady_ms')} ms",
        ),
        (
            "online_mem_free_after_boot",
            "online: gc.mem_free() after start-up (link not up yet)",
            f"{g('online_mem_free_after_boot')} B",
        ),
        (
            "online_mem_free_after_mqtt_connect",
            "online: gc.mem_free() after MQTT connect",
            f"{g('online_mem_free_after_mqtt_connect')} B",
        ),
        (
            "online_mem_free_after_taps",
            f"online: gc.mem_free() every 25 of {g('online_taps')} taps with acks (target: no growth)",
            mem("online_mem_free_after_taps"),
        ),
        (
            "online_tap_to_feedback_median_ms",
            f"online, {g('online_taps')} taps 350 ms apart with acks: tap → feedback first / median / p95 / worst",
            f"{g('online_tap_to_feedback_first_ms')} / {g('online_tap_to_feedback_median_ms')} / "
            f"{g('online_tap_to_feedback_p95_ms')} / {g('online_tap_to_feedback_max_ms')} ms, "
            f"{g('online_taps_over_budget')} over 150 ms or without a beep of their own "
            f"({g('online_taps_beep_merged')} without)",
        ),
        (
            "online_cursor_writes",
            "online: journal-cursor writes over those taps (one per ack before coalescing)",
            f"{g('online_cursor_writes')}",
        ),
        (
            "drain_punches_per_s",
            f"backlog of {g('drain_taps')} offline taps drained (emulated time, cable plugged back)",
            f"{g('drain_punches_per_s')} punches/s",
        ),
        (
            "tap_to_display_ms",
            "tap → name on the SSD1306 (first tap after boot)",
            f"{g('tap_to_display_ms')} ms",
        ),
        ("accepted_beep_ms", "'accepted' beep as played (nominal 80 ms)", f"{g('accepted_beep_ms')} ms"),
        (
            "frozen_heap_free_after_start",
            "frozen image: gc.mem_free() after start-up",
            f"{g('frozen_heap_free_after_start')} B",
        ),
        (
            "frozen_heap_free_after_taps",
            f"frozen image: gc.mem_free() after {g('frozen_heap_taps')} taps (after gc.collect())",
            f"{g('frozen_heap_free_after_taps')} B",
        ),
        ("heap_total_bytes", "rp2 heap (gc.mem_free() + gc.mem_alloc())", f"{g('heap_total_bytes')} B"),
        (
            "min_heap_bytes",
            "smallest heap the frozen program runs in (start-up + 30 taps, offline, 1 KiB steps)",
            f"{g('min_heap_bytes')} B",
        ),
        (
            "plain_min_heap_bytes",
            "smallest heap the frozen program runs in online, plain MQTT (start-up, connect, 1 tap acked, 1 KiB steps)",
            f"{g('plain_min_heap_bytes')} B",
        ),
        (
            "tls_min_heap_bytes",
            "smallest heap the frozen program runs in online over TLS (same, the pinned CA, 1 KiB steps)",
            f"{g('tls_min_heap_bytes')} B",
        ),
        (
            "heap_free_after_start",
            "code on the filesystem: gc.mem_free() after start-up",
            f"{g('heap_free_after_start')} B",
        ),
        (
            "heap_free_after_first",
            f"code on the filesystem: gc.mem_free() after {r.get('heap_first_every', 100)} taps",
            f"{g('heap_free_after_first')} B",
        ),
        (
            "heap_free_after_taps",
            f"code on the filesystem: gc.mem_free() after {g('heap_taps')} taps",
            f"{g('heap_free_after_taps')} B",
        ),
        (
            "fill_flash_bytes",
            f"flash used by {g('fill_punches')} punches (4-byte UIDs)",
            f"{g('fill_flash_bytes')} B = {g('fill_bytes_per_punch')} B/punch",
        ),
        (
            "fill_marginal_bytes_per_punch",
            "flash per punch once the journal directory exists (record: 16 B)",
            f"{g('fill_marginal_bytes_per_punch')} B",
        ),
        (
            "journal_capacity_punches",
            f"journal capacity of the free filesystem ({g('fs_free_blocks_before')} of "
            f"{g('fs_blocks')} blocks free after the program's files)",
            f"~{g('journal_capacity_punches')} punches",
        ),
        (
            "power_cut_runs",
            "power-cut runs / punches fed back, all found once",
            f"{g('power_cut_runs')} / {g('power_cut_punches_fed_back')} (seed {g('power_cut_seed')})",
        ),
    ]
    return [(label, value) for key, label, value in rows if r.get(key) is not None]


def how(run: dict) -> str:
    when = run.get("date") or f"{datetime.now(UTC):%Y-%m-%d %H:%M}"
    parts = [f"{when} UTC by `{run.get('command') or 'python -m bench.rp2040'}`"]
    if run.get("wall_s"):
        parts.append(f"{run['wall_s']:.0f} s of wall time")
    if run.get("load_after"):
        parts.append(f"load average (1/5/15 min) {run['load_before']} before, {run['load_after']} after")
    if run.get("image_sha256"):
        parts.append(f"image `firmware.bin` sha256 {run['image_sha256'][:16]}…")
    return ", ".join(parts)


def table(r: dict, runs: list[dict] | None = None) -> str:
    said = "; ".join(how(run) for run in runs or [{}])
    lines = [
        "## Pico on the emulated RP2040 (MicroPython rp2 1.25, rp2040js 1.4.1)",
        "",
        f"Measured {said} (tests/rp2040, docs/rp2040-emulation.md).",
        "",
        "| figure | value |",
        "| --- | --- |",
    ]
    lines += [f"| {a} | {b} |" for a, b in rows_of(r)]
    lines += [""]
    return "\n".join(lines)


def image_sha256() -> str | None:
    from tests.rp2040.emulator import FIRMWARE

    try:
        return hashlib.sha256(FIRMWARE.read_bytes()).hexdigest()
    except OSError:
        return None


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--heap-taps", type=int, default=1000)
    ap.add_argument("--online-taps", type=int, default=1000)
    ap.add_argument("--drain-taps", type=int, default=1000)
    ap.add_argument("--cuts", type=int, default=20)
    ap.add_argument(
        "--tests",
        metavar="EXPR",
        help="only the tests/rp2040 tests this pytest -k expression selects (the table then holds their figures)",
    )
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument(
        "--from-last-test-run",
        action="store_true",
        help="write the figures the last tests/rp2040 run left in the cache, without running",
    )
    ap.add_argument("--results", metavar="FILE", help="also keep the run's figures (JSON) in FILE")
    ap.add_argument(
        "--from-results",
        metavar="FILE",
        nargs="+",
        help="write the table from figures kept with --results (several: runs of different --tests, merged)",
    )
    a = ap.parse_args()
    if a.from_last_test_run:
        from tests.rp2040.emulator import RESULTS

        write(json.loads(RESULTS.read_text()), 0, a.no_write)
        return
    if a.from_results:
        kept = [json.loads(pathlib.Path(f).read_text()) for f in a.from_results]
        figures = {k: v for d in kept for k, v in d["figures"].items()}
        runs = [d["run"] for d in kept]
        write(figures, 0, a.no_write, runs)
        return
    run = {
        "date": f"{datetime.now(UTC):%Y-%m-%d %H:%M}",
        "command": shlex.join(["python", "-m", "bench.rp2040", *sys.argv[1:]]),
        "load_before": load(),
        "image_sha256": image_sha256(),
    }
    t0 = time.monotonic()
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
            NOXUS_RP2_TLS_MIN_HEAP_STEPS="7",
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
                "--timeout=7200",
                "tests/rp2040",
                *(["-k", a.tests] if a.tests else []),
            ],
            cwd=REPO,
            env=env,
        )
        r = json.loads(results.read_text()) if results.exists() else {}
    run.update(wall_s=time.monotonic() - t0, load_after=load())
    if image_sha256() != run["image_sha256"]:
        # the image was rebuilt during the run: each test ran whichever it found at its start
        print(f"warning: firmware.bin changed during the run (was sha256 {run['image_sha256']})")
        run["image_sha256"] = None
    if a.results:
        pathlib.Path(a.results).write_text(json.dumps({"run": run, "figures": r}, indent=1))
    write(r, rc, a.no_write, [run])


def write(r: dict, rc: int, no_write: bool, runs: list[dict] | None = None) -> None:
    text = table(r, runs)
    print(text)
    if rc != 0:
        raise SystemExit(f"tests/rp2040 failed (exit {rc}): figures not written")
    if not no_write:
        write_block(DOC, "rp2040", text)
        print(f"written to {DOC}")


if __name__ == "__main__":
    main()
