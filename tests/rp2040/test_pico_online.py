"""The real Pico program online: the wired kiosk (WIZnet W5500-EVB-Pico) on
the emulated RP2040, the NoxusTime image with its frozen W5500 driver
(firmware/ports/pico/w5500.py) talking over SPI0 to the W5500 model of the
runner (tests/rp2040/w5500.mjs), whose TCP sockets are host sockets to a
real Mosquitto, with the real ingest worker (`noxus ingest`) writing to
PostgreSQL. tap -> journal -> publish -> commit -> ack -> journal cursor.
docs/rp2040-emulation.md, "The wired variant"."""

import json
import os
import re

import pytest
from noxus.ingest.models import IngestCursor, Punch
from sqlmodel import func, select

from tests.e2e.stack import Stack
from tests.rp2040 import emulator
from tests.rp2040.emulator import Pico
from tests.rp2040.test_pico_emulated import (
    BOOT_S,
    HOLD_MS,
    TAP_BUDGET_MS,
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
    DNS), unless `broker` says otherwise."""
    return program_image(
        frozen=True,
        network_stub=False,
        board="w5500_evb_pico",
        ethernet=ETHERNET,
        broker=cfg.pop("broker", None) or {"host": BROKER_IP, "port": stack.broker.port, "tls": False},
        trace_heap=cfg.pop("trace_heap", 10),
        wdt_ms=0,
        config={"config_version": 1, "cooldown_ms": 0},
        **cfg,
    )


def wired_pico(image, cable_off_on_tx=None, **kw):
    """cable_off_on_tx: a first byte (0x82, an MQTT SUBSCRIBE): the W5500 model
    pulls the cable when the program sends it, and loses it."""
    r, n = WIRED["reader"], WIRED["network"]
    return Pico(
        image,
        watch_pins=WATCH,
        spi=r["spi"],
        cs_pin=r["cs"],
        w5500={"spi": n["spi"], "cs_pin": n["cs"], "cable_off_on_tx": cable_off_on_tx},
        **kw,
    )


def pace(pico):
    """Emulated time no faster than wall time while the board idles: the
    broker's keepalive and the worker run on wall time."""
    pico.send(cmd="pace", on=True)


def online(pico):
    """Paced, and the kiosk's MQTT session up."""
    pace(pico)
    pico.wait_out(b"NX link mem_free", timeout=BOOT_S)


def held_taps(prefix, ks, gap_ms, start_ms=10):
    """Script steps: a held tap of card `prefix` + k (6 hex digits) for each k, gap_ms apart."""
    steps = []
    for k in ks:
        steps += tap(f"{prefix}{k:06x}", start_ms + gap_ms * k, hold_ms=HOLD_MS)
    return steps


def one_tap_acked_then_unplugged(pico, prefix, n, gap_ms):
    """Online, one tap acked first (the session is whole: subscriptions acknowledged);
    returns the steps that pull the cable and tap the other n - 1 cards, for the caller
    to script."""
    online(pico)
    pico.script(tap(f"{prefix}000000", 10, hold_ms=HOLD_MS))
    pico.wait_out("NX acked 1\r\n", timeout=NET_S)
    unplug = [{"after_ms": 0, "cmd": "cable", "on": False}]
    return unplug + held_taps(prefix, range(1, n), gap_ms, start_ms=500)


def trace(pico, key):
    """[ints] of every "NX <key> <n> ..." line the board printed."""
    return [int(m) for m in re.findall(rb"NX " + key.encode() + rb" (\d+)", bytes(pico.out))]


def stored(stack):
    return stack.count(select(func.count()).select_from(Punch).where(Punch.kiosk_id == KIOSK))


