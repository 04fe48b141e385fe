"""Dated kiosk deployments: which customer (and site) a kiosk served at any
instant. The source of truth for the tenancy of a punch: a kiosk moved from
customer A to B keeps A's past punches at A.

Rows are written by `noxus.fleet.status.change_status` (every install, move,
retrieval), so the operator pages and billing's retrieval need nothing else;
`deploy` and `undeploy` are the two verbs the UI calls. Other contexts read
deployments only through `intervals` / `customer_at` (docs/fleet.md)."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_
from sqlmodel import Session, col, select

from noxus.core.types import utcnow
from noxus.fleet.models import Kiosk, KioskDeployment, KioskStatus


@dataclass(frozen=True)
class Interval:
    valid_from: datetime
    valid_to: datetime | None
    customer_id: int
    site_id: int | None

    def covers(self, at: datetime) -> bool:
        return self.valid_from <= at and (self.valid_to is None or at < self.valid_to)


class DeploymentError(ValueError):
    pass


def follow(session: Session, kiosk: Kiosk, at: datetime, actor: str) -> None:
    """Called by change_status after it set kiosk.customer_id/site_id: close
    the open deployment if the kiosk left it, open one where it now is."""
    current = session.exec(
        select(KioskDeployment).where(
            col(KioskDeployment.kiosk_id) == kiosk.id, col(KioskDeployment.valid_to).is_(None)
        )
    ).first()
    here = (kiosk.customer_id, kiosk.site_id)
    if current is not None and (current.customer_id, current.site_id) == here:
        return
    if current is not None:
        # A change back-dated before the deployment began leaves it empty, never inverted.
        at = max(at, current.valid_from)
        current.valid_to = at
        session.add(current)
    if kiosk.customer_id is not None:
        session.add(
            KioskDeployment(
                kiosk_id=kiosk.id,
                customer_id=kiosk.customer_id,
                site_id=kiosk.site_id,
                valid_from=at,
                actor=actor[:120],
            )
        )


def deploy(
    session: Session, kiosk_id: str, site_id: int, actor: str, at: datetime | None = None, reason: str = ""
) -> KioskDeployment:
    """Install a kiosk at a site (from stock) or move it to another site (of
    the same or another customer) from `at` (default now). Returns the new
    deployment. Raises DeploymentError / TransitionError saying what to do."""
    from noxus.fleet import status

    kiosk = _kiosk(session, kiosk_id)
    status.change_status(
        session, kiosk, KioskStatus.DEPLOYED, actor, site_id=site_id, at=at or utcnow(), reason=reason
    )
    session.flush()
    opened = _open(session, kiosk_id)
    assert opened is not None, "change_status to DEPLOYED opens a deployment"
    return opened


def undeploy(
    session: Session,
    kiosk_id: str,
    actor: str,
    at: datetime | None = None,
    reason: str = "",
    to: KioskStatus = KioskStatus.RETRIEVED,
) -> KioskDeployment | None:
    """The kiosk leaves its customer at `at` (default now): retrieved, broken
    or lost. Returns the deployment it closed (None if it was at no customer)."""
    from noxus.fleet import status

    kiosk = _kiosk(session, kiosk_id)
    was = _open(session, kiosk_id)
    status.change_status(session, kiosk, to, actor, at=at or utcnow(), reason=reason)
    session.flush()
    return was


def history(session: Session, kiosk_id: str) -> list[KioskDeployment]:
    return list(
        session.exec(
            select(KioskDeployment)
            .where(KioskDeployment.kiosk_id == kiosk_id)
            .order_by(col(KioskDeployment.valid_from), col(KioskDeployment.id))
        )
    )


def intervals(
    session: Session, kiosk_ids: Iterable[str], lo: datetime | None = None, hi: datetime | None = None
) -> dict[str, list[Interval]]:
    """Deployments of these kiosks overlapping [lo, hi), per kiosk, oldest first."""
    ids = sorted(set(kiosk_ids))
    out: dict[str, list[Interval]] = defaultdict(list)
    for i in range(0, len(ids), 2000):
        q = select(KioskDeployment).where(col(KioskDeployment.kiosk_id).in_(ids[i : i + 2000]))
        if hi is not None:
            q = q.where(KioskDeployment.valid_from < hi)
        if lo is not None:
            q = q.where(or_(col(KioskDeployment.valid_to).is_(None), col(KioskDeployment.valid_to) > lo))
        for d in session.exec(q.order_by(col(KioskDeployment.valid_from))):
            out[d.kiosk_id].append(Interval(d.valid_from, d.valid_to, d.customer_id, d.site_id))
    return out


def customer_at(spans: list[Interval], at: datetime) -> Interval | None:
    """The deployment covering `at` among one kiosk's intervals, or None (in stock)."""
    for span in spans:
        if span.covers(at):
            return span
    return None


def _kiosk(session: Session, kiosk_id: str) -> Kiosk:
    kiosk = session.get(Kiosk, kiosk_id)
    if kiosk is None:
        raise DeploymentError(f"kiosk {kiosk_id} is not registered: add it first")
    return kiosk


def _open(session: Session, kiosk_id: str) -> KioskDeployment | None:
    return session.exec(
        select(KioskDeployment).where(
            col(KioskDeployment.kiosk_id) == kiosk_id, col(KioskDeployment.valid_to).is_(None)
        )
    ).first()


def serves_clause(kiosk_col, when, customer_id: int, or_nobody: bool = True):
    """SQL: the kiosk in `kiosk_col` served `customer_id` at instant `when`, or
    (with or_nobody) served nobody then (in stock: the badge's customer takes
    it). For queries of other contexts that filter punches by tenancy."""
    from sqlalchemy import and_, exists, not_

    def covering(*extra):
        d = KioskDeployment
        return exists().where(
            col(d.kiosk_id) == kiosk_col,
            col(d.valid_from) <= when,
            or_(col(d.valid_to).is_(None), when < col(d.valid_to)),
            *extra,
        )

    mine = covering(KioskDeployment.customer_id == customer_id)
    return or_(mine, and_(not_(covering()))) if or_nobody else mine


def customer_at_clause(kiosk_col, when):
    """SQL scalar: the customer the kiosk in `kiosk_col` served at instant `when`, NULL when it
    served nobody then (in stock). The SQL face of `customer_at`, for queries that group punches
    by the tenant they belong to."""
    d = KioskDeployment
    return (
        select(d.customer_id)
        .where(
            col(d.kiosk_id) == kiosk_col,
            col(d.valid_from) <= when,
            or_(col(d.valid_to).is_(None), when < col(d.valid_to)),
        )
        .order_by(col(d.valid_from).desc())
        .limit(1)
        .correlate_except(d)  # the punch row of the enclosing query, however deeply nested
        .scalar_subquery()
    )
