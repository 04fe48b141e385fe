"""Badges: a UID given to one employee for a validity period; unknown badges
(punches whose UID no badge covers) listed for assignment."""

from datetime import UTC, datetime

from sqlalchemy import ColumnElement, func, or_
from sqlmodel import Session, col, select

from noxus.core.restrictions import BADGES
from noxus.core.security import Scope
from noxus.core.types import aware, id_of, utcnow
from noxus.hr import audit, employees, placement
from noxus.hr.errors import Conflict, HRError, NotFound, refuse_if_suspended
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
    refuse_if_suspended(session, emp.customer_id, BADGES)  # badges already given keep working
    start = data.valid_from or utcnow()
    if start.tzinfo is None:
        raise HRError("valid_from needs a time zone (e.g. 2026-03-01T08:00:00+01:00)")
    clash = session.exec(
        select(Badge).where(
            Badge.customer_id == emp.customer_id,
            Badge.uid == data.uid,
            or_(col(Badge.valid_to).is_(None), col(Badge.valid_to) > start),
        )
    ).first()
    if clash:
        raise Conflict(
            f"badge {data.uid} is already given to employee {clash.employee_id} since "
            f"{clash.valid_from:%Y-%m-%d %H:%M} UTC: end that badge first (lost/replaced/revoked)"
        )
    badge = Badge(
        customer_id=emp.customer_id, uid=data.uid, employee_id=id_of(emp), valid_from=start.astimezone(UTC)
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
    """UIDs punched on a customer's kiosks that no badge of that customer covered at the punch
    instant. The customer is the one the kiosk served *at the punch* (noxus.hr.placement), not
    today: a kiosk moved from A to B leaves the badges tapped at A in A's list. Punches no
    deployment covers (kiosk in stock) cannot be placed in a tenant: only NOXUS staff see those
    (unknown when no badge at all covered them).

    Punches with a clock time are grouped in SQL (their instant is `ts`); estimated ones (clock
    unset, rare) are placed one by one with placement.place, which anchors them on their boot."""
    visible = (
        [customer_id]
        if customer_id is not None
        else (None if scope.customer_ids is None else sorted(scope.customer_ids))
    )
    when = col(Punch.ts)
    cust = placement.customer_clause(when)
    covered = select(Badge.id).where(
        Badge.uid == Punch.badge_uid,
        when >= Badge.valid_from,
        or_(col(Badge.valid_to).is_(None), when < Badge.valid_to),
        or_(cust.is_(None), Badge.customer_id == cust),
    )
    clocked: list[ColumnElement[bool]] = [col(Punch.kind) == "punch", when.is_not(None), ~covered.exists()]
    if since is not None:
        clocked.append(when >= since)
    if until is not None:
        clocked.append(when < until)
    if visible is not None:
        clocked.append(cust.in_(visible))

    def aggregate(uids=None) -> dict[str, list]:
        stmt = select(Punch.badge_uid, func.count(), func.min(when), func.max(when)).where(*clocked)
        if uids is not None:
            stmt = stmt.where(col(Punch.badge_uid).in_(uids))
        else:
            stmt = stmt.order_by(func.max(when).desc()).limit(limit)
        groups: dict[str, list] = {}
        for uid, n, first, last in session.exec(stmt.group_by(Punch.badge_uid)).all():
            assert first is not None and last is not None, "clocked punches have their ts"
            groups[uid] = [n, aware(first), aware(last), set()]
        return groups

    found = aggregate()
    # estimated punches: candidates by arrival (an estimate is never later than it), then placed
    est = select(Punch).where(Punch.kind == "punch", when.is_(None))
    if since is not None:
        est = est.where(Punch.received_at >= since)
    if until is not None:
        est = est.where(Punch.received_at < until + placement.ESTIMATE_SLACK)
    rows = list(session.exec(est).all())
    placed = placement.place(session, rows)
    badges_of: dict[str, list[Badge]] = {}
    for uids in _chunks(sorted({r.badge_uid for r in rows})):
        for b in session.exec(select(Badge).where(col(Badge.uid).in_(uids))).all():
            badges_of.setdefault(b.uid, []).append(b)
    lost = []
    for r in rows:
        at, c = placed[id_of(r)].at, placed[id_of(r)].customer_id
        if (since is not None and at < since) or (until is not None and at >= until):
            continue
        if (c is None and visible is not None) or (visible is not None and c not in visible):
            continue
        if any(
            aware(b.valid_from) <= at
            and (b.valid_to is None or at < aware(b.valid_to))
            and (c is None or b.customer_id == c)
            for b in badges_of.get(r.badge_uid, [])
        ):
            continue
        lost.append((r, at))
    missing = sorted({r.badge_uid for r, _ in lost} - found.keys())
    for uids in _chunks(missing):
        found.update(aggregate(uids))
    for r, at in lost:
        g = found.setdefault(r.badge_uid, [0, at, at, set()])
        g[0], g[1], g[2] = g[0] + 1, min(g[1], at), max(g[2], at)
        g[3].add(r.kiosk_id)
    top = sorted(found.items(), key=lambda kv: kv[1][2], reverse=True)[:limit]
    out = []
    for uid, (n, first, last, est_kiosks) in top:
        kq = select(Punch.kiosk_id).where(Punch.badge_uid == uid, *clocked).distinct().limit(10)
        kiosks = sorted(set(session.exec(kq).all()) | est_kiosks)[:10]
        out.append(UnknownBadge(uid=uid, punches=n, first_at=first, last_at=last, kiosks=kiosks))
    return out


def _chunks(items: list[str], size: int = 1000):
    for i in range(0, len(items), size):
        yield items[i : i + size]
