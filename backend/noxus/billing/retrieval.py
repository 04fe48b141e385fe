"""§7.6 retrieval of kiosks: two months past due on subscription / additional users, or the end
of the contract for any cause (equipment must come back). Every step is an audited event; the
kiosks' statuses change through the fleet context (noxus.fleet.retrieval), never directly."""

from datetime import date, datetime

from sqlmodel import Session, col, or_, select

from noxus.billing import audit, documents, outbox
from noxus.billing.issuing import profile_of
from noxus.billing.models import (
    RETRIEVAL_TRANSITIONS,
    Contract,
    ContractKiosk,
    Invoice,
    OverdueState,
    RetrievalCase,
    RetrievalKiosk,
    RetrievalStatus,
)
from noxus.billing.support_hours import check_visit
from noxus.core.settings import Settings
from noxus.core.types import id_of, utcnow
from noxus.fleet import retrieval as fleet

OPEN_STATES = (RetrievalStatus.FLAGGED, RetrievalStatus.NOTIFIED, RetrievalStatus.SCHEDULED)


class RetrievalError(ValueError):
    pass


def _move(session: Session, case: RetrievalCase, to: RetrievalStatus, actor: str, **detail) -> None:
    if to not in RETRIEVAL_TRANSITIONS[RetrievalStatus(case.status)]:
        raise RetrievalError(f"retrieval case {case.id} is {case.status}; it cannot become {to.value}")
    case.status = to
    session.add(case)
    audit.record(
        session, f"retrieval.{to.value}", actor=actor, customer_id=case.customer_id, case_id=case.id, **detail
    )


def open_case(
    session: Session, customer_id: int, reason: str = "unpaid", contract_id: int | None = None
) -> RetrievalCase | None:
    q = select(RetrievalCase).where(
        RetrievalCase.customer_id == customer_id,
        RetrievalCase.reason == reason,
        col(RetrievalCase.status).in_(OPEN_STATES),
    )
    if contract_id is not None:
        q = q.where(RetrievalCase.contract_id == contract_id)
    return session.exec(q.order_by(col(RetrievalCase.id))).first()


def _case_kiosks(session: Session, case: RetrievalCase) -> list[str] | None:
    """The kiosks a case is about: a contract end's own kiosks; None (all the customer's) for §7.6."""
    if case.reason != "contract_end":
        return None
    return list(session.exec(select(RetrievalKiosk.kiosk_id).where(RetrievalKiosk.case_id == case.id)))


def _kiosk_rows(session: Session, customer_id: int) -> list[tuple[str, str, str]]:
    from noxus.tenancy.models import Site  # read-only: the site's name for the letter

    rows = []
    for k in fleet.kiosks_at_customer(session, customer_id):
        site = session.get(Site, k.site_id) if k.site_id else None
        rows.append((k.id, k.serial or "—", site.name if site else "—"))
    return rows


