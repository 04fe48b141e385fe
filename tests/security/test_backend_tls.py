"""The backend's own clients verify the servers they talk to: its MQTT clients
(ingest worker, enrollment) over TLS with NOXUS_MQTT_TLS, and SMTP STARTTLS,
against a real Mosquitto TLS listener and a real aiosmtpd, with a test CA made by
openssl (tests/firmware/tlsca.py)."""

import pathlib
import smtplib
import ssl
import sys
import threading

import paho.mqtt.client as mqtt
import pytest
from aiosmtpd.controller import Controller
from noxus.core import tls
from noxus.core.settings import Settings

from devstack.broker import free_port

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "firmware"))
from tlsca import make_ca, tls_broker


@pytest.fixture(scope="module")
def ca(tmp_path_factory):
    return make_ca(tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="module")
def broker(ca, tmp_path_factory):
    b = tls_broker(tmp_path_factory.mktemp("mosq"), ca)
    yield b
    b.stop()


def _mqtt_connect(settings: Settings, port: int) -> str:
    """-> "ok" or the error the connect raised."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="t-backend-tls")
    tls.configure_mqtt(client, settings)
    done, result = threading.Event(), []
    client.on_connect = lambda c, u, f, reason, p: (result.append(str(reason)), done.set())
    try:
        client.connect("localhost", port)
    except (ssl.SSLError, OSError) as e:
        return f"{type(e).__name__}: {e}"
    client.loop_start()
    try:
        assert done.wait(10)  # safety net
    finally:
        client.disconnect()
        client.loop_stop()
    return "ok" if result == ["Success"] else result[0]


def test_backend_mqtt_client_verifies_the_broker_against_its_ca(ca, broker):
    trusted = Settings(_env_file=None, mqtt_tls=True, mqtt_ca_file=str(ca / "ca.crt"))
    assert _mqtt_connect(trusted, broker.tls_port) == "ok"
    untrusted = Settings(_env_file=None, mqtt_tls=True, mqtt_ca_file=str(ca / "other.crt"))
    assert "CERTIFICATE_VERIFY_FAILED" in _mqtt_connect(untrusted, broker.tls_port)
    system_store = Settings(_env_file=None, mqtt_tls=True)  # no CA file: the test CA is unknown there
    assert "CERTIFICATE_VERIFY_FAILED" in _mqtt_connect(system_store, broker.tls_port)


class _Sink:
    async def handle_DATA(self, server, session, envelope):
        return "250 OK"


def test_smtp_starttls_verifies_the_server_certificate(ca):
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(ca / "good.crt", ca / "good.key")
    port = free_port()
    controller = Controller(_Sink(), hostname="127.0.0.1", port=port, tls_context=server_ctx)
    controller.start()
    try:
        for ca_file, ok in (("ca.crt", True), ("other.crt", False)):
            with smtplib.SMTP("localhost", port, timeout=10) as smtp:
                if ok:
                    smtp.starttls(context=tls.client_context(str(ca / ca_file)))
                    smtp.sendmail("a@x.example", ["b@x.example"], "Subject: t\r\n\r\nhi")
                else:
                    with pytest.raises(ssl.SSLCertVerificationError):
                        smtp.starttls(context=tls.client_context(str(ca / ca_file)))
    finally:
        controller.stop()
