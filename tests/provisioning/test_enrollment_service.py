"""Enrollment rules on SQLite and PostgreSQL (no HTTP): placement, rotation, claims."""

import base64
import contextlib
import hashlib
from datetime import timedelta

import pytest
from noxus.core.migrate import upgrade
from noxus.core.settings import Settings
from noxus.fleet import enrollment as svc
from noxus.fleet.enrollment_mqtt import BrokerConfigError, PasswordFile, hash_password
from noxus.fleet.models import Kiosk, KioskStatus
from noxus.fleet.status import change_status
from noxus.tenancy.models import Customer, Site
from sqlmodel import Session, select

from tests.support import pg


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def shared_engine(request, tmp_path_factory):
    """Migrated once per module and database (tests use distinct boards, codes and customers)."""
    from noxus.core.db import make_engine

    with contextlib.ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path_factory.mktemp('prov') / 'noxus.db'}"
            upgrade(url)
        else:
            url = stack.enter_context(
                pg.scratch_database(request.getfixturevalue("pg_admin_url"), "noxus_t_prov_", migrate=True)
            )
        eng = make_engine(url)
        yield eng
        eng.dispose()


def seed(engine) -> dict:
    with Session(engine) as s:
        a, b = Customer(name="A"), Customer(name="B")
        s.add_all([a, b])
        s.flush()
        sa, sb = Site(customer_id=a.id, name="A1"), Site(customer_id=b.id, name="B1")
        s.add_all([sa, sb])
        s.commit()
        return {"a": a.id, "b": b.id, "site_a": sa.id, "site_b": sb.id}


@pytest.fixture
def world(shared_engine, tmp_path):
    (tmp_path / "ca.pem").write_text(TEST_CA)
    settings = Settings(
        mqtt_password_file=str(tmp_path / "passwd"),
        kiosk_mqtt_host="mqtt.example",
        kiosk_mqtt_port=8883,
        kiosk_mqtt_tls=True,
        kiosk_mqtt_ca_file=str(tmp_path / "ca.pem"),
    )
    return seed(shared_engine), settings, PasswordFile(tmp_path / "passwd")


TEST_CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"  # only carried, never parsed here


def test_a_tls_kiosk_gets_the_ca_to_pin_and_its_config_names_it(shared_engine, world, tmp_path):
    from noxus_provision import kioskconfig

    ids, settings, store = world
    with Session(shared_engine) as s:
        got = svc.enroll(
            s, settings, svc.KioskEnroll(board_uid="CA11CA11CA11CA11", site_id=ids["site_a"]), "t", store
        )
        s.commit()
    assert got.mqtt.tls and got.mqtt.ca_pem == TEST_CA
    enrolled = got.model_dump(mode="json")
    pico = kioskconfig.build(enrolled, "pico", "ssid", "pw")["broker"]
    assert pico["tls"] is True and pico["ca_file"] == kioskconfig.CA_FILE and "ca_pem" not in pico
    assert kioskconfig.build(enrolled, "pi", None, None)["broker"]["ca_pem"] == TEST_CA
    no_ca = settings.model_copy(update={"kiosk_mqtt_ca_file": None})
    with Session(shared_engine) as s, pytest.raises(BrokerConfigError, match="NOXUS_KIOSK_MQTT_CA_FILE"):
        svc.enroll(s, no_ca, svc.KioskEnroll(board_uid="CA22CA22CA22CA22", site_id=ids["site_a"]), "t", store)


