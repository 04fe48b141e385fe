"""The real Pico program online over TLS: the wired kiosk (W5500-EVB-Pico) on
the emulated RP2040, the NoxusTime image's mbedTLS (`tls` module, built with
MICROPY_PY_SSL, scripts/build_rp2.sh) on the frozen W5500 driver's sockets,
the pinned CA on flash and the broker's name checked through
`broker.server_hostname`, to Mosquitto's TLS listener; the real ingest worker
on the plain listener writes to PostgreSQL. docs/rp2040-emulation.md, "TLS on
the emulated wired kiosk"."""

import re

import pytest
from noxus.ingest.models import IngestCursor, Punch

from tests.e2e.stack import Stack
from tests.firmware.tlsca import TlsMosquitto, make_board_ca
from tests.rp2040.test_pico_emulated import BOOT_S, feedbacks, journal_of, report, tap
from tests.rp2040.test_pico_online import (
    BROKER_IP,
    HOLD_MS,
    KIOSK,
    NET_S,
    out_at,
    pace,
    stored,
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


def test_wired_kiosk_over_tls_with_the_pinned_ca_stores_each_tap_once_and_is_acked(program_image, tls_stack):
    stack, ca = tls_stack
    uids = ["04c1b2c3", "04c1b2c4", "04c1b2c5"]
    broker = {
        "host": BROKER_IP,
        "port": stack.broker.tls_port,
        "tls": True,
        "ca_file": "ca.der",
        "server_hostname": BROKER_NAME,
    }
    image = wired_image(
        program_image, stack, broker=broker, trace_heap=1, files={"ca.der": (ca / "ca.der").read_bytes()}
    )
    with wired_pico(image) as pico:
        pace(pico)
        pico.wait_out(b"NX link mem_free", timeout=BOOT_S)
        connects = [e for e in pico.events if e["ev"] == "net" and e["what"] == "tcp_connect"]
        assert connects and connects[0]["port"] == stack.broker.tls_port, connects
        steps = []
        for k, uid in enumerate(uids):
            steps += tap(uid, 10 + 1000 * k, hold_ms=HOLD_MS)
        pico.script(steps)
        stack.wait_until(lambda: stored(stack) == len(uids), NET_S, "the three punches in the database")
        pico.wait_out(f"NX acked {len(uids)}\r\n", timeout=NET_S)
        pico.wait_out(f"NX saved {len(uids)}\r\n", timeout=NET_S)
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
    seqs = stack.rows(Punch, Punch.seq, Punch.badge_uid)
    assert sorted(seqs) == [(k + 1, u.upper()) for k, u in enumerate(uids)]
    (cursor,) = stack.rows(IngestCursor)
    assert cursor.acked_seq == len(uids) and cursor.lost == 0
    unacked, journal = journal_of(image)
    assert unacked == [] and journal.acked == journal.last_seq == len(uids)
