"""The one audit log of every context: append-only and hash-chained.

entry.hash = SHA-256( prev_hash || canonical JSON of {at, actor, action, object_type, object_id,
customer_id, detail[, personal_digest]} ), canonical = sorted keys, no spaces, UTF-8, `at` as
ISO-8601 UTC with microseconds; `personal_digest` is in the body only when the entry carries
personal data. The first entry's prev_hash is GENESIS. Changing, deleting or re-ordering any entry
breaks every later link, which `verify()` (`noxus audit verify`) reports.

The erasure rule, written once here: personal data about an employee is recorded in `personal`,
hashed into the chain only as `personal_digest` = SHA-256(random salt || canonical JSON of the
personal data), the salt kept inside `personal`. `erase_personal()` replaces `personal` — salt
included — by `{"erased": true}`: the chain still verifies, and the digest left behind cannot be
tested against guessed names because the salt is gone."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, text
from sqlmodel import Session, col, select

from noxus.core.audit_entry import AuditEntry, AuditEntryPublic  # noqa: F401  (the table, re-exported)
from noxus.core.types import id_of, utcnow

GENESIS = "0" * 64
# any 64-bit constant: serialises appends on PostgreSQL (SQLite serialises writers anyway,
# and the unique prev_hash refuses a fork if two appends race)
_PG_LOCK_KEY = 0x4E4F5855_41554454


def _at_text(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(entry: AuditEntry) -> bytes:
    body = {
        "at": _at_text(entry.at),
        "actor": entry.actor,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "customer_id": entry.customer_id,
        "detail": entry.detail or {},
    }
    if entry.personal_digest:
        body["personal_digest"] = entry.personal_digest
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def personal_digest(personal: dict) -> str:
    """SHA-256 of the salted personal data (the salt is the `_salt` key inside it)."""
    salt = str(personal.get("_salt", ""))
    body = {k: v for k, v in personal.items() if k != "_salt"}
    data = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(salt.encode() + data.encode()).hexdigest()


ERASED = {"erased": True}


def erase_personal(entries: list[AuditEntry]) -> int:
    """The erasure rule: drop the personal data (and its salt) of these entries; the chain, which
    holds only the digest, stays verifiable. Returns how many entries were erased."""
    n = 0
    for e in entries:
        if e.personal and e.personal != ERASED:
            e.personal = dict(ERASED)
            n += 1
    return n


def entry_hash(prev_hash: str, entry: AuditEntry) -> str:
    return hashlib.sha256(prev_hash.encode() + canonical(entry)).hexdigest()


def _last_hash(session: Session) -> str:
    last = session.exec(select(AuditEntry.hash).order_by(col(AuditEntry.id).desc()).limit(1)).first()
    return last or GENESIS


def record(
    session: Session,
    actor: str,
    action: str,
    object_type: str,
    object_id: Any = "",
    customer_id: int | None = None,
    detail: dict | None = None,
    personal: dict | None = None,
) -> AuditEntry:
    """Append an entry in the caller's transaction (it is committed with the change it records).
    `personal`: data about a person that an erasure must be able to remove (see module doc)."""
    lock_chain(session)
    # JSON round trip: what is hashed is exactly what the database gives back
    detail = json.loads(json.dumps(detail or {}, default=str))
    kept, digest = None, ""
    if personal:
        kept = json.loads(json.dumps({**personal, "_salt": secrets.token_hex(16)}, default=str))
        digest = personal_digest(kept)
    # microsecond precision survives every backend
    entry = AuditEntry(
        at=utcnow(),
        actor=str(actor)[:160],
        action=action[:64],
        object_type=object_type[:64],
        object_id=str(object_id if object_id is not None else "")[:64],
        customer_id=customer_id,
        detail=detail,
        personal=kept,
        personal_digest=digest,
        prev_hash=_last_hash(session),
        hash="",
    )
    entry.hash = entry_hash(entry.prev_hash, entry)
    session.add(entry)
    session.flush()
    return entry


def lock_chain(session: Session) -> None:
    """Serialise appends to the chain until the transaction ends (PostgreSQL; SQLite has one
    writer). A caller that also takes other locks takes this one first, as `record` does."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)").bindparams(k=_PG_LOCK_KEY))


