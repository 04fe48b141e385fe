"""Staff pages: the fleet overview (sortable table, sparklines). One kiosk's page and its actions:
noxus.fleet.kiosk_pages."""

from datetime import timedelta
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlmodel import select

from noxus.core.deps import SessionDep, SettingsDep
from noxus.core.security import StaffRule
from noxus.core.types import utcnow
from noxus.fleet import monitor, service, telemetry
from noxus.web.templating import templates

router = APIRouter(prefix="/fleet", include_in_schema=False, dependencies=[StaffRule])

SPARK_W, SPARK_H = 120, 24


def sparkline(points: list[tuple], lo: float = 0.0, hi: float | None = None,
              w: int = SPARK_W, h: int = SPARK_H) -> str:
    """SVG polyline points for a small inline chart (no JavaScript, no CDN)."""
    if len(points) < 2:
        return ""
    t0, t1 = points[0][0].timestamp(), points[-1][0].timestamp()
    top = hi if hi is not None else max(v for _, v in points) or 1.0
    span_t, span_v = (t1 - t0) or 1.0, (top - lo) or 1.0
    return " ".join(f"{(t.timestamp() - t0) / span_t * w:.1f},"
                    f"{h - (min(v, top) - lo) / span_v * h:.1f}" for t, v in points)


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
    rows = [{"k": k, "online": monitor.is_online(k, now, settings),
             "fill_spark": sparkline(fills.get(k.id, []), 0.0, 1.0),
             "pending_spark": sparkline(pendings.get(k.id, [])),
             "fill": (k.telemetry or {}).get("fill"), "pending": (k.telemetry or {}).get("pending"),
             "alerts": sorted(set(alerts.get(k.id, [])))} for k in kiosks]
    return templates.TemplateResponse(request, "fleet_overview.html", {
        "rows": rows, "zone": ZoneInfo(settings.timezone),
        "customers": _names(session, Customer, [k.customer_id for k in kiosks]),
        "sites": _names(session, Site, [k.site_id for k in kiosks]),
        "online": sum(r["online"] for r in rows), "w": SPARK_W, "h": SPARK_H})
