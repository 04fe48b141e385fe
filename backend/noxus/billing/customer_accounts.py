"""What billing tells tenancy about a customer's account (the customers list): its standing,
derived at read time (billing.state), and balance. Registered at app start as
noxus.tenancy.service.account_provider — tenancy never imports billing."""

from collections.abc import Sequence

from sqlmodel import Session, col, select

from noxus.billing.dates import company_today
from noxus.billing.models import BillingProfile, Invoice
from noxus.billing.state import standings
from noxus.tenancy.service import Account

OPEN = ("open",)


def summaries(session: Session, customer_ids: Sequence[int]) -> dict[int, Account]:
    ids = sorted(set(customer_ids))
    with_profile = set(
        session.exec(select(col(BillingProfile.customer_id)).where(col(BillingProfile.customer_id).in_(ids)))
    )
    current = standings(session, ids, company_today())
    balances: dict[int, int] = {}
    for inv in session.exec(
        select(Invoice).where(col(Invoice.customer_id).in_(ids), col(Invoice.status).in_(OPEN))
    ):
        balances[inv.customer_id] = balances.get(inv.customer_id, 0) + inv.balance
    return {
        cid: Account(state=current[cid].label if cid in current else "good", balance=balances.get(cid, 0))
        for cid in ids
        if cid in with_profile or cid in balances
    }
