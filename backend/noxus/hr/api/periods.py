from fastapi import APIRouter, Query

from noxus.core.deps import SessionDep
from noxus.core.security import HRAdmin, HRReader, TenantScope
from noxus.hr import audit, periods
from noxus.hr.api.common import http_errors, stored
from noxus.hr.schemas import AuditPublic, PeriodClose, PeriodPublic, PeriodReopen

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
