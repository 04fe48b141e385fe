"""The staff's operations overview (`/`): kiosks, open alerts, latest punches."""

from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import func
from sqlmodel import col, select

from noxus.core.deps import SessionDep, SettingsDep
from noxus.core.security import StaffRule
from noxus.core.types import utcnow
from noxus.fleet import monitor
from noxus.fleet import service as fleet
from noxus.fleet.labels import CONNECTION_NAMES
from noxus.ingest.models import Punch
from noxus.web.templating import templates

router = APIRouter(include_in_schema=False, dependencies=[StaffRule])  # overview of every tenant


@router.get("/", response_class=HTMLResponse)
def home(request: Request, session: SessionDep, settings: SettingsDep):
    zone = ZoneInfo(settings.timezone)
    punches = session.exec(select(Punch).order_by(col(Punch.id).desc()).limit(50)).all()
    now = utcnow()
    kiosks = [{"k": k, "conn": monitor.connection(k, now, settings)} for k in fleet.list_kiosks(session)]
    return templates.TemplateResponse(
        request,
        "home.html",
        {
            "punches": punches,
            "kiosks": kiosks,
            "connection_names": CONNECTION_NAMES,
            "alerts": fleet.list_alerts(session, limit=10),
            "zone": zone,
            # a real count: ids have gaps (retention, PostgreSQL conflicts)
            "total": session.exec(select(func.count()).select_from(Punch)).one(),
        },
    )
