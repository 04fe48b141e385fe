"""A customer's billing standing, derived at read time from facts (open invoices and their due
dates, reminders issued, open §7.6 cases) — never a stored flag that lags behind until a job runs.

States (Kill Bill's overdue states), in increasing severity; the transitions are facts:

| state        | when (on `today`)                                                          |
|--------------|----------------------------------------------------------------------------|
| good         | no issued invoice with a balance is past its due date                       |
| overdue      | one is past due (§7.1: in default from the day after the due date)          |
| reminder     | a reminder was issued for a past-due invoice (level N = highest)            |
| suspended    | level N ≥ `billing_suspend_at_level` (0: never)                             |
| retrieval    | a §7.6 case for non-payment is open                                         |

`restrictions()` turns the standing into what is blocked (`billing_suspend_restricts`: exports,
badges); recording punches is never blocked.
"""

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from sqlalchemy import select as sa_select  # sqlmodel's select is typed for at most four columns
from sqlmodel import Session, col, func, select

from noxus.billing.models import (
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    Reminder,
    RetrievalCase,
    RetrievalStatus,
)
from noxus.billing.money import chf
from noxus.core.i18n import format_date
from noxus.core.i18n import gettext as _
from noxus.core.settings import Settings, get_settings

OPEN_CASE_STATES = (RetrievalStatus.FLAGGED, RetrievalStatus.NOTIFIED, RetrievalStatus.SCHEDULED)
RESTRICTABLE = ("exports", "badges")  # what a suspension may block; never punches


class CustomerState(StrEnum):
    GOOD = "good"
    OVERDUE = "overdue"
    REMINDER = "reminder"
    SUSPENDED = "suspended"
    RETRIEVAL = "retrieval"


@dataclass(frozen=True)
class Standing:
    customer_id: int
    state: CustomerState
    reminder_level: int = 0
    invoice_number: str | None = None  # the oldest past-due invoice
    due_date: date | None = None
    past_due_balance: int = 0  # centimes over every past-due invoice
    past_due_count: int = 0

    @property
    def blocking(self) -> bool:
        return self.state in (CustomerState.SUSPENDED, CustomerState.RETRIEVAL)

    @property
    def label(self) -> str:
        if self.state == CustomerState.REMINDER:
            return f"reminder {self.reminder_level}"
        return self.state.value


def standings(
    session: Session, customer_ids: list[int] | None, today: date, settings: Settings | None = None
) -> dict[int, Standing]:
    """Standings of many customers in three set-based queries (customers not in the result: good)."""
    settings = settings or get_settings()
    balance = (
        col(Invoice.total)
        + col(Invoice.fees_charged)
        - col(Invoice.amount_paid)
        - col(Invoice.amount_credited)
    )
    q = (
        sa_select(
            col(Invoice.customer_id), col(Invoice.id), col(Invoice.number), col(Invoice.due_date), balance
        )
        .where(
            col(Invoice.kind) == InvoiceKind.INVOICE,
            col(Invoice.status) == InvoiceStatus.OPEN,
            col(Invoice.due_date) < today,
            balance > 0,
        )
        .order_by(col(Invoice.customer_id), col(Invoice.due_date), col(Invoice.id))
    )
    if customer_ids is not None:
        q = q.where(col(Invoice.customer_id).in_(customer_ids))
    rows = session.execute(q).all()
    if not rows:
        return {}
    invoice_ids = [r[1] for r in rows]
    levels: dict[int, int] = {}
    for chunk in range(0, len(invoice_ids), 5000):
        part = invoice_ids[chunk : chunk + 5000]
        for inv_id, level in session.exec(
            select(col(Reminder.invoice_id), func.max(Reminder.level))
            .where(col(Reminder.invoice_id).in_(part), Reminder.issued_on <= today)
            .group_by(col(Reminder.invoice_id))
        ):
            levels[inv_id] = level
    customers = sorted({r[0] for r in rows})
    in_retrieval = set(
        session.exec(
            select(RetrievalCase.customer_id).where(
                col(RetrievalCase.customer_id).in_(customers),
                RetrievalCase.reason == "unpaid",
                col(RetrievalCase.status).in_(OPEN_CASE_STATES),
            )
        ).all()
    )
    result: dict[int, Standing] = {}
    by_customer: dict[int, list] = {}
    for r in rows:
        by_customer.setdefault(r[0], []).append(r)
    for cid, invs in by_customer.items():
        level = max(levels.get(r[1], 0) for r in invs)
        if cid in in_retrieval:
            state = CustomerState.RETRIEVAL
        elif settings.billing_suspend_at_level and level >= settings.billing_suspend_at_level:
            state = CustomerState.SUSPENDED
        elif level:
            state = CustomerState.REMINDER
        else:
            state = CustomerState.OVERDUE
        oldest = invs[0]
        result[cid] = Standing(cid, state, level, oldest[2], oldest[3], sum(r[4] for r in invs), len(invs))
    return result


def standing(session: Session, customer_id: int, today: date, settings: Settings | None = None) -> Standing:
    return standings(session, [customer_id], today, settings).get(
        customer_id, Standing(customer_id, CustomerState.GOOD)
    )


@dataclass(frozen=True)
class Restrictions:
    """What a customer's standing blocks today. `refusal(what)` is the message to show, or None."""

    standing: Standing
    blocked: frozenset[str]

    @property
    def exports(self) -> str | None:
        return self.refusal("exports")

    @property
    def badges(self) -> str | None:
        return self.refusal("badges")

    def refusal(self, what: str) -> str | None:
        """In the current language (the reader's: page, API caller, CLI)."""
        if what not in self.blocked:
            return None
        s = self.standing
        facts = {
            "number": s.invoice_number,
            "due": format_date(s.due_date),
            "n": s.reminder_level,
            "amount": chf(s.past_due_balance),
        }
        if what == "badges":
            return _(
                "New badges are suspended for this customer: invoice %(number)s (due %(due)s) is unpaid "
                "after %(n)s reminder(s); CHF %(amount)s past due. Recording punches continues. Pay the "
                "invoice or contact NOXUS billing to lift it.",
                **facts,
            )
        return _(
            "HR exports are suspended for this customer: invoice %(number)s (due %(due)s) is unpaid "
            "after %(n)s reminder(s); CHF %(amount)s past due. Recording punches continues. Pay the "
            "invoice or contact NOXUS billing to lift it.",
            **facts,
        )


def restrictions(
    session: Session, customer_id: int, today: date, settings: Settings | None = None
) -> Restrictions:
    """For other contexts (HR exports, badges): what is blocked for this customer on `today`."""
    settings = settings or get_settings()
    s = standing(session, customer_id, today, settings)
    blocked = (
        frozenset(w for w in settings.billing_suspend_restricts if w in RESTRICTABLE)
        if s.blocking
        else frozenset()
    )
    return Restrictions(s, blocked)


def refusal(session: Session, customer_id: int, what: str) -> str | None:
    """The checker billing registers in noxus.core.restrictions (HR asks it): today in the
    company zone, the settings of the process."""
    from noxus.billing.dates import company_today

    settings = get_settings()
    return restrictions(session, customer_id, company_today(settings), settings).refusal(what)
