"""Reviewing the drafts of a run before they are issued (as Lago and Odoo do): a preview of the
totals per customer and for the whole run; editing a draft's lines; deleting a draft.

Only a draft changes: an issued invoice is refused with a clear error (correct it with a credit
note). Totals are recomputed the way `create_draft` computes them (VAT once per rate, rounding
line to CHF 0.05). Deleting a draft of the run gives back what it consumed — the contract's
`billed_through`, the set-up fee, the usage snapshots — so the next run (the daily catch-up
included) drafts that contract's month again from the data of that day."""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import delete
from sqlalchemy import select as sa_select  # sqlmodel's select is typed for at most four columns
from sqlmodel import Session, col, func, select

from noxus.billing import audit
from noxus.billing.invoices import InvoiceStateError
from noxus.billing.models import Contract, Invoice, InvoiceLine, InvoiceStatus, LineKind, UsageSnapshot
from noxus.billing.money import round_centimes, totals
from noxus.core.i18n import gettext as _
from noxus.core.i18n import use_language
from noxus.core.types import id_of


def _draft(session: Session, invoice_id: int, what: str) -> Invoice:
    inv = session.get(Invoice, invoice_id)
    if inv is None:
        raise InvoiceStateError(f"invoice {invoice_id} does not exist")
    if inv.status != InvoiceStatus.DRAFT:
        raise InvoiceStateError(
            f"invoice {inv.number} is already issued ({inv.status}): it cannot be {what}; "
            "correct it with a credit note"
        )
    return inv


def _line(session: Session, inv: Invoice, position: int, what: str) -> InvoiceLine:
    line = session.exec(
        select(InvoiceLine).where(InvoiceLine.invoice_id == inv.id, InvoiceLine.position == position)
    ).first()
    if line is None or line.kind == LineKind.ROUNDING:
        raise ValueError(f"draft {inv.id} has no line {position} to {what}")
    return line


def _edited(session: Session, inv: Invoice, actor: str, **facts: Any) -> Invoice:
    """After a line changed: totals again, and the audited event (with what changed)."""
    session.flush()
    _recompute(session, inv)
    audit.record_invoice(
        session,
        "invoice.draft_edited",
        inv,
        actor=actor,
        **facts,
        total=inv.total,
    )
    return inv


def _recompute(session: Session, inv: Invoice) -> None:
    lines = [
        ln
        for ln in session.exec(
            select(InvoiceLine).where(InvoiceLine.invoice_id == inv.id).order_by(col(InvoiceLine.position))
        )
        if ln.kind != LineKind.ROUNDING
    ]
    session.execute(
        delete(InvoiceLine).where(
            col(InvoiceLine.invoice_id) == inv.id, col(InvoiceLine.kind) == LineKind.ROUNDING
        )
    )
    t = totals((ln.amount, ln.vat_rate_bp) for ln in lines)
    for pos, ln in enumerate(lines, 1):
        ln.position = pos
        session.add(ln)
    if t.rounding:
        with use_language(inv.language):
            label = _("Rounding")
        session.add(
            InvoiceLine(
                invoice_id=id_of(inv),
                position=len(lines) + 1,
                kind=LineKind.ROUNDING,
                description=label,
                quantity="1",
                unit_price=t.rounding,
                amount=t.rounding,
            )
        )
    inv.subtotal, inv.vat_total, inv.rounding, inv.total = t.subtotal, t.vat_total, t.rounding, t.total
    inv.vat_breakdown = [list(v) for v in t.vat]
    session.add(inv)
    session.flush()


def parse_quantity(text: str) -> Decimal:
    try:
        q = Decimal(str(text).strip().replace(",", "."))
    except InvalidOperation:
        raise ValueError(f"quantity {text!r} is not a number") from None
    if not q.is_finite() or q <= 0:
        raise ValueError("the quantity must be more than 0")
    return q