def record_many(session: Session, entries: list[dict[str, Any]]) -> int:
    """Append many entries at once (a monthly invoice run): one lock, one read of the chain's
    head, one INSERT, in the caller's transaction. Each dict has the arguments of `record`
    except `personal` (bulk entries carry no personal data); the chain is the one `record`
    builds, in list order. Returns how many were appended."""
    from noxus.core.db import reserve_ids

    if not entries:
        return 0
    lock_chain(session)
    prev = _last_hash(session)
    at = utcnow()
    ids = reserve_ids(session, AuditEntry.__tablename__, len(entries))
    rows = []
    for eid, e in zip(ids, entries, strict=True):
        object_id = e.get("object_id", "")
        entry = AuditEntry(
            at=at,
            actor=str(e["actor"])[:160],
            action=e["action"][:64],
            object_type=e["object_type"][:64],
            object_id=str(object_id if object_id is not None else "")[:64],
            customer_id=e.get("customer_id"),
            detail=json.loads(json.dumps(e.get("detail") or {}, default=str)),
            personal=None,
            personal_digest="",
            prev_hash=prev,
            hash="",
        )
        entry.hash = prev = entry_hash(entry.prev_hash, entry)
        rows.append(
            {
                "id": eid,
                "at": at,
                "actor": entry.actor,
                "action": entry.action,
                "object_type": entry.object_type,
                "object_id": entry.object_id,
                "customer_id": entry.customer_id,
                "detail": entry.detail,
                "personal": None,
                "personal_digest": "",
                "prev_hash": entry.prev_hash,
                "hash": entry.hash,
            }
        )
    session.execute(insert(AuditEntry.__table__), rows)  # type: ignore[attr-defined]
    return len(rows)


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    first_bad_id: int | None = None
    problem: str = ""


def iter_entries(session: Session, batch: int = 1000) -> Iterator[AuditEntry]:
    last_id = 0
    while True:
        rows = session.exec(
            select(AuditEntry).where(col(AuditEntry.id) > last_id).order_by(col(AuditEntry.id)).limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last_id = id_of(rows[-1])


def verify(session: Session) -> VerifyResult:
    """Walk the chain from the genesis; the first entry whose link or content does not match is
    reported. Deleting the newest entries is only detectable against an exported head hash
    (`noxus audit head`), which docs/privacy.md says to keep outside the database."""
    prev = GENESIS
    n = 0
    for e in iter_entries(session):
        if e.prev_hash != prev:
            return VerifyResult(
                False,
                n,
                e.id,
                f"entry {e.id}: link to the previous entry is broken (an entry was removed or inserted)",
            )
        if entry_hash(prev, e) != e.hash:
            return VerifyResult(False, n, e.id, f"entry {e.id}: content does not match its hash (edited)")
        if e.personal and e.personal != ERASED and personal_digest(e.personal) != e.personal_digest:
            return VerifyResult(
                False, n, e.id, f"entry {e.id}: personal data does not match its digest (edited)"
            )
        prev = e.hash
        n += 1
    return VerifyResult(True, n)


def head(session: Session) -> tuple[int, str]:
    """(number of entries, hash of the newest): an anchor to keep elsewhere."""
    n = session.execute(text("SELECT COUNT(*) FROM audit_entry")).one()[0]
    return n, _last_hash(session)


EXPORT_FIELDS = [
    "id",
    "at",
    "actor",
    "action",
    "object_type",
    "object_id",
    "customer_id",
    "detail",
    "personal",
    "personal_digest",
    "prev_hash",
    "hash",
]


def export_rows(entries: list[AuditEntry]) -> list[dict]:
    return [
        {
            "id": e.id,
            "at": _at_text(e.at),
            "actor": e.actor,
            "action": e.action,
            "object_type": e.object_type,
            "object_id": e.object_id,
            "customer_id": e.customer_id,
            "detail": e.detail,
            "personal": e.personal,
            "personal_digest": e.personal_digest,
            "prev_hash": e.prev_hash,
            "hash": e.hash,
        }
        for e in entries
    ]


def export_csv(entries: list[AuditEntry]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=EXPORT_FIELDS)
    w.writeheader()
    for row in export_rows(entries):
        row["detail"] = json.dumps(row["detail"], sort_keys=True, ensure_ascii=False)
        row["personal"] = (
            json.dumps(row["personal"], sort_keys=True, ensure_ascii=False) if row["personal"] else ""
        )
        w.writerow(row)
    return buf.getvalue()
