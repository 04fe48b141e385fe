"""Effective punches of employees: raw punches (through the badge valid at the
punch instant, on kiosks of the employee's customer or not yet assigned) with
HR's corrections applied. Raw punches are read, never written."""

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from noxus.core.settings import Settings
from noxus.hr import placement
from noxus.hr.attendance import EffectivePunch, chain_start
from noxus.hr.models import Badge, Employee, PeriodLock, PunchCorrection
from noxus.hr.placement import ESTIMATE_SLACK, WHEN, belongs, place, tenancy_clause  # noqa: F401
from noxus.ingest.models import Punch
from noxus.tenancy.models import Site

LOOKBACKS = (timedelta(days=8), timedelta(days=40), timedelta(days=120))


def rules(settings: Settings) -> tuple[timedelta, timedelta]:
    return timedelta(seconds=settings.hr_duplicate_tap_seconds), timedelta(hours=settings.hr_max_shift_hours)


def customer_zone(session: Session, customer_id: int, settings: Settings) -> ZoneInfo:
    site = session.exec(select(Site).where(Site.customer_id == customer_id).order_by(col(Site.id))).first()
    return ZoneInfo(site.timezone if site else settings.timezone)


def employee_zone(
    session: Session, employee: Employee, settings: Settings, cache: dict | None = None
) -> ZoneInfo:
    cache = {} if cache is None else cache
    key = ("site", employee.site_id) if employee.site_id is not None else ("customer", employee.customer_id)
    if key not in cache:
        site = session.get(Site, employee.site_id) if employee.site_id is not None else None
        cache[key] = (
            ZoneInfo(site.timezone) if site else customer_zone(session, employee.customer_id, settings)
        )
    return cache[key]


def kiosk_clause(customer_id: int):
    """SQL: punches on a kiosk that served this customer (or nobody) at the
    punch's instant (noxus.hr.placement, noxus.fleet.deployments)."""
    return tenancy_clause(customer_id)


class RawRow(NamedTuple):  # a tuple: an export reads tens of thousands
    id: int
    kiosk_id: str
    ts: datetime | None
    boot: int | None
    uptime_ms: int | None
    received_at: datetime
    employee_id: int
    at: datetime  # placed in time (noxus.hr.placement)
    estimated: bool


def _raw(session: Session, customer_id: int, employee_ids, lo: datetime, hi: datetime, punch_ids=()):
    """Raw punches with the employee whose badge was valid at the punch instant.
    Badges are matched in Python: a join on validity ranges makes PostgreSQL's
    planner pick a nested loop (30 s for 1 000 employees instead of 0.3 s)."""
    bq = select(Badge.uid, Badge.employee_id, Badge.valid_from, Badge.valid_to).where(
        Badge.customer_id == customer_id
    )
    if employee_ids is not None:
        bq = bq.where(col(Badge.employee_id).in_(list(employee_ids)))
    by_uid: dict[str, list] = defaultdict(list)
    for uid, emp, start, end in session.execute(bq).all():
        by_uid[uid].append((start, end, emp))
    if not by_uid:
        return []
    # punch_ids: raw punches HR moved into the window, wherever they were placed
    where = col(Punch.id).in_(list(punch_ids)) if punch_ids else placement.window_clause(lo, hi)
    found = placement.raw_punches(session, sorted(by_uid), where)
    placed = place(session, found)
    out = []
    for r in found:
        p = placed[r.id]
        if p.customer_id is not None and p.customer_id != customer_id:
            continue  # the kiosk served another customer then (placement.belongs)
        at = p.at
        for start, end, emp in by_uid[r.badge_uid]:
            if start <= at and (end is None or at < end):
                out.append(
                    RawRow(r.id, r.kiosk_id, r.ts, r.boot, r.uptime_ms, r.received_at, emp, at, p.estimated)
                )
                break
    return out


