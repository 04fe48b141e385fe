"""Where and when a raw punch happened: the one placement of a punch in time
and tenancy, used by timesheets (effective.py), metering, corrections and the
privacy context, so HR and billing never disagree about a punch's month or
customer.

Time: the kiosk's UTC `ts`; for an estimated punch (kiosk clock unset) the
boot start of its journal epoch and boot — the earliest `received_at -
uptime_ms` over that boot's estimated punches, so no estimate is later than
its arrival — plus its `uptime_ms`.
Tenancy: the customer whose deployment of the kiosk covers that instant
(noxus.fleet.deployments); a punch no deployment covers (kiosk in stock)
belongs to whichever customer's badge read it."""

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Row, and_, func, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from noxus.fleet import deployments
from noxus.ingest.models import Punch

# SQL bound for a punch's instant: `ts`, else its arrival (an estimate is never later).
WHEN = func.coalesce(Punch.ts, Punch.received_at)
ESTIMATE_SLACK = timedelta(days=7)  # a clock-less punch arriving up to a week after its estimate
UID_CHUNK = 2000  # bound parameters per IN list
# plain columns, not ORM objects: an export reads tens of thousands of rows
RAW_COLUMNS = (
    col(Punch.id),
    col(Punch.kiosk_id),
    col(Punch.epoch),
    col(Punch.ts),
    col(Punch.boot),
    col(Punch.uptime_ms),
    col(Punch.received_at),
    col(Punch.badge_uid),
)


class Placed(NamedTuple):  # a tuple: an export places tens of thousands of punches
    at: datetime
    estimated: bool
    customer_id: int | None  # None: no deployment covered the kiosk then
    site_id: int | None


def tenancy_clause(customer_id: int, when=WHEN):
    """SQL prefilter: the punch's kiosk served this customer (or nobody) at `when`."""
    return deployments.serves_clause(Punch.kiosk_id, when, customer_id)


def customer_clause(when=WHEN):
    """SQL scalar: the customer the punch's kiosk served at `when` (NULL: nobody). Equal to
    `place()` for punches with a clock time; an estimated punch needs `place()`."""
    return deployments.customer_at_clause(Punch.kiosk_id, when)


def window_clause(lo: datetime, hi: datetime) -> ColumnElement[bool]:
    """SQL: punches that may be placed in [lo, hi). Sargable on (badge_uid, ts); clock-less
    punches are candidates by arrival (their estimate is never later than it, and at most
    ESTIMATE_SLACK earlier) and are placed in Python."""
    ts, received = col(Punch.ts), col(Punch.received_at)
    return or_(
        and_(ts >= lo, ts < hi),
        and_(ts.is_(None), received >= lo, received < hi + ESTIMATE_SLACK),
    )


def raw_punches(session: Session, uids: Sequence[str], *where: Any) -> list[Row]:
    """RAW_COLUMNS of the punches (kind "punch") of these badge UIDs matching `where`."""
    found: list[Row] = []
    for i in range(0, len(uids), UID_CHUNK):
        chunk = uids[i : i + UID_CHUNK]
        stmt = sa_select(*RAW_COLUMNS).where(
            col(Punch.kind) == "punch", col(Punch.badge_uid).in_(chunk), *where
        )
        found += session.execute(stmt).all()
    return found


def anchors(session: Session, rows) -> dict[tuple[str, int, int], datetime]:
    """Boot start per (kiosk, epoch, boot) of the estimated rows."""
    keys = {(r.kiosk_id, getattr(r, "epoch", 0) or 0, r.boot) for r in rows if r.ts is None}
    out = {}
    for kiosk_id, epoch, boot in keys:
        arrivals = session.exec(
            select(Punch.received_at, Punch.uptime_ms).where(
                col(Punch.kiosk_id) == kiosk_id,
                col(Punch.epoch) == epoch,
                col(Punch.boot) == boot,
                col(Punch.ts).is_(None),
            )
        ).all()
        out[(kiosk_id, epoch, boot)] = min(r - timedelta(milliseconds=u or 0) for r, u in arrivals)
    return out


def place(session: Session, rows) -> dict[int, Placed]:
    """Placement of each row (anything with id, kiosk_id, epoch, ts, boot,
    uptime_ms, received_at), by punch id."""
    rows = list(rows)
    boots = anchors(session, rows)
    at: dict[int, tuple[datetime, bool]] = {}
    for r in rows:
        if r.ts is not None:
            at[r.id] = (r.ts, False)
        else:
            start = boots[(r.kiosk_id, getattr(r, "epoch", 0) or 0, r.boot)]
            at[r.id] = (start + timedelta(milliseconds=r.uptime_ms or 0), True)
    if not at:
        return {}
    lo, hi = min(a for a, _ in at.values()), max(a for a, _ in at.values())
    spans = deployments.intervals(session, {r.kiosk_id for r in rows}, lo, hi + timedelta(microseconds=1))
    out = {}
    for r in rows:
        when, estimated = at[r.id]
        kiosk_spans = spans.get(r.kiosk_id)
        d = deployments.customer_at(kiosk_spans, when) if kiosk_spans else None
        out[r.id] = (
            Placed(when, estimated, d.customer_id, d.site_id) if d else Placed(when, estimated, None, None)
        )
    return out


def belongs(p: Placed, customer_id: int) -> bool:
    return p.customer_id is None or p.customer_id == customer_id
