"""The real Pico program online: the wired kiosk (WIZnet W5500-EVB-Pico) on
the emulated RP2040, the NoxusTime image with its frozen W5500 driver
(firmware/ports/pico/w5500.py) talking over SPI0 to the W5500 model of the
runner (tests/rp2040/w5500.mjs), whose TCP sockets are host sockets to a
real Mosquitto, with the real ingest worker (`noxus ingest`) writing to
PostgreSQL. tap -> journal -> publish -> commit -> ack -> journal cursor.
docs/rp2040-emulation.md, "The wired variant"."""

import json
import re

import pytest
from noxus.ingest.models import IngestCursor, Punch
from sqlmodel import func, select

from tests.e2e.stack import Stack
from tests.rp2040 import emulator
from tests.rp2040.emulator import Pico
from tests.rp2040.test_pico_emulated import (
    BOOT_S,
    WATCH,
    card_times,
    feedbacks,
    journal_of,
    report,
    tap,
)

KIOSK = "EMU1"
WIRED = json.loads((emulator.REPO / "hardware" / "pinmap.json").read_text())["w5500_evb_pico"]
# The kiosk's own LAN: the W5500 model maps every destination to 127.0.0.1,
# where the test's Mosquitto listens.
ETHERNET = {"ip": "10.0.0.2", "mask": "255.255.255.0", "gw": "10.0.0.1"}
BROKER_IP = "10.0.0.1"
NET_S = 120  # wall seconds for the broker, the worker and the database to answer: a safety net


@pytest.fixture
def stack(tmp_path, pg_url, private_broker):
    s = Stack(tmp_path, pg_url, private_broker)
    s.register(KIOSK)
    s.start_worker()
    s.wait_worker_subscribed()
    yield s
    s.close()


def wired_image(program_image, stack, **cfg):
    """The NoxusTime image's program (frozen) on a W5500-EVB-Pico, no network
    stub: plain MQTT to the test's broker by IP (the frozen driver has no
    DNS; TLS is proven on the Unix port, docs/firmware.md)."""
    return program_image(
        frozen=True,
        network_stub=False,
        board="w5500_evb_pico",
        ethernet=ETHERNET,
        broker={"host": BROKER_IP, "port": stack.broker.port, "tls": False},
        trace_heap=cfg.pop("trace_heap", 10),
        wdt_ms=0,
        config={"config_version": 1, "cooldown_ms": 0},
        **cfg,
    )


def wired_pico(image, **kw):
    r, n = WIRED["reader"], WIRED["network"]
    pico = Pico(
        image, watch_pins=WATCH, spi=r["spi"], cs_pin=r["cs"], w5500={"spi": n["spi"], "cs_pin": n["cs"]}, **kw
    )
    return pico


def pace(pico):
    """Emulated time no faster than wall time while the board idles: the
    broker's keepalive and the worker run on wall time."""
    pico.send(cmd="pace", on=True)


def trace(pico, key):
    """[ints] of every "NX <key> <n> ..." line the board printed."""
    return [int(m) for m in re.findall(rb"NX " + key.encode() + rb" (\d+)", bytes(pico.out))]


def stored(stack):
    return stack.count(select(func.count()).select_from(Punch).where(Punch.kiosk_id == KIOSK))


def test_wired_kiosk_tap_is_stored_once_and_its_ack_moves_the_journal_cursor(program_image, stack):
    uids = ["04a1b2c3", "04a1b2c4", "04a1b2c5"]
    with wired_pico(wired_image(program_image, stack, trace_heap=1)) as pico:
        pace(pico)
        pico.wait_out(b"NX link mem_free", timeout=BOOT_S)
        connects = [e for e in pico.events if e["ev"] == "net" and e["what"] == "tcp_connect"]
        assert connects and connects[0]["port"] == stack.broker.port, connects
        steps = []
        for k, uid in enumerate(uids):
            steps += tap(uid, 10 + 1000 * k)
        pico.script(steps)
        stack.wait_until(lambda: stored(stack) == len(uids), NET_S, "the three punches in the database")
        pico.wait_out(f"NX acked {len(uids)}", timeout=NET_S)
        fb = [c for _, c in feedbacks(pico)]
        t_cards = [t for t, u in card_times(pico) if u]
        image = pico.power_off()
    assert fb == ["green"] * len(uids)
    rows = stack.rows(Punch, Punch.seq, Punch.badge_uid)
    assert sorted(rows) == [(k + 1, u.upper()) for k, u in enumerate(uids)]
    (cursor,) = stack.rows(IngestCursor)
    assert cursor.acked_seq == len(uids) and cursor.lost == 0
    unacked, journal = journal_of(image)
    assert unacked == [] and journal.acked == journal.last_seq == len(uids)
    assert len(t_cards) == len(uids)


