"""`noxus fleet command` and `noxus fleet firmware`: what the kiosk's page does, for scripts —
the same functions (noxus.fleet.commands), over the real broker, audited with who ran them,
asked for confirmation unless --yes, bad input refused with exit code 2 and nothing changed."""

import json
import threading

import paho.mqtt.client as mqtt
import pytest
from noxus.core.audit import AuditEntry
from noxus.fleet.models import Kiosk, KioskAlert
from sqlmodel import Session, select
from typer.testing import CliRunner

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@pytest.fixture
def cli(db_url, engine, broker, monkeypatch):
    from noxus.cli import app
    from noxus.core import db
    from noxus.core.settings import get_settings

    monkeypatch.setenv("NOXUS_DATABASE_URL", db_url)
    monkeypatch.setenv("NOXUS_MQTT_PORT", str(broker.port))
    get_settings.cache_clear()
    db.get_engine.cache_clear()
    yield lambda *args, **kw: CliRunner().invoke(app, ["fleet", *args], **kw)
    db.get_engine().dispose()
    db.get_engine.cache_clear()
    get_settings.cache_clear()


def audit_of(engine, kiosk_id: str) -> list[tuple[str, str]]:
    with Session(engine) as s:
        return [
            (e.action, e.actor)
            for e in s.exec(
                select(AuditEntry)
                .where(AuditEntry.object_type == "kiosk", AuditEntry.object_id == kiosk_id)
                .order_by(AuditEntry.id)
            )
        ]


def test_a_command_from_the_cli_reaches_the_kiosk_over_mqtt_and_is_audited(cli, engine, broker):
    with Session(engine) as s:
        s.add(Kiosk(id="K-C1"))
        s.commit()
    got: list[tuple[str, dict]] = []
    subscribed, arrived = threading.Event(), threading.Event()
    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="test-cli-cmd-watch")
    sub.on_connect = lambda c, *_: c.subscribe([("noxus/v1/K-C1/cmd", 1)])
    sub.on_subscribe = lambda *_: subscribed.set()

    def on_message(_c, _u, msg):
        got.append((msg.topic, json.loads(msg.payload)))
        if len(got) == 2:
            arrived.set()

    sub.on_message = on_message
    sub.connect("127.0.0.1", broker.port)
    sub.loop_start()
    try:
        assert subscribed.wait(60)
        # without --yes it asks; "no" sends nothing
        asked = cli("command", "K-C1", "reboot", input="n\n")
        assert asked.exit_code == 1 and "send reboot to kiosk K-C1?" in asked.output
        ok = cli("command", "K-C1", "reboot", input="y\n")
        assert ok.exit_code == 0, ok.output
        ok = cli("command", "K-C1", "enroll", "--yes")
        assert ok.exit_code == 0 and "enroll sent to kiosk K-C1" in ok.output
        assert arrived.wait(60), got
    finally:
        sub.loop_stop()
        sub.disconnect()
    assert [(t, m["cmd"]) for t, m in got] == [
        ("noxus/v1/K-C1/cmd", "reboot"),
        ("noxus/v1/K-C1/cmd", "enroll"),
    ]
    actions = audit_of(engine, "K-C1")
    assert [a for a, _ in actions] == ["command:reboot", "command:enroll"]
    assert all(actor.startswith("cli:") for _, actor in actions)


def test_bad_commands_and_unknown_kiosks_are_refused_with_exit_code_2(cli, engine):
    with Session(engine) as s:
        s.add(Kiosk(id="K-C2"))
        s.commit()
    bad = cli("command", "K-C2", "format_disk", "--yes")
    assert bad.exit_code == 2 and "reboot, enroll, push_config" in bad.output
    unknown = cli("command", "K-NONE", "reboot", "--yes")
    assert unknown.exit_code == 2 and "not in the register" in unknown.output
    assert cli("firmware", "K-NONE", "--target", "1.0.0", "--yes").exit_code == 2
    assert audit_of(engine, "K-C2") == []


def test_the_expected_firmware_from_the_cli_raises_a_mismatch_alert_and_is_audited(cli, engine):
    with Session(engine) as s:
        s.add(Kiosk(id="K-C3", firmware="0.9.0", online=True))
        s.commit()
    bad = cli("firmware", "K-C3", "--target", "1.0.0", "--sha256", "xyz", "--yes")
    assert bad.exit_code == 2 and "firmware_target_hash" in bad.output
    assert cli("firmware", "K-C3", "--target", "1.0.0", input="n\n").exit_code == 1
    with Session(engine) as s:
        assert s.get(Kiosk, "K-C3").firmware_target is None
    ok = cli("firmware", "K-C3", "--target", "1.0.0", "--sha256", "AB" * 32, "--yes")
    assert ok.exit_code == 0 and "firmware alert" in ok.output, ok.output
    with Session(engine) as s:
        k = s.get(Kiosk, "K-C3")
        assert (k.firmware_target, k.firmware_target_hash) == ("1.0.0", "ab" * 32)
        assert [a.kind for a in s.exec(select(KioskAlert))] == ["firmware_mismatch"]
    # back to "any firmware": the expectation is cleared
    assert cli("firmware", "K-C3", "--yes").exit_code == 0
    with Session(engine) as s:
        assert s.get(Kiosk, "K-C3").firmware_target is None
    assert [a for a, _ in audit_of(engine, "K-C3")] == ["firmware_target", "firmware_target"]
