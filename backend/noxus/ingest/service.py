"""Store punch batches exactly once and compute the app ack.

`ingest()` is the whole rule, free of MQTT: validate every message with the
shared protocol codec, insert punches with a UNIQUE (kiosk_id, seq) and
ON CONFLICT DO NOTHING, move each kiosk's cursor to the highest contiguous
stored seq, and put everything that is not a valid punch in dead_letter.
The caller commits, and only then acks (PUBACK and the app ack).
"""

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import BigInteger, String, func, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from firmware.core import protocol
from noxus.core.types import UTCDateTime
from noxus.fleet import service as fleet
from noxus.fleet.models import KioskCreate
from noxus.ingest.models import DeadLetter, IngestCursor, Punch

CURSOR_PAGE = 1000  # stored seqs read per step while moving a cursor
INSERT_CHUNK = 1000  # rows per INSERT: far below SQLite's 32k bound parameters
MAX_DEAD_PAYLOAD = 64 * 1024


# One punch as stored: (kiosk_id, epoch, seq, badge_uid, kind, ts_ms, boot, uptime_ms).
# A plain tuple, no dict or datetime per punch: a group holds up to 100 000.
PunchRow = tuple[str, int, int, str, str, int | None, int | None, int | None]
PUNCH_COLUMNS = ("kiosk_id", "epoch", "seq", "badge_uid", "kind", "ts", "boot", "uptime_ms")
_KEY = itemgetter(0, 1, 2)  # (kiosk_id, epoch, seq): a punch's identity, and the lock order


@dataclass
class Incoming:
    topic: str
    payload: bytes


@dataclass
class Outcome:
    # (kiosk, journal epoch) -> upto: every seq up to it stored or written off
    acks: dict[tuple[str, int], int] = field(default_factory=dict)
    stored: int = 0
    duplicates: int = 0
    dead: int = 0
    lost: int = 0  # seqs written off as lost in this group
    recovered: int = 0  # written-off seqs that arrived after all


def _insert(
    session: Session, model: Any, rows: list[dict], conflict: list[str], returning: Sequence[Any] = ()
) -> list:
    """INSERT ... ON CONFLICT (conflict) DO NOTHING [RETURNING]; rows all have the same keys."""
    if not rows:
        return []
    table = model.__table__
    if session.get_bind().dialect.name == "postgresql" and len(rows) > 1:
        return _pg_unnest(session, table, rows, conflict, returning)
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    # Rows as executemany parameters: compiled once and cached, still sent as
    # multi-row INSERTs (SQLAlchemy "insertmanyvalues").
    stmt = dialect.insert(table).on_conflict_do_nothing(index_elements=conflict)
    if returning:
        stmt = stmt.returning(*(table.c[col.key] for col in returning))
        return list(session.execute(stmt, rows).all())
    session.execute(stmt, rows)
    return []


def _pg_array_type(column: Any) -> str:
    name = type(column.type).__name__.lower()
    if "int" in name:
        return "bigint[]"
    if "date" in name or "time" in name:
        return "timestamptz[]"
    return "text[]"


def _pg_unnest(
    session: Session, table: Any, rows: list[dict], conflict: list[str], returning: Sequence[Any]
) -> list:
    # PostgreSQL: one statement per group, each column bound as one array, so
    # nothing per row to expand, parse or plan (2.5x faster than multi-row
    # VALUES in bench/). Values must be ready for the driver: _row() gives
    # UTC-aware datetimes, as UTCDateTime would.
    cols = list(rows[0])
    arrays = ", ".join(f"CAST(:{c} AS {_pg_array_type(table.c[c])})" for c in cols)
    ret = ", ".join(col.key for col in returning)
    sql = text(
        f"INSERT INTO {table.name} ({', '.join(cols)}) SELECT * FROM unnest({arrays}) "
        f"ON CONFLICT ({', '.join(conflict)}) DO NOTHING" + (f" RETURNING {ret}" if ret else "")
    )
    result = session.execute(sql, {c: [r[c] for r in rows] for c in cols})
    return list(result.all()) if ret else []


