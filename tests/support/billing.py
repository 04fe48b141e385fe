"""Billing data shared by tests/billing and bench/billing_run."""

from datetime import date

from noxus.billing.models import Plan, PlanVersion
from sqlmodel import Session


def standard_plan(session: Session) -> Plan:
    """Plan STD, its prices in force since 2020: CHF 49.00 per contract, CHF 15.00 per kiosk,
    10 users included, CHF 3.50 per additional user, CHF 250.00 set-up (flushed, not committed)."""
    plan = Plan(code="STD", name="NoxusTime Standard")
    session.add(plan)
    session.flush()
    session.add(
        PlanVersion(
            plan_id=plan.id,
            effective_from=date(2020, 1, 1),
            monthly_fee=4900,
            monthly_fee_per_kiosk=1500,
            users_included=10,
            price_per_additional_user=350,
            setup_fee=25000,
        )
    )
    session.flush()
    return plan
