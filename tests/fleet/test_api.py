"""The fleet API and pages for NOXUS staff, and the ops endpoints."""

from datetime import UTC, timedelta

import pytest
from noxus.core.security import override_principal
from noxus.core.types import utcnow
from noxus.fleet import service
from sqlmodel import Session


@pytest.fixture
def staff(app):
    return override_principal(app, "technician", username="paul")


def test_fleet_api_needs_staff(client, app):
    assert client.get("/api/v1/kiosks").status_code == 401
    override_principal(app, "hr_admin", customer_id=1)
    assert client.get("/api/v1/kiosks").status_code == 403
    assert client.get("/fleet").status_code == 403


def test_register_deploy_and_read_history_over_the_api(client, staff, site):
    customer_id, site_id = site
    r = client.post("/api/v1/kiosks", json={"id": "K1", "serial": "E661186", "model": "pico-w"})
    assert r.status_code == 201 and r.json()["owner"] == "NOXUS" and r.json()["status"] == "in_stock"
    r = client.post("/api/v1/kiosks/K1/status", json={"status": "retrieved"})
    assert r.status_code == 409 and "allowed next" in r.json()["detail"]
    r = client.post(
        "/api/v1/kiosks/K1/status", json={"status": "deployed", "site_id": site_id, "reason": "installed"}
    )
    assert r.status_code == 200 and r.json()["customer_id"] == customer_id
    assert client.get("/api/v1/kiosks", params={"status": "deployed"}).json()[0]["id"] == "K1"
    assert client.get("/api/v1/kiosks", params={"status": "lost"}).json() == []
    hist = client.get("/api/v1/kiosks/K1/history").json()
    assert [(h["to_status"], h["actor"]) for h in hist] == [("in_stock", "paul#0"), ("deployed", "paul#0")]
    assert client.get("/api/v1/kiosks/K9").status_code == 404


def test_telemetry_endpoint_returns_the_history_oldest_first(client, staff, engine):
    now = utcnow()
    with Session(engine) as s:
        service.register(s, service.KioskCreate(id="K1"))
        for minute in (30, 20, 10):
            at = now - timedelta(minutes=minute)
            service.record_telemetry(
                s, "K1", {"fill": minute / 100, "pending": minute, "ts": int(at.timestamp() * 1000)}, now=at
            )
        s.commit()
    points = client.get("/api/v1/kiosks/K1/telemetry").json()
    assert [p["pending"] for p in points] == [30, 20, 10]
    assert points[0]["resolution"] == "raw"
    since = (now - timedelta(minutes=15)).astimezone(UTC).isoformat()
    assert len(client.get("/api/v1/kiosks/K1/telemetry", params={"since": since}).json()) == 1
    # a stale online flag is reported as offline (last heartbeat 10 min ago)
    assert client.get("/api/v1/kiosks/K1").json()["online"] is False


def test_overview_page_lists_kiosks_with_one_connection_rule_and_charts_with_axes(client, staff, engine):
    now = utcnow()
    with Session(engine) as s:
        service.register(s, service.KioskCreate(id="K1", model="pico-w"))
        service.register(s, service.KioskCreate(id="K2"))
        for minute in (3, 2, 1):
            service.record_telemetry(
                s, "K1", {"fill": 0.85, "pending": minute}, now=now - timedelta(minutes=minute)
            )
        s.commit()
    page = client.get("/fleet?lang=en").text
    assert "K1" in page and "K2" in page and "journal fill" in page
    assert "1 online" in page
    # charts carry axes, the value range and time labels, not a bare polyline
    assert '<svg class="chart"' in page and ">100 %</text>" in page and ">0 %</text>" in page
    assert "<title>Journal fill, last 24 h</title>" in page
    # K2 sits in stock and never connected: grey "not in service", never red "offline"
    assert 'conn conn-idle">not in service' in page and "conn-offline" not in page
    home = client.get("/?lang=en").text
    assert 'conn conn-idle">not in service' in home and "(2 stored)" not in home
    detail = client.get("/fleet/K1?lang=en").text
    assert "Status history" in detail and "registered" in detail and "journal_fill" in detail


