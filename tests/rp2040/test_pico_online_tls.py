"""The real Pico program online over TLS: the wired kiosk (W5500-EVB-Pico) on
the emulated RP2040, the NoxusTime image's mbedTLS (`tls` module, built with
MICROPY_PY_SSL, scripts/build_rp2.sh) on the frozen W5500 driver's sockets,
the pinned CA on flash and the broker's name checked through
`broker.server_hostname`, to Mosquitto's TLS listener; the real ingest worker
on the plain listener writes to PostgreSQL. docs/rp2040-emulation.md, "TLS on
the emulated wired kiosk"."""

import os
import re

import pytest

from tests.e2e.stack import Stack
from tests.firmware.tlsca import TlsMosquitto, make_board_ca
from tests.rp2040.test_pico_emulated import BOOT_S, HEAP_BUDGET, HOLD_MS, feedbacks, report, tap
from tests.rp2040.test_pico_online import (
    BROKER_IP,
    KIOSK,
    NET_S,
    assert_each_tap_stored_once,
    out_at,
    pace,
    taps_online,
    trace,
    wired_image,
    wired_pico,
)

# The name on the broker's certificate: the kiosk dials BROKER_IP (the frozen
# driver has no DNS) and checks this name (tls._Named).
BROKER_NAME = "broker.kiosk.test"


@pytest.fixture
def tls_stack(tmp_path, pg_url):
    """The stack on a Mosquitto with a TLS listener (tls_port) beside the plain
    one the worker uses; its certificate from a CA valid 2020-2040."""
    ca = make_board_ca(tmp_path / "ca", BROKER_NAME)
    broker = TlsMosquitto(tmp_path / "mosquitto", ca).start()
    s = Stack(tmp_path, pg_url, broker)
    try:
        s.register(KIOSK)
        s.start_worker()
        s.wait_worker_subscribed()
        yield s, ca
    finally:
        s.close()
        broker.stop()


def tls_broker(stack):
    return {
        "host": BROKER_IP,
        "port": stack.broker.tls_port,
        "tls": True,
        "ca_file": "ca.der",
        "server_hostname": BROKER_NAME,
    }


def tls_image(program_image, stack, ca, **cfg):
    """The wired kiosk's image dialling the TLS listener, the pinned CA on flash."""
    return wired_image(
        program_image, stack, broker=tls_broker(stack), files={"ca.der": (ca / "ca.der").read_bytes()}, **cfg
    )


def test_wired_kiosk_over_tls_with_the_pinned_ca_stores_each_tap_once_and_is_acked(program_image, tls_stack):
    stack, ca = tls_stack
    uids = ["04c1b2c3", "04c1b2c4", "04c1b2c5"]
    image = tls_image(program_image, stack, ca, trace_heap=1)
    with wired_pico(image) as pico:
        pace(pico)
        connects = taps_online(pico, stack, uids, stack.broker.tls_port, hold_ms=HOLD_MS)
        fbs = feedbacks(pico)
        out = bytes(pico.out)
        linked_ns = out_at(pico, b"NX link mem_free")
        image = pico.power_off()
    assert [c for _, c in fbs] == ["green"] * len(uids)
    link = re.search(rb"NX link mem_free (\d+) read_low (\d+)", out)
    assert link, out[-2000:]
    report(
        tls_mem_free_after_boot=int(re.search(rb"NX boot \d+ seq \d+ mem_free (\d+)", out).group(1)),
        # the lowest heap (collected) at a socket read while connecting: inside the handshake
        tls_mem_free_during_handshake=int(link.group(2)),
        tls_mem_free_after_mqtt_connect=int(link.group(1)),
        tls_mem_free_after_taps_acked=int(re.findall(rb"NX taps \d+ mem_free (\d+)", out)[-1]),
        # TCP connected (the W5500 model) to MQTT connected: the handshake, CONNECT, CONNACK
        tls_connect_emulated_ms=round((linked_ns - connects[0]["t_ns"]) / 1e6),
        tls_links=len(trace(pico, "link mem_free")),
    )
    assert_each_tap_stored_once(stack, image, uids)


