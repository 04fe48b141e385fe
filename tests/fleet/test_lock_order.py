"""Several ingest workers commit concurrently on PostgreSQL. Each group takes
its row locks (punch index entries, ingest cursors, kiosk rows) in one global
order, kiosk id then seq, so two workers wait for each other but never
deadlock (a deadlock costs deadlock_timeout, a retry and kiosk resends)."""

import json

from noxus.core.db import make_engine
from noxus.fleet import service
from noxus.fleet.models import Kiosk, KioskCreate
from noxus.ingest.models import Punch
from noxus.ingest.service import Incoming, ingest
from sqlalchemy import event, text
from sqlmodel import Session, select

from firmware.core import protocol
from firmware.core.protocol import Punch as WirePunch

T0 = 1_767_225_600_000


def batch(kiosk, seqs):
    return Incoming(
        protocol.topic(kiosk, protocol.PUNCH),
        protocol.encode_punch_batch(kiosk, [WirePunch(s, "04A1B2C3", T0 + s * 1000) for s in seqs], 1),
    )


def beat(kiosk):
    return Incoming(protocol.topic(kiosk, protocol.TELEMETRY), protocol.encode_message(kiosk, {"fill": 0.1}))


def test_a_group_locks_kiosks_and_seqs_in_ascending_order_whatever_the_arrival_order(engine):
    with Session(engine) as s:
        for k in ("K1", "K2", "K3"):
            service.register(s, KioskCreate(id=k))
        s.commit()
    statements: list[tuple[str, object]] = []

    def listener(_c, _cur, stmt, params, _ctx, _many):
        statements.append((stmt, params))

    event.listen(engine, "before_cursor_execute", listener)
    try:
        with Session(engine) as s:
            ingest(
                s,
                [
                    beat("K3"),
                    batch("K3", [3, 4]),
                    batch("K1", [2]),
                    beat("K1"),
                    batch("K3", [1, 2]),
                    batch("K2", [1]),
                    batch("K1", [1]),
                ],
            )
            s.commit()
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    with Session(engine) as s:
        stored = [(p.kiosk_id, p.seq) for p in s.exec(select(Punch).order_by(Punch.id))]
    assert stored == [("K1", 1), ("K1", 2), ("K2", 1), ("K3", 1), ("K3", 2), ("K3", 3), ("K3", 4)]

    def flat(value):
        # A group's keys are bound as one array per column (PostgreSQL) or one JSON document (SQLite).
        if isinstance(value, str) and value.startswith("["):
            value = json.loads(value)
        if isinstance(value, dict):  # executemany: one dict per row
            value = list(value.values())
        if isinstance(value, (list, tuple)):
            return [v for item in value for v in flat(item)]
        return [value]

    def kiosks_in(fragment):
        out = []
        for stmt, params in statements:
            if fragment in stmt:
                out += [v for v in flat(params) if isinstance(v, str) and v in ("K1", "K2", "K3")]
        return out

    locks = [stmt for stmt, _ in statements if "FROM ingest_cursor" in stmt]
    assert len(locks) == 1 and "ORDER BY c.kiosk_id, c.epoch" in locks[0]  # the locks' order
    cursor_reads = kiosks_in("FROM ingest_cursor")
    assert cursor_reads == sorted(cursor_reads) and set(cursor_reads) == {"K1", "K2", "K3"}
    kiosk_updates = kiosks_in("UPDATE kiosk SET")
    assert kiosk_updates == sorted(kiosk_updates) and set(kiosk_updates) == {"K1", "K3"}
    if engine.dialect.name == "postgresql":
        # The kiosk rows the group writes are locked once, in id order, before any write.
        row_locks = [i for i, (stmt, _) in enumerate(statements) if "FROM kiosk" in stmt and " FOR " in stmt]
        assert len(row_locks) == 1
        lock = statements[row_locks[0]][0]
        assert "ORDER BY kiosk.id" in lock and lock.rstrip().endswith("FOR NO KEY UPDATE")
        writes = [i for i, (stmt, _) in enumerate(statements) if stmt.startswith("UPDATE kiosk")]
        assert writes and min(writes) > row_locks[0]
        assert not [
            stmt for stmt, _ in statements if "kiosk" in stmt and stmt.rstrip().endswith("FOR UPDATE")
        ]


def test_a_birth_does_not_wait_for_another_workers_punches_of_the_same_kiosk(pg_url):
    """Worker A has inserted punches of K1, not yet committed: the foreign key
    holds a KEY SHARE lock on K1's row. Worker B records K1's birth meanwhile.
    Its row lock must not conflict with A's (FOR UPDATE would: B would wait for
    A, and with A waiting for B elsewhere, the two deadlocked in CI)."""
    engine = make_engine(pg_url)
    try:
        with Session(engine) as s:
            service.register(s, KioskCreate(id="K1"))
            s.commit()
        with Session(engine) as a, Session(engine) as b:
            ingest(a, [batch("K1", [1, 2])])
            a.flush()
            b.execute(text("SET LOCAL lock_timeout = '2s'"))
            birth = Incoming(protocol.topic("K1", protocol.STATE), protocol.encode_state("K1", online=True))
            ingest(b, [birth])  # raises LockNotAvailable if it waits for A
            b.commit()
            a.commit()
        with Session(engine) as s:
            kiosk = s.get(Kiosk, "K1")
            assert kiosk is not None and kiosk.online
            assert len(s.exec(select(Punch)).all()) == 2
    finally:
        engine.dispose()