def _dead(session: Session, outcome: Outcome, msg: Incoming, reason: str) -> None:
    payload = bytes(msg.payload)[:MAX_DEAD_PAYLOAD]
    session.add(DeadLetter(topic=msg.topic[:512], payload=payload, reason=reason))
    outcome.dead += 1


def _ts(ts_ms: int | None) -> datetime | None:
    return None if ts_ms is None else datetime.fromtimestamp(ts_ms / 1000, UTC)


def _row_dict(row: PunchRow, received_at: datetime) -> dict:
    d: dict[str, Any] = dict(zip(PUNCH_COLUMNS, row, strict=True))
    d["ts"] = _ts(row[5])
    d["received_at"] = received_at
    return d


def _insert_punches(
    session: Session, rows: list[PunchRow], received_at: datetime
) -> dict[tuple[str, int], list[int]]:
    """INSERT the punches, ON CONFLICT (kiosk_id, epoch, seq) DO NOTHING;
    -> (kiosk, epoch) -> the seqs inserted (the others were stored before)."""
    inserted: dict[tuple[str, int], list[int]] = defaultdict(list)
    if not rows:
        return inserted
    if session.get_bind().dialect.name != "postgresql":
        for kiosk_id, epoch, seq in _insert(
            session,
            Punch,
            [_row_dict(r, received_at) for r in rows],
            ["kiosk_id", "epoch", "seq"],
            (Punch.kiosk_id, Punch.epoch, Punch.seq),
        ):
            inserted[(kiosk_id, epoch)].append(seq)
        return inserted
    # PostgreSQL: one statement whatever the group's size, each column bound as
    # one comma-separated string that string_to_array splits on the server.
    # psycopg's dumping of a Python list as an array (per element, in Python)
    # cost more than the INSERT itself (docs/benchmarks.md, issue 21). The
    # codec has validated every value: ids are [A-Za-z0-9_-], uids hex, kind
    # a constant, the rest integers, so none holds a comma; '' is NULL.
    # ts arrives as epoch ms and becomes a timestamptz on the server (exact:
    # the interval has no day part, so the session's time zone plays no role).
    params: dict[str, Any] = {"received_at": received_at}
    for i, name in enumerate(PUNCH_COLUMNS):
        values = [r[i] for r in rows]
        if None in values:
            params[name] = ",".join("" if v is None else str(v) for v in values)
        else:
            params[name] = ",".join(map(str, values))
    # What was inserted comes back the same way: a row per journal, its seqs as one string.
    result = session.execute(
        text(
            "WITH ins AS (INSERT INTO punch "
            "(kiosk_id, epoch, seq, badge_uid, kind, ts, boot, uptime_ms, received_at) "
            "SELECT kiosk_id, epoch, seq, badge_uid, kind, "
            "timestamptz 'epoch' + ts * interval '1 millisecond', boot, uptime_ms, :received_at "
            "FROM unnest(string_to_array(:kiosk_id, ','), string_to_array(:epoch, ',')::bigint[], "
            "string_to_array(:seq, ',')::bigint[], string_to_array(:badge_uid, ','), "
            "string_to_array(:kind, ','), string_to_array(:ts, ',', '')::bigint[], "
            "string_to_array(:boot, ',', '')::bigint[], string_to_array(:uptime_ms, ',', '')::bigint[]) "
            "AS v(kiosk_id, epoch, seq, badge_uid, kind, ts, boot, uptime_ms) "
            "ON CONFLICT (kiosk_id, epoch, seq) DO NOTHING RETURNING kiosk_id, epoch, seq) "
            "SELECT kiosk_id, epoch, string_agg(seq::text, ',') FROM ins GROUP BY kiosk_id, epoch"
        ),
        params,
    )
    for kiosk_id, epoch, seqs in result.all():
        inserted[(kiosk_id, epoch)] = list(map(int, seqs.split(",")))
    return inserted


