"""What a customer's account blocks, asked by contexts that must not know who decides it.

Billing decides (a suspended customer: HR exports and new badges refused, with a message naming
the overdue invoice; noxus.billing.state) and HR asks here. Billing imports HR (its metering), so
HR importing billing would be a circle: billing registers its checker at start instead
(noxus.main, noxus.cli), as tenancy's account provider. Recording punches never asks."""

from collections.abc import Callable

from sqlmodel import Session

EXPORTS = "exports"  # timesheet and payroll exports (pages, API, CLI, background jobs)
BADGES = "badges"  # giving a badge to an employee

# checker(session, customer_id, what) -> the refusal to show, in the current language, or None
Checker = Callable[[Session, int, str], str | None]
_checkers: list[Checker] = []


def register(checker: Checker) -> None:
    if checker not in _checkers:
        _checkers.append(checker)


def unregister(checker: Checker) -> None:
    if checker in _checkers:
        _checkers.remove(checker)


def refusal(session: Session, customer_id: int, what: str) -> str | None:
    """Why `what` is refused for this customer today, or None when it is allowed."""
    for checker in _checkers:
        message = checker(session, customer_id, what)
        if message:
            return message
    return None
