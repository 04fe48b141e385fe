# Broker selection, reconnect backoff and the pipelined sender: checks that
# run unchanged on CPython and on the MicroPython Unix port, deterministic
# (seeded random source, emulated ticks, an in-memory journal). Run them all
# on MicroPython with
#
#   micropython tests/firmware_core/link_checks.py [names...]
#
# which prints "ok <name>" or "FAIL <name>: <reason>" per check and "DONE".
# MicroPython-compatible on purpose: no typing, dataclasses.

import json
import sys

import memjournal
from lcg import Lcg

from firmware.core import pipeline as S
from firmware.core import protocol as P
from firmware.core import reconnect as R


def eq(got, want, what):
    if got != want:
        raise AssertionError(f"{what}: got {got!r}, want {want!r}")


def journal(n):
    return memjournal.MemJournal([P.Punch(i + 1, "04A1B2C3", 1767225600000 + i) for i in range(n)])


class Wire:
    """What the sender published: [(first seq, last seq, from), ...]."""

    def __init__(self):
        self.batches = []

    def publish(self, topic, payload):
        d = json.loads(payload)
        seqs = [p[0] if isinstance(p, list) else p["seq"] for p in d["punches"]]
        self.batches.append((seqs[0], seqs[-1], d["from"]))


def ack(sender, upto):
    sender.on_ack(P.encode_ack(sender.kiosk_id, upto))


def pump(sender, now, times=20):
    for _ in range(times):
        sender.poll(now, True)


def make(n=100, window=4, timeout=1000):
    wire = Wire()
    s = S.PipelinedSender(
        journal(n),
        "K1",
        wire.publish,
        batch_max=20,
        ack_timeout_ms=timeout,
        backoff_max_ms=8000,
        window=window,
    )
    return s, wire


# --- reconnect -----------------------------------------------------------


