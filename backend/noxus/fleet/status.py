"""The asset life cycle of a kiosk: its statuses and the transitions allowed
between them, written down in one place. Every change is an audited event."""

from datetime import datetime

from sqlmodel import Session, col, select

from noxus.core.types import utcnow
from noxus.fleet import deployments
from noxus.fleet.models import Kiosk, KioskStatus, KioskStatusEvent

S = KioskStatus

TRANSITIONS: dict[KioskStatus, frozenset[KioskStatus]] = {
    S.IN_STOCK: frozenset({S.DEPLOYED, S.BROKEN, S.LOST}),
    # deployed -> deployed is a move to another site of a customer
    S.DEPLOYED: frozenset(
        {S.DEPLOYED, S.RETRIEVAL_ELIGIBLE, S.RETRIEVAL_SCHEDULED, S.RETRIEVED, S.BROKEN, S.LOST}
    ),
    # the debt is paid: back to deployed
    S.RETRIEVAL_ELIGIBLE: frozenset({S.RETRIEVAL_SCHEDULED, S.DEPLOYED, S.BROKEN, S.LOST}),
    # visit cancelled (-> eligible) or debt paid (-> deployed)
    S.RETRIEVAL_SCHEDULED: frozenset({S.RETRIEVED, S.RETRIEVAL_ELIGIBLE, S.DEPLOYED, S.BROKEN, S.LOST}),
    S.RETRIEVED: frozenset({S.IN_STOCK, S.BROKEN}),
    S.BROKEN: frozenset({S.IN_STOCK, S.LOST}),
    S.LOST: frozenset({S.IN_STOCK}),
}

# Statuses in which the kiosk is at a customer's site.
AT_CUSTOMER = frozenset({S.DEPLOYED, S.RETRIEVAL_ELIGIBLE, S.RETRIEVAL_SCHEDULED})


class TransitionError(ValueError):
    pass


def _site_customer(session: Session, site_id: int) -> int | None:
    from noxus.tenancy.models import Site

    site = session.get(Site, site_id)
    return None if site is None else site.customer_id


def change_status(
    session: Session,
    kiosk: Kiosk,
    to: KioskStatus | str,
    actor: str,
    *,
    customer_id: int | None = None,
    site_id: int | None = None,
    at: datetime | None = None,
    scheduled_for: datetime | None = None,
    reason: str = "",
) -> KioskStatusEvent:
    """Apply one transition and record it. Raises TransitionError with what to do."""
    to = KioskStatus(to)
    current = KioskStatus(kiosk.status)
    if to not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "none"
        raise TransitionError(
            f"kiosk {kiosk.id} is {current.value}: it cannot become {to.value} (allowed next: {allowed})"
        )
    if not actor:
        raise TransitionError("say who made the change (actor)")
    at = at or utcnow()
    if to == S.DEPLOYED and current != S.RETRIEVAL_ELIGIBLE and current != S.RETRIEVAL_SCHEDULED:
        # install or move: needs the site; the customer follows from it
        if site_id is None:
            raise TransitionError(f"deploying kiosk {kiosk.id} needs site_id (the site it is installed at)")
        owner = _site_customer(session, site_id)
        if owner is None:
            raise TransitionError(f"site {site_id} does not exist: create it first")
        if customer_id is not None and customer_id != owner:
            raise TransitionError(f"site {site_id} belongs to customer {owner}, not {customer_id}")
        if current == S.DEPLOYED and site_id == kiosk.site_id:
            raise TransitionError(f"kiosk {kiosk.id} is already deployed at site {site_id}")
        kiosk.customer_id, kiosk.site_id = owner, site_id
        kiosk.installed_at = at
        kiosk.retrieved_at = None
    elif to == S.RETRIEVAL_SCHEDULED and scheduled_for is None:
        raise TransitionError("scheduling a retrieval needs scheduled_for (the visit's date and time)")
    elif to == S.RETRIEVED:
        kiosk.retrieved_at = at
    if to not in AT_CUSTOMER:
        # Back at NOXUS (or gone): the kiosk no longer belongs to a site.
        kiosk.customer_id, kiosk.site_id = None, None
    from_status = current.value
    kiosk.status = to.value
    event = KioskStatusEvent(
        kiosk_id=kiosk.id,
        from_status=from_status,
        to_status=to.value,
        customer_id=kiosk.customer_id,
        site_id=kiosk.site_id,
        at=at,
        scheduled_for=scheduled_for,
        actor=actor[:120],
        reason=reason[:500],
    )
    session.add(kiosk)
    session.add(event)
    deployments.follow(session, kiosk, at, actor)
    return event


def record_initial(session: Session, kiosk: Kiosk, actor: str) -> None:
    session.add(
        KioskStatusEvent(
            kiosk_id=kiosk.id,
            from_status=None,
            to_status=kiosk.status,
            actor=actor[:120],
            reason="registered",
        )
    )


def history(session: Session, kiosk_id: str) -> list[KioskStatusEvent]:
    return list(
        session.exec(
            select(KioskStatusEvent)
            .where(KioskStatusEvent.kiosk_id == kiosk_id)
            .order_by(col(KioskStatusEvent.at), col(KioskStatusEvent.id))
        )
    )
