"""Pages of the privacy context: the readable audit log (`/audit`)."""

from datetime import date
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from noxus.core.deps import SessionDep, SettingsDep
from noxus.core.security import HRAdmin, TenantScope
from noxus.privacy import audit_view
from noxus.web.templating import templates

router = APIRouter(include_in_schema=False)


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None  # an unreadable date filters nothing (the form shows what was typed)


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    scope: TenantScope,
    user: HRAdmin,
    person: str = "",
    kiosk: str = "",
    first: str = "",
    last: str = "",
    before_id: int | None = None,
):
    zone = ZoneInfo(settings.timezone)
    filters = audit_view.Filters(
        person=person, kiosk=kiosk, first=_day(first), last=_day(last), before_id=before_id
    )
    events, next_id = audit_view.events(session, scope, zone, filters)
    return templates.TemplateResponse(
        request,
        "audit_log.html",
        {
            "events": events,
            "next_id": next_id,
            "zone": zone,
            "values": {"person": person, "kiosk": kiosk, "first": first, "last": last},
        },
    )
