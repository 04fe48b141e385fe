"""Contract life: terms with tacit renewal, notice, and the end of a contract for any cause,
which opens the restitution of every kiosk and, where the contract says so, credits the prepaid
unused days pro rata (002 §10.6)."""

from datetime import date, timedelta

from sqlmodel import Session, col, select

from noxus.billing import audit, retrieval
from noxus.billing.invoices import Charge, credit, prepaid_lines_after
from noxus.billing.models import Contract, ContractKiosk, Invoice, LineKind
from noxus.billing.money import prorate
from noxus.billing.run import add_months
from noxus.core.i18n import format_date, use_language
from noxus.core.i18n import gettext as _
from noxus.core.settings import Settings
from noxus.core.types import id_of


class ContractError(ValueError):
    pass


def current_term_end(contract: Contract, on: date) -> date:
    """Last day of the term running on `on`: initial term, then renewal terms (tacit renewal)."""
    end = add_months(contract.start_date, contract.initial_term_months) - timedelta(days=1)
    while end < on:
        end = add_months(end + timedelta(days=1), contract.renewal_term_months) - timedelta(days=1)
    return end


def earliest_ordinary_end(contract: Contract, notice_given_on: date) -> date:
    """Notice must reach NOXUS at least `notice_months` before the end of a term; later notice
    ends the contract at the end of the next term."""
    end = current_term_end(contract, notice_given_on)
    while notice_given_on > add_months(end + timedelta(days=1), -contract.notice_months):
        end = add_months(end + timedelta(days=1), contract.renewal_term_months) - timedelta(days=1)
    return end


def end_contract(
    session: Session,
    contract: Contract,
    end_date: date,
    cause: str,
    today: date,
    settings: Settings,
    actor: str = "system",
) -> list[Invoice]:
    """Set the last day of service; credit prepaid days after it (if the contract says so);
    flag this contract's kiosks for restitution (not the customer's other contracts'). Returns
    the credit notes made."""
    if contract.end_date is not None:
        raise ContractError(f"contract {contract.id} already ended on {contract.end_date}")
    if end_date < contract.start_date:
        raise ContractError("a contract cannot end before it starts")
    contract.end_date, contract.end_cause = end_date, cause[:200]
    session.add(contract)
    audit.record(
        session,
        "contract.ended",
        actor=actor,
        customer_id=contract.customer_id,
        end_date=end_date.isoformat(),
        cause=cause,
    )
    notes = []
    if contract.prorata_refund and contract.billed_through and contract.billed_through > end_date:
        by_invoice: dict[int, tuple[Invoice, list[Charge]]] = {}
        for line, invoice in prepaid_lines_after(session, id_of(contract), end_date):
            if line.service_start is None or line.service_end is None:
                continue  # subscription and kiosk lines always carry their service period
            start = max(line.service_start, end_date + timedelta(days=1))
            unused, covered = (
                (line.service_end - start).days + 1,
                (line.service_end - line.service_start).days + 1,
            )
            amount = prorate(line.amount, unused, covered)
            if amount:
                with use_language(invoice.language):
                    label = _(
                        "Unused pro rata %(start)s–%(end)s: %(line)s",
                        start=format_date(start),
                        end=format_date(line.service_end),
                        line=line.description,
                    )
                by_invoice.setdefault(id_of(invoice), (invoice, []))[1].append(
                    Charge(
                        LineKind.CREDIT,
                        label[:300],
                        f"{unused}/{covered}",
                        -amount,
                        -amount,
                        line.vat_rate_bp,
                        start,
                        line.service_end,
                    )
                )
        for invoice, charges in by_invoice.values():
            notes.append(
                credit(
                    session,
                    invoice,
                    issue_date=today,
                    iban=settings.billing_iban,
                    reason=f"contract end: {cause}",
                    charges=charges,
                    actor=actor,
                )
            )
        contract.billed_through = end_date
    for row in session.exec(
        select(ContractKiosk).where(
            col(ContractKiosk.contract_id) == contract.id, col(ContractKiosk.detached_on).is_(None)
        )
    ):
        row.detached_on = max(end_date, row.attached_on)
        session.add(row)
    session.flush()
    retrieval.flag_contract_end(session, contract, today, cause, actor)
    return notes


def attach_kiosk(
    session: Session, contract: Contract, kiosk_id: str, on: date, actor: str = "system"
) -> ContractKiosk:
    """A kiosk joins the contract on `on` (per-kiosk fee from that month; restitution at its end)."""
    from noxus.fleet.retrieval import kiosks_at_customer

    if not kiosks_at_customer(session, contract.customer_id, [kiosk_id]):
        raise ContractError(
            f"kiosk {kiosk_id} is not deployed at customer {contract.customer_id}: "
            "deploy it there first (Fleet)"
        )
    if contract.end_date is not None and on > contract.end_date:
        raise ContractError(f"contract {contract.id} ended on {contract.end_date}")
    current = session.exec(
        select(ContractKiosk).where(
            col(ContractKiosk.kiosk_id) == kiosk_id, col(ContractKiosk.detached_on).is_(None)
        )
    ).first()
    if current is not None:
        raise ContractError(
            f"kiosk {kiosk_id} is already attached to contract {current.contract_id}: remove it there first"
        )
    row = ContractKiosk(contract_id=id_of(contract), kiosk_id=kiosk_id, attached_on=on)
    return _kiosk_moved(session, contract, row, "contract.kiosk_attached", on, actor)


def detach_kiosk(
    session: Session, contract: Contract, kiosk_id: str, on: date, actor: str = "system"
) -> ContractKiosk:
    """The kiosk leaves the contract after `on` (its last day on it)."""
    row = session.exec(
        select(ContractKiosk).where(
            ContractKiosk.contract_id == contract.id,
            ContractKiosk.kiosk_id == kiosk_id,
            col(ContractKiosk.detached_on).is_(None),
        )
    ).first()
    if row is None:
        raise ContractError(f"kiosk {kiosk_id} is not attached to contract {contract.id}")
    if on < row.attached_on:
        raise ContractError(f"kiosk {kiosk_id} was attached on {row.attached_on}: it cannot leave before")
    row.detached_on = on
    return _kiosk_moved(session, contract, row, "contract.kiosk_detached", on, actor)


def _kiosk_moved(
    session: Session, contract: Contract, row: ContractKiosk, event: str, on: date, actor: str
) -> ContractKiosk:
    session.add(row)
    audit.record(
        session,
        event,
        actor=actor,
        customer_id=contract.customer_id,
        contract_id=contract.id,
        kiosk_id=row.kiosk_id,
        on=on.isoformat(),
    )
    return row


def kiosks_of(session: Session, contract_id: int) -> list[ContractKiosk]:
    return list(
        session.exec(
            select(ContractKiosk)
            .where(ContractKiosk.contract_id == contract_id)
            .order_by(col(ContractKiosk.attached_on), col(ContractKiosk.id))
        )
    )
