"""Retention jobs (`noxus privacy retention`): per customer, time records older than the
customer's retention period (default 5 years) are deleted; at contract end the customer's data is
returned as an export bundle or deleted, as the customer chose. Invoices are never touched here
(they are NOXUS' business records, kept 10 years under CO art. 958f)."""

from __future__ import annotations

import io
import pathlib
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, or_
from sqlmodel import Session, col, select

from noxus.core import audit
from noxus.core.settings import Settings
from noxus.core.types import aware, id_of, utcnow
from noxus.core.users import LoginAttempt, WebSession
from noxus.hr.models import Badge, Employee, PunchCorrection
from noxus.ingest.models import Punch
from noxus.privacy import subject
from noxus.privacy.models import PrivacyPolicy
from noxus.tenancy.models import Customer

ACTOR = "system:retention"
SECURITY_LOG_KEEP_DAYS = 365
SESSION_KEEP_DAYS = 30


def policy_for(session: Session, customer_id: int, settings: Settings) -> PrivacyPolicy:
    p = session.get(PrivacyPolicy, customer_id)
    return p or PrivacyPolicy(customer_id=customer_id, retention_years=settings.retention_years_default)


def years_before(now: datetime, years: int) -> datetime:
    try:
        return now.replace(year=now.year - years)
    except ValueError:  # 29 February
        return now.replace(year=now.year - years, day=28)


def _customer_punch_ids(session: Session, customer_id: int, cutoff: datetime | None) -> list[int]:
    """Punches attributable to the customer: read with one of its badges, or on its kiosks."""
    when = subject.WHEN
    on_badge = and_(
        col(Badge.uid) == col(Punch.badge_uid),
        col(Badge.customer_id) == customer_id,
        when >= Badge.valid_from,
        or_(col(Badge.valid_to).is_(None), when < col(Badge.valid_to)),
    )
    q1 = select(col(Punch.id)).join(Badge, on_badge)
    # ... and every punch taken on a kiosk while it was deployed at the customer
    # (noxus.fleet.deployments), not on the kiosks it has today.
    from noxus.fleet.deployments import serves_clause

    served = serves_clause(Punch.kiosk_id, when, customer_id, or_nobody=False)
    q2 = select(col(Punch.id)).where(served, col(Punch.kiosk_id).in_(_deployed_kiosks(session, customer_id)))
    clauses = [q1, q2]
    ids: set[int] = set()
    for q in clauses:
        if cutoff is not None:
            q = q.where(when < cutoff)
        # a stored key is never NULL: the column is Optional only for rows not yet saved
        ids.update(i for i in session.exec(q).all() if i is not None)
    return sorted(ids)


def _deployed_kiosks(session: Session, customer_id: int) -> list[str]:
    from noxus.fleet.deployments import KioskDeployment

    return list(
        session.exec(
            select(KioskDeployment.kiosk_id).where(KioskDeployment.customer_id == customer_id).distinct()
        ).all()
    )


def delete_time_records(session: Session, customer_id: int, cutoff: datetime | None) -> dict[str, int]:
    """Delete the customer's punches (and corrections) older than cutoff (None: all)."""
    punch_ids = _customer_punch_ids(session, customer_id, cutoff)
    # corrections are few next to punches: whole rows keep the walk readable
    corrections = session.exec(
        select(PunchCorrection).where(PunchCorrection.customer_id == customer_id)
    ).all()
    doomed_punches = set(punch_ids)
    doomed: set[int] = set()
    for c in corrections:
        old = cutoff is None or (c.ts or c.created_at) < cutoff
        if c.punch_id in doomed_punches or (c.punch_id is None and old):
            doomed.add(id_of(c))
    # corrections of doomed corrections go too (FK target_id)
    changed = True
    while changed:
        changed = False
        for c in corrections:
            if c.target_id in doomed and c.id not in doomed:
                doomed.add(id_of(c))
                changed = True
    for chunk in _chunks(sorted(doomed)):
        session.exec(delete(PunchCorrection).where(col(PunchCorrection.id).in_(chunk)))
    for chunk in _chunks(punch_ids):
        session.exec(delete(Punch).where(col(Punch.id).in_(chunk)))
    return {"punches": len(punch_ids), "corrections": len(doomed)}


def _chunks(ids: list[int], n: int = 500):
    for i in range(0, len(ids), n):
        yield ids[i : i + n]


@dataclass
class RetentionReport:
    customers: dict[int, dict] = field(default_factory=dict)
    login_attempts: int = 0
    sessions: int = 0
    bundles: list[str] = field(default_factory=list)


def customer_bundle(session: Session, customer_id: int) -> bytes:
    """The contract-end return: one ZIP holding every employee's export bundle."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for emp in session.exec(
            select(Employee).where(col(Employee.customer_id) == customer_id).order_by(col(Employee.id))
        ):
            z.writestr(f"employee-{emp.id}.zip", subject.bundle_zip(subject.collect(session, emp)))
    return out.getvalue()


def end_contract(session: Session, customer_id: int, action: str, out_dir: pathlib.Path | None) -> dict:
    result: dict = {"action": action}
    if action == "export":
        if out_dir is None:
            raise ValueError("an export at contract end needs an output directory")
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / f"customer-{customer_id}-{utcnow():%Y%m%dT%H%M%SZ}.zip"
        path.write_bytes(customer_bundle(session, customer_id))
        result["bundle"] = str(path)
    for emp in session.exec(select(Employee).where(Employee.customer_id == customer_id)).all():
        subject.anonymise(session, emp, ACTOR, reason=f"contract end ({action})")
    result.update(delete_time_records(session, customer_id, None))
    return result


def run(
    session: Session, settings: Settings, now: datetime | None = None, out_dir: pathlib.Path | None = None
) -> RetentionReport:
    now = now or utcnow()
    rep = RetentionReport()
    for cust in session.exec(select(Customer).order_by(col(Customer.id))).all():
        customer_id = id_of(cust)
        pol = policy_for(session, customer_id, settings)
        ended = aware(pol.contract_ended_at) if pol.contract_ended_at is not None else None
        if ended is not None and ended <= now and pol.purged_at is None:
            res = end_contract(session, customer_id, pol.contract_end_action, out_dir)
            pol.purged_at = now
            session.add(pol)
            if "bundle" in res:
                rep.bundles.append(res["bundle"])
        else:
            res = delete_time_records(session, customer_id, years_before(now, pol.retention_years))
            res["retention_years"] = pol.retention_years
        if any(res.get(k) for k in ("punches", "corrections", "bundle")) or "action" in res:
            audit.record(session, ACTOR, "retention", "customer", customer_id, customer_id, res)
        rep.customers[customer_id] = res
    rep.login_attempts = session.exec(
        delete(LoginAttempt).where(col(LoginAttempt.at) < now - timedelta(days=SECURITY_LOG_KEEP_DAYS))
    ).rowcount
    rep.sessions = session.exec(
        delete(WebSession).where(col(WebSession.expires_at) < now - timedelta(days=SESSION_KEEP_DAYS))
    ).rowcount
    return rep