def taps_online(pico, stack, uids, port, hold_ms=250):
    """MQTT up, its first dial to `port`; `uids` tapped 1 s apart; wait until
    the worker stored them and the kiosk's journal cursor reached them, in
    RAM and on flash (between taps). -> the W5500 model's tcp_connect events."""
    pico.wait_out(b"NX link mem_free", timeout=BOOT_S)
    connects = [e for e in pico.events if e["ev"] == "net" and e["what"] == "tcp_connect"]
    assert connects and connects[0]["port"] == port, connects
    steps = []
    for k, uid in enumerate(uids):
        steps += tap(uid, 10 + 1000 * k, hold_ms=hold_ms)
    pico.script(steps)
    stack.wait_until(lambda: stored(stack) == len(uids), NET_S, f"the {len(uids)} punches in the database")
    pico.wait_out(f"NX acked {len(uids)}\r\n", timeout=NET_S)
    pico.wait_out(f"NX saved {len(uids)}\r\n", timeout=NET_S)
    return connects


def assert_each_tap_stored_once(stack, image, uids):
    """The punches in the database once each, in tap order, the ingest cursor
    and the journal on the flash image acked to the last."""
    rows = stack.rows(Punch, Punch.seq, Punch.badge_uid)
    assert sorted(rows) == [(k + 1, u.upper()) for k, u in enumerate(uids)]
    (cursor,) = stack.rows(IngestCursor)
    assert cursor.acked_seq == len(uids) and cursor.lost == 0
    unacked, journal = journal_of(image)
    assert unacked == [] and journal.acked == journal.last_seq == len(uids)


def test_wired_kiosk_tap_is_stored_once_and_its_ack_moves_the_journal_cursor(program_image, stack):
    uids = ["04a1b2c3", "04a1b2c4", "04a1b2c5"]
    with wired_pico(wired_image(program_image, stack, trace_heap=1)) as pico:
        pace(pico)
        taps_online(pico, stack, uids, stack.broker.port)
        fbs = feedbacks(pico)
        t_cards = [t for t, u in card_times(pico) if u]
        out = bytes(pico.out)
        image = pico.power_off()
    assert [c for _, c in fbs] == ["green"] * len(uids)
    # gc.mem_free() after a gc.collect(): start-up, MQTT connected, after the taps and their acks
    heap = {
        "online_mem_free_after_boot": int(re.search(rb"NX boot \d+ seq \d+ mem_free (\d+)", out).group(1)),
        "online_mem_free_after_mqtt_connect": trace(pico, "link mem_free")[0],
        "online_mem_free_after_taps_acked": int(re.findall(rb"NX taps \d+ mem_free (\d+)", out)[-1]),
    }
    report(
        **heap,
        online_tap_to_feedback_ms=[round((f - c) / 1e6, 2) for (f, _), c in zip(fbs, t_cards, strict=True)],
    )
    assert_each_tap_stored_once(stack, image, uids)
    assert len(t_cards) == len(uids)


def drained(pico, stack, n, timeout=NET_S):
    """The worker stored n punches of the kiosk and the kiosk's journal cursor
    reached n (its "NX acked n" line), in RAM then on flash ("NX saved n": the
    kiosk writes the cursor at most every CURSOR_PERSIST_MS, between taps)."""
    try:
        stack.wait_until(lambda: stored(stack) >= n, timeout, f"{n} punches in the database")
    except AssertionError as e:
        tail = bytes(pico.out[-1500:]).decode(errors="replace")
        raise AssertionError(
            f"{e}; {stored(stack)} stored; {pico.now()}; the board printed:\n{tail}"
        ) from None
    pico.wait_out(f"NX acked {n}\r\n", timeout=timeout)
    pico.wait_out(f"NX saved {n}\r\n", timeout=timeout)


def assert_exactly_once(stack, image, n):
    """Seqs 1..n in the database, each once; the journal acked to its end."""
    seqs = stack.rows(Punch, Punch.seq)
    assert sorted(seqs) == list(range(1, n + 1)), sorted(seqs)
    unacked, journal = journal_of(image)
    assert unacked == [] and journal.acked == journal.last_seq == n, (journal.acked, journal.last_seq)
    (cursor,) = stack.rows(IngestCursor)
    assert cursor.acked_seq == n and cursor.lost == 0