def load(
    session: Session,
    customer_id: int,
    employee_ids: list[int] | None,
    start: datetime,
    end: datetime,
    settings: Settings,
) -> dict[int, list[EffectivePunch]]:
    """Effective punches per employee needed to pair every shift starting in [start, end)."""
    _, max_shift = rules(settings)
    closed = _closed_months(session, customer_id, customer_zone(session, customer_id, settings))
    result: dict[int, list[EffectivePunch]] = {}
    pending = set(employee_ids) if employee_ids is not None else None
    for i, back in enumerate(LOOKBACKS):
        got = _load_window(session, customer_id, pending, start - back, end + max_shift, closed)
        ids = list(got) if pending is None else pending
        pending = set()
        for emp in ids:
            punches = got.get(emp, [])
            first = chain_start(punches, start, max_shift)
            if first is None and any(p.at < start for p in punches) and i + 1 < len(LOOKBACKS):
                pending.add(emp)  # its chain runs further back: load more history
                continue
            cut = first or start - back
            result[emp] = [p for p in punches if p.at >= cut]
        if not pending:
            break
    return result


def _closed_months(session: Session, customer_id: int, zone: ZoneInfo):
    """(zone, {(year, month): closed_at}) of the customer's closed months."""
    locks = session.exec(
        select(PeriodLock).where(PeriodLock.customer_id == customer_id, col(PeriodLock.closed).is_(True))
    ).all()
    return zone, {(lk.year, lk.month): lk.closed_at for lk in locks}


def _freeze(e: EffectivePunch, received_at: datetime, closed) -> None:
    """A closed month keeps the totals it was closed with: a raw punch that
    arrived after the close is shown, flagged, and not counted until reopened."""
    zone, months = closed
    if not months:
        return  # no closed month: nothing to freeze (and no time-zone conversion per punch)
    local = e.at.astimezone(zone)
    closed_at = months.get((local.year, local.month))
    if closed_at is not None and received_at > closed_at:
        e.after_close = e.voided = True


def _load_window(session, customer_id, employee_ids, lo, hi, closed) -> dict[int, list[EffectivePunch]]:
    rows = _raw(session, customer_id, employee_ids, lo, hi)
    corrections = _corrections(session, customer_id, employee_ids)
    # raw punches that HR moved into this window from elsewhere
    known = {r.id for r in rows}
    extra = {c.punch_id for c in corrections if c.punch_id is not None and c.punch_id not in known}
    if extra:
        rows += _raw(session, customer_id, employee_ids, lo, hi, punch_ids=extra)
    by_emp: dict[int, dict[str, EffectivePunch]] = defaultdict(dict)
    for p in rows:
        emp = p.employee_id
        if not p.estimated:
            e = EffectivePunch(at=p.at, punch_id=p.id, kiosk_id=p.kiosk_id, raw_at=p.ts)
        else:
            e = EffectivePunch(at=p.at, punch_id=p.id, kiosk_id=p.kiosk_id, estimated=True)
        _freeze(e, p.received_at, closed)
        by_emp[emp][e.key] = e
    apply_corrections(by_emp, corrections)
    return {emp: [p for p in ps.values() if lo <= p.at < hi or p.voided] for emp, ps in by_emp.items()}


def _corrections(session, customer_id, employee_ids) -> list[PunchCorrection]:
    stmt = select(PunchCorrection).where(PunchCorrection.customer_id == customer_id)
    if employee_ids is not None:
        stmt = stmt.where(col(PunchCorrection.employee_id).in_(list(employee_ids)))
    return list(session.exec(stmt.order_by(col(PunchCorrection.id))).all())


def apply_corrections(
    by_emp: dict[int, dict[str, EffectivePunch]], corrections: list[PunchCorrection]
) -> None:
    for c in corrections:
        punches = by_emp[c.employee_id]
        if c.action == "add":
            punches[f"c{c.id}"] = EffectivePunch(at=_instant(c), correction_id=c.id, added=True)
            continue
        key = f"p{c.punch_id}" if c.punch_id is not None else f"c{c.target_id}"
        target = punches.get(key)
        if target is None:
            continue  # a punch outside this window
        target.correction_id = c.id
        if c.action == "move":
            target.at, target.moved, target.voided, target.estimated = _instant(c), True, False, False
        elif c.action == "void":
            target.voided = True


def _instant(c: PunchCorrection) -> datetime:
    """The new instant of an add or a move (noxus.hr.corrections refuses either without one)."""
    if c.ts is None:
        raise ValueError(f"correction {c.id} ({c.action}) has no instant")
    return c.ts


def local_range(zone: ZoneInfo, first: date, last: date) -> tuple[datetime, datetime]:
    """UTC instants of [first 00:00, last+1 00:00) in the zone (DST-aware)."""
    from datetime import UTC, time

    start = datetime.combine(first, time(), zone).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(), zone).astimezone(UTC)
    return start, end