def ingest(session: Session, messages: list[Incoming], accept_unknown: bool = False) -> Outcome:
    outcome = Outcome()
    batches: dict[str, list[tuple[Incoming, protocol.PunchBatch]]] = defaultdict(list)
    others: list[tuple[Incoming, str, str]] = []
    for msg in messages:
        parsed, err = protocol.parse_topic(msg.topic)
        if err:
            _dead(session, outcome, msg, err)
            continue
        kiosk_id, leaf = parsed
        if leaf == protocol.PUNCH:
            batch, err = protocol.decode_punch_batch(msg.payload, kiosk_id)
            if err:
                _dead(session, outcome, msg, err)
            else:
                batches[kiosk_id].append((msg, batch))
        elif leaf in (protocol.STATE, protocol.TELEMETRY, protocol.CMD_RESULT):
            others.append((msg, kiosk_id, leaf))
        else:
            _dead(session, outcome, msg, f"kiosks do not publish on '{leaf}'")

    ids = list(batches) + [k for _, k, _ in others]
    known = fleet.known_kiosks(session, ids)
    if accept_unknown:
        for kiosk_id in set(ids) - known:
            fleet.register(session, KioskCreate(id=kiosk_id, name="auto-registered"))
            known.add(kiosk_id)
        session.flush()

    # One global lock order (kiosk id, epoch, then seq) in every phase: concurrent
    # workers on PostgreSQL then wait for each other instead of deadlocking.
    others.sort(key=lambda o: o[1])
    rows: list[PunchRow] = []
    for kiosk_id in sorted(batches):
        if kiosk_id not in known:
            for msg, _ in batches.pop(kiosk_id):
                _dead(
                    session,
                    outcome,
                    msg,
                    f"unknown kiosk '{kiosk_id}': register it first "
                    "(noxus kiosk add, or POST /api/v1/kiosks)",
                )
            continue
        for _, batch in batches[kiosk_id]:
            epoch = batch.epoch
            rows.extend(
                (kiosk_id, epoch, p.seq, p.uid, p.kind, p.ts_ms, p.boot, p.uptime_ms) for p in batch.punches
            )
    rows.sort(key=_KEY)
    received_at = datetime.now(UTC)
    new_seqs = _insert_punches(session, rows, received_at)
    outcome.stored = sum(map(len, new_seqs.values()))
    outcome.duplicates = len(rows) - outcome.stored
    if outcome.duplicates:
        inserted = {(k, e, s) for (k, e), seqs in new_seqs.items() for s in seqs}
        _check_duplicates(session, outcome, rows, inserted, received_at)

    journals: dict[tuple[str, int], list[tuple[Incoming, protocol.PunchBatch]]] = defaultdict(list)
    for kiosk_id, items in batches.items():
        for msg, batch in items:
            journals[(kiosk_id, batch.epoch)].append((msg, batch))
    outcome.acks.update(_advance_cursors(session, outcome, journals, new_seqs))

    # Births and heartbeats: each kiosk's row and open alerts read once for the group,
    # and a kiosk's run of births and deaths (a storm's reconnects) recorded at once.
    with fleet.batch(session, [k for _, k, _ in others if k in known]):
        states: list[dict] = []
        for i, (msg, kiosk_id, leaf) in enumerate(others):
            if kiosk_id not in known:
                _dead(session, outcome, msg, f"unknown kiosk '{kiosk_id}'")
                continue
            decode = protocol.decode_state if leaf == protocol.STATE else protocol.decode_message
            body, err = decode(msg.payload, kiosk_id)
            if err:
                _dead(session, outcome, msg, err)
            elif leaf == protocol.STATE:
                states.append(body)
            elif leaf == protocol.TELEMETRY:
                fleet.record_telemetry(session, kiosk_id, body)
            following = others[i + 1] if i + 1 < len(others) else None
            if states and (
                following is None or following[1] != kiosk_id or following[2] == protocol.TELEMETRY
            ):
                fleet.record_states(session, kiosk_id, states)
                states = []
    return outcome


