"""The audit log as people read it: one sentence per event, with names instead of ids, in the
company's time zone; filtered by person, kiosk and dates; paged (newest first)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from noxus.core.audit_entry import AuditEntry
from noxus.core.i18n import gettext as _
from noxus.core.i18n import lazy_gettext
from noxus.core.security import Scope
from noxus.core.users import User
from noxus.hr.models import Employee
from noxus.tenancy.models import Customer

PAGE_SIZE = 50

# What an object is called in a sentence.
OBJECTS = {
    "employee": lazy_gettext("employee %(name)s"),
    "badge": lazy_gettext("badge %(name)s"),
    "correction": lazy_gettext("correction %(name)s"),
    "absence": lazy_gettext("absence %(name)s"),
    "period": lazy_gettext("month close %(name)s"),
    "kiosk": lazy_gettext("kiosk %(name)s"),
    "customer": lazy_gettext("customer %(name)s"),
    "site": lazy_gettext("site %(name)s"),
    "user": lazy_gettext("user %(name)s"),
    "token": lazy_gettext("API token %(name)s"),
    "session": lazy_gettext("a session"),
    "invoice": lazy_gettext("invoice %(name)s"),
    "retrieval_case": lazy_gettext("retrieval case %(name)s"),
    "payment": lazy_gettext("payment %(name)s"),
    "kiosk_claim": lazy_gettext("kiosk claim %(name)s"),
}
# The verb of an action: its last word (employee.create -> create, invoice.reminded -> reminded).
VERBS = {
    "create": lazy_gettext("%(actor)s created %(object)s."),
    "update": lazy_gettext("%(actor)s changed %(object)s."),
    "read": lazy_gettext("%(actor)s viewed %(object)s."),
    "export": lazy_gettext("%(actor)s exported %(object)s."),
    "erase": lazy_gettext("%(actor)s erased the personal data of %(object)s."),
    "login": lazy_gettext("%(actor)s logged in."),
    "revoke": lazy_gettext("%(actor)s revoked %(object)s."),
    "unlock": lazy_gettext("%(actor)s unlocked %(object)s."),
    "assign": lazy_gettext("%(actor)s assigned %(object)s."),
    "close": lazy_gettext("%(actor)s closed %(object)s."),
    "reopen": lazy_gettext("%(actor)s reopened %(object)s."),
    "add": lazy_gettext("%(actor)s added %(object)s."),
    "move": lazy_gettext("%(actor)s moved a punch (%(object)s)."),
    "void": lazy_gettext("%(actor)s voided a punch (%(object)s)."),
    "delete": lazy_gettext("%(actor)s deleted %(object)s."),
    "invite": lazy_gettext("%(actor)s invited %(object)s."),
    "cancel": lazy_gettext("%(actor)s cancelled %(object)s."),
}


@dataclass
class Event:
    id: int
    at: datetime
    actor: str
    sentence: str


@dataclass
class Filters:
    person: str = ""
    kiosk: str = ""
    first: date | None = None
    last: date | None = None
    before_id: int | None = None


def _names(session: Session, model, ids: set[str], label) -> dict[str, str]:
    numeric = {int(i) for i in ids if i.isdigit()}
    if not numeric:
        return {}
    rows = session.exec(select(model).where(col(model.id).in_(numeric))).all()
    return {str(r.id): label(r) for r in rows}


def _person(actor: str) -> str:
    """'anna#3' -> 'anna'; 'cli:root' and 'system:retention' stay as they are."""
    return actor.split("#", 1)[0]


def events(session: Session, scope: Scope, zone: ZoneInfo, f: Filters) -> tuple[list[Event], int | None]:
    """One page of sentences and the id to continue from (None on the last page)."""
    stmt = scope.where(select(AuditEntry), AuditEntry.customer_id)
    if f.person:
        stmt = stmt.where(col(AuditEntry.actor).startswith(f.person.strip().lower()))
    if f.kiosk:
        stmt = stmt.where(AuditEntry.object_type == "kiosk", AuditEntry.object_id == f.kiosk.strip())
    if f.first:
        stmt = stmt.where(AuditEntry.at >= datetime.combine(f.first, time(), zone))
    if f.last:
        stmt = stmt.where(AuditEntry.at < datetime.combine(f.last + timedelta(days=1), time(), zone))
    if f.before_id:
        stmt = stmt.where(col(AuditEntry.id) < f.before_id)
    rows = list(session.exec(stmt.order_by(col(AuditEntry.id).desc()).limit(PAGE_SIZE + 1)).all())
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    ids: dict[str, set[str]] = {}
    for e in rows:
        ids.setdefault(e.object_type, set()).add(e.object_id)
    names = {
        "employee": _names(
            session, Employee, ids.get("employee", set()), lambda r: f"{r.first_name} {r.last_name}"
        ),
        "customer": _names(session, Customer, ids.get("customer", set()), lambda r: r.name),
        "user": _names(session, User, ids.get("user", set()), lambda r: r.username),
    }
    out = []
    for e in rows:
        name = names.get(e.object_type, {}).get(e.object_id) or (
            f"#{e.object_id}" if e.object_id.isdigit() else e.object_id
        )  # kiosk ids are their names
        template = OBJECTS.get(e.object_type)
        obj = str(template) % {"name": name} if template else f"{e.object_type} {name}".strip()
        verb = VERBS.get(e.action.rsplit(".", 1)[-1])
        sentence = (
            str(verb) % {"actor": _person(e.actor), "object": obj}
            if verb
            else _(
                "%(actor)s: %(action)s on %(object)s.", actor=_person(e.actor), action=e.action, object=obj
            )
        )
        out.append(Event(e.id or 0, e.at, _person(e.actor), sentence))
    return out, (rows[-1].id if more and rows else None)
