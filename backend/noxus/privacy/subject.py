"""Everything about one employee: the access export (JSON + CSV in one ZIP) and erasure by
anonymisation.

Erasure keeps what the law requires and the totals: the employee row stays (with its contract
minutes, dates and site) under a pseudonym, badges and raw punches stay linked to that row, so
timesheets, month totals and invoices are unchanged. What identifies the person goes: names,
personnel number, free text in corrections, and the detail of HR audit events about them.
Raw punches are deleted only by the retention job, when the legal period is over."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, func, or_
from sqlmodel import Session, col, select

from noxus.core import audit
from noxus.core.audit_entry import AuditEntry
from noxus.core.types import aware, id_of, utcnow
from noxus.hr.models import Badge, Employee, PunchCorrection
from noxus.ingest.models import Punch
from noxus.privacy.models import DataSubjectRequest

ERASED = "[erased]"
WHEN = func.coalesce(Punch.ts, Punch.received_at)


def _plain(v: Any) -> Any:
    if isinstance(v, datetime):
        return aware(v).astimezone(UTC).isoformat()
    if hasattr(v, "isoformat"):
        return v.isoformat()
    if isinstance(v, bytes):
        return v.hex()
    return v


def _row(obj: Any, fields: list[str] | None = None) -> dict:
    data = obj.model_dump() if hasattr(obj, "model_dump") else dict(obj)
    if fields:
        data = {k: data.get(k) for k in fields}
    return {k: _plain(v) for k, v in data.items()}


def punches_of(session: Session, emp: Employee) -> list[Punch]:
    """Raw punches read with one of the employee's badges while it was theirs."""
    on_badge = and_(
        col(Badge.uid) == col(Punch.badge_uid),
        col(Badge.employee_id) == emp.id,
        col(Badge.customer_id) == emp.customer_id,
        WHEN >= Badge.valid_from,
        or_(col(Badge.valid_to).is_(None), WHEN < col(Badge.valid_to)),
    )
    stmt = select(Punch).join(Badge, on_badge).order_by(WHEN, col(Punch.id))
    seen: dict[int, Punch] = {}
    for p in session.exec(stmt):
        seen.setdefault(id_of(p), p)
    return list(seen.values())


def collect(session: Session, emp: Employee) -> dict[str, Any]:
    badges = session.exec(
        select(Badge).where(col(Badge.employee_id) == emp.id).order_by(col(Badge.valid_from))
    ).all()
    corrections = session.exec(
        select(PunchCorrection)
        .where(col(PunchCorrection.employee_id) == emp.id)
        .order_by(col(PunchCorrection.id))
    ).all()
    punch_fields = ["id", "kiosk_id", "seq", "badge_uid", "kind", "ts", "boot", "uptime_ms", "received_at"]
    badge_ids = [id_of(b) for b in badges]
    corr_ids = [id_of(c) for c in corrections]
    events = session.exec(
        select(AuditEntry).where(_about(id_of(emp), badge_ids, corr_ids)).order_by(col(AuditEntry.id))
    ).all()
    requests = session.exec(select(DataSubjectRequest).where(DataSubjectRequest.employee_id == emp.id)).all()
    return {
        "format": "noxus-subject-export/1",
        "generated_at": _plain(utcnow()),
        "profile": _row(emp),
        "badges": [_row(b) for b in badges],
        "punches": [_row(p, punch_fields) for p in punches_of(session, emp)],
        "corrections": [_row(c) for c in corrections],
        "hr_audit": [_audit_row(e) for e in events],
        "requests": [_row(r) for r in requests],
    }


def _audit_row(e: AuditEntry) -> dict[str, Any]:
    return {
        "id": e.id,
        "at": _plain(e.at),
        "actor": e.actor,
        "action": e.action,
        "object_type": e.object_type,
        "object_id": e.object_id,
        "detail": e.shown(),
    }


def _about(emp_id: int, badge_ids: list[int], corr_ids: list[int]):
    """Audit entries about this person: the employee, their badges, their corrections."""
    clauses = [and_(col(AuditEntry.object_type) == "employee", col(AuditEntry.object_id) == str(emp_id))]
    if badge_ids:
        clauses.append(
            and_(
                col(AuditEntry.object_type) == "badge",
                col(AuditEntry.object_id).in_([str(i) for i in badge_ids]),
            )
        )
    if corr_ids:
        clauses.append(
            and_(
                col(AuditEntry.object_type) == "correction",
                col(AuditEntry.object_id).in_([str(i) for i in corr_ids]),
            )
        )
    return or_(*clauses)


def _csv(rows: list[dict]) -> str:
    buf = io.StringIO()
    fields: list[str] = []
    for r in rows:
        fields += [k for k in r if k not in fields]
    w = csv.DictWriter(buf, fieldnames=fields or ["empty"])
    w.writeheader()
    for r in rows:
        w.writerow(
            {k: json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else v for k, v in r.items()}
        )
    return buf.getvalue()


SECTIONS = ("badges", "punches", "corrections", "hr_audit", "requests")


def bundle_zip(data: dict[str, Any]) -> bytes:
    """One ZIP: employee.json (everything) and one CSV per section, UTF-8 with header rows."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("employee.json", json.dumps(data, ensure_ascii=False, indent=2, default=str))
        z.writestr("profile.csv", _csv([data["profile"]]))
        for name in SECTIONS:
            z.writestr(f"{name}.csv", _csv(data[name]))
    return out.getvalue()


def export(session: Session, emp: Employee, actor: str) -> bytes:
    data = collect(session, emp)
    audit.record(
        session,
        actor,
        "export",
        "employee",
        emp.id,
        emp.customer_id,
        {"punches": len(data["punches"]), "badges": len(data["badges"])},
    )
    return bundle_zip(data)


def anonymise(session: Session, emp: Employee, actor: str, reason: str = "erasure request") -> dict[str, int]:
    """Unlink the person's identity from everything kept; returns what was changed."""
    tag = f"erased-{emp.id}"
    emp.first_name = ERASED
    emp.last_name = tag
    emp.personnel_number = tag
    session.add(emp)
    badges = session.exec(select(Badge).where(Badge.employee_id == emp.id)).all()
    corrections = session.exec(select(PunchCorrection).where(PunchCorrection.employee_id == emp.id)).all()
    for c in corrections:
        c.reason = ERASED  # free text written about the person
        session.add(c)
    events = session.exec(
        select(AuditEntry).where(
            _about(id_of(emp), [id_of(b) for b in badges], [id_of(c) for c in corrections])
        )
    ).all()
    audit.erase_personal(list(events))  # the erasure rule of the audit log (noxus.core.audit)
    for e in events:
        session.add(e)
    for r in session.exec(select(DataSubjectRequest).where(DataSubjectRequest.employee_id == emp.id)):
        r.subject = tag
        session.add(r)
    summary = {"corrections": len(corrections), "hr_audit_events": len(events), "badges_kept": len(badges)}
    audit.record(session, actor, "erase", "employee", emp.id, emp.customer_id, {"reason": reason, **summary})
    return summary
