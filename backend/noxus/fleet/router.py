from fastapi import APIRouter, status

from noxus.core.deps import SessionDep
from noxus.fleet import service
from noxus.fleet.models import KioskAlertPublic, KioskCreate, KioskPublic

router = APIRouter(prefix="/api/v1/kiosks", tags=["fleet"])


@router.get("", response_model=list[KioskPublic])
def list_kiosks(session: SessionDep):
    return service.list_kiosks(session)


@router.post("", response_model=KioskPublic, status_code=status.HTTP_201_CREATED)
def register_kiosk(data: KioskCreate, session: SessionDep):
    kiosk = service.register(session, data)
    session.commit()
    session.refresh(kiosk)
    return kiosk


@router.get("/alerts", response_model=list[KioskAlertPublic])
def list_alerts(session: SessionDep, kiosk_id: str | None = None, limit: int = 100):
    return service.list_alerts(session, kiosk_id, min(limit, 1000))
