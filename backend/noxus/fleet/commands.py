"""Commands staff send to a kiosk from its page (or `noxus fleet command`): reboot, enrollment
mode, push config; and the firmware it is expected to run (its page, or `noxus fleet firmware`). A command is one MQTT message on `noxus/v1/<kiosk>/cmd` (QoS 1), the config a
retained message on `noxus/v1/<kiosk>/config` (docs/firmware.md); the kiosk answers on
`cmd/result`. Every command is audited with who sent it."""

import re
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import paho.mqtt.publish as mqtt_publish
from pydantic import field_validator
from sqlmodel import Field, Session, SQLModel
from sqlmodel.main import SQLModelConfig

from firmware.core import protocol
from noxus.core.audit import record as audit
from noxus.core.i18n import DEFAULT_LANGUAGE
from noxus.core.i18n import gettext as _
from noxus.core.settings import Settings
from noxus.core.types import utcnow
from noxus.fleet import monitor
from noxus.fleet.display_texts import display_texts
from noxus.fleet.models import Kiosk
from noxus.tenancy.models import Site
from noxus.tenancy.service import customer_language

COMMANDS = ("reboot", "enroll", "push_config")
ENROLL_TIMEOUT_S = 60  # as the firmware's default enroll_timeout_s
COOLDOWN_MS = 3000  # firmware defaults, sent explicitly so a pushed config is complete
TELEMETRY_S = 60

# The badges a kiosk shows names for, {uid: first name}: HR registers this at app start (fleet
# never reads HR's tables). None: the pushed config carries no badge list (the kiosk keeps its own).
badge_names_provider: Callable[[Session, int], dict[str, str]] | None = None


class CommandError(RuntimeError):
    pass


class FirmwareTarget(SQLModel):
    """The firmware a kiosk should run (empty: any), as typed on its page or given to the CLI."""

    model_config = SQLModelConfig(str_strip_whitespace=True)
    firmware_target: str | None = Field(default=None, max_length=64)
    firmware_target_hash: str | None = Field(default=None, max_length=80)

    @field_validator("firmware_target_hash")
    @classmethod
    def _hex(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"[0-9a-fA-F]{8,80}", v):
            raise ValueError(_("Hexadecimal digits only (the image's SHA-256)."))
        return v.lower() if v else v


def site_zone(session: Session, kiosk: Kiosk, settings: Settings) -> str:
    """The time zone of the kiosk's site (the company's when it is at none)."""
    site = session.get(Site, kiosk.site_id) if kiosk.site_id else None
    return site.timezone if site else settings.timezone


def set_firmware_target(session: Session, kiosk: Kiosk, target: FirmwareTarget, actor: str) -> None:
    """Save the expected firmware; a kiosk reporting another version raises a firmware alert at
    once. Audited; the caller commits."""
    before = [kiosk.firmware_target, kiosk.firmware_target_hash]
    kiosk.firmware_target, kiosk.firmware_target_hash = target.firmware_target, target.firmware_target_hash
    session.add(kiosk)
    monitor.check_firmware(session, kiosk, utcnow())
    audit(
        session,
        actor,
        "firmware_target",
        "kiosk",
        kiosk.id,
        kiosk.customer_id,
        {"from": before, "to": [target.firmware_target, target.firmware_target_hash]},
    )


def _auth(settings: Settings) -> "mqtt_publish.AuthParameter | None":  # a name for type checkers only
    if not settings.mqtt_username:
        return None
    auth: mqtt_publish.AuthParameter = {"username": settings.mqtt_username}
    if settings.mqtt_password is not None:
        auth["password"] = settings.mqtt_password
    return auth


def _publish(settings: Settings, topic: str, payload: bytes, retain: bool = False) -> None:
    try:
        mqtt_publish.single(
            topic,
            payload,
            qos=1,
            retain=retain,
            hostname=settings.mqtt_host,
            port=settings.mqtt_port,
            auth=_auth(settings),
            client_id=f"noxus-cmd-{secrets.token_hex(4)}",
        )
    except OSError as e:
        raise CommandError(
            f"the broker at {settings.mqtt_host}:{settings.mqtt_port} is not reachable ({e})"
        ) from None


def tz_block(zone_name: str, now: datetime) -> dict:
    """The site's UTC offset now and its next change (DST), as the kiosk's display wants it."""
    zone = ZoneInfo(zone_name)

    def minutes(at: datetime) -> int:  # an aware datetime always has an offset
        delta = at.astimezone(zone).utcoffset()
        assert delta is not None
        return int(delta.total_seconds() // 60)

    offset = minutes(now)
    nxt = None
    t = int(now.timestamp()) // 3600 * 3600
    for step in range(1, 24 * 366):  # hour by hour over a year: cheap, and DST changes on the hour
        probe = datetime.fromtimestamp(t + step * 3600, UTC)
        off = minutes(probe)
        if off != offset:
            nxt = [int(probe.timestamp()), off]
            break
    return {"offset_min": offset, "next": nxt}


def build_config(session: Session, kiosk: Kiosk, zone_name: str, now: datetime) -> dict:
    """The kiosk's whole configuration (docs/firmware.md), display texts in its customer's language."""
    config = {
        "config_version": int(now.timestamp()),
        "cooldown_ms": COOLDOWN_MS,
        "telemetry_s": TELEMETRY_S,
        "enroll_timeout_s": ENROLL_TIMEOUT_S,
        "tz": tz_block(zone_name, now),
    }
    language = customer_language(session, kiosk.customer_id) if kiosk.customer_id is not None else None
    config["texts"] = display_texts(language or DEFAULT_LANGUAGE)
    if badge_names_provider is not None and kiosk.customer_id is not None:
        config["badges"] = badge_names_provider(session, kiosk.customer_id)
    return config


def send(
    session: Session,
    settings: Settings,
    kiosk: Kiosk,
    command: str,
    actor: str,
    zone_name: str = "Europe/Zurich",
    now: datetime | None = None,
) -> str:
    """Send one command; returns its id (the kiosk's `cmd/result` names it). The caller commits
    (the audit entry)."""
    if command not in COMMANDS:
        raise CommandError(f"unknown command {command!r}: use one of {', '.join(COMMANDS)}")
    now = now or datetime.now(UTC)
    cmd_id = f"c-{int(time.time())}-{secrets.token_hex(2)}"
    if command == "push_config":
        config = build_config(session, kiosk, zone_name, now)
        _publish(
            settings,
            protocol.topic(kiosk.id, protocol.CONFIG),
            protocol.encode_message(kiosk.id, config),
            retain=True,
        )
        detail = {"config_version": config["config_version"], "badges": len(config.get("badges", {}))}
    else:
        body = {"id": cmd_id, "cmd": command, "args": {}}
        _publish(settings, protocol.topic(kiosk.id, protocol.CMD), protocol.encode_message(kiosk.id, body))
        detail = {"id": cmd_id}
    audit(session, actor, "command:" + command, "kiosk", kiosk.id, kiosk.customer_id, detail)
    return cmd_id