def link_trial(program_image, stack, ca, ballast, tls=True):
    """Boot the wired kiosk holding `ballast` bytes, connect (over TLS, or
    plain MQTT: tls False) and tap once. -> (ok, heap total, mem_free at
    start-up); ok: MQTT up and the tap acked, without a reset (a MemoryError),
    the REPL's prompt (a MemoryError even the crash log could not take) or a
    second dial (a failed connect: mbedTLS out of heap)."""
    if tls:
        image = tls_image(program_image, stack, ca, trace_heap=1, heap_ballast=ballast)
    else:
        image = wired_image(program_image, stack, trace_heap=1, heap_ballast=ballast)
    with wired_pico(image) as pico:
        pace(pico)

        def dials(p):
            return [e for e in p.events if e["ev"] == "net" and e["what"] == "tcp_connect"]

        def failed(e):
            return (
                (e["ev"] == "boot" and e["t_ns"] > 0)
                or (e["ev"] == "out" and b"\n>>> " in pico.out)
                or (e["ev"] == "net" and e["what"] == "tcp_connect" and e is not dials(pico)[0])
            )

        ev = pico.wait_for(lambda e: failed(e) or b"NX link mem_free" in pico.out, timeout=BOOT_S)
        boot = re.search(rb"NX boot \d+ seq \d+ mem_free (\d+) mem_alloc (\d+)", bytes(pico.out))
        total = int(boot.group(1)) + int(boot.group(2)) if boot else None
        if failed(ev):
            return False, total, None
        pico.script(tap(f"0c{ballast & 0xFFFFFF:06x}", 10, hold_ms=HOLD_MS))
        ok = pico.wait_out("NX acked 1\r\n", timeout=NET_S, or_off=True)
        return ok and not any(failed(e) for e in pico.events), total, int(boot.group(1))


def min_heap(trial, lo, total, steps, what):
    """The smallest heap (1 KiB steps) trial(ballast) succeeds in: it does with
    `lo` held, not with `total`."""
    hi = total
    for _ in range(steps):
        mid = (lo + hi) // 2 // 1024 * 1024
        if mid in (lo, hi):
            break
        if trial(mid)[0]:
            lo = mid
        else:
            hi = mid
        print("rp2040:", what, "heap bisection:", total - hi, "fails,", total - lo, "runs")
    return total - lo


def test_wired_kiosk_over_tls_runs_in_the_128_kb_heap_budget(program_image, tls_stack):
    """heap_ballast takes all of the rp2 heap but 128 KiB before the program
    starts (docs/firmware.md: the budget for data and TLS): the frozen program
    starts, completes the TLS handshake in what is left and gets a tap acked.
    NOXUS_RP2_TLS_MIN_HEAP_STEPS (the bench) bisects the smallest heap it does
    that in, over TLS and, as the baseline, over plain MQTT."""
    stack, ca = tls_stack
    ok, total, _ = link_trial(program_image, stack, ca, 0)
    assert ok and total > HEAP_BUDGET, total
    ballast = total - HEAP_BUDGET
    ok, _, free = link_trial(program_image, stack, ca, ballast)
    assert ok, f"the frozen program did not connect over TLS and get an ack in a {HEAP_BUDGET} B heap"
    figures = {"tls_heap_budget_free_after_start": free}
    steps = int(os.environ.get("NOXUS_RP2_TLS_MIN_HEAP_STEPS", "0"))
    if steps:
        figures["tls_min_heap_bytes"] = min_heap(
            lambda b: link_trial(program_image, stack, ca, b), ballast, total, steps, "TLS"
        )
        figures["plain_min_heap_bytes"] = min_heap(
            lambda b: link_trial(program_image, stack, ca, b, tls=False), ballast, total, steps, "plain MQTT"
        )
    report(**figures)
