"""TLS between kiosk and broker: the Pico W program on the MicroPython Unix port
(its mbedTLS `ssl`) and the kiosk core on CPython (the Pi's `ssl`) against a real
Mosquitto TLS listener whose certificates come from a test CA made by openssl.
The kiosk pins the CA that provisioning installed; a wrong CA, an expired
certificate and a certificate for another name are refused with a crash-log
line, and the punches stay in the journal."""

import json
import sys
import time

import pytest
import test_fw_pico_port
from stub_backend import StubBackend
from tlsca import make_ca, tls_broker

from firmware.core import mqtt_link, tls
from firmware.core.ticks import ticks_ms

# The Unix port keeps the whole program's bytecode in the heap: with TLS it needs 176 KiB at least
# (bench/firmware_bench.py), so tests run with headroom; a board runs the frozen image (docs/firmware.md).
TLS_HEAP = "208K"


@pytest.fixture(scope="module")
def ca(tmp_path_factory):
    return make_ca(tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="module")
def brokers(ca, tmp_path_factory):
    """One broker per server certificate: good, expired, wrongname."""
    bs = {}
    try:
        for cert in ("good", "expired", "wrongname"):
            bs[cert] = tls_broker(tmp_path_factory.mktemp("mosq-" + cert), ca, cert)
        yield bs
    finally:
        for b in bs.values():
            b.stop()


pico_image = test_fw_pico_port.pico_image  # the session's .mpy image of the firmware
run_pico = test_fw_pico_port.run_pico


def run_tls_pico(pico_image, tmp_path, kiosk_id, taps, **more):
    """The Pico W program with the TLS heap, `taps` badges tapped online."""
    return run_pico(
        pico_image, tmp_path, None, heap=TLS_HEAP, kiosk_id=kiosk_id, taps=taps, offline_taps=0, **more
    )


def kiosk_broker(port, ca_file="ca.der", **more):
    return {"host": "localhost", "port": port, "tls": True, "ca_file": ca_file, **more}


def test_pico_w_connects_over_tls_with_the_pinned_ca_sends_and_gets_acks(pico_image, tmp_path, ca, brokers):
    b = brokers["good"]
    backend = StubBackend(b.port)  # the backend on the broker's plain loopback listener
    try:
        # the CA as PEM, the way an operator may hand it over: the kiosk takes both
        res = run_tls_pico(
            pico_image,
            tmp_path,
            "T1",
            5,
            broker=kiosk_broker(b.tls_port, "ca.pem"),
            files={"ca.pem": (ca / "ca.crt").read_bytes()},
        )
        assert res["tls"] is True and res["link_error"] is None
        assert res["acked"] == res["last_seq"] == 5 and res["pending"] == 0
        assert sorted(seq for (k, seq) in backend.punches if k == "T1") == [1, 2, 3, 4, 5]
        births = [s for s in backend.states if s.get("kiosk") == "T1" and s.get("online")]
        assert births and births[0]["tls"] is True  # the birth (and telemetry) say the link is encrypted
    finally:
        backend.close()


@pytest.mark.parametrize(
    "cert, ca_file, reason",
    [
        ("good", "other.der", "not correctly signed by the trusted CA"),
        ("expired", "ca.der", "validity has expired"),
        ("wrongname", "ca.der", "does not match"),
    ],
    ids=["wrong-ca", "expired-certificate", "wrong-host-name"],
)
def test_pico_w_refuses_an_untrusted_broker_and_keeps_the_punches(
    pico_image, tmp_path, ca, brokers, cert, ca_file, reason
):
    b = brokers[cert]
    backend = StubBackend(b.port)
    try:
        res = run_tls_pico(
            pico_image,
            tmp_path,
            "T2",
            4,
            exit_on_link_error=True,
            broker=kiosk_broker(b.tls_port, ca_file),
            files={ca_file: (ca / ca_file).read_bytes()},
        )
    finally:
        backend.close()
    assert res["tls"] is True and reason in res["link_error"]
    assert res["last_seq"] == 4 and res["acked"] == 0 and res["pending"] == 4  # safe in the journal
    assert not [k for (k, _) in backend.punches if k == "T2"]
    log = (tmp_path / "crash.log").read_text()
    assert f"mqtt: localhost:{b.tls_port} (TLS) refused: connector failed:" in log and reason in log