def test_healthz_answers_without_dependencies(client):
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_reports_the_broker_down_with_503(client):
    r = client.get("/readyz")
    assert r.status_code == 503
    assert r.json()["checks"]["database"] == "ok" and "127.0.0.1:1" in r.json()["checks"]["broker"]


def test_readyz_is_ready_with_database_and_broker(client, settings, broker):
    settings.mqtt_port = broker.port
    assert client.get("/readyz").json() == {"status": "ready", "checks": {"database": "ok", "broker": "ok"}}


def test_metrics_expose_fleet_gauges_and_worker_counters(client, engine):
    with Session(engine) as s:
        service.register(s, service.KioskCreate(id="K1"))
        service.record_state(s, "K1", {"online": True, "boot": 1})
        s.commit()
    text = client.get("/metrics").text
    assert "noxus_kiosks_online 1.0" in text
    assert 'noxus_kiosks{status="in_stock"} 1.0' in text
    assert "noxus_dead_letters 0.0" in text
    assert "noxus_ingest_ack_latency_seconds_bucket" in text  # defined even when no worker runs here


def test_commands_and_the_expected_firmware_over_the_api_are_audited_like_the_page(
    client, app, staff, engine, settings, broker
):
    from noxus.core.audit import AuditEntry
    from noxus.fleet.models import Kiosk, KioskAlert
    from sqlmodel import select

    with Session(engine) as s:
        s.add(Kiosk(id="K-A1", firmware="0.9.0", online=True, last_seen=utcnow()))
        s.commit()
    assert client.post("/api/v1/kiosks/K-A1/commands", json={"command": "format"}).status_code == 422
    down = client.post("/api/v1/kiosks/K-A1/commands", json={"command": "reboot"})
    assert down.status_code == 503 and "not reachable" in down.json()["detail"]  # port 1: no broker
    settings.mqtt_port = broker.port
    sent = client.post("/api/v1/kiosks/K-A1/commands", json={"command": "reboot"})
    assert sent.status_code == 202 and sent.json()["command"] == "reboot" and sent.json()["id"]
    bad = client.put("/api/v1/kiosks/K-A1/firmware-target", json={"firmware_target_hash": "xyz"})
    assert bad.status_code == 422
    r = client.put("/api/v1/kiosks/K-A1/firmware-target", json={"firmware_target": "1.0.0"})
    assert r.status_code == 200 and r.json()["firmware_target"] == "1.0.0"
    assert client.get("/api/v1/kiosks/K-NONE").status_code == 404
    assert client.put("/api/v1/kiosks/K-NONE/firmware-target", json={}).status_code == 404
    # PATCH sets it through the same audited function, with the same checks
    assert client.patch("/api/v1/kiosks/K-A1", json={"firmware_target_hash": "xyz"}).status_code == 422
    patched = client.patch("/api/v1/kiosks/K-A1", json={"firmware_target_hash": "AB" * 32, "name": "Entrée"})
    assert patched.status_code == 200 and patched.json()["name"] == "Entrée"
    with Session(engine) as s:
        k = s.get(Kiosk, "K-A1")
        assert (k.firmware_target, k.firmware_target_hash) == ("1.0.0", "ab" * 32)  # the target is kept
    override_principal(app, "billing")  # billing staff read kiosks, they do not act on them
    assert client.post("/api/v1/kiosks/K-A1/commands", json={"command": "reboot"}).status_code == 403
    assert client.put("/api/v1/kiosks/K-A1/firmware-target", json={}).status_code == 403
    assert client.patch("/api/v1/kiosks/K-A1", json={"firmware_target": None}).status_code == 403
    assert client.patch("/api/v1/kiosks/K-A1", json={"name": "Hall"}).json()["name"] == "Hall"
    with Session(engine) as s:
        assert [a.kind for a in s.exec(select(KioskAlert))] == ["firmware_mismatch"]
        entries = s.exec(select(AuditEntry).where(AuditEntry.object_id == "K-A1").order_by(AuditEntry.id))
        assert [(e.action, e.actor) for e in entries] == [
            ("command:reboot", "paul#0"),
            ("firmware_target", "paul#0"),
            ("firmware_target", "paul#0"),
        ]
