from fastapi import APIRouter, Query, status

from noxus.core.deps import SessionDep, SettingsDep
from noxus.core.security import HRAdmin, HRReader, TenantScope
from noxus.hr import corrections
from noxus.hr.api.common import http_errors, stored
from noxus.hr.schemas import CorrectionCreate, CorrectionPublic

router = APIRouter(prefix="/api/v1/hr/corrections", tags=["hr"])


@router.get("", response_model=list[CorrectionPublic])
def list_corrections(
    session: SessionDep,
    scope: TenantScope,
    user: HRReader,
    employee_id: int | None = None,
    limit: int = Query(200, ge=1, le=1000),
):
    return corrections.listing(session, scope, employee_id, limit)


@router.post("", response_model=CorrectionPublic, status_code=status.HTTP_201_CREATED)
def create_correction(
    data: CorrectionCreate, session: SessionDep, settings: SettingsDep, scope: TenantScope, user: HRAdmin
):
    """Add a missing punch, move or void one. Refused (409) inside a closed month."""
    with http_errors():
        c = corrections.create(session, scope, data, user.actor, settings)
    return stored(session, c)