def _check_duplicates(
    session: Session, outcome: Outcome, rows: list[PunchRow], inserted: set[tuple], received_at: datetime
) -> None:
    """A resend carries the same punch; a different punch under a stored seq
    means the kiosk reused seqs (journal wiped): keep it as a dead letter so
    it is not lost, and tell the fleet. One query for the whole group."""
    dup = {_KEY(r): r for r in rows if _KEY(r) not in inserted}
    with_v, params = _relation(
        session, "v", {"kiosk_id": "text", "epoch": "bigint", "seq": "bigint"}, sorted(dup)
    )
    on = "p.kiosk_id = v.kiosk_id AND p.epoch = v.epoch AND p.seq = v.seq"
    # PostgreSQL: LATERAL keeps an index lookup per seq (see _contiguous).
    if session.get_bind().dialect.name == "postgresql":
        punches = f"v CROSS JOIN LATERAL (SELECT * FROM punch p WHERE {on}) AS p"
    else:
        punches = f"v JOIN punch p ON {on}"
    stored = session.execute(
        text(
            f"{with_v} SELECT p.kiosk_id, p.epoch, p.seq, p.badge_uid, p.ts FROM {punches} "
            "ORDER BY p.kiosk_id, p.epoch, p.seq"
        ).columns(kiosk_id=String, epoch=BigInteger, seq=BigInteger, badge_uid=String, ts=UTCDateTime),
        params,
    ).all()
    for kiosk_id, epoch, seq, uid, ts in stored:
        new = _row_dict(dup[(kiosk_id, epoch, seq)], received_at)
        if new["badge_uid"] != uid or (
            new["ts"] is not None and ts is not None and abs((new["ts"] - ts).total_seconds()) > 0.001
        ):
            outcome.duplicates -= 1
            _dead(
                session,
                outcome,
                Incoming(protocol.topic(kiosk_id, protocol.PUNCH), json.dumps(_jsonable(new)).encode()),
                f"seq {seq} reused by kiosk '{kiosk_id}' for a different punch "
                f"(stored {uid}, got {new['badge_uid']}): its journal was reset",
            )
            fleet.raise_alert(session, kiosk_id, "seq_reused", f"seq {seq} reused")


def _jsonable(row: dict) -> dict:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}


def _relation(
    session: Session, name: str, columns: dict[str, str], rows: Sequence[tuple]
) -> tuple[str, dict[str, Any]]:
    """`WITH name(columns) AS (...)`: the group's rows as one relation a single
    statement joins, bound as one array per column (PostgreSQL) or one JSON
    document (SQLite). The SQL text does not depend on the group's size (one
    plan, no bound-parameter limit). `columns` maps names to 'text'/'bigint'."""
    names = list(columns)
    params: dict[str, Any]
    if session.get_bind().dialect.name == "postgresql":
        arrays = ", ".join(f"CAST(:{name}_{c} AS {t}[])" for c, t in columns.items())
        params = {f"{name}_{c}": [r[i] for r in rows] for i, c in enumerate(names)}
        source = f"SELECT * FROM unnest({arrays})"
    else:
        picks = ", ".join(f"json_extract(value, '$[{i}]')" for i in range(len(names)))
        params = {name: json.dumps(list(rows))}
        source = f"SELECT {picks} FROM json_each(:{name})"
    return f"WITH {name}({', '.join(names)}) AS ({source})", params