def flag_unpaid(
    session: Session,
    customer_id: int,
    today: date,
    invoices: list[Invoice],
    settings: Settings,
    actor: str = "system",
) -> RetrievalCase:
    """Open the case: kiosks retrieval eligible, notice letter (PDF) to the contact person + e-mail."""
    existing = open_case(session, customer_id)
    if existing is not None:
        return existing
    from datetime import timedelta

    profile = profile_of(session, customer_id)
    amount_due = sum(i.balance for i in invoices)
    deadline = today + timedelta(days=settings.billing_retrieval_deadline_days)
    kiosks = _kiosk_rows(session, customer_id)
    case = RetrievalCase(
        customer_id=customer_id, reason="unpaid", opened_on=today, amount_due=amount_due, deadline=deadline
    )
    session.add(case)
    session.flush()
    flagged = fleet.mark_retrieval_eligible(
        session, fleet.RetrievalStep(customer_id, f"§7.6 unpaid, case {case.id}", actor)
    )
    session.add_all(RetrievalKiosk(case_id=id_of(case), kiosk_id=k) for k in flagged)
    from noxus.core.i18n import format_date, use_language
    from noxus.core.i18n import gettext as _
    from noxus.tenancy.service import customer_language

    with use_language(customer_language(session, customer_id) or profile.language):
        pdf = documents.retrieval_notice_pdf(
            profile,
            settings,
            issued_on=today,
            kiosks=kiosks,
            invoices=invoices,
            amount_due=amount_due,
            deadline=deadline,
        )
        doc = outbox.store_document(
            session,
            kind="notice",
            customer_id=customer_id,
            case_id=case.id,
            filename=documents.file_name("notice", "7.6", customer_id, f"{today:%Y%m%d}"),
            pdf=pdf,
        )
        outbox.enqueue(
            session,
            profile.contact_email,
            _("Notice of retrieval of the NoxusTime equipment (terms §7.6)"),
            _("Dear %(name)s,", name=profile.contact_name)
            + "\n\n"
            + _(
                "Please find attached our notice of retrieval of the NoxusTime kiosks. Amount due: "
                "CHF %(amount)s, to be paid by %(deadline)s. A payment before the visit cancels it.",
                amount=documents.amount(amount_due),
                deadline=format_date(deadline),
            )
            + f"\n\n{settings.billing_creditor_name}\n",
            doc,
        )
    audit.record(
        session,
        "retrieval.flagged",
        actor=actor,
        customer_id=customer_id,
        case_id=case.id,
        kiosks=flagged,
        amount_due=amount_due,
        deadline=deadline.isoformat(),
        document_id=doc.id,
    )
    return case


def flag_contract_end(
    session: Session, contract: Contract, today: date, cause: str, actor: str = "system"
) -> RetrievalCase | None:
    """Restitution at the end of a contract (004 art. 7): that contract's kiosks — attached to it
    on its last day — come back, nothing is owed for them. Other contracts' kiosks stay."""
    existing = open_case(session, contract.customer_id, "contract_end", contract.id)
    if existing is not None:
        return existing
    end = contract.end_date or today
    kiosk_ids = list(
        session.exec(
            select(ContractKiosk.kiosk_id).where(
                ContractKiosk.contract_id == contract.id,
                ContractKiosk.attached_on <= end,
                or_(col(ContractKiosk.detached_on).is_(None), col(ContractKiosk.detached_on) >= end),
            )
        )
    )
    case = RetrievalCase(
        customer_id=contract.customer_id,
        reason="contract_end",
        contract_id=contract.id,
        opened_on=today,
        amount_due=0,
        deadline=today,
    )
    session.add(case)
    session.flush()
    flagged = fleet.mark_retrieval_eligible(
        session,
        fleet.RetrievalStep(
            contract.customer_id, f"contract {contract.id} end ({cause}), case {case.id}", actor, kiosk_ids
        ),
    )
    session.add_all(RetrievalKiosk(case_id=id_of(case), kiosk_id=k) for k in flagged)
    audit.record(
        session,
        "retrieval.flagged",
        actor=actor,
        customer_id=contract.customer_id,
        case_id=case.id,
        kiosks=flagged,
        cause=cause,
        contract_id=contract.id,
    )
    return case


def record_notice_sent(
    session: Session,
    case_id: int,
    sent_at: datetime | None,
    channel: str,
    actor: str,
    reason: str | None = None,
    settings: Settings | None = None,
) -> RetrievalCase:
    """Staff record how and when the written notice went out: `sent_at` None is now; a moment
    in the future is refused, an earlier day needs a reason (audited)."""
    from zoneinfo import ZoneInfo

    from noxus.billing.dates import BusinessDateError, action_date
    from noxus.core.settings import get_settings

    settings = settings or get_settings()
    now = utcnow()
    sent_at = sent_at or now
    if sent_at.tzinfo is None:
        sent_at = sent_at.replace(tzinfo=ZoneInfo(settings.timezone))
    if sent_at > now:
        raise BusinessDateError(
            "the notice cannot be recorded as sent in the future: give the moment it went out "
            "(or leave it empty for now)"
        )
    case = _get(session, case_id)
    action_date(
        session,
        "the §7.6 notice",
        sent_at.astimezone(ZoneInfo(settings.timezone)).date(),
        reason=reason,
        actor=actor,
        customer_id=case.customer_id,
        settings=settings,
        case_id=case.id,
    )
    case.notice_sent_at, case.notice_channel = sent_at, channel[:60]
    _move(session, case, RetrievalStatus.NOTIFIED, actor, sent_at=sent_at.isoformat(), channel=channel)
    return case


