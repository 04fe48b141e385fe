"""Tenancy services: plain functions over a session."""

from sqlmodel import Session

from noxus.tenancy.models import Customer


def customer_language(session: Session, customer_id: int) -> str | None:
    """The customer's language, which its users see unless they chose their own."""
    customer = session.get(Customer, customer_id)
    return customer.language if customer else None