def _advance_cursors(
    session: Session, outcome: Outcome, journals: dict, new_seqs: dict[tuple[str, int], list[int]]
) -> dict:
    """Move every cursor of the group and return the acks, (kiosk, epoch) -> upto.

    The ack (`upto`) is the highest seq such that every seq up to it is either
    stored or written off as lost. A seq is written off only on the kiosk's
    word: a batch whose `from` (the lowest seq it still holds) is above it.
    A gap inside or between batches is never written off, it is waited for, so
    reordered or pipelined batches never free a punch the backend lacks.

    Set-based: a storm brings a small batch from each of thousands of kiosks,
    so a fixed number of statements per group, whatever its kiosks (create
    missing cursors, lock and read all, count the written-off ranges, find the
    contiguous runs, write all); only the rare alert paths query per kiosk."""
    keys = sorted(journals)
    if not keys:
        return {}
    _insert(
        session,
        IngestCursor,
        [{"kiosk_id": k, "epoch": e, "acked_seq": 0, "duplicates": 0, "lost": 0} for k, e in keys],
        ["kiosk_id", "epoch"],
    )
    cursors = _lock_cursors(session, keys)
    # The kiosk no longer holds anything below the highest `from` it sent
    # (it never takes a freed seq back): what is missing there is gone.
    tops = {key: max(b.held_from for _, b in journals[key]) - 1 for key in keys}
    write_off = [
        (k, e, cursors[(k, e)][0], tops[(k, e)]) for k, e in keys if tops[(k, e)] > cursors[(k, e)][0]
    ]
    stored_below = _count_stored(session, write_off)
    marks = {}
    for key in keys:
        kiosk_id, epoch = key
        mark, dups, lost = cursors[key]
        seqs = new_seqs.get(key, [])
        dups += sum(len(b.punches) for _, b in journals[key]) - len(seqs)
        # Late arrivals: a seq at or below the cursor that was inserted only now
        # had been written off as lost (the cursor passes a seq only when it is
        # stored or written off), so it is no longer lost.
        late = sum(1 for s in seqs if s <= mark)
        if late:
            lost = max(0, lost - late)
            outcome.recovered += late
            cursors[key] = (mark, dups, lost)
            if lost == 0 and not _lost_elsewhere(session, kiosk_id, epoch, cursors):
                fleet.resolve_alerts(session, kiosk_id, "seq_gap")
        top = tops[key]
        if top > mark:
            missing = top - mark - stored_below.get(key, 0)
            if missing:
                lost += missing
                outcome.lost += missing
                fleet.raise_alert(
                    session,
                    kiosk_id,
                    "seq_gap",
                    f"{missing} punch(es) between seq {mark + 1} and {top} never reached "
                    "the backend and are no longer on the kiosk",
                )
            mark = top
        cursors[key] = (mark, dups, lost)
        marks[key] = mark
    # Then every stored seq that follows without a hole (this group's, an
    # earlier resend's, another worker's).
    acks = _contiguous(session, marks)
    with_v, params = _relation(
        session,
        "v",
        {
            "kiosk_id": "text",
            "epoch": "bigint",
            "acked_seq": "bigint",
            "duplicates": "bigint",
            "lost": "bigint",
        },
        [(k, e, acks[(k, e)], cursors[(k, e)][1], cursors[(k, e)][2]) for k, e in keys],
    )
    session.execute(
        text(
            f"{with_v} UPDATE ingest_cursor SET acked_seq = v.acked_seq, duplicates = v.duplicates, "
            "lost = v.lost FROM v WHERE ingest_cursor.kiosk_id = v.kiosk_id AND ingest_cursor.epoch = v.epoch"
        ),
        params,
    )
    return acks


def _lock_cursors(session: Session, keys: list[tuple[str, int]]) -> dict:
    """(kiosk, epoch) -> [acked_seq, duplicates, lost], rows locked in one
    order (PostgreSQL: several workers may ack the same kiosk)."""
    with_v, params = _relation(session, "v", {"kiosk_id": "text", "epoch": "bigint"}, keys)
    lock = " FOR UPDATE OF c" if session.get_bind().dialect.name == "postgresql" else ""
    rows = session.execute(
        text(
            f"{with_v} SELECT c.kiosk_id, c.epoch, c.acked_seq, c.duplicates, c.lost FROM ingest_cursor c "
            f"JOIN v ON c.kiosk_id = v.kiosk_id AND c.epoch = v.epoch ORDER BY c.kiosk_id, c.epoch{lock}"
        ),
        params,
    ).all()
    return {(k, e): (acked, dups, lost) for k, e, acked, dups, lost in rows}