def check_backoff_doubles_from_base_to_cap():
    r = R.Reconnect([("a", 1)], "K1", rand=lambda: 0.999999, base_ms=1000, max_ms=60000, floor_ms=100)
    got = [r.failed() for _ in range(9)]
    eq(
        [(g + 1) // 1000 * 1000 for g in got],
        [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000],
        "upper bounds",
    )
    r = R.Reconnect([("a", 1)], "K1", rand=lambda: 0.0)
    eq([r.failed() for _ in range(5)], [R.RECONNECT_FLOOR_MS] * 5, "lower bound is the floor")


def check_connack_resets_the_backoff():
    r = R.Reconnect([("a", 1)], "K1", rand=lambda: 0.999999, base_ms=1000)
    for _ in range(6):
        r.failed()
    r.connected()
    eq(r.failed() < 1000, True, "first delay again after a connection")


def check_seeded_jitter_spreads_a_fleet_over_the_first_window():
    # 1 000 kiosks cut off at once: their first retries fall evenly in
    # [floor, base], not in the same instant.
    rand = Lcg(42)
    buckets = [0] * 10
    for i in range(1000):
        d = R.Reconnect([("a", 1)], f"K{i}", rand=rand).failed()
        if not R.RECONNECT_FLOOR_MS <= d <= R.RECONNECT_BASE_MS:
            raise AssertionError(f"delay {d} out of [floor, base]")
        buckets[(d - R.RECONNECT_FLOOR_MS) * 10 // (R.RECONNECT_BASE_MS - R.RECONNECT_FLOOR_MS + 1)] += 1
    eq(max(buckets) < 150 and min(buckets) > 50, True, f"even spread {buckets!r}")


def check_same_seed_same_delays():
    a = R.Reconnect([("a", 1)], "K1", rand=Lcg(7))
    b = R.Reconnect([("a", 1)], "K1", rand=Lcg(7))
    eq([a.failed() for _ in range(8)], [b.failed() for _ in range(8)], "deterministic")


def check_failover_walks_the_broker_list_from_a_kiosk_own_start():
    nodes = [("n1", 1883), ("n2", 1883), ("n3", 1883)]
    starts = set()
    for i in range(30):
        starts.add(R.Reconnect(nodes, f"KIOSK-{i}").current())
    eq(len(starts), 3, "a fleet starts spread over every node")
    r = R.Reconnect(nodes, "K1", rand=lambda: 0.5)
    first = r.index
    seen = [r.current()]
    for _ in range(3):
        r.failed()
        seen.append(r.current())
    eq(seen, [nodes[(first + i) % 3] for i in range(4)], "round robin, then back to the first")


# --- pipelined sender ----------------------------------------------------


def check_window_of_four_sends_four_batches_before_any_ack():
    s, wire = make(100, window=4)
    pump(s, 0)
    eq(wire.batches, [(1, 20, 1), (21, 40, 1), (41, 60, 1), (61, 80, 1)], "four in flight, each from acked+1")


def check_a_later_batch_committed_first_frees_nothing_until_the_gap_is_filled():
    s, wire = make(100, window=4)
    pump(s, 0)
    ack(s, 0)  # batch 2 committed before batch 1: highest contiguous is still 0
    pump(s, 10)
    eq(s.journal.acked, 0, "nothing freed")
    eq(len(wire.batches), 4, "window still full")
    ack(s, 40)  # batch 1 in: 1..40 contiguous
    pump(s, 20)
    eq(s.journal.acked, 40, "freed up to the ack")
    eq(wire.batches[4:], [(81, 100, 41)], "the window slides; from follows the ack")
    ack(s, 100)
    pump(s, 30)
    eq((s.journal.acked, s.idle(), len(wire.batches)), (100, True, 5), "drained, nothing resent")


def check_no_ack_in_time_goes_back_to_the_first_unacked_punch_with_a_longer_timeout():
    s, wire = make(100, window=4, timeout=1000)
    pump(s, 0)
    ack(s, 20)
    pump(s, 500)
    eq(wire.batches[-1], (81, 100, 21), "slid by one")
    pump(s, 999)
    eq(len(wire.batches), 5, "batch 21..40 not due yet")
    pump(s, 1000)
    eq(wire.batches[5:], [(21, 40, 21), (41, 60, 21), (61, 80, 21), (81, 100, 21)], "go-back-N from acked+1")
    eq(s.resent, 1, "one timeout")
    pump(s, 2999)
    eq(len(wire.batches), 9, "the timeout doubled (2 s)")
    pump(s, 3000)
    eq(wire.batches[9], (21, 40, 21), "resent again after 2 s")


def check_a_new_connection_resends_from_the_ack():
    s, wire = make(60, window=4)
    pump(s, 0)
    ack(s, 20)
    s.link_up()
    pump(s, 5)
    eq(wire.batches[3:], [(21, 40, 21), (41, 60, 21)], "what was in flight may be lost")


def check_window_of_one_is_stop_and_wait():
    s, wire = make(60, window=1)
    pump(s, 0)
    eq(len(wire.batches), 1, "one in flight")
    ack(s, 20)
    pump(s, 1)
    eq(wire.batches, [(1, 20, 1), (21, 40, 21)], "next after the ack")


def check_default_window_is_the_named_constant():
    s = S.PipelinedSender(journal(1), "K1", lambda t, p: None)
    eq(s.window, S.WINDOW, "default")
    eq(S.PipelinedSender(journal(1), "K1", lambda t, p: None, window=999).window, S.WINDOW_MAX, "capped")


CHECKS = [n for n in sorted(globals()) if n.startswith("check_")]


def run(names=None):
    out = []
    for name in names or CHECKS:
        try:
            globals()[name]()
            out.append((name, None))
        except Exception as e:  # noqa: BLE001  (report every failure, keep going)
            out.append((name, f"{type(e).__name__}: {e}"))
    return out


if __name__ == "__main__":
    for name, err in run(sys.argv[1:]):
        print("ok " + name if err is None else f"FAIL {name}: {err}")
    print("DONE")
