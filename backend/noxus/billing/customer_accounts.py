"""What billing tells tenancy about a customer's account (the customers list): its overdue state
and balance. Registered at app start as noxus.tenancy.service.account_provider — tenancy never
imports billing."""

from collections.abc import Sequence

from sqlmodel import Session, select

from noxus.billing.models import BillingProfile, Invoice, OverdueState
from noxus.tenancy.service import Account

OPEN = ("open",)


def summaries(session: Session, customer_ids: Sequence[int]) -> dict[int, Account]:
    ids = sorted(set(customer_ids))
    states = {p.customer_id: p.overdue_state for p in
              session.exec(select(BillingProfile).where(BillingProfile.customer_id.in_(ids)))}
    balances: dict[int, int] = {}
    for inv in session.exec(select(Invoice).where(Invoice.customer_id.in_(ids), Invoice.status.in_(OPEN))):
        balances[inv.customer_id] = balances.get(inv.customer_id, 0) + inv.balance
    return {cid: Account(state=states.get(cid, OverdueState.GOOD.value), balance=balances.get(cid, 0))
            for cid in ids if cid in states or cid in balances}