def _count_stored(session: Session, ranges: list[tuple[str, int, int, int]]) -> dict:
    """(kiosk, epoch) -> how many seqs in (lo, hi] are stored, for every range at once."""
    if not ranges:
        return {}
    with_v, params = _relation(
        session, "v", {"kiosk_id": "text", "epoch": "bigint", "lo": "bigint", "hi": "bigint"}, ranges
    )
    rows = session.execute(
        text(
            f"{with_v} SELECT p.kiosk_id, p.epoch, count(*) FROM punch p JOIN v ON p.kiosk_id = v.kiosk_id "
            "AND p.epoch = v.epoch AND p.seq > v.lo AND p.seq <= v.hi GROUP BY p.kiosk_id, p.epoch"
        ),
        params,
    ).all()
    return {(k, e): n for k, e, n in rows}


def _contiguous(session: Session, marks: dict) -> dict:
    """(kiosk, epoch) -> the end of the run of stored seqs that follows its mark
    without a hole, for every key at once. Seqs are unique, so within a run
    seq - mark equals the seq's rank; at the first hole it exceeds it for good.
    Read CURSOR_PAGE seqs per key and step, so a long backlog stays bounded."""
    ends = dict(marks)
    todo = sorted(marks)
    while todo:
        with_v, params = _relation(
            session,
            "v",
            {"kiosk_id": "text", "epoch": "bigint", "mark": "bigint"},
            [(k, e, ends[(k, e)]) for k, e in todo],
        )
        params["page"] = CURSOR_PAGE
        if session.get_bind().dialect.name == "postgresql":
            # LATERAL: an index range scan per key, where a plain join would
            # let the planner hash the whole punch table.
            seqs = (
                "v CROSS JOIN LATERAL (SELECT p.seq FROM punch p WHERE p.kiosk_id = v.kiosk_id "
                "AND p.epoch = v.epoch AND p.seq > v.mark ORDER BY p.seq LIMIT :page) AS p"
            )
        else:
            seqs = (
                "v JOIN punch p ON p.kiosk_id = v.kiosk_id AND p.epoch = v.epoch "
                "AND p.seq > v.mark AND p.seq <= v.mark + :page"
            )
        rows = session.execute(
            text(
                f"{with_v} SELECT kiosk_id, epoch, count(*) FROM ("
                "SELECT v.kiosk_id, v.epoch, p.seq - v.mark - row_number() OVER "
                f"(PARTITION BY v.kiosk_id, v.epoch ORDER BY p.seq) AS hole FROM {seqs}) AS run "
                "WHERE hole = 0 GROUP BY kiosk_id, epoch"
            ),
            params,
        ).all()
        todo = []
        for k, e, n in rows:
            ends[(k, e)] += n
            if n == CURSOR_PAGE:
                todo.append((k, e))
    return ends


def _lost_elsewhere(session: Session, kiosk_id: str, epoch: int, group: dict) -> bool:
    """Seqs still written off in another epoch of the kiosk's journals: the
    group's cursors as they stand now, the others as stored."""
    if any(k == kiosk_id and e != epoch and c[2] > 0 for (k, e), c in group.items()):
        return True
    others = [e for k, e in group if k == kiosk_id]
    return (
        session.exec(
            select(func.count())
            .select_from(IngestCursor)
            .where(
                col(IngestCursor.kiosk_id) == kiosk_id,
                col(IngestCursor.epoch).not_in(others),
                col(IngestCursor.lost) > 0,
            )
        ).one()
        > 0
    )
