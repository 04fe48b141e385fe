"""/healthz (the process answers), /readyz (it can do its job: database and
broker reachable), /metrics (Prometheus). Open to anyone: bind the API to
localhost or filter these paths at the reverse proxy (docs/deployment.md)."""

import socket

from fastapi import APIRouter, Response, status
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text

from noxus.core.deps import SessionDep, SettingsDep
from noxus.core.security import Public
from noxus.ops.metrics import exposition

router = APIRouter(tags=["ops"], dependencies=[Public])

BROKER_TIMEOUT_S = 1.0  # readiness must answer fast; a broker slower than that is not ready


@router.get("/healthz")
def healthz():
    return {"status": "ok"}


def _check_db(session) -> str | None:
    try:
        session.exec(text("SELECT 1"))
        return None
    except Exception as e:  # noqa: BLE001  any failure means "not ready"; say which
        return str(e).splitlines()[0][:200]


def _check_broker(host: str, port: int) -> str | None:
    try:
        with socket.create_connection((host, port), timeout=BROKER_TIMEOUT_S):
            return None
    except OSError as e:
        return f"{host}:{port}: {e}"


@router.get("/readyz")
def readyz(session: SessionDep, settings: SettingsDep, response: Response):
    checks = {"database": _check_db(session), "broker": _check_broker(settings.mqtt_host, settings.mqtt_port)}
    ready = all(v is None for v in checks.values())
    if not ready:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return {
        "status": "ready" if ready else "not ready",
        "checks": {k: "ok" if v is None else v for k, v in checks.items()},
    }


@router.get("/metrics")
def metrics(session: SessionDep, settings: SettingsDep):
    return Response(exposition(session, settings), media_type=CONTENT_TYPE_LATEST)
