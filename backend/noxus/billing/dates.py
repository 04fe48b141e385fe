"""Business dates. Every billing action (dunning, §7.6 notices and retrieval steps, payments,
issuing) is dated "today" — the server's date in the company zone (NOXUS_TIMEZONE). A date in the
future is refused; an earlier date (a back-dated action, e.g. entering a cheque received last
week) needs a reason and is recorded in the audit trail."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session

from noxus.billing import audit
from noxus.core.i18n import format_date
from noxus.core.settings import Settings, get_settings


class BusinessDateError(ValueError):
    pass


def company_today(settings: Settings | None = None) -> date:
    return datetime.now(ZoneInfo((settings or get_settings()).timezone)).date()


def action_date(
    session: Session,
    what: str,
    day: date | None,
    *,
    reason: str | None = None,
    actor: str = "system",
    customer_id: int | None = None,
    settings: Settings | None = None,
    **detail,
) -> date:
    """`day` checked for an action `what` (None: today). Future: refused. Earlier than today:
    only with a reason, recorded as a `backdated` billing event. Returns the date to use."""
    today = company_today(settings)
    if day is None or day == today:
        return today
    if day > today:
        raise BusinessDateError(
            f"{what} cannot be dated in the future: {format_date(day)} is after today "
            f"({format_date(today)}); leave the date empty to use today"
        )
    if not (reason or "").strip():
        raise BusinessDateError(
            f"{what} dated {format_date(day)} is back-dated (today is {format_date(today)}): "
            "give the reason, or leave the date empty to use today"
        )
    audit.record(
        session,
        "backdated",
        actor=actor,
        customer_id=customer_id,
        action=what,
        date=day.isoformat(),
        today=today.isoformat(),
        reason=(reason or "").strip()[:300],
        **detail,
    )
    return day
