"""Month locks: list, close (with or without the checklist), reopen; and the HR audit log."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from noxus.core.deps import SessionDep, SettingsDep
from noxus.core.security import HRAdmin, HRReader, TenantScope
from noxus.hr import audit, periods
from noxus.hr.api.common import http_errors, stored
from noxus.hr.schemas import AuditPublic, ChecklistItem, PeriodClose, PeriodPublic, PeriodReopen

router = APIRouter(prefix="/api/v1/hr", tags=["hr"])


@router.get("/periods", response_model=list[PeriodPublic])
def list_periods(session: SessionDep, scope: TenantScope, user: HRReader, customer_id: int | None = None):
    return periods.listing(session, scope.resolve_customer(customer_id))


@router.post("/periods/close", response_model=PeriodPublic)
def close_period(data: PeriodClose, session: SessionDep, scope: TenantScope, user: HRAdmin):
    with http_errors():
        lock = periods.close(
            session, scope.resolve_customer(data.customer_id), data.year, data.month, user.actor
        )
    return stored(session, lock)


@router.post("/periods/reopen", response_model=PeriodPublic)
def reopen_period(data: PeriodReopen, session: SessionDep, scope: TenantScope, user: HRAdmin):
    with http_errors():
        lock = periods.reopen(
            session, scope.resolve_customer(data.customer_id), data.year, data.month, user.actor, data.reason
        )
    return stored(session, lock)


@dataclass
class CustomerMonth:
    customer_id: int  # a customer user's own
    year: int
    month: int


def _customer_month(
    scope: TenantScope,
    year: int = Query(ge=2000, le=2100),
    month: int = Query(ge=1, le=12),
    customer_id: int | None = None,
) -> CustomerMonth:
    return CustomerMonth(scope.resolve_customer(customer_id), year, month)


MonthOf = Annotated[CustomerMonth, Depends(_customer_month)]


@router.get("/periods/checklist", response_model=list[ChecklistItem])
def close_checklist(session: SessionDep, settings: SettingsDep, user: HRReader, m: MonthOf):
    """What to review before closing: open exceptions, open shifts, unknown badges, absences over punches."""
    with http_errors():
        checks, _ = periods.checklist(session, m.customer_id, m.year, m.month, settings)
    return [ChecklistItem(**c.__dict__) for c in checks]


@router.post("/periods/close-month", response_model=PeriodPublic)
def close_month(
    session: SessionDep, settings: SettingsDep, user: HRAdmin, m: MonthOf, acknowledged: bool = False
):
    """Close an ended month and store its balances; 409 while the checklist is not acknowledged."""
    with http_errors():
        lock = periods.close_month(
            session, m.customer_id, m.year, m.month, user.actor, settings, acknowledged=acknowledged
        )
    return stored(session, lock)


@router.get("/audit", response_model=list[AuditPublic])
def list_audit(
    session: SessionDep,
    scope: TenantScope,
    user: HRReader,
    customer_id: int | None = None,
    entity: str | None = None,
    entity_id: int | None = None,
    limit: int = Query(200, ge=1, le=1000),
):
    return audit.events(session, scope.resolve_customer(customer_id), entity, entity_id, limit)
