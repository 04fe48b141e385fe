"""Badges: a UID given to one employee for a validity period; unknown badges
(punches whose UID no badge covers) listed for assignment."""

from datetime import UTC, datetime

from sqlalchemy import func, or_
from sqlmodel import Session, select

from noxus.core.security import Scope
from noxus.core.types import aware, utcnow
from noxus.fleet.models import Kiosk
from noxus.hr import audit, employees
from noxus.hr.errors import Conflict, HRError, NotFound
from noxus.hr.models import Badge, BadgeState
from noxus.hr.schemas import BadgeAssign, UnknownBadge, normalize_uid
from noxus.ingest.models import Punch

END_STATES = (BadgeState.LOST, BadgeState.REPLACED, BadgeState.REVOKED)


def get(session: Session, scope: Scope, badge_id: int) -> Badge:
    b = session.get(Badge, badge_id)
    if b is None or not scope.allows(b.customer_id):
        raise NotFound(f"badge {badge_id} not found")
    return b


def listing(
    session: Session, scope: Scope, employee_id: int | None = None, uid: str | None = None
) -> list[Badge]:
    stmt = scope.where(select(Badge), Badge.customer_id)
    if employee_id is not None:
        stmt = stmt.where(Badge.employee_id == employee_id)
    if uid:
        try:
            stmt = stmt.where(Badge.uid == normalize_uid(uid))
        except ValueError as e:
            raise HRError(str(e)) from None
    return list(session.exec(stmt.order_by(Badge.uid, Badge.valid_from)).all())


def assign(session: Session, scope: Scope, data: BadgeAssign, actor: str) -> Badge:
    """Give a UID to an employee from `valid_from` (default now). Past punches
    of that UID from valid_from on are then attributed to the employee: the
    attribution is computed from badges, nothing is rewritten."""
    emp = employees.get(session, scope, data.employee_id)
    start = data.valid_from or utcnow()
    if start.tzinfo is None:
        raise HRError("valid_from needs a time zone (e.g. 2026-03-01T08:00:00+01:00)")
    clash = session.exec(
        select(Badge).where(
            Badge.customer_id == emp.customer_id,
            Badge.uid == data.uid,
            or_(Badge.valid_to.is_(None), Badge.valid_to > start),
        )
    ).first()
    if clash:
        raise Conflict(
            f"badge {data.uid} is already given to employee {clash.employee_id} since "
            f"{clash.valid_from:%Y-%m-%d %H:%M} UTC: end that badge first (lost/replaced/revoked)"
        )
    badge = Badge(
        customer_id=emp.customer_id, uid=data.uid, employee_id=emp.id, valid_from=start.astimezone(UTC)
    )
    session.add(badge)
    session.flush()
    audit.record(
        session,
        emp.customer_id,
        actor,
        "badge.assign",
        "badge",
        badge.id,
        uid=data.uid,
        employee_id=emp.id,
        valid_from=badge.valid_from,
    )
    return badge


def end(session: Session, badge: Badge, state: str, actor: str, at: datetime | None = None) -> Badge:
    if state not in END_STATES:
        raise HRError(f"state must be one of {', '.join(END_STATES)}, got {state!r}")
    if badge.valid_to is not None:
        raise Conflict(
            f"badge {badge.uid} already ended on {badge.valid_to:%Y-%m-%d %H:%M} UTC ({badge.state})"
        )
    at = (at or utcnow()).astimezone(UTC)
    if at < badge.valid_from:
        raise HRError("the end is before the badge became valid: give a later time")
    badge.valid_to, badge.state = at, state
    session.add(badge)
    audit.record(session, badge.customer_id, actor, f"badge.{state}", "badge", badge.id, uid=badge.uid, at=at)
    return badge


def unknown(
    session: Session,
    scope: Scope,
    customer_id: int | None = None,
    limit: int = 200,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[UnknownBadge]:
    """UIDs punched on a customer's kiosks that no badge of that customer
    covered at the punch instant. Punches on kiosks not deployed to a customer
    cannot be placed in a tenant: only NOXUS staff see those."""
    when = func.coalesce(Punch.ts, Punch.received_at)
    covered = select(Badge.id).where(
        Badge.uid == Punch.badge_uid,
        when >= Badge.valid_from,
        or_(Badge.valid_to.is_(None), when < Badge.valid_to),
    )
    kcol = getattr(Kiosk, "customer_id", None)
    stmt = select(Punch.badge_uid, func.count(), func.min(when), func.max(when)).where(Punch.kind == "punch")
    if since is not None:
        stmt = stmt.where(when >= since)
    if until is not None:
        stmt = stmt.where(when < until)
    visible = (
        [customer_id] if customer_id is not None else (None if scope.all else sorted(scope.customer_ids))
    )
    if kcol is not None:
        stmt = stmt.join(Kiosk, Kiosk.id == Punch.kiosk_id)
        if visible is not None:
            stmt = stmt.where(kcol.in_(visible))
        covered = covered.where(or_(kcol.is_(None), Badge.customer_id == kcol))
    elif not scope.all:
        return []
    stmt = (
        stmt.where(~covered.exists()).group_by(Punch.badge_uid).order_by(func.max(when).desc()).limit(limit)
    )
    out = []
    for uid, n, first, last in session.exec(stmt).all():
        kq = select(Punch.kiosk_id).where(Punch.badge_uid == uid)
        if kcol is not None and visible is not None:  # only this tenant's kiosks
            kq = kq.join(Kiosk, Kiosk.id == Punch.kiosk_id).where(kcol.in_(visible))
        kiosks = session.exec(kq.distinct().limit(10)).all()
        out.append(
            UnknownBadge(uid=uid, punches=n, first_at=aware(first), last_at=aware(last), kiosks=list(kiosks))
        )
    return out
