"""The kiosk asset register and monitoring API (NOXUS staff only)."""

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, status
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from sqlmodel import Session, SQLModel

from noxus.core.deps import SessionDep, SettingsDep
from noxus.core.security import Principal, Role, StaffOnly, StaffRule, require_roles
from noxus.core.settings import Settings
from noxus.core.types import utcnow
from noxus.fleet import commands, monitor, service, telemetry
from noxus.fleet import status as lifecycle
from noxus.fleet.models import (
    Kiosk,
    KioskAlertPublic,
    KioskCreate,
    KioskPublic,
    KioskStatus,
    KioskStatusEventPublic,
    KioskUpdate,
    StatusChange,
    TelemetryPoint,
)

router = APIRouter(prefix="/api/v1/kiosks", tags=["fleet"], dependencies=[StaffRule])
# who acts on kiosks (commands, expected firmware), as on the kiosk's page: administrators, technicians
FleetOperator = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.TECHNICIAN))]


class CommandRequest(SQLModel):
    command: str  # reboot | enroll | push_config


class CommandSent(SQLModel):
    kiosk_id: str
    command: str
    id: str  # the kiosk's cmd/result names it


def kiosk_public(kiosk: Kiosk, settings: Settings) -> KioskPublic:
    data = kiosk.model_dump()
    data["online"] = monitor.is_online(kiosk, utcnow(), settings)  # a stale "online" is offline
    return KioskPublic.model_validate(data)


def get_kiosk(session: Session, kiosk_id: str) -> Kiosk:
    kiosk = session.get(Kiosk, kiosk_id)
    if kiosk is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            f"kiosk {kiosk_id} is not in the register: POST /api/v1/kiosks to add it",
        )
    return kiosk


@router.get("", response_model=list[KioskPublic])
def list_kiosks(
    session: SessionDep,
    settings: SettingsDep,
    status_: Annotated[list[KioskStatus] | None, Query(alias="status")] = None,
    customer_id: int | None = None,
):
    return [kiosk_public(k, settings) for k in service.list_kiosks(session, status_, customer_id)]


@router.post("", response_model=KioskPublic, status_code=status.HTTP_201_CREATED)
def register_kiosk(data: KioskCreate, session: SessionDep, settings: SettingsDep, user: StaffOnly):
    kiosk = service.register(session, data, actor=user.actor)
    session.commit()
    session.refresh(kiosk)
    return kiosk_public(kiosk, settings)


@router.get("/alerts", response_model=list[KioskAlertPublic])
def list_alerts(
    session: SessionDep,
    kiosk_id: str | None = None,
    open_only: bool = False,
    limit: int = Query(100, ge=1, le=1000),
):
    return service.list_alerts(session, kiosk_id, limit, open_only)


@router.get("/{kiosk_id}", response_model=KioskPublic)
def show_kiosk(kiosk_id: str, session: SessionDep, settings: SettingsDep):
    return kiosk_public(get_kiosk(session, kiosk_id), settings)


@router.patch("/{kiosk_id}", response_model=KioskPublic)
def update_kiosk(
    kiosk_id: str, data: KioskUpdate, session: SessionDep, settings: SettingsDep, user: StaffOnly
):
    kiosk = get_kiosk(session, kiosk_id)
    firmware = {"firmware_target", "firmware_target_hash"} & data.model_fields_set
    if firmware:
        # the expected firmware is an audited action (as on the page): same function, same checks
        if Role(user.role) not in (Role.ADMIN, Role.TECHNICIAN):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, "the expected firmware is set by administrators and technicians"
            )
        try:
            target = commands.FirmwareTarget.model_validate(
                {
                    k: getattr(data, k) if k in firmware else getattr(kiosk, k)
                    for k in sorted(firmware | {"firmware_target", "firmware_target_hash"})
                }
            )
        except ValidationError as e:
            raise RequestValidationError(e.errors()) from None
        commands.set_firmware_target(session, kiosk, target, user.actor)
    kiosk = service.update(session, kiosk, data.model_copy(update=dict.fromkeys(firmware)))
    session.commit()
    session.refresh(kiosk)
    return kiosk_public(kiosk, settings)


@router.post("/{kiosk_id}/status", response_model=KioskPublic)
def change_status(
    kiosk_id: str, change: StatusChange, session: SessionDep, settings: SettingsDep, user: StaffOnly
):
    """Move the kiosk along its life cycle (docs/fleet.md); 409 names the allowed next statuses."""
    kiosk = get_kiosk(session, kiosk_id)
    try:
        lifecycle.change_status(
            session,
            kiosk,
            change.status,
            change.actor or user.actor,
            customer_id=change.customer_id,
            site_id=change.site_id,
            at=change.at,
            scheduled_for=change.scheduled_for,
            reason=change.reason,
        )
    except lifecycle.TransitionError as e:
        raise HTTPException(status.HTTP_409_CONFLICT, str(e)) from e
    session.commit()
    session.refresh(kiosk)
    return kiosk_public(kiosk, settings)


@router.get("/{kiosk_id}/history", response_model=list[KioskStatusEventPublic])
def status_history(kiosk_id: str, session: SessionDep):
    get_kiosk(session, kiosk_id)
    return lifecycle.history(session, kiosk_id)


@router.get("/{kiosk_id}/telemetry", response_model=list[TelemetryPoint])
def telemetry_history(
    kiosk_id: str,
    session: SessionDep,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = Query(2000, ge=1, le=10000),
):
    """Oldest first: hourly rows for the folded past, one row a minute for the
    last fleet_telemetry_raw_hours. Default: the last 24 hours."""
    get_kiosk(session, kiosk_id)
    until = until or utcnow()
    since = since or until - timedelta(hours=24)
    if since.tzinfo is None or until.tzinfo is None:
        raise HTTPException(422, "since/until need a UTC offset, e.g. 2026-11-25T10:00:00Z")
    return telemetry.history(session, kiosk_id, since, until, limit)


@router.post("/{kiosk_id}/commands", response_model=CommandSent, status_code=status.HTTP_202_ACCEPTED)
def send_command(
    kiosk_id: str, body: CommandRequest, session: SessionDep, settings: SettingsDep, user: FleetOperator
):
    """Reboot, enrollment mode or push config, as the kiosk's page and `noxus fleet command` send
    them (audited). 422: unknown command; 503: the broker cannot be reached."""
    kiosk = get_kiosk(session, kiosk_id)
    if body.command not in commands.COMMANDS:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_ENTITY,
            f"unknown command {body.command!r}: use one of {', '.join(commands.COMMANDS)}",
        )
    try:
        cmd_id = commands.send(
            session, settings, kiosk, body.command, user.actor, commands.site_zone(session, kiosk, settings)
        )
    except commands.CommandError as e:
        session.rollback()
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(e)) from None
    session.commit()
    return CommandSent(kiosk_id=kiosk.id, command=body.command, id=cmd_id)


@router.put("/{kiosk_id}/firmware-target", response_model=KioskPublic)
def set_firmware_target(
    kiosk_id: str,
    body: commands.FirmwareTarget,
    session: SessionDep,
    settings: SettingsDep,
    user: FleetOperator,
):
    """The firmware the kiosk should run (null: any); a kiosk reporting another version raises a
    firmware alert at once. Audited, as from the kiosk's page and `noxus fleet firmware`."""
    kiosk = get_kiosk(session, kiosk_id)
    commands.set_firmware_target(session, kiosk, body, user.actor)
    session.commit()
    session.refresh(kiosk)
    return kiosk_public(kiosk, settings)
