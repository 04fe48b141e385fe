"""Pipelining is safe with the contiguous ack rule: the firmware's own Sender
with four batches in flight, against the real ingest service, through a
seeded network that reorders, drops and duplicates messages and acks. Every
punch is stored exactly once and the journal is freed to its end, never past
what the backend holds."""

import random

import pytest
from noxus.fleet.models import Kiosk, KioskAlert
from noxus.ingest.models import DeadLetter, IngestCursor, Punch
from noxus.ingest.service import Incoming, ingest
from sqlmodel import Session, func, select

from firmware.core import protocol
from firmware.core.pipeline import PipelinedSender as Sender
from tests.firmware_core.memjournal import MemJournal

T0 = 1_767_225_600_000
PUNCHES = 230  # 12 batches of 20, the last one short


def journal(n):
    return MemJournal([protocol.Punch(i + 1, f"04A1{i % 256:02X}C3", T0 + i * 1000) for i in range(n)])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_four_batches_in_flight_through_a_reordering_lossy_network_store_each_punch_once(engine, seed):
    rnd = random.Random(seed)
    with Session(engine) as s:
        s.add(Kiosk(id="K1"))
        s.commit()
    to_backend: list[bytes] = []
    sender = Sender(
        journal(PUNCHES),
        "K1",
        lambda _t, p: to_backend.append(p),
        ack_timeout_ms=500,
        backoff_max_ms=2000,
        window=4,
    )
    stored_upto_seen = []
    now = 0
    for _ in range(2000):
        sender.poll(now, True)
        if to_backend and rnd.random() < 0.5:
            # The broker hands the workers a shuffled group; some messages are lost, some doubled.
            group = [m for m in to_backend if rnd.random() > 0.15]
            group += [m for m in group if rnd.random() < 0.1]
            rnd.shuffle(group)
            to_backend.clear()
            with Session(engine) as s:
                out = ingest(s, [Incoming(protocol.topic("K1", protocol.PUNCH), m) for m in group])
                s.commit()
            if ("K1", 0) in out.acks and rnd.random() > 0.15:  # the ack may be lost too
                with Session(engine) as s:
                    have = set(s.exec(select(Punch.seq)).all())
                upto = out.acks[("K1", 0)]
                assert set(range(1, upto + 1)) <= have  # an ack never names a punch not stored
                stored_upto_seen.append(upto)
                sender.on_ack(protocol.encode_ack("K1", upto))
        if sender.journal.acked == PUNCHES:
            break
        now += 50
    assert sender.journal.acked == PUNCHES, f"stuck at {sender.journal.acked}"
    assert sender.sent > PUNCHES // 20  # it did go back after losses
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(Punch)).one() == PUNCHES
        assert set(s.exec(select(Punch.seq)).all()) == set(range(1, PUNCHES + 1))
        assert s.get(IngestCursor, ("K1", 0)).acked_seq == PUNCHES
        assert s.get(IngestCursor, ("K1", 0)).lost == 0
        assert s.exec(select(DeadLetter)).all() == []
        assert s.exec(select(KioskAlert)).all() == []
    assert stored_upto_seen == sorted(stored_upto_seen)  # acks only move forward
