"""The security log as people read it: one sentence per log-in attempt (who, from which address,
and why it was refused), in the company's time zone, filtered by person and dates, paged newest
first like the audit log (/audit)."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, func, select

from noxus.core.i18n import gettext as _
from noxus.core.i18n import lazy_gettext
from noxus.core.users import LoginAttempt

PAGE_SIZE = 50

# Why a log-in was refused (accounts.authenticate records these reasons).
REFUSALS = {
    "bad_password": lazy_gettext("Log-in refused for %(user)s from %(ip)s: wrong password."),
    "bad_password+locked": lazy_gettext(
        "Log-in refused for %(user)s from %(ip)s: wrong password; the account is now locked."
    ),
    "inactive": lazy_gettext("Log-in refused for %(user)s from %(ip)s: the account is deactivated."),
    "inactive+locked": lazy_gettext(
        "Log-in refused for %(user)s from %(ip)s: the account is deactivated; it is now locked."
    ),
    "unknown_user": lazy_gettext("Log-in refused for %(user)s from %(ip)s: there is no such user."),
    "locked": lazy_gettext("Log-in refused for %(user)s from %(ip)s: the account is locked."),
    "rate_limited": lazy_gettext(
        "Log-in refused for %(user)s from %(ip)s: too many failed attempts from this address."
    ),
}


@dataclass
class Event:
    id: int
    at: datetime
    success: bool
    sentence: str


@dataclass
class Filters:
    person: str = ""
    first: date | None = None
    last: date | None = None
    failed_only: bool = False
    before_id: int | None = None


def sentence(attempt: LoginAttempt) -> str:
    names = {"user": attempt.username or "?", "ip": attempt.ip}
    if attempt.success:
        return _("%(user)s logged in from %(ip)s.", **names)
    template = REFUSALS.get(attempt.reason)
    if template is None:
        return _("Log-in refused for %(user)s from %(ip)s (%(reason)s).", reason=attempt.reason, **names)
    return str(template) % names


def day(text: str | None) -> date | None:
    """A date filter as typed (yyyy-mm-dd from the date field); unreadable: no filter, and the
    form shows what was typed (as /audit)."""
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def attempts(session: Session, zone: ZoneInfo, f: Filters, limit: int = PAGE_SIZE) -> list[LoginAttempt]:
    """Newest first, `limit` at most, from before `f.before_id`."""
    stmt = select(LoginAttempt)
    if f.person.strip():
        stmt = stmt.where(func.lower(LoginAttempt.username).startswith(f.person.strip().lower()))
    if f.first:
        stmt = stmt.where(LoginAttempt.at >= datetime.combine(f.first, time(), zone))
    if f.last:
        stmt = stmt.where(LoginAttempt.at < datetime.combine(f.last + timedelta(days=1), time(), zone))
    if f.failed_only:
        stmt = stmt.where(col(LoginAttempt.success).is_(False))
    if f.before_id:
        stmt = stmt.where(col(LoginAttempt.id) < f.before_id)
    return list(session.exec(stmt.order_by(col(LoginAttempt.id).desc()).limit(limit)).all())


def events(session: Session, zone: ZoneInfo, f: Filters) -> tuple[list[Event], int | None]:
    """One page of sentences and the id to continue from (None on the last page)."""
    rows = attempts(session, zone, f, PAGE_SIZE + 1)
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    out = [Event(a.id or 0, a.at, a.success, sentence(a)) for a in rows]
    return out, (rows[-1].id if more and rows else None)