def test_pico_w_without_tls_settings_stays_offline_and_says_why(pico_image, tmp_path, brokers):
    """No "tls": false and no CA: never plain TCP by default."""
    b = brokers["good"]
    res = run_tls_pico(
        pico_image,
        tmp_path,
        "T3",
        3,
        exit_offline=True,
        broker={"host": "127.0.0.1", "port": b.port},
    )
    assert res["tls"] is None and res["pending"] == 3
    assert "mqtt: broker.ca_file is not set" in (tmp_path / "crash.log").read_text()


def _connect_cpython(broker, root):
    errors = []
    link = mqtt_link.from_config("C1", broker, on_error=errors.append, root=str(root))
    link.start()
    deadline = time.monotonic() + 20  # safety net only: loopback handshakes take ms
    while not link.up() and not errors and time.monotonic() < deadline:
        link.poll(ticks_ms())
        time.sleep(0.005)
    up = link.up()
    link.stop()
    return up, errors, link


def test_pi_core_on_cpython_verifies_the_pinned_ca_and_the_name(ca, brokers):
    port = brokers["good"].tls_port
    up, errors, link = _connect_cpython(kiosk_broker(port), ca)
    assert up and errors == [] and link.tls
    inline = {"host": "localhost", "port": port, "tls": True, "ca_pem": (ca / "ca.crt").read_text()}
    assert _connect_cpython(inline, ca)[0]  # the Pi's config carries its CA inline
    up, errors, _ = _connect_cpython(kiosk_broker(port, "other.der"), ca)
    assert not up and "CERTIFICATE_VERIFY_FAILED" in errors[0]
    up, errors, _ = _connect_cpython(kiosk_broker(brokers["expired"].tls_port), ca)
    assert not up and "certificate has expired" in errors[0]
    up, errors, _ = _connect_cpython(kiosk_broker(brokers["wrongname"].tls_port), ca)
    assert not up and "Hostname mismatch" in errors[0]
    # reached by address, the certificate checked against the configured name
    up, errors, _ = _connect_cpython(
        kiosk_broker(
            brokers["wrongname"].tls_port, host="127.0.0.1", server_hostname="broker.elsewhere.example"
        ),
        ca,
    )
    assert up and errors == []


def test_plain_tcp_only_when_the_config_says_tls_false(ca):
    assert tls.context({"host": "h", "tls": False}) is None
    with pytest.raises(tls.TlsConfigError, match="ca_file is not set"):
        tls.context({"host": "h"})
    with pytest.raises(tls.TlsConfigError, match="missing or empty"):
        tls.context({"host": "h", "tls": True, "ca_file": "nope.der"}, str(ca))
    assert json.dumps(tls.describe({"host": "h", "port": 1883, "tls": False})).count("plain TCP") == 1


def test_an_image_without_ssl_is_a_config_error_not_a_crash(ca, monkeypatch):
    # MicroPython's plain rp2 RPI_PICO build has neither ssl nor tls (docs/rp2040-emulation.md, "Findings"):
    # the kiosk must note it and journal offline, not crash and reset in a loop.
    monkeypatch.setitem(sys.modules, "ssl", None)  # `import ssl` raises ImportError
    monkeypatch.setitem(sys.modules, "tls", None)  # and so does MicroPython's own `tls`
    with pytest.raises(tls.TlsConfigError, match="no ssl module"):
        tls.context({"host": "h", "tls": True, "ca_file": "ca.der"}, str(ca))
