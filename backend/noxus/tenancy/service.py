"""Tenancy services: plain functions over a session; routers, pages and the CLI call them and
commit. Every change is audited (noxus.core.audit)."""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import func, or_
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from noxus.core.audit import record as audit
from noxus.core.i18n import gettext as _
from noxus.core.i18n import lazy_gettext
from noxus.core.security import Scope
from noxus.core.types import id_of, utcnow
from noxus.tenancy.models import (
    Customer,
    CustomerCreate,
    CustomerPublic,
    CustomerUpdate,
    Site,
    SiteCreate,
    SiteUpdate,
)


class TenancyError(ValueError):
    """A request that cannot be honoured; `field` names the form field it is about."""

    def __init__(self, message: str, field: str | None = None, status: int = 409):
        super().__init__(message)
        self.field = field
        self.status = status


def customer_language(session: Session, customer_id: int) -> str | None:
    """The customer's language, which its users see unless they chose their own."""
    customer = session.get(Customer, customer_id)
    return customer.language if customer else None


def customer_languages(session: Session, customer_ids) -> dict[int, str | None]:
    """`customer_language` for many customers with one query; `customer_ids` is a list or a
    SELECT of ids (a run's contracts' customers)."""
    rows = session.execute(select(Customer.id, Customer.language).where(col(Customer.id).in_(customer_ids)))
    return {cid: language for cid, language in rows}


# --- the customer's account, as billing knows it -----------------------------------------------


@dataclass(frozen=True)
class Account:
    state: str  # good | overdue | reminder N | suspended | retrieval (billing's overdue states)
    balance: int  # centimes owed (negative: the customer's credit)


ACCOUNT_STATES = {
    "good": lazy_gettext("good"),
    "overdue": lazy_gettext("overdue"),
    "suspended": lazy_gettext("suspended"),
    "retrieval": lazy_gettext("retrieval"),
}


def account_state_label(state: str) -> str:
    """An account state as people read it, in the page's language ("reminder 2" → "in reminder 2");
    the API and the CLI keep the machine word."""
    word, _sep, level = state.partition(" ")
    if word == "reminder":
        return _("in reminder %(n)s", n=level or "1")
    return str(ACCOUNT_STATES.get(word, state))


# Tenancy knows nothing of billing: billing registers this at app start (noxus.main), as
# noxus.core.i18n.customer_language_resolver is registered by tenancy.
AccountProvider = Callable[[Session, Sequence[int]], Mapping[int, Account]]
account_provider: AccountProvider | None = None


def accounts(session: Session, customer_ids: Sequence[int]) -> Mapping[int, Account]:
    if account_provider is None or not customer_ids:
        return {}
    return account_provider(session, customer_ids)


def account(session: Session, customer: Customer) -> Account | None:
    return accounts(session, [id_of(customer)]).get(id_of(customer))


def public(customer: Customer, account: Account | None = None) -> CustomerPublic:
    data = customer.model_dump()
    if account is not None:
        data.update(account_state=account.state, balance=account.balance)
    return CustomerPublic.model_validate(data)


# --- customers ---------------------------------------------------------------------------------


def list_customers(session: Session, scope: Scope, q: str = "", archived: bool = False) -> list[Customer]:
    stmt = scope.where(select(Customer), Customer.id).order_by(func.lower(Customer.name))
    if not archived:
        stmt = stmt.where(col(Customer.archived_at).is_(None))
    q = (q or "").strip()
    if q:
        like = f"%{q.lower()}%"
        stmt = stmt.where(
            or_(
                func.lower(Customer.name).like(like),
                func.lower(Customer.legal_name).like(like),
                func.lower(Customer.town).like(like),
                func.lower(func.coalesce(Customer.vat_number, "")).like(like),
            )
        )
    return list(session.exec(stmt))


def list_customers_with_accounts(
    session: Session, scope: Scope, q: str = "", archived: bool = False
) -> list[tuple[Customer, Account | None]]:
    """`list_customers`, each with its account as billing knows it (None without billing)."""
    rows = list_customers(session, scope, q, archived)
    found = accounts(session, [id_of(c) for c in rows])
    return [(c, found.get(id_of(c))) for c in rows]


def get_customer(session: Session, scope: Scope, customer_id: int) -> Customer:
    customer = session.get(Customer, customer_id)
    if customer is None or not scope.allows(id_of(customer)):
        raise TenancyError(_("Customer %(id)s does not exist.", id=customer_id), status=404)
    return customer


