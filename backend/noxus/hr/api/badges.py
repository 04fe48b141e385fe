from fastapi import APIRouter, Query, status

from noxus.core.deps import SessionDep
from noxus.core.security import HRAdmin, HRReader, TenantScope
from noxus.hr import badges
from noxus.hr.api.common import http_errors, stored
from noxus.hr.schemas import BadgeAssign, BadgeEnd, BadgePublic, UnknownBadge

router = APIRouter(prefix="/api/v1/hr/badges", tags=["hr"])


@router.get("", response_model=list[BadgePublic])
def list_badges(
    session: SessionDep,
    scope: TenantScope,
    user: HRReader,
    employee_id: int | None = None,
    uid: str | None = None,
):
    with http_errors():
        return badges.listing(session, scope, employee_id, uid)


@router.get("/unknown", response_model=list[UnknownBadge])
def list_unknown_badges(
    session: SessionDep,
    scope: TenantScope,
    user: HRReader,
    customer_id: int | None = None,
    limit: int = Query(200, ge=1, le=1000),
):
    """UIDs punched on this customer's kiosks that no badge covered: assign them (POST /badges)."""
    if customer_id is not None:
        scope.check(customer_id, "customer")
    return badges.unknown(session, scope, customer_id, limit)


@router.post("", response_model=BadgePublic, status_code=status.HTTP_201_CREATED)
def assign_badge(data: BadgeAssign, session: SessionDep, scope: TenantScope, user: HRAdmin):
    with http_errors():
        badge = badges.assign(session, scope, data, user.actor)
    return stored(session, badge)


@router.post("/{badge_id}/end", response_model=BadgePublic)
def end_badge(badge_id: int, data: BadgeEnd, session: SessionDep, scope: TenantScope, user: HRAdmin):
    """Lost, replaced or revoked: the badge stops counting from `at` (default now)."""
    with http_errors():
        badge = badges.end(session, badges.get(session, scope, badge_id), data.state, user.actor, data.at)
    return stored(session, badge)