# Page programs of one ack moving the journal cursor on littlefs (measured: 3 per ack;
# the worker's first ack always comes, how it batches the rest depends on timing).
ACK_FLASH_OPS = 3


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_power_cut_inside_an_ack_cursor_write_keeps_every_punch_once(program_image, stack, seed):
    """Ten taps online while the ingest worker is down: journaled, published,
    none acked. The worker starts and its acks come back; the power goes
    inside the nth flash operation from then on (n random among the first
    ack's operations, a torn page program at a random byte): an ack moving
    the journal cursor on flash. After power-on the kiosk resends
    what its cursor does not cover: every punch in the database exactly
    once, none lost."""
    import random

    rnd = random.Random(seed)
    taps = 10
    stack.kill_worker()
    with wired_pico(wired_image(program_image, stack, trace_heap=1), seed=seed) as pico:
        online(pico)
        pico.script(held_taps("05", range(taps), 350))
        pico.wait_out(f"NX taps {taps} mem_free", timeout=NET_S)
        n = rnd.randint(1, ACK_FLASH_OPS)
        pico.send(cmd="cut_in_flash_op", n=n)
        stack.start_worker()
        image = pico.wait_off(timeout=NET_S)
        cut = pico.off
    assert cut["reason"] == "cut" and cut.get("during") == "program", cut
    _, journal = journal_of(image)
    assert journal.last_seq == taps and journal.acked < taps, (journal.acked, journal.last_seq)
    with wired_pico(image) as pico:  # power back on: same flash, a fresh W5500 on the board
        pace(pico)
        drained(pico, stack, taps)
        image = pico.power_off()
    assert_exactly_once(stack, image, taps)


def test_broker_killed_mid_batch_then_back_loses_and_doubles_nothing(program_image, stack):
    """The broker is killed (SIGKILL) while the kiosk is publishing a batch of
    taps; taps go on while it is down; it comes back with its persisted
    sessions and the kiosk's journal resends what was not acked."""
    taps = 12
    with wired_pico(wired_image(program_image, stack)) as pico:
        online(pico)
        pico.script(held_taps("06", range(taps), 350))
        stack.wait_until(lambda: stored(stack) >= 2, NET_S, "the batch under way")
        stack.broker.stop(kill=True)
        pico.wait_for(lambda e: e["ev"] == "card" and e["uid"] == f"06{taps - 1:06x}", timeout=NET_S)
        stack.broker.start()
        drained(pico, stack, taps)
        links = bytes(pico.out).count(b"NX link mem_free")
        image = pico.power_off()
    assert links >= 2, "the kiosk did not reconnect"
    assert_exactly_once(stack, image, taps)