def set_line(
    session: Session,
    invoice_id: int,
    *,
    position: int | None,
    description: str,
    quantity: str,
    unit_price: int,
    vat_rate_bp: int | None = None,
    actor: str = "system",
) -> Invoice:
    """Change a line of a draft (position) or add one (position None); amount = quantity × unit
    price, rounded to the centime. A new line takes the VAT rate of the draft's first line."""
    inv = _draft(session, invoice_id, "edited")
    q = parse_quantity(quantity)
    description = description.strip()
    if not description:
        raise ValueError("a line needs a description")
    amount = round_centimes(q * unit_price)
    if position is None:
        first = session.exec(
            select(InvoiceLine).where(InvoiceLine.invoice_id == inv.id).order_by(col(InvoiceLine.position))
        ).first()
        rate = vat_rate_bp if vat_rate_bp is not None else (first.vat_rate_bp if first else None)
        n = session.exec(
            select(func.count()).select_from(InvoiceLine).where(InvoiceLine.invoice_id == inv.id)
        ).one()
        session.add(
            InvoiceLine(
                invoice_id=invoice_id,
                position=n + 1,
                kind="manual",
                description=description[:300],
                quantity=str(q),
                unit_price=unit_price,
                amount=amount,
                vat_rate_bp=rate,
            )
        )
    else:
        line = _line(session, inv, position, "change")
        line.description, line.quantity, line.unit_price, line.amount = (
            description[:300],
            str(q),
            unit_price,
            amount,
        )
        if vat_rate_bp is not None:
            line.vat_rate_bp = vat_rate_bp
        session.add(line)
    return _edited(
        session,
        inv,
        actor,
        position=position,
        description=description[:120],
        quantity=str(q),
        unit_price=unit_price,
    )


def remove_line(session: Session, invoice_id: int, position: int, actor: str = "system") -> Invoice:
    inv = _draft(session, invoice_id, "edited")
    line = _line(session, inv, position, "remove")
    session.delete(line)
    return _edited(session, inv, actor, removed=line.description[:120])


def delete_draft(session: Session, invoice_id: int, actor: str = "system") -> None:
    """Discard a draft; what it consumed goes back to its contract (see the module docstring)."""
    inv = _draft(session, invoice_id, "deleted")
    if inv.contract_id is not None and inv.run_key is not None:
        later = session.exec(
            select(Invoice.id).where(
                Invoice.contract_id == inv.contract_id,
                col(Invoice.run_key).is_not(None),
                col(Invoice.period) > inv.period,
            )
        ).first()
        if later is not None:
            raise InvoiceStateError(
                f"draft {inv.id} is not the contract's latest invoice of a run: delete the later drafts first"
            )
        contract = session.get_one(Contract, inv.contract_id)
        contract.billed_through = inv.prior_billed_through
        if inv.consumed_setup:
            contract.setup_invoiced = False
        session.add(contract)
    session.execute(delete(UsageSnapshot).where(col(UsageSnapshot.invoice_id) == inv.id))
    session.execute(delete(InvoiceLine).where(col(InvoiceLine.invoice_id) == inv.id))
    audit.record(
        session,
        "invoice.draft_deleted",
        actor=actor,
        customer_id=inv.customer_id,
        total=inv.total,
        run_key=inv.run_key,
        draft_id=inv.id,
    )
    session.delete(inv)
    session.flush()


@dataclass
class CustomerPreview:
    customer_id: int
    drafts: int = 0
    subtotal: int = 0
    vat_total: int = 0
    total: int = 0


@dataclass
class Preview:
    """Totals of the drafts waiting for review (of one run period, or all)."""

    period: date | None
    customers: list[CustomerPreview] = field(default_factory=list)
    drafts: int = 0
    subtotal: int = 0
    vat_total: int = 0
    total: int = 0


def preview(session: Session, period: date | None = None) -> Preview:
    q = (
        sa_select(
            col(Invoice.customer_id),
            func.count(),
            func.sum(Invoice.subtotal),
            func.sum(Invoice.vat_total),
            func.sum(Invoice.total),
        )
        .where(col(Invoice.status) == InvoiceStatus.DRAFT)
        .group_by(col(Invoice.customer_id))
        .order_by(col(Invoice.customer_id))
    )
    if period is not None:
        q = q.where(col(Invoice.period) == period)
    p = Preview(period)
    for cid, n, sub, vat, tot in session.execute(q):
        p.customers.append(CustomerPreview(cid, n, int(sub or 0), int(vat or 0), int(tot or 0)))
        p.drafts += n
        p.subtotal += int(sub or 0)
        p.vat_total += int(vat or 0)
        p.total += int(tot or 0)
    return p
