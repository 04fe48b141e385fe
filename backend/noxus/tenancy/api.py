"""JSON API of tenancy: /api/v1/customers and /api/v1/sites (docs/tenancy.md).

Everybody logged in may read, within their tenant (a customer user sees its own customer and
sites); NOXUS admins and billing staff create and change customers; admins, billing staff and
technicians create and change sites."""

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, status

from noxus.core.deps import SessionDep
from noxus.core.security import AnyUserRule, BillingStaff, Principal, Role, TenantScope, require_roles
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


def _http(e: TenancyError) -> HTTPException:
    return HTTPException(e.status, detail=str(e))


@router.get("/customers", response_model=list[CustomerPublic], dependencies=[AnyUserRule])
def list_customers(session: SessionDep, scope: TenantScope, q: str = "", archived: bool = False):
    """Customers (search `q` in name, legal name, town, UID); `archived=true` adds archived ones."""
    rows = service.list_customers(session, scope, q, archived)
    accounts = service.accounts(session, [c.id for c in rows])
    return [service.public(c, accounts.get(c.id)) for c in rows]


@router.post("/customers", response_model=CustomerPublic, status_code=status.HTTP_201_CREATED)
def create_customer(data: CustomerCreate, session: SessionDep, user: BillingStaff):
    try:
        customer = service.create_customer(session, data, user.actor)
    except TenancyError as e:
        raise _http(e) from None
    session.commit()
    session.refresh(customer)
    return service.public(customer)


@router.get("/customers/{customer_id}", response_model=CustomerPublic, dependencies=[AnyUserRule])
def show_customer(customer_id: int, session: SessionDep, scope: TenantScope):
    try:
        customer = service.get_customer(session, scope, customer_id)
    except TenancyError as e:
        raise _http(e) from None
    return service.public(customer, service.accounts(session, [customer.id]).get(customer.id))


@router.patch("/customers/{customer_id}", response_model=CustomerPublic)
def update_customer(
    customer_id: int, data: CustomerUpdate, session: SessionDep, scope: TenantScope, user: BillingStaff
):
    try:
        customer = service.update_customer(
            session, service.get_customer(session, scope, customer_id), data, user.actor
        )
    except TenancyError as e:
        raise _http(e) from None
    session.commit()
    session.refresh(customer)
    return service.public(customer)


@router.post("/customers/{customer_id}/archive", response_model=CustomerPublic)
def archive_customer(customer_id: int, session: SessionDep, scope: TenantScope, user: BillingStaff):
    try:
        customer = service.archive_customer(
            session, service.get_customer(session, scope, customer_id), user.actor
        )
    except TenancyError as e:
        raise _http(e) from None
    session.commit()
    session.refresh(customer)
    return service.public(customer)


@router.post("/customers/{customer_id}/restore", response_model=CustomerPublic)
def restore_customer(customer_id: int, session: SessionDep, scope: TenantScope, user: BillingStaff):
    try:
        customer = service.restore_customer(
            session, service.get_customer(session, scope, customer_id), user.actor
        )
    except TenancyError as e:
        raise _http(e) from None
    session.commit()
    session.refresh(customer)
    return service.public(customer)


@router.get("/sites", response_model=list[SitePublic], dependencies=[AnyUserRule])
def list_sites(session: SessionDep, scope: TenantScope, customer_id: int | None = None):
    return service.list_sites(session, scope, customer_id)


@router.post("/sites", response_model=SitePublic, status_code=status.HTTP_201_CREATED)
def create_site(data: SiteCreate, session: SessionDep, scope: TenantScope, user: SiteWriter):
    try:
        site = service.create_site(session, scope, data, user.actor)
    except TenancyError as e:
        raise _http(e) from None
    session.commit()
    session.refresh(site)
    return site


@router.get("/sites/{site_id}", response_model=SitePublic, dependencies=[AnyUserRule])
def show_site(site_id: int, session: SessionDep, scope: TenantScope):
    try:
        return service.get_site(session, scope, site_id)
    except TenancyError as e:
        raise _http(e) from None


@router.patch("/sites/{site_id}", response_model=SitePublic)
def update_site(site_id: int, data: SiteUpdate, session: SessionDep, scope: TenantScope, user: SiteWriter):
    try:
        site = service.update_site(session, service.get_site(session, scope, site_id), data, user.actor)
    except TenancyError as e:
        raise _http(e) from None
    session.commit()
    session.refresh(site)
    return site