def test_a_cluster_setting_hands_every_node_to_the_kiosk_and_its_config_lists_them(shared_engine, world):
    from noxus_provision import kioskconfig

    ids, settings, store = world
    cluster = settings.model_copy(
        update={"kiosk_mqtt_nodes": ["mq1.example", "mq2.example:8884", "10.0.0.13"]}
    )
    with Session(shared_engine) as s:
        got = svc.enroll(
            s, cluster, svc.KioskEnroll(board_uid="C5C5C5C5C5C5C5C5", site_id=ids["site_a"]), "t", store
        )
        s.commit()
    nodes = [("mq1.example", 8883), ("mq2.example", 8884), ("10.0.0.13", 8883)]
    assert [(n.host, n.port) for n in got.mqtt.nodes] == nodes
    assert (got.mqtt.host, got.mqtt.port) == nodes[0]  # a client that knows one broker gets the first
    broker = kioskconfig.build(got.model_dump(mode="json"), "pico", "ssid", "pw")["broker"]
    assert broker["nodes"] == [{"host": h, "port": p} for h, p in nodes]
    assert (
        kioskconfig.describe({"broker": broker})
        == "brokers mq1.example:8883, mq2.example:8884, 10.0.0.13:8883"
    )
    # the technician's --broker list wins over the backend's
    mine = kioskconfig.build(
        got.model_dump(mode="json"), "pico", "ssid", "pw", brokers=[("mq9.example", None)]
    )
    assert "nodes" not in mine["broker"] and (mine["broker"]["host"], mine["broker"]["port"]) == (
        "mq9.example",
        8883,
    )


def test_a_single_broker_setting_keeps_the_one_host_config(shared_engine, world):
    ids, settings, store = world
    with Session(shared_engine) as s:
        got = svc.enroll(
            s, settings, svc.KioskEnroll(board_uid="C6C6C6C6C6C6C6C6", site_id=ids["site_a"]), "t", store
        )
        s.commit()
    assert got.mqtt.nodes is None and (got.mqtt.host, got.mqtt.port) == ("mqtt.example", 8883)


@pytest.mark.parametrize("node", ["mq1.example:", ":8883", "mq1.example:99999", "mq1.example:mqtt", "::1"])
def test_a_cluster_node_that_is_not_host_or_host_port_is_refused_at_start_up(node):
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="is not host or host:port"):
        Settings(kiosk_mqtt_nodes=["mq0.example", node])


def test_enrolling_a_board_twice_keeps_one_kiosk_and_rotates_its_password(shared_engine, world):
    engine = shared_engine
    ids, settings, store = world
    data = svc.KioskEnroll(board_uid="e6:61:41:03:e7:45:2d:2f", site_id=ids["site_a"])
    with Session(engine) as s:
        first = svc.enroll(s, settings, data, "tech", store)
        s.commit()
        second = svc.enroll(s, settings, data, "tech", store)
        s.commit()
        kiosks = s.exec(select(Kiosk).where(Kiosk.serial == "E6614103E7452D2F")).all()
        cred = s.get(svc.KioskCredential, first.kiosk_id)
    assert [k.id for k in kiosks] == ["nx-e6614103e7452d2f"]
    assert kiosks[0].serial == "E6614103E7452D2F" and kiosks[0].status == KioskStatus.DEPLOYED
    assert first.mqtt.password != second.mqtt.password and cred.mints == 2
    assert (first.mqtt.host, first.mqtt.port, first.mqtt.tls) == ("mqtt.example", 8883, True)
    assert store.users() == ["nx-e6614103e7452d2f"]  # one line per kiosk, replaced on rotation


def test_a_board_at_another_customer_is_refused_until_its_retrieval_is_recorded(shared_engine, world):
    engine = shared_engine
    ids, settings, store = world
    with Session(engine) as s:
        svc.enroll(
            s, settings, svc.KioskEnroll(board_uid="A1A1A1A1A1A1A1A1", site_id=ids["site_b"]), "t", store
        )
        s.commit()
        with pytest.raises(svc.EnrollmentError, match=f"enrolled to customer {ids['b']}") as e:
            svc.place_kiosk(s, svc.KioskEnroll(board_uid="A1A1A1A1A1A1A1A1", site_id=ids["site_a"]), "t")
        assert e.value.status_code == 409
        s.rollback()
        kiosk = s.exec(select(Kiosk).where(Kiosk.serial == "A1A1A1A1A1A1A1A1")).one()
        change_status(s, kiosk, KioskStatus.RETRIEVED, "tech")
        s.commit()
        moved = svc.place_kiosk(s, svc.KioskEnroll(board_uid="A1A1A1A1A1A1A1A1", site_id=ids["site_a"]), "t")
        s.commit()
        assert (moved.customer_id, moved.site_id, moved.status) == (
            ids["a"],
            ids["site_a"],
            KioskStatus.DEPLOYED,
        )