def test_heap_online_does_not_grow_and_acks_do_not_write_the_cursor_per_tap(program_image, stack):
    """100 taps (NOXUS_RP2_ONLINE_TAPS; the bench runs more), 350 ms apart, each
    published and acked through the live session: every tap stored and acked, the
    heap after a gc.collect() every 25 taps does not grow, the acked cursor reaches
    flash a few times (at most every CURSOR_PERSIST_MS, between taps), not once per
    ack, and tap -> feedback (emulated time) is in the budget at the first tap and
    at the median. The worst tap is reported, not asserted: with the journal tail
    (no erase on the tap path) two runs gave 140.1 and 149.7 ms, too close to the
    budget for an assertion that fails only for a reason (docs/rp2040-emulation.md,
    "Findings")."""
    taps, every = int(os.environ.get("NOXUS_RP2_ONLINE_TAPS", "100")), 25
    with wired_pico(wired_image(program_image, stack, trace_heap=every)) as pico:
        online(pico)
        pico.script(held_taps("07", range(taps), 350))  # 150 ms away: 3 polls see it gone
        # emulated time runs up to ~10x slower than wall time on a loaded machine (2 CPUs,
        # load 8): the taps first, with a safety net that allows for it
        pico.wait_out(f"NX taps {taps} mem_free", timeout=BOOT_S + 10 * taps)
        drained(pico, stack, taps)
        fbs = feedbacks(pico)
        t_cards = [t for t, u in card_times(pico) if u]
        out = bytes(pico.out)
        saves = len(trace(pico, "saved")) - 1  # the first line is the cursor at start
    after = {int(n): int(m) for n, m in re.findall(rb"NX taps (\d+) mem_free (\d+)", out)}
    assert sorted(after) == list(range(every, taps + 1, every)), after
    at_boot = int(re.search(rb"NX boot \d+ seq \d+ mem_free (\d+)", out).group(1))
    assert after[taps] >= after[every] - 256, f"heap grew over {taps} taps with acks: {after}"
    # each card's first feedback (buzzer rising edge) before the next card, in emulated
    # time; None: no beep of its own (merged into the previous one by a stalled loop)
    ends = t_cards[1:] + [float("inf")]
    lat = [
        next(((f - c) / 1e6 for f, _ in fbs if c <= f < e), None) for c, e in zip(t_cards, ends, strict=True)
    ]
    seen = sorted(x for x in lat if x is not None)
    report(
        online_taps=taps,
        online_mem_free_after_boot=at_boot,
        online_mem_free_after_mqtt_connect=trace(pico, "link mem_free")[0],
        online_mem_free_after_taps={str(k): v for k, v in sorted(after.items())},
        online_tap_to_feedback_first_ms=round(lat[0], 2) if lat[0] is not None else None,
        online_tap_to_feedback_median_ms=round(seen[len(seen) // 2], 2),
        # nearest rank over the taps that had a beep of their own (the others are counted below)
        online_tap_to_feedback_p95_ms=round(seen[min(len(seen) - 1, -(-95 * len(seen) // 100) - 1)], 2),
        online_tap_to_feedback_max_ms=round(seen[-1], 2),
        online_taps_over_budget=sum(1 for x in lat if x is None or x > TAP_BUDGET_MS),
        online_taps_beep_merged=sum(1 for x in lat if x is None),
        online_cursor_writes=saves,
    )
    assert len(lat) == taps and lat[0] is not None and lat[0] <= TAP_BUDGET_MS, lat[:3]
    assert seen[len(seen) // 2] <= TAP_BUDGET_MS, seen
    # one write per ack before (a hundred); now one per CURSOR_PERSIST_MS at most
    assert 1 <= saves < taps // 4, saves


def test_cable_pulled_for_30_s_with_taps_going_on_then_every_punch_once(program_image, stack):
    """The network cable "pulled" (the W5500's link bit drops, its host
    connections stall) for 30 s of emulated time while 4 cards are tapped:
    each gets its "accepted" feedback and a journal record; plugged back,
    the kiosk reconnects and every punch reaches the database once."""
    taps = 5
    with wired_pico(wired_image(program_image, stack, trace_heap=1)) as pico:
        steps = one_tap_acked_then_unplugged(pico, "08", taps, 400)
        pico.script(steps + [{"after_ms": 30000, "cmd": "cable", "on": True}])
        pico.wait_out(f"NX taps {taps} mem_free", timeout=NET_S)
        assert stored(stack) == 1
        # 30 s of emulated time: minutes of wall time on a loaded machine
        pico.wait_for(lambda e: e["ev"] == "net" and e["what"] == "cable" and e["on"], timeout=BOOT_S)
        drained(pico, stack, taps)
        fbs = feedbacks(pico)
        image = pico.power_off()
    assert [c for _, c in fbs] == ["green"] * taps
    assert_exactly_once(stack, image, taps)


def out_at(pico, text):
    """Emulated time (ns) when the board had printed `text`, or None."""
    buf = bytearray()
    for e in pico.events:
        if e["ev"] == "out":
            chunk = bytes.fromhex(e["hex"])
            buf += chunk
            if text in buf[-(len(chunk) + len(text)) :]:
                return e["t_ns"]
    return None


def test_power_cut_after_acks_before_the_cursor_reaches_flash_resends_and_stores_once(program_image, stack):
    """The acked cursor waits in RAM (cursor_persist_ms: 10 min here) when the
    power goes: after power-on the kiosk resends the punches acked since the
    cursor last reached flash, the worker stores none of them twice, and
    nothing is lost."""
    taps = 6
    img = wired_image(program_image, stack, trace_heap=1, cursor_persist_ms=600000)
    with wired_pico(img) as pico:
        online(pico)
        pico.script(tap("0a000000", 10, hold_ms=HOLD_MS))
        pico.wait_out("NX saved 1\r\n", timeout=NET_S)  # the first write after boot is not held back
        pico.script(held_taps("0a", range(1, taps), 350))
        stack.wait_until(lambda: stored(stack) == taps, NET_S, "the punches in the database")
        pico.wait_out(f"NX acked {taps}\r\n", timeout=NET_S)
        assert trace(pico, "saved")[-1] == 1
        image = pico.power_off()
    _, journal = journal_of(image)
    assert (journal.acked, journal.last_seq) == (1, taps)
    with wired_pico(image) as pico:
        pace(pico)
        drained(pico, stack, taps)
        acked = trace(pico, "acked")
        image = pico.power_off()
    assert acked[0] == 1 and acked[-1] == taps, acked  # resent from the cursor on flash
    assert_exactly_once(stack, image, taps)


def test_backlog_of_offline_taps_drains_once(program_image, stack):
    """Taps with the cable pulled (40; NOXUS_RP2_DRAIN_TAPS, the bench runs
    1 000), then plugged: the kiosk drains its journal, every punch stored once.
    Figure: punches per second drained, emulated time from the first ack after
    the plug to the last."""
    taps = int(os.environ.get("NOXUS_RP2_DRAIN_TAPS", "40"))
    n = taps + 1
    with wired_pico(wired_image(program_image, stack, trace_heap=taps + 1)) as pico:
        pico.script(one_tap_acked_then_unplugged(pico, "09", n, 350))
        pico.wait_out(f"NX taps {n} mem_free", timeout=BOOT_S + 10 * taps)
        assert stored(stack) == 1
        pico.script([{"after_ms": 0, "cmd": "cable", "on": True}])
        drained(pico, stack, n, timeout=NET_S + taps)
        acked = [a for a in trace(pico, "acked") if a > 1]
        t0, t1 = (
            out_at(pico, f"NX acked {acked[0]}\r\n".encode()),
            out_at(pico, f"NX acked {n}\r\n".encode()),
        )
        image = pico.power_off()
    assert_exactly_once(stack, image, n)
    if t1 > t0:
        report(drain_taps=taps, drain_punches_per_s=round((n - acked[0]) / ((t1 - t0) / 1e9), 1))


SUBSCRIBE = 0x82  # MQTT 3.1.1 fixed header byte


def test_cable_pulled_before_the_suback_then_acks_come_back_and_every_punch_once(program_image, stack):
    """The cable pulled right after the MQTT connect, as the kiosk sends its
    first SUBSCRIBE (lost with the cable, no SUBACK): the broker holds the
    session the CONNECT created (clean_session false) without the kiosk's
    subscriptions. Taps go on for 20 s; plugged back, the kiosk reconnects,
    the broker resumes the session, and the kiosk subscribes again to what was
    never acknowledged: the acks come back, every punch is stored once and the
    journal is acked to its end (docs/rp2040-emulation.md, "Findings")."""
    taps = 4
    with wired_pico(wired_image(program_image, stack, trace_heap=1), cable_off_on_tx=SUBSCRIBE) as pico:
        pace(pico)
        pico.wait_for(lambda e: e["ev"] == "net" and e["what"] == "cable" and not e["on"], timeout=BOOT_S)
        steps = held_taps("09", range(taps), 400, start_ms=500)
        pico.script(steps + [{"after_ms": 20000, "cmd": "cable", "on": True}])
        pico.wait_out(f"NX taps {taps} mem_free", timeout=NET_S)
        assert stored(stack) == 0
        # 20 s of emulated time: minutes of wall time on a loaded machine
        pico.wait_for(lambda e: e["ev"] == "net" and e["what"] == "cable" and e["on"], timeout=BOOT_S)
        drained(pico, stack, taps)
        links = bytes(pico.out).count(b"NX link mem_free")
        fbs = feedbacks(pico)
        image = pico.power_off()
    assert links >= 2, "the kiosk did not reconnect"
    assert [c for _, c in fbs] == ["green"] * taps
    assert_exactly_once(stack, image, taps)
