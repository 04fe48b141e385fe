"""The staff's operations overview (`/`): kiosks, open alerts, latest punches."""

from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlmodel import select

from noxus.core.deps import SessionDep, SettingsDep
from noxus.core.security import StaffRule
from noxus.fleet import service as fleet
from noxus.ingest.models import Punch
from noxus.web.templating import templates

router = APIRouter(include_in_schema=False, dependencies=[StaffRule])  # overview of every tenant


@router.get("/", response_class=HTMLResponse)
def home(request: Request, session: SessionDep, settings: SettingsDep):
    zone = ZoneInfo(settings.timezone)
    punches = session.exec(select(Punch).order_by(Punch.id.desc()).limit(50)).all()
    return templates.TemplateResponse(request, "home.html", {
        "punches": punches, "kiosks": fleet.list_kiosks(session),
        "alerts": fleet.list_alerts(session, limit=10), "zone": zone,
        "total": session.exec(select(Punch.id).order_by(Punch.id.desc()).limit(1)).first() or 0,
    })