def test_an_unknown_site_or_a_mismatched_customer_is_refused(shared_engine, world):
    engine = shared_engine
    ids, _, _ = world
    with Session(engine) as s:
        with pytest.raises(svc.EnrollmentError, match="does not exist"):
            svc.place_kiosk(s, svc.KioskEnroll(board_uid="B1B1B1B1B1B1B1B1", site_id=9999), "t")
        with pytest.raises(svc.EnrollmentError, match="belongs to customer"):
            svc.place_kiosk(
                s,
                svc.KioskEnroll(board_uid="B1B1B1B1B1B1B1B1", site_id=ids["site_a"], customer_id=ids["b"]),
                "t",
            )


def test_an_expired_claim_cannot_be_approved_and_a_new_claim_needs_the_old_one_cancelled(
    shared_engine, world
):
    engine = shared_engine
    ids, settings, _ = world
    with Session(engine) as s:
        old = svc.open_claim(s, settings, svc.ClaimOpen(board_uid="C1C1C1C1C1C1C1C1", code="AAAAA-BBBBB"))
        s.commit()
        # whoever knows the board id cannot replace the code the genuine kiosk shows
        with pytest.raises(svc.EnrollmentError, match="already waits with another claim code"):
            svc.open_claim(s, settings, svc.ClaimOpen(board_uid="C1C1C1C1C1C1C1C1", code="CCCCC-DDDDD"))
        s.rollback()
        assert svc.cancel_claim(s, old.id, "tech@noxus").status == svc.ClaimStatus.SUPERSEDED
        new = svc.open_claim(s, settings, svc.ClaimOpen(board_uid="C1C1C1C1C1C1C1C1", code="CCCCC-DDDDD"))
        s.commit()
        assert s.get(svc.KioskClaim, old.id).status == svc.ClaimStatus.SUPERSEDED
        with pytest.raises(svc.EnrollmentError, match="no kiosk waits"):
            svc.approve_claim(s, svc.ClaimApprove(code="AAAAA-BBBBB", site_id=ids["site_a"]), "t")
        new.expires_at = new.expires_at - timedelta(hours=settings.claim_ttl_hours + 1)
        s.add(new)
        s.commit()
        with pytest.raises(svc.EnrollmentError, match="expired"):
            svc.approve_claim(s, svc.ClaimApprove(code="ccccc-ddddd", site_id=ids["site_a"]), "t")


def test_password_lines_are_mosquitto_pbkdf2_sha512(tmp_path):
    line = hash_password("s3cret", salt=b"0123456789ab")
    _, alg, rounds, salt, digest = line.split("$")
    assert (alg, rounds, base64.b64decode(salt)) == ("7", "101", b"0123456789ab")
    assert base64.b64decode(digest) == hashlib.pbkdf2_hmac("sha512", b"s3cret", b"0123456789ab", 101)
    store = PasswordFile(tmp_path / "p")
    store.set("k1", "x")
    store.set("k2", "y")
    store.remove("k1")
    assert store.users() == ["k2"] and (tmp_path / "p").stat().st_mode & 0o777 == 0o640


def test_staff_approve_a_claim_on_the_claims_page(engine, staff_client):
    ids, settings = seed(engine), Settings()
    with Session(engine) as s:
        svc.open_claim(s, settings, svc.ClaimOpen(board_uid="D1D1D1D1D1D1D1D1", code="EEEEE-FFFFF"))
        s.commit()
    page = staff_client.get("/enrollment/claims")
    assert page.status_code == 200 and "D1D1D1D1D1D1D1D1" in page.text
    r = staff_client.post(
        "/enrollment/claims/approve",
        data={"code": "EEEEE-FFFFF", "site_id": ids["site_a"]},
        follow_redirects=False,
    )
    assert r.status_code == 303 and "approved" in r.headers["location"]
    with Session(engine) as s:
        claim = s.exec(select(svc.KioskClaim).where(svc.KioskClaim.board_uid == "D1D1D1D1D1D1D1D1")).one()
        assert claim.status == svc.ClaimStatus.APPROVED and claim.kiosk_id == "nx-d1d1d1d1d1d1d1d1"