def schedule_visit(
    session: Session, case_id: int, start: datetime, end: datetime, actor: str
) -> RetrievalCase:
    case = _get(session, case_id)
    if case.status == RetrievalStatus.FLAGGED and case.reason == "unpaid":
        raise RetrievalError(
            "record how and when the written notice was sent (§7.6) before scheduling the visit"
        )
    check_visit(start, end)
    if case.status == RetrievalStatus.FLAGGED:  # contract end: no notice needed
        _move(session, case, RetrievalStatus.NOTIFIED, actor, note="contract end, no notice required")
    case.visit_start, case.visit_end = start, end
    fleet.schedule_retrieval(
        session,
        fleet.RetrievalStep(
            case.customer_id, f"retrieval case {case.id}", actor, _case_kiosks(session, case)
        ),
        start,
    )
    _move(
        session,
        case,
        RetrievalStatus.SCHEDULED,
        actor,
        visit_start=start.isoformat(),
        visit_end=end.isoformat(),
    )
    return case


def mark_retrieved(
    session: Session, case_id: int, kiosk_id: str, actor: str, at: datetime | None = None
) -> RetrievalCase:
    case = _get(session, case_id)
    if case.status != RetrievalStatus.SCHEDULED:
        raise RetrievalError(f"retrieval case {case.id} is {case.status}: schedule the visit first")
    row = session.exec(
        select(RetrievalKiosk).where(RetrievalKiosk.case_id == case.id, RetrievalKiosk.kiosk_id == kiosk_id)
    ).first()
    if row is None:
        raise RetrievalError(f"kiosk {kiosk_id} is not part of retrieval case {case.id}")
    at = at or utcnow()
    fleet.mark_retrieved(session, kiosk_id, actor, at=at, reason=f"retrieval case {case.id}")
    row.retrieved_at, row.retrieved_by = at, actor[:120]
    session.add(row)
    audit.record(
        session,
        "retrieval.kiosk_retrieved",
        actor=actor,
        customer_id=case.customer_id,
        case_id=case.id,
        kiosk_id=kiosk_id,
    )
    session.flush()
    left = session.exec(
        select(RetrievalKiosk).where(
            col(RetrievalKiosk.case_id) == case.id, col(RetrievalKiosk.retrieved_at).is_(None)
        )
    ).all()
    if not left:
        case.closed_at = at
        _move(session, case, RetrievalStatus.COMPLETED, actor)
    return case


def cancel_if_paid(
    session: Session, customer_id: int, actor: str, reason: str = "paid before the visit"
) -> bool:
    """Payment clears a §7.6 case that is not completed; kiosks not yet taken go back to deployed."""
    case = open_case(session, customer_id)
    if case is None or case.reason != "unpaid":
        return False
    restored = fleet.cancel_retrieval(
        session,
        fleet.RetrievalStep(
            customer_id, f"retrieval case {case.id}: {reason}", actor, _case_kiosks(session, case)
        ),
    )
    case.closed_at = utcnow()
    _move(session, case, RetrievalStatus.CANCELLED, actor, reason=reason, kiosks_restored=restored)
    return True


def _get(session: Session, case_id: int) -> RetrievalCase:
    case = session.get(RetrievalCase, case_id)
    if case is None:
        raise RetrievalError(f"retrieval case {case_id} does not exist")
    return case


__all__ = ["OverdueState"]
