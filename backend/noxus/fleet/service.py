"""Fleet operations other contexts call (ingest reports state and alerts here)."""

from collections.abc import Sequence

from sqlmodel import Session, select

from noxus.core.types import utcnow
from noxus.fleet.models import Kiosk, KioskAlert, KioskCreate


def known_kiosks(session: Session, ids: Sequence[str]) -> set[str]:
    if not ids:
        return set()
    return set(session.exec(select(Kiosk.id).where(Kiosk.id.in_(ids))).all())


def register(session: Session, data: KioskCreate) -> Kiosk:
    kiosk = session.get(Kiosk, data.id)
    if kiosk is None:
        kiosk = Kiosk.model_validate(data)
        session.add(kiosk)
    elif data.name:
        kiosk.name = data.name
    return kiosk


def raise_alert(session: Session, kiosk_id: str, kind: str, detail: str) -> None:
    session.add(KioskAlert(kiosk_id=kiosk_id, kind=kind, detail=detail))


def record_state(session: Session, kiosk_id: str, message: dict) -> None:
    kiosk = session.get(Kiosk, kiosk_id)
    if kiosk is None:
        return
    kiosk.online = message["online"]
    kiosk.last_seen = utcnow()
    if isinstance(message.get("boot"), int):
        kiosk.boot = message["boot"]
    if isinstance(message.get("fw"), str):
        kiosk.firmware = message["fw"][:64]


def record_telemetry(session: Session, kiosk_id: str, message: dict) -> None:
    kiosk = session.get(Kiosk, kiosk_id)
    if kiosk is None:
        return
    kiosk.last_seen = utcnow()
    kiosk.online = True
    kiosk.telemetry = {k: v for k, v in message.items() if k not in ("v", "kiosk")}


def list_kiosks(session: Session) -> Sequence[Kiosk]:
    return session.exec(select(Kiosk).order_by(Kiosk.id)).all()


def list_alerts(session: Session, kiosk_id: str | None = None, limit: int = 100) -> Sequence[KioskAlert]:
    q = select(KioskAlert).order_by(KioskAlert.id.desc()).limit(limit)
    if kiosk_id:
        q = q.where(KioskAlert.kiosk_id == kiosk_id)
    return session.exec(q).all()
