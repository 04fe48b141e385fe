"""HR service errors: the message says what was wrong and what to do; the
routers turn them into 404 / 409 / 422."""


class HRError(ValueError):
    status_code = 422


class NotFound(HRError):
    status_code = 404


class Conflict(HRError):
    status_code = 409


class Locked(Conflict):
    """A change inside a closed month."""


class Suspended(HRError):
    """Refused by the customer's account (billing's suspension: an unpaid invoice)."""

    status_code = 403


def refuse_if_suspended(session, customer_id: int, what: str) -> None:
    """Raise `Suspended` with billing's message (naming the overdue invoice) when the customer's
    account blocks `what` (noxus.core.restrictions.EXPORTS / BADGES). Punches never ask."""
    from noxus.core.restrictions import refusal

    message = refusal(session, customer_id, what)
    if message:
        raise Suspended(message)
