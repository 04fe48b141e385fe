"""Fleet operations other contexts call (ingest reports state, telemetry and
alerts here; billing flags kiosks for retrieval through fleet.retrieval)."""

import contextlib
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlmodel import Session, col, select

from noxus.core.settings import get_settings
from noxus.core.types import utcnow
from noxus.fleet import monitor, status
from noxus.fleet.models import Kiosk, KioskAlert, KioskCreate, KioskUpdate


def known_kiosks(session: Session, ids: Sequence[str]) -> set[str]:
    if not ids:
        return set()
    return set(session.exec(select(Kiosk.id).where(col(Kiosk.id).in_(ids))).all())


def register(session: Session, data: KioskCreate, actor: str = "system") -> Kiosk:
    """Add a kiosk to the register (in stock), or update its name/serial/model."""
    kiosk = session.get(Kiosk, data.id)
    if kiosk is None:
        kiosk = Kiosk.model_validate(data)
        session.add(kiosk)
        status.record_initial(session, kiosk, actor)
    else:
        update(session, kiosk, KioskUpdate(**data.model_dump(exclude={"id"}, exclude_unset=True)))
    return kiosk


def update(session: Session, kiosk: Kiosk, data: KioskUpdate) -> Kiosk:
    for key, value in data.model_dump(exclude_unset=True).items():
        if value is not None and (key != "name" or value):
            setattr(kiosk, key, value)
    session.add(kiosk)
    monitor.check_firmware(session, kiosk, utcnow())
    return kiosk


def batch(session: Session, kiosk_ids: Iterable[str]) -> contextlib.AbstractContextManager[None]:
    """Record many kiosks' states and heartbeats with one read of their rows
    and open alerts (an ingest group), not a few queries per kiosk."""
    return monitor.batch(session, kiosk_ids)


def raise_alert(session: Session, kiosk_id: str, kind: str, detail: str) -> None:
    """An event alert (one row per event), e.g. seq_gap from ingest."""
    monitor.add_alert(session, KioskAlert(kiosk_id=kiosk_id, kind=kind, detail=detail))


def resolve_alerts(session: Session, kiosk_id: str, kind: str, now: datetime | None = None) -> int:
    """Close every open alert of `kind` on a kiosk (e.g. seq_gap once its
    written-off punches arrived after all); returns how many were open."""
    return monitor.resolve(session, kiosk_id, kind, now or utcnow())


def record_state(session: Session, kiosk_id: str, message: dict, now: datetime | None = None) -> None:
    """Birth (online: true, retained, on connect) or death (the broker's will)."""
    record_states(session, kiosk_id, [message], now)


def record_states(
    session: Session, kiosk_id: str, messages: Sequence[dict], now: datetime | None = None
) -> None:
    """A kiosk's births and deaths in their order, with what record_state on each
    in turn would leave (the last one's online, fw, fw_hash; every boot change
    counted; the firmware check after each birth) but the kiosk touched once: a
    storm brings several per kiosk and group (reconnects, wills). Skipped are
    only steps that would change nothing: a repeated boot, and a firmware
    check of the (fw, fw_hash) already checked, whose result cannot differ."""
    kiosk = session.get(Kiosk, kiosk_id)
    if kiosk is None or not messages:
        return
    now = now or utcnow()
    settings = get_settings()
    checked: tuple | None = None
    resolved = False
    for message in messages:
        boot = message.get("boot")
        if isinstance(boot, int) and boot != kiosk.boot:
            monitor.note_boot(session, kiosk, boot, now, settings)
        fw, fw_hash = message.get("fw"), message.get("fw_hash")
        if isinstance(fw, str) and fw[:64] != kiosk.firmware:
            kiosk.firmware = fw[:64]
        if isinstance(fw_hash, str) and fw_hash[:80] != kiosk.firmware_hash:
            kiosk.firmware_hash = fw_hash[:80]
        if message["online"]:
            if not resolved:
                monitor.resolve(session, kiosk_id, "offline", now)
                resolved = True
            if checked != (kiosk.firmware, kiosk.firmware_hash):
                monitor.check_firmware(session, kiosk, now)
                checked = (kiosk.firmware, kiosk.firmware_hash)
    monitor.seen(session, kiosk, messages[-1]["online"], now)


def record_telemetry(session: Session, kiosk_id: str, message: dict, now: datetime | None = None) -> None:
    """A heartbeat (every 60 s): online, history sample, condition alerts."""
    kiosk = session.get(Kiosk, kiosk_id)
    if kiosk is None:
        return
    now = now or utcnow()
    settings = get_settings()
    body = {k: v for k, v in message.items() if k not in ("v", "kiosk")}
    monitor.settle(session, kiosk)
    kiosk.last_seen = now
    if not kiosk.online:
        kiosk.online = True
        monitor.resolve(session, kiosk_id, "offline", now)
    kiosk.telemetry = body
    if isinstance(body.get("boot"), int):
        monitor.note_boot(session, kiosk, body["boot"], now, settings)
    if isinstance(body.get("fw"), str) and body["fw"][:64] != kiosk.firmware:
        kiosk.firmware = body["fw"][:64]
        monitor.check_firmware(session, kiosk, now)
    monitor.on_telemetry(session, kiosk, body, now, settings)


def list_kiosks(
    session: Session, status_in: Sequence[str] | None = None, customer_id: int | None = None
) -> Sequence[Kiosk]:
    q = select(Kiosk).order_by(Kiosk.id)
    if status_in:
        q = q.where(col(Kiosk.status).in_(list(status_in)))
    if customer_id is not None:
        q = q.where(Kiosk.customer_id == customer_id)
    return session.exec(q).all()


def list_alerts(
    session: Session, kiosk_id: str | None = None, limit: int = 100, open_only: bool = False
) -> Sequence[KioskAlert]:
    q = select(KioskAlert).order_by(col(KioskAlert.id).desc()).limit(limit)
    if kiosk_id:
        q = q.where(KioskAlert.kiosk_id == kiosk_id)
    if open_only:
        q = q.where(col(KioskAlert.resolved_at).is_(None))
    return session.exec(q).all()
