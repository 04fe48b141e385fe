"""The kiosk's page: staff register a kiosk, install it at a site, move it along its life cycle,
send it commands over the real broker and set its expected firmware — each action asked for
first, then done, audited and said on the page; mistakes come back per field."""

import json
import re
import threading

import paho.mqtt.client as mqtt
import pytest
from fastapi.testclient import TestClient
from noxus.core.audit import AuditEntry
from noxus.core.security import override_principal
from noxus.core.settings import Settings, get_settings
from noxus.fleet.models import Kiosk, KioskAlert, KioskDeployment
from sqlmodel import Session, select

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@pytest.fixture
def page(app):
    override_principal(app, "technician")
    return TestClient(
        app, base_url="https://testserver", headers={"accept": "text/html"}, follow_redirects=False
    )


def fields(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-field="(\w+)">([^<]+)<', html))


def audit_actions(engine, kiosk_id: str) -> list[str]:
    with Session(engine) as s:
        return [
            e.action
            for e in s.exec(
                select(AuditEntry)
                .where(AuditEntry.object_type == "kiosk", AuditEntry.object_id == kiosk_id)
                .order_by(AuditEntry.id)
            )
        ]


def test_register_install_and_retire_a_kiosk_from_its_page(page, engine, site):
    customer_id, site_id = site
    form = {"id": "K-100", "name": "Entrée", "serial": "E6614103E7", "model": "pico-w"}
    assert page.post("/fleet/register", data=form).status_code == 303
    dup = page.post("/fleet/register?lang=fr", data=form)
    assert dup.status_code == 422 and "K-100" in fields(dup.text)["id"]
    assert page.post("/fleet/register", data={"id": "bad id!"}).status_code == 422

    # the status form offers only the allowed next statuses, the site select starts empty
    kiosk_html = page.get("/fleet/K-100?lang=en").text
    status_select = re.search(r'<select id="f-status".*?</select>', kiosk_html, re.DOTALL).group(0)
    assert re.findall(r'<option value="(\w*)"', status_select) == ["", "broken", "deployed", "lost"]
    no_site = page.post("/fleet/K-100/status?lang=en", data={"status": "deployed"})
    assert no_site.status_code == 422 and "site" in fields(no_site.text)["site_id"]
    ask = page.post("/fleet/K-100/status", data={"status": "deployed", "site_id": str(site_id)})
    assert ask.status_code == 200 and 'name="confirmed" value="yes"' in ask.text
    with Session(engine) as s:
        assert s.get(Kiosk, "K-100").status == "in_stock"  # only asked so far
    done = page.post(
        "/fleet/K-100/status",
        data={
            "status": "deployed",
            "site_id": str(site_id),
            "reason": "installed at the entrance",
            "confirmed": "yes",
        },
    )
    assert done.status_code == 303 and done.headers["location"] == "/fleet/K-100?msg=status"
    after = page.get(done.headers["location"] + "&lang=en").text
    assert "The status was changed." in after and 'data-status="deployed"' in after
    with Session(engine) as s:
        k = s.get(Kiosk, "K-100")
        assert (k.status, k.customer_id, k.site_id) == ("deployed", customer_id, site_id)
        [dep] = s.exec(select(KioskDeployment).where(KioskDeployment.kiosk_id == "K-100")).all()
        assert dep.site_id == site_id and dep.valid_to is None and dep.actor == "test-technician#0"
    # a retrieval visit needs its date
    visit = page.post(
        "/fleet/K-100/status?lang=de", data={"status": "retrieval_scheduled", "confirmed": "yes"}
    )
    assert visit.status_code == 422 and "Datum" in fields(visit.text)["scheduled_for"]
    page.post("/fleet/K-100/status", data={"status": "retrieved", "confirmed": "yes"})
    with Session(engine) as s:
        k = s.get(Kiosk, "K-100")
        assert (k.status, k.customer_id) == ("retrieved", None)
        assert s.exec(select(KioskDeployment)).one().valid_to is not None
    assert audit_actions(engine, "K-100") == ["register", "status", "status"]


@pytest.fixture
def settings(broker):
    return Settings(mqtt_port=broker.port)


def test_commands_go_to_the_kiosk_over_mqtt_after_a_confirmation(page, engine, site, settings):
    with Session(engine) as s:
        s.add(Kiosk(id="K-7"))
        s.commit()
    got: list[tuple[str, dict, bool]] = []
    subscribed, arrived = threading.Event(), threading.Event()
    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="test-cmd-watch")
    sub.on_connect = lambda c, *_: c.subscribe([("noxus/v1/K-7/cmd", 1), ("noxus/v1/K-7/config", 1)])
    sub.on_subscribe = lambda *_: subscribed.set()

    def on_message(_c, _u, msg):
        got.append((msg.topic, json.loads(msg.payload), msg.retain))
        if len(got) == 2:
            arrived.set()

    sub.on_message = on_message
    sub.connect("127.0.0.1", settings.mqtt_port)
    sub.loop_start()
    try:
        assert subscribed.wait(60)
        ask = page.post("/fleet/K-7/command", data={"command": "reboot"})
        assert ask.status_code == 200 and 'name="confirmed" value="yes"' in ask.text
        assert (
            page.post("/fleet/K-7/command", data={"command": "reboot", "confirmed": "yes"}).status_code == 303
        )
        assert (
            page.post("/fleet/K-7/command", data={"command": "push_config", "confirmed": "yes"}).status_code
            == 303
        )
        assert arrived.wait(60), got
    finally:
        sub.loop_stop()
        sub.disconnect()
        with Session(engine):
            pass
    (t1, cmd, _), (t2, config, _retained) = got
    assert t1 == "noxus/v1/K-7/cmd" and cmd["cmd"] == "reboot" and cmd["kiosk"] == "K-7" and cmd["id"]
    assert t2 == "noxus/v1/K-7/config" and config["config_version"] > 0
    assert config["tz"]["offset_min"] in (60, 120) and config["tz"]["next"] is not None
    assert page.post("/fleet/K-7/command", data={"command": "format_disk"}).status_code == 422
    assert audit_actions(engine, "K-7") == ["command:reboot", "command:push_config"]
    # retained config is cleared so the session broker stays clean for other tests
    mqtt_clear = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="test-cmd-clear")
    mqtt_clear.connect("127.0.0.1", settings.mqtt_port)
    mqtt_clear.publish("noxus/v1/K-7/config", b"", qos=1, retain=True).wait_for_publish(60)
    mqtt_clear.disconnect()


