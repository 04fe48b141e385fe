"""The invoice list with filters (state, customer, period, amount), for the page and the API."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, col, select

from noxus.billing.models import Invoice


@dataclass
class InvoiceFilter:
    customer_id: int | None = None
    status: str | None = None  # draft, open, paid, void, or "overdue" (open and past due)
    kind: str | None = None  # invoice, credit_note
    period: date | None = None  # any day of the run month
    min_total: int | None = None  # centimes
    max_total: int | None = None
    number: str | None = None  # part of the number


def filtered(
    session: Session,
    f: InvoiceFilter,
    *,
    today: date | None = None,
    limit: int = 200,
    where: Callable | None = None,
) -> list[Invoice]:
    q = select(Invoice)
    if where is not None:
        q = where(q)
    if f.customer_id is not None:
        q = q.where(Invoice.customer_id == f.customer_id)
    if f.status == "overdue":
        q = q.where(Invoice.status == "open", Invoice.due_date < (today or date.today()))
    elif f.status:
        q = q.where(Invoice.status == f.status)
    if f.kind:
        q = q.where(Invoice.kind == f.kind)
    if f.period is not None:
        q = q.where(Invoice.period == f.period.replace(day=1))
    if f.min_total is not None:
        q = q.where(Invoice.total >= f.min_total)
    if f.max_total is not None:
        q = q.where(Invoice.total <= f.max_total)
    if f.number:
        q = q.where(col(Invoice.number).contains(f.number.strip()))
    return list(session.exec(q.order_by(col(Invoice.id).desc()).limit(limit)))
