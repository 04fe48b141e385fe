"""Contract life: terms with tacit renewal, notice, and the end of a contract for any cause,
which opens the restitution of every kiosk and, where the contract says so, credits the prepaid
unused days pro rata (002 §10.6)."""

from datetime import date, timedelta

from sqlmodel import Session, select

from noxus.billing import audit, retrieval
from noxus.billing.invoices import Charge, credit
from noxus.billing.models import Contract, Invoice, InvoiceKind, InvoiceLine, InvoiceStatus, LineKind
from noxus.billing.money import prorate
from noxus.billing.run import add_months
from noxus.core.settings import Settings


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


def end_contract(session: Session, contract: Contract, end_date: date, cause: str, today: date,
                 settings: Settings, actor: str = "system") -> list[Invoice]:
    """Set the last day of service; credit prepaid days after it (if the contract says so);
    flag every kiosk for restitution. Returns the credit notes made."""
    if contract.end_date is not None:
        raise ContractError(f"contract {contract.id} already ended on {contract.end_date}")
    if end_date < contract.start_date:
        raise ContractError("a contract cannot end before it starts")
    contract.end_date, contract.end_cause = end_date, cause[:200]
    session.add(contract)
    audit.record(session, "contract.ended", actor=actor, customer_id=contract.customer_id,
                 end_date=end_date.isoformat(), cause=cause)
    notes = []
    if contract.prorata_refund and contract.billed_through and contract.billed_through > end_date:
        lines = session.exec(select(InvoiceLine, Invoice).join(Invoice, Invoice.id == InvoiceLine.invoice_id).where(
            Invoice.contract_id == contract.id, Invoice.kind == InvoiceKind.INVOICE,
            Invoice.status.in_([InvoiceStatus.OPEN, InvoiceStatus.PAID]),
            InvoiceLine.kind.in_([LineKind.SUBSCRIPTION, LineKind.KIOSK]),
            InvoiceLine.service_end > end_date)).all()
        by_invoice: dict[int, tuple[Invoice, list[Charge]]] = {}
        for line, invoice in lines:
            start = max(line.service_start, end_date + timedelta(days=1))
            unused, covered = (line.service_end - start).days + 1, (line.service_end - line.service_start).days + 1
            amount = prorate(line.amount, unused, covered)
            if amount:
                by_invoice.setdefault(invoice.id, (invoice, []))[1].append(Charge(
                    LineKind.CREDIT, f"Prorata non utilisé {start:%d.%m.%Y}–{line.service_end:%d.%m.%Y}: "
                    f"{line.description}"[:300], f"{unused}/{covered}", -amount, -amount, line.vat_rate_bp,
                    start, line.service_end))
        for invoice, charges in by_invoice.values():
            notes.append(credit(session, invoice, issue_date=today, iban=settings.billing_iban,
                                reason=f"contract end: {cause}", charges=charges, actor=actor))
        contract.billed_through = end_date
    retrieval.flag_contract_end(session, contract.customer_id, today, cause, actor)
    return notes
