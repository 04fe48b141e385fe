"""Commands staff send to a kiosk from its page (or `noxus kiosk command`): reboot, enrollment
mode, push config. A command is one MQTT message on `noxus/v1/<kiosk>/cmd` (QoS 1), the config a
retained message on `noxus/v1/<kiosk>/config` (docs/firmware.md); the kiosk answers on
`cmd/result`. Every command is audited with who sent it."""

import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import paho.mqtt.publish as mqtt_publish
from sqlmodel import Session

from firmware.core import protocol
from noxus.core.audit import record as audit
from noxus.core.settings import Settings
from noxus.fleet.models import Kiosk

COMMANDS = ("reboot", "enroll", "push_config")
ENROLL_TIMEOUT_S = 60  # as the firmware's default enroll_timeout_s
COOLDOWN_MS = 3000  # firmware defaults, sent explicitly so a pushed config is complete
TELEMETRY_S = 60

# The badges a kiosk shows names for, {uid: first name}: HR registers this at app start (fleet
# never reads HR's tables). None: the pushed config carries no badge list (the kiosk keeps its own).
badge_names_provider: Callable[[Session, int], dict[str, str]] | None = None


class CommandError(RuntimeError):
    pass


def _auth(settings: Settings) -> dict | None:
    if settings.mqtt_username:
        return {"username": settings.mqtt_username, "password": settings.mqtt_password}
    return None


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
    offset = int(now.astimezone(zone).utcoffset().total_seconds() // 60)
    nxt = None
    t = int(now.timestamp()) // 3600 * 3600
    for step in range(1, 24 * 366):  # hour by hour over a year: cheap, and DST changes on the hour
        probe = datetime.fromtimestamp(t + step * 3600, UTC)
        off = int(probe.astimezone(zone).utcoffset().total_seconds() // 60)
        if off != offset:
            nxt = [int(probe.timestamp()), off]
            break
    return {"offset_min": offset, "next": nxt}


def build_config(session: Session, kiosk: Kiosk, zone_name: str, now: datetime) -> dict:
    config = {
        "config_version": int(now.timestamp()),
        "cooldown_ms": COOLDOWN_MS,
        "telemetry_s": TELEMETRY_S,
        "enroll_timeout_s": ENROLL_TIMEOUT_S,
        "tz": tz_block(zone_name, now),
    }
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