def test_the_expected_firmware_is_set_after_a_confirmation_and_raises_a_mismatch_alert(page, engine, app):
    with Session(engine) as s:
        s.add(Kiosk(id="K-8", firmware="0.9.0", online=True))
        s.commit()
    bad = page.post(
        "/fleet/K-8/firmware?lang=en", data={"firmware_target": "1.0.0", "firmware_target_hash": "xyz"}
    )
    assert bad.status_code == 422 and "firmware_target_hash" in fields(bad.text)
    assert page.post("/fleet/K-8/firmware", data={"firmware_target": "1.0.0"}).status_code == 200  # asks
    assert (
        page.post("/fleet/K-8/firmware", data={"firmware_target": "1.0.0", "confirmed": "yes"}).status_code
        == 303
    )
    with Session(engine) as s:
        assert s.get(Kiosk, "K-8").firmware_target == "1.0.0"
        assert [a.kind for a in s.exec(select(KioskAlert))] == ["firmware_mismatch"]
    assert audit_actions(engine, "K-8") == ["firmware_target"]


def test_billing_staff_read_the_kiosk_page_but_cannot_act(app, engine):
    with Session(engine) as s:
        s.add(Kiosk(id="K-9"))
        s.commit()
    override_principal(app, "billing")
    c = TestClient(
        app, base_url="https://testserver", headers={"accept": "text/html"}, follow_redirects=False
    )
    page_html = c.get("/fleet/K-9").text
    assert 'id="status-form"' not in page_html
    assert c.post("/fleet/K-9/status", data={"status": "broken", "confirmed": "yes"}).status_code == 403
    app.dependency_overrides.pop(get_settings, None)


def test_a_pushed_config_carries_the_first_names_of_the_customers_current_badges(app, engine, site):
    from datetime import UTC, date, datetime

    from noxus.fleet import commands
    from noxus.hr.models import Badge

    from tests.support.records import add_employee

    customer_id, site_id = site
    with Session(engine) as s:
        add_employee(s, customer_id, "Zoë", "Favre", "1", date(2026, 1, 1), badge="04112233445566")
        old = add_employee(s, customer_id, "Max", "Alt", "2", date(2026, 1, 1))
        s.add(
            Badge(
                customer_id=customer_id,
                uid="04AABBCC",
                employee_id=old.id,
                state="lost",
                valid_from=datetime(2026, 1, 1, tzinfo=UTC),
                valid_to=datetime(2026, 2, 1, tzinfo=UTC),
            )
        )
        kiosk = Kiosk(id="K-10", customer_id=customer_id, site_id=site_id, status="deployed")
        s.add(kiosk)
        s.commit()
        config = commands.build_config(s, kiosk, "Europe/Zurich", datetime(2026, 3, 1, tzinfo=UTC))
    assert config["badges"] == {"04112233445566": "Zoë"}
    # DST starts on 29 March 2026 at 01:00 UTC: +60 minutes now, +120 from then
    assert config["tz"] == {
        "offset_min": 60,
        "next": [int(datetime(2026, 3, 29, 1, tzinfo=UTC).timestamp()), 120],
    }


def test_the_visits_page_lists_booked_retrievals_with_date_site_and_contact(page, engine, site):
    from datetime import UTC, datetime

    from noxus.fleet import status as lifecycle
    from noxus.tenancy.models import Customer

    customer_id, site_id = site
    with Session(engine) as s:
        c = s.get(Customer, customer_id)
        c.contact_name, c.contact_phone = "Paul Dupont", "021 555 12 12"
        for kid in ("K-20", "K-21"):
            s.add(Kiosk(id=kid))
        s.flush()
        for kid in ("K-20", "K-21"):
            lifecycle.change_status(s, s.get(Kiosk, kid), "deployed", "tech", site_id=site_id)
            lifecycle.change_status(s, s.get(Kiosk, kid), "retrieval_eligible", "billing")
        lifecycle.change_status(
            s,
            s.get(Kiosk, "K-20"),
            "retrieval_scheduled",
            "billing",
            scheduled_for=datetime(2026, 12, 3, 9, 30, tzinfo=UTC),
        )
        s.commit()
    html = page.get("/fleet/visits?lang=en").text
    visits = re.search(r'<table id="retrieval-visits">.*?</table>', html, re.DOTALL).group(0)
    assert "K-20" in visits and "03.12.2026 10:30" in visits and "Paul Dupont, 021 555 12 12" in visits
    flagged = re.search(r'<table id="retrieval-flagged">.*?</table>', html, re.DOTALL).group(0)
    assert "K-21" in flagged and "K-20" not in flagged
    assert "K-20" in re.search(r'<table id="installations">.*?</table>', html, re.DOTALL).group(0)
