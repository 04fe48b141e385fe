"""HR's corrections on top of raw punches: add, move, void. Each one checks
that the punch belongs to the employee, that no closed month is touched (the
old and the new instant), and is written to the audit log."""

from datetime import UTC

from sqlalchemy import func
from sqlmodel import Session, col, select

from noxus.core.security import Scope
from noxus.core.settings import Settings
from noxus.core.types import id_of
from noxus.hr import audit, employees, periods
from noxus.hr.effective import customer_zone, kiosk_clause
from noxus.hr.errors import HRError, NotFound
from noxus.hr.models import Badge, CorrectionAction, PunchCorrection
from noxus.hr.schemas import CorrectionCreate
from noxus.ingest.models import Punch


def listing(session: Session, scope: Scope, employee_id: int | None = None, limit: int = 200):
    stmt = scope.where(select(PunchCorrection), PunchCorrection.customer_id)
    if employee_id is not None:
        stmt = stmt.where(PunchCorrection.employee_id == employee_id)
    return list(session.exec(stmt.order_by(col(PunchCorrection.id).desc()).limit(limit)).all())


def _raw_of_employee(session: Session, emp, punch_id: int) -> Punch:
    p = session.get(Punch, punch_id)
    if p is not None:
        when = p.ts or p.received_at
        badge = session.exec(
            select(Badge).where(
                Badge.customer_id == emp.customer_id,
                Badge.employee_id == emp.id,
                Badge.uid == p.badge_uid,
                Badge.valid_from <= when,
            )
        ).all()
        if any(b.valid_to is None or when < b.valid_to for b in badge):
            ok = session.exec(
                select(func.count())
                .select_from(Punch)
                .where(Punch.id == punch_id, kiosk_clause(emp.customer_id))
            ).one()
            if ok:
                return p
    raise NotFound(
        f"punch {punch_id} is not a punch of employee {emp.id}: pick it from the employee's day view"
    )


def _current_instant(session: Session, target_key: tuple[str, int], employee_id: int, raw: Punch | None):
    """Where a punch is now (after earlier corrections): the old instant a change moves away from."""
    target = col(PunchCorrection.punch_id if target_key[0] == "p" else PunchCorrection.target_id)
    last = session.exec(
        select(PunchCorrection)
        .where(
            target == target_key[1],
            PunchCorrection.employee_id == employee_id,
            PunchCorrection.action == "move",
        )
        .order_by(col(PunchCorrection.id).desc())
    ).first()
    if last is not None:
        return last.ts
    if raw is not None:
        return raw.ts or raw.received_at
    return None


def create(session: Session, scope: Scope, data: CorrectionCreate, actor: str, settings: Settings):
    emp = employees.get(session, scope, data.employee_id)
    try:
        action = CorrectionAction(data.action)
    except ValueError:
        raise HRError(f"action must be add, move or void, got {data.action!r}") from None
    if data.ts is not None and data.ts.tzinfo is None:
        raise HRError("ts needs a time zone offset (e.g. 2026-03-02T17:00:00+01:00)")
    ts = data.ts.astimezone(UTC) if data.ts else None
    touched = []
    raw = None
    if action is CorrectionAction.ADD:
        if ts is None or data.punch_id or data.target_id:
            raise HRError("an 'add' needs ts (the missing punch's time) and no punch_id/target_id")
        touched.append(ts)
    else:
        if (data.punch_id is None) == (data.target_id is None):
            raise HRError(
                f"a '{action}' needs exactly one of punch_id (raw punch) or target_id (added punch)"
            )
        if action is CorrectionAction.MOVE and ts is None:
            raise HRError("a 'move' needs ts, the punch's right time")
        if action is CorrectionAction.VOID and ts is not None:
            raise HRError("a 'void' takes no ts")
        if data.punch_id is not None:
            raw = _raw_of_employee(session, emp, data.punch_id)
            key = ("p", id_of(raw))
        else:
            target = session.get(PunchCorrection, data.target_id)
            if target is None or target.employee_id != emp.id or target.action != "add":
                raise NotFound(f"correction {data.target_id} is not a punch added for employee {emp.id}")
            key = ("c", id_of(target))
            if target.ts is not None:  # an added punch always has its instant
                touched.append(target.ts)
        old = _current_instant(session, key, id_of(emp), raw)
        if old is not None:
            touched.append(old)
        if ts is not None:
            touched.append(ts)
    # months are closed per customer, in the customer's zone
    periods.ensure_open(session, emp.customer_id, touched, customer_zone(session, emp.customer_id, settings))
    c = PunchCorrection(
        customer_id=emp.customer_id,
        employee_id=id_of(emp),
        action=action.value,
        punch_id=data.punch_id,
        target_id=data.target_id,
        ts=ts,
        author=actor,
        reason=data.reason.strip(),
    )
    session.add(c)
    session.flush()
    audit.record(
        session,
        emp.customer_id,
        actor,
        f"correction.{action.value}",
        "correction",
        c.id,
        employee_id=emp.id,
        punch_id=data.punch_id,
        target_id=data.target_id,
        ts=ts,
        reason=c.reason,
    )
    return c
