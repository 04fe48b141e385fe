"""JSON API of tenancy: /api/v1/customers and /api/v1/sites (docs/tenancy.md).

Everybody logged in may read, within their tenant (a customer user sees its own customer and
sites); NOXUS admins and billing staff create and change customers; admins, billing staff and
technicians create and change sites."""

from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, HTTPException, status
from sqlmodel import Session

from noxus.core.deps import SessionDep
from noxus.core.security import (
    AnyUserRule,
    BillingStaff,
    Principal,
    Role,
    Scope,
    TenantScope,
    require_roles,
)
from noxus.tenancy import service
from noxus.tenancy.models import (
    CustomerCreate,
    CustomerPublic,
    CustomerUpdate,
    SiteCreate,
    SitePublic,
    SiteUpdate,
)
from noxus.tenancy.service import TenancyError

router = APIRouter(prefix="/api/v1", tags=["tenancy"])
SiteWriter = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.BILLING, Role.TECHNICIAN))]
T = TypeVar("T")  # what the service returns: a Customer or Site row (the tables stay in service.py)


def _found(find: Callable[[], T]) -> T:
    """A service's refusal as the HTTP answer it names (404, 409…)."""
    try:
        return find()
    except TenancyError as e:
        raise HTTPException(e.status, detail=str(e)) from None


def _saved(session: Session, change: Callable[[], T]) -> T:
    """Run a service change and commit it; a refusal leaves nothing behind."""
    row = _found(change)
    session.commit()
    session.refresh(row)
    return row


@router.get("/customers", response_model=list[CustomerPublic], dependencies=[AnyUserRule])
def list_customers(session: SessionDep, scope: TenantScope, q: str = "", archived: bool = False):
    """Customers (search `q` in name, legal name, town, UID); `archived=true` adds archived ones."""
    return [
        service.public(c, a) for c, a in service.list_customers_with_accounts(session, scope, q, archived)
    ]


@router.post("/customers", response_model=CustomerPublic, status_code=status.HTTP_201_CREATED)
def create_customer(data: CustomerCreate, session: SessionDep, user: BillingStaff):
    return service.public(_saved(session, lambda: service.create_customer(session, data, user.actor)))


@router.get("/customers/{customer_id}", response_model=CustomerPublic, dependencies=[AnyUserRule])
def show_customer(customer_id: int, session: SessionDep, scope: TenantScope):
    customer = _found(lambda: service.get_customer(session, scope, customer_id))
    return service.public(customer, service.account(session, customer))


@router.patch("/customers/{customer_id}", response_model=CustomerPublic)
def update_customer(
    customer_id: int, data: CustomerUpdate, session: SessionDep, scope: TenantScope, user: BillingStaff
):
    customer = _found(lambda: service.get_customer(session, scope, customer_id))
    return service.public(
        _saved(session, lambda: service.update_customer(session, customer, data, user.actor))
    )


def _set_archived(session: Session, scope: Scope, customer_id: int, archived: bool, actor: str):
    customer = _found(lambda: service.get_customer(session, scope, customer_id))
    return service.public(_saved(session, lambda: service.set_archived(session, customer, archived, actor)))


@router.post("/customers/{customer_id}/archive", response_model=CustomerPublic)
def archive_customer(customer_id: int, session: SessionDep, scope: TenantScope, user: BillingStaff):
    return _set_archived(session, scope, customer_id, True, user.actor)


@router.post("/customers/{customer_id}/restore", response_model=CustomerPublic)
def restore_customer(customer_id: int, session: SessionDep, scope: TenantScope, user: BillingStaff):
    return _set_archived(session, scope, customer_id, False, user.actor)


@router.get("/sites", response_model=list[SitePublic], dependencies=[AnyUserRule])
def list_sites(session: SessionDep, scope: TenantScope, customer_id: int | None = None):
    return service.list_sites(session, scope, customer_id)


@router.post("/sites", response_model=SitePublic, status_code=status.HTTP_201_CREATED)
def create_site(data: SiteCreate, session: SessionDep, scope: TenantScope, user: SiteWriter):
    return _saved(session, lambda: service.create_site(session, scope, data, user.actor))


@router.get("/sites/{site_id}", response_model=SitePublic, dependencies=[AnyUserRule])
def show_site(site_id: int, session: SessionDep, scope: TenantScope):
    return _found(lambda: service.get_site(session, scope, site_id))


@router.patch("/sites/{site_id}", response_model=SitePublic)
def update_site(site_id: int, data: SiteUpdate, session: SessionDep, scope: TenantScope, user: SiteWriter):
    site = _found(lambda: service.get_site(session, scope, site_id))
    return _saved(session, lambda: service.update_site(session, site, data, user.actor))