def test_staff_cancel_a_pending_claim_on_the_claims_page_after_a_confirmation_and_it_is_audited(
    engine, staff_client
):
    from noxus.core.audit_entry import AuditEntry

    seed(engine)
    settings = Settings()
    with Session(engine) as s:
        claim = svc.open_claim(s, settings, svc.ClaimOpen(board_uid="D2D2D2D2D2D2D2D2", code="GGGGG-HHHHH"))
        s.commit()
        claim_id = claim.id
    page = staff_client.get("/enrollment/claims")
    assert f'action="/enrollment/claims/{claim_id}/cancel"' in page.text
    # first the confirmation page: nothing changes yet
    r = staff_client.post(f"/enrollment/claims/{claim_id}/cancel", data={}, follow_redirects=False)
    assert r.status_code == 200 and "D2D2D2D2D2D2D2D2" in r.text and 'name="confirmed" value="yes"' in r.text
    with Session(engine) as s:
        assert s.get(svc.KioskClaim, claim_id).status == svc.ClaimStatus.PENDING
    r = staff_client.post(
        f"/enrollment/claims/{claim_id}/cancel", data={"confirmed": "yes"}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"].endswith("msg=cancelled")
    with Session(engine) as s:
        assert s.get(svc.KioskClaim, claim_id).status == svc.ClaimStatus.SUPERSEDED
        entry = s.exec(select(AuditEntry).where(AuditEntry.action == "kiosk_claim.cancel")).one()
        assert entry.object_id == str(claim_id) and entry.detail == {"board_uid": "D2D2D2D2D2D2D2D2"}
        # the board may now announce another code
        svc.open_claim(s, settings, svc.ClaimOpen(board_uid="D2D2D2D2D2D2D2D2", code="JJJJJ-KKKKK"))
    assert "cancelled" in staff_client.get("/enrollment/claims?msg=cancelled").text
    # twice (another tab): no error page, the list says it is gone
    again = staff_client.post(
        f"/enrollment/claims/{claim_id}/cancel", data={"confirmed": "yes"}, follow_redirects=False
    )
    assert again.status_code == 303 and again.headers["location"].endswith("msg=gone")


def test_claims_page_in_french_and_german_names_the_cancel_button(engine, staff_client):
    seed(engine)
    with Session(engine) as s:
        svc.open_claim(s, Settings(), svc.ClaimOpen(board_uid="D3D3D3D3D3D3D3D3", code="LLLLL-MMMMM"))
        s.commit()
    for lang, word in (("fr", "Annuler la réclamation"), ("de", "Anmeldung abbrechen")):
        page = staff_client.get(f"/enrollment/claims?lang={lang}")
        assert word in page.text, lang


def test_claim_endpoints_are_rate_limited_per_source_and_per_board():
    from noxus.fleet.claim_limits import ClaimLimits

    now = [0.0]
    limits = ClaimLimits(per_source=5, per_board=2, clock=lambda: now[0])  # emulated time
    assert limits.check("10.0.0.1", "B1") is None and limits.check("10.0.0.1", "B1") is None
    assert limits.check("10.0.0.2", "B1") == 60.0  # third request for this board within the minute
    assert limits.check("10.0.0.1", "B2") is None  # another board from the same source
    assert [limits.check("10.0.0.1", f"B{n}") for n in range(3, 6)][-1] == 60.0  # 6th from this source
    now[0] = 60.0
    assert limits.check("10.0.0.1", "B1") is None  # the window moved on


def test_claims_page_refuses_a_blank_code_at_the_field_and_keeps_the_site_chosen(engine, staff_client):
    ids = seed(engine)
    r = staff_client.post(
        "/enrollment/claims/approve?lang=en",
        data={"code": "   ", "site_id": ids["site_a"], "name": "Hall"},
        headers={"accept": "text/html"},
    )
    assert r.status_code == 422 and r.headers["content-type"].startswith("text/html")
    assert 'id="err-code"' in r.text and "This field is required." in r.text
    assert 'value="Hall"' in r.text and f'value="{ids["site_a"]}" selected' in r.text


def test_claims_page_shows_no_free_text_from_the_address(engine, staff_client):
    seed(engine)
    page = staff_client.get("/enrollment/claims?msg=<b>you+were+hacked</b>&err=hacked")
    main = page.text.split("<main>", 1)[1].split("</main>", 1)[0]
    assert "hacked" not in main