def drained(pico, stack, n):
    """The worker stored n punches of the kiosk and the kiosk's journal cursor
    reached n (its "NX acked n" line)."""
    stack.wait_until(lambda: stored(stack) >= n, NET_S, f"{n} punches in the database")
    pico.wait_out(f"NX acked {n}\n", timeout=NET_S)


def assert_exactly_once(stack, image, n):
    """Seqs 1..n in the database, each once; the journal acked to its end."""
    seqs = stack.rows(Punch, Punch.seq)
    assert sorted(seqs) == list(range(1, n + 1)), sorted(seqs)
    unacked, journal = journal_of(image)
    assert unacked == [] and journal.acked == journal.last_seq == n, (journal.acked, journal.last_seq)
    (cursor,) = stack.rows(IngestCursor)
    assert cursor.acked_seq == n and cursor.lost == 0


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_power_cut_while_acks_move_the_cursor_keeps_every_punch_once(program_image, stack, seed):
    """Ten taps online; the power goes at a random cycle while their acks come
    back and move the journal cursor on flash (the cut lands in the window
    between the first punch stored and a few hundred emulated ms later). After
    power-on the kiosk resends what was not acked: every tap recorded before
    the cut is in the database exactly once, none is lost."""
    import random

    rnd = random.Random(seed)
    taps = 10
    with wired_pico(wired_image(program_image, stack), seed=seed) as pico:
        pace(pico)
        pico.wait_out(b"NX link mem_free", timeout=BOOT_S)
        steps = []
        for k in range(taps):
            steps += tap(f"05{k:06x}", 10 + 200 * k, hold_ms=100)
        pico.script(steps)
        stack.wait_until(lambda: stored(stack) >= 1, NET_S, "the first punch in the database")
        pico.send(cmd="cut_after_ms", ms=rnd.uniform(0, 2500))
        image = pico.wait_off(timeout=NET_S)
        cut = pico.off
    recorded = journal_of(image)[1].last_seq
    assert 1 <= recorded <= taps, recorded
    with wired_pico(image) as pico:  # power back on: same flash, a fresh W5500 on the board
        pace(pico)
        drained(pico, stack, recorded)
        image = pico.power_off()
    assert_exactly_once(stack, image, recorded)
    print("cut", cut, "recorded", recorded)


def test_broker_killed_mid_batch_then_back_loses_and_doubles_nothing(program_image, stack):
    """The broker is killed (SIGKILL) while the kiosk is publishing a batch of
    taps; taps go on while it is down; it comes back with its persisted
    sessions and the kiosk's journal resends what was not acked."""
    taps = 12
    with wired_pico(wired_image(program_image, stack)) as pico:
        pace(pico)
        pico.wait_out(b"NX link mem_free", timeout=BOOT_S)
        steps = []
        for k in range(taps):
            steps += tap(f"06{k:06x}", 10 + 300 * k, hold_ms=100)
        pico.script(steps)
        stack.wait_until(lambda: stored(stack) >= 2, NET_S, "the batch under way")
        stack.broker.stop(kill=True)
        pico.wait_for(lambda e: e["ev"] == "card" and e["uid"] == f"06{taps - 1:06x}", timeout=NET_S)
        stack.broker.start()
        drained(pico, stack, taps)
        links = bytes(pico.out).count(b"NX link mem_free")
        image = pico.power_off()
    assert links >= 2, "the kiosk did not reconnect"
    assert_exactly_once(stack, image, taps)
