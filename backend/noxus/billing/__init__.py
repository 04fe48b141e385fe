"""Billing: plans, contracts, the monthly run, invoices, payments, dunning, §7.6 retrieval.

Other contexts call `restrictions(session, customer_id, today)` to learn what a customer's
standing blocks today (HR exports, new badges), with the message to show; recording punches is
never blocked (docs/billing.md, "Suspension")."""

from datetime import date

from sqlmodel import Session

from noxus.billing import outbox as _outbox  # noqa: F401  (registers billing documents as mail attachments)


def restrictions(session: Session, customer_id: int, today: date, settings=None):
    """`noxus.billing.state.Restrictions` of a customer on `today`: `.exports` / `.badges` is the
    refusal message (naming the overdue invoice) or None when allowed."""
    from noxus.billing.state import restrictions as _restrictions

    return _restrictions(session, customer_id, today, settings)
