"""Staff pages: the fleet overview (sortable table, charts of the last 24 h). One kiosk's page and its actions:
noxus.fleet.kiosk_pages."""

from datetime import timedelta
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlmodel import select

from noxus.core.deps import SessionDep, SettingsDep
from noxus.core.i18n import format_decimal, format_time
from noxus.core.i18n import gettext as _
from noxus.core.security import StaffRule
from noxus.core.types import utcnow
from noxus.fleet import monitor, service, telemetry
from noxus.fleet.labels import CONNECTION_NAMES, STATUS_NAMES
from noxus.web.charts import line_chart
from noxus.web.templating import templates

router = APIRouter(prefix="/fleet", include_in_schema=False, dependencies=[StaffRule])


def _percent(v: float) -> str:
    return f"{round(v * 100)} %"


def _charts(fills, pendings, kiosk_id: str) -> tuple:
    """Journal fill (0–100 %) and punches waiting on the kiosk over the last 24 h."""
    fill = line_chart(
        fills.get(kiosk_id, []),
        y_max=1.0,
        y_label=_percent,
        x_label=format_time,
        title=_("Journal fill, last 24 h"),
    )
    pending = line_chart(
        pendings.get(kiosk_id, []),
        y_label=lambda v: format_decimal(v, 0),
        x_label=format_time,
        title=_("Punches waiting on the kiosk, last 24 h"),
    )
    return fill, pending


def _names(session, model, ids):
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return {row.id: row.name for row in session.exec(select(model).where(model.id.in_(ids)))}


@router.get("", response_class=HTMLResponse)
def overview(request: Request, session: SessionDep, settings: SettingsDep):
    from noxus.tenancy.models import Customer, Site

    now = utcnow()
    kiosks = service.list_kiosks(session)
    ids = [k.id for k in kiosks]
    fills = telemetry.recent_series(session, ids, now - timedelta(hours=24), "fill")
    pendings = telemetry.recent_series(session, ids, now - timedelta(hours=24), "pending")
    alerts: dict[str, list[str]] = {}
    for a in service.list_alerts(session, limit=1000, open_only=True):
        alerts.setdefault(a.kiosk_id, []).append(a.kind)
    rows = []
    for k in kiosks:
        fill_chart, pending_chart = _charts(fills, pendings, k.id)
        rows.append(
            {
                "k": k,
                "conn": monitor.connection(k, now, settings),
                "fill_chart": fill_chart,
                "pending_chart": pending_chart,
                "fill": (k.telemetry or {}).get("fill"),
                "pending": (k.telemetry or {}).get("pending"),
                "alerts": sorted(set(alerts.get(k.id, []))),
            }
        )
    return templates.TemplateResponse(
        request,
        "fleet_overview.html",
        {
            "rows": rows,
            "zone": ZoneInfo(settings.timezone),
            "customers": _names(session, Customer, [k.customer_id for k in kiosks]),
            "sites": _names(session, Site, [k.site_id for k in kiosks]),
            "online": sum(r["conn"] == "online" for r in rows),
            "connection_names": CONNECTION_NAMES,
            "status_names": STATUS_NAMES,
        },
    )