def _taken(session: Session, same: SelectOfScalar, id_column: int | None, except_id: int | None) -> bool:
    """True when `same` finds a row other than the one being edited (`except_id`)."""
    if except_id is not None:
        same = same.where(col(id_column) != except_id)
    return session.exec(same).first() is not None


def _check_unique_name(session: Session, name: str, except_id: int | None = None) -> None:
    same = select(Customer.id).where(func.lower(Customer.name) == name.lower())
    if _taken(session, same, Customer.id, except_id):
        raise TenancyError(
            _("A customer named %(name)s already exists: choose another name.", name=name), field="name"
        )


def create_customer(session: Session, data: CustomerCreate, actor: str) -> Customer:
    _check_unique_name(session, data.name)
    customer = Customer.model_validate(data)
    session.add(customer)
    session.flush()
    audit(session, actor, "create", "customer", customer.id, customer.id, {"name": customer.name})
    return customer


def _apply(row, changes: dict) -> dict:
    """Set `changes` on `row`; returns what changed, {field: [before, after]}, for the audit trail."""
    diff = {}
    for key, value in changes.items():
        if getattr(row, key) != value:
            diff[key] = [getattr(row, key), value]
            setattr(row, key, value)
    return diff


def update_customer(session: Session, customer: Customer, data: CustomerUpdate, actor: str) -> Customer:
    changes = data.model_dump(exclude_unset=True)
    if changes.get("name") is not None:
        _check_unique_name(session, changes["name"], customer.id)
    # None leaves a field as it is, but an emptied UID is removed
    diff = _apply(customer, {k: v for k, v in changes.items() if v is not None or k == "vat_number"})
    session.add(customer)
    if diff:
        audit(session, actor, "update", "customer", customer.id, customer.id, diff)
    return customer


def set_archived(session: Session, customer: Customer, archived: bool, actor: str) -> Customer:
    """Archived customers leave lists and pickers; nothing is deleted (invoices, punches and the
    audit trail keep pointing at them). `archived=False` restores one."""
    if (customer.archived_at is not None) != archived:
        customer.archived_at = utcnow() if archived else None
        session.add(customer)
        audit(session, actor, "archive" if archived else "restore", "customer", customer.id, customer.id)
    return customer


def archive_customer(session: Session, customer: Customer, actor: str) -> Customer:
    return set_archived(session, customer, True, actor)


def restore_customer(session: Session, customer: Customer, actor: str) -> Customer:
    return set_archived(session, customer, False, actor)


# --- sites -------------------------------------------------------------------------------------


def list_sites(session: Session, scope: Scope, customer_id: int | None = None) -> list[Site]:
    stmt = scope.where(select(Site), Site.customer_id).order_by(col(Site.customer_id), func.lower(Site.name))
    if customer_id is not None:
        stmt = stmt.where(Site.customer_id == customer_id)
    return list(session.exec(stmt))


def get_site(session: Session, scope: Scope, site_id: int) -> Site:
    site = session.get(Site, site_id)
    if site is None or not scope.allows(site.customer_id):
        raise TenancyError(_("Site %(id)s does not exist.", id=site_id), status=404)
    return site


def _check_unique_site(session: Session, customer_id: int, name: str, except_id: int | None = None) -> None:
    same = select(Site.id).where(Site.customer_id == customer_id, func.lower(Site.name) == name.lower())
    if _taken(session, same, Site.id, except_id):
        raise TenancyError(_("This customer already has a site named %(name)s.", name=name), field="name")


def create_site(session: Session, scope: Scope, data: SiteCreate, actor: str) -> Site:
    customer = get_customer(session, scope, data.customer_id)
    if customer.archived_at is not None:
        raise TenancyError(
            _("Customer %(name)s is archived: restore it before adding a site.", name=customer.name),
            field="customer_id",
        )
    _check_unique_site(session, id_of(customer), data.name)
    site = Site.model_validate(data)
    session.add(site)
    session.flush()
    audit(
        session,
        actor,
        "create",
        "site",
        site.id,
        site.customer_id,
        {"name": site.name, "canton": site.canton},
    )
    return site


def update_site(session: Session, site: Site, data: SiteUpdate, actor: str) -> Site:
    changes = {k: v for k, v in data.model_dump(exclude_unset=True).items() if v is not None}
    if "name" in changes:
        _check_unique_site(session, site.customer_id, changes["name"], site.id)
    diff = _apply(site, changes)
    session.add(site)
    if diff:
        audit(session, actor, "update", "site", site.id, site.customer_id, diff)
    return site
