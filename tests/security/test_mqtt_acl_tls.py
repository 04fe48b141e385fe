"""The production broker configuration (deploy/mosquitto/) enforces per-kiosk credentials and
ACLs, and serves TLS: tested with the real Mosquitto, `mosquitto_pub`, and a CA made here.

A kiosk's MQTT user name is its kiosk id; the ACL lets it write and read only under
noxus/v1/<its id>/. The backend also refuses a payload whose kiosk id differs from the topic's."""

import pathlib
import shutil
import subprocess
import threading
import time

import paho.mqtt.client as mqtt
import pytest

from devstack.broker import free_port, wait_port
from firmware.core import protocol
from tests.firmware.tlsca import make_ca

REPO = pathlib.Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy" / "mosquitto"
PASSWORDS = {"noxus-backend": "backend-secret-1", "KA": "kiosk-a-secret", "KB": "kiosk-b-secret"}


@pytest.fixture(autouse=True, scope="module")
def _tools_installed():
    # installable, so a failure that says how, never a skip (docs/testing.md, "Skips")
    assert (
        (shutil.which("mosquitto") or pathlib.Path("/usr/sbin/mosquitto").exists())
        and shutil.which("mosquitto_passwd")
        and shutil.which("openssl")
    ), (
        "mosquitto, mosquitto_passwd and openssl are needed: apt-get install mosquitto openssl (make test-deps)"
    )


def _run(*cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


@pytest.fixture(scope="module")
def prod_broker(tmp_path_factory):
    d = tmp_path_factory.mktemp("prodbroker")
    make_ca(d)  # the CA, an unrelated one (other.crt) and a certificate for 127.0.0.1 / localhost
    for ext in ("crt", "key"):  # under the names deploy/mosquitto/mosquitto.conf reads
        shutil.copy(d / f"good.{ext}", d / f"server.{ext}")
    pw = d / "noxus.passwd"
    pw.touch(mode=0o600)
    for user, secret in PASSWORDS.items():
        _run("mosquitto_passwd", "-b", pw, user, secret)
    plain, tls = free_port(), free_port()
    conf = (DEPLOY / "mosquitto.conf").read_text()
    for old, new in {
        "/var/lib/mosquitto/": f"{d}/",
        "/var/lib/noxus/mosquitto/noxus.passwd": str(pw),
        "/etc/mosquitto/noxus.acl": str(DEPLOY / "noxus.acl"),  # the shipped ACL, unchanged
        "/etc/mosquitto/certs/": f"{d}/",
        "listener 1883 127.0.0.1": f"listener {plain} 127.0.0.1",
        "listener 8883": f"listener {tls} 127.0.0.1",
    }.items():
        assert old in conf, f"deploy/mosquitto/mosquitto.conf no longer contains {old!r}"
        conf = conf.replace(old, new)
    (d / "mosquitto.conf").write_text(conf + f"\nuser root\nlog_dest file {d}/mosquitto.log\n")
    exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    proc = subprocess.Popen(
        [exe, "-c", str(d / "mosquitto.conf")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_port(plain)
        wait_port(tls)
        yield {"plain": plain, "tls": tls, "dir": d}
    finally:
        proc.terminate()
        proc.wait(10)


class Listener:
    """The backend's view: subscribed to everything under noxus/v1/."""

    def __init__(self, port: int, user="noxus-backend", topic="noxus/v1/#"):
        self.got: list[tuple[str, bytes]] = []
        self.subscribed = threading.Event()
        self.c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"t-{user}-{port}")
        self.c.username_pw_set(user, PASSWORDS[user])
        self.c.on_message = lambda c, u, m: self.got.append((m.topic, m.payload))
        self.c.on_subscribe = lambda *a: self.subscribed.set()
        self.c.connect("127.0.0.1", port)
        self.c.subscribe(topic, qos=1)
        self.c.loop_start()
        assert self.subscribed.wait(60)  # a safety net only

    def stop(self):
        self.c.loop_stop()
        self.c.disconnect()


def pub(port, user, topic, payload, *extra, password=None):
    body = ["-m", payload] if payload else []  # else the payload comes from extra ("-f", file)
    return subprocess.run(
        [
            "mosquitto_pub",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-u",
            user,
            "-P",
            password or PASSWORDS[user],
            "-q",
            "1",
            "-t",
            topic,
            *body,
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )


def _sync(port):
    """A marker through the broker: once the backend sees it, earlier publishes were routed."""
    marker = Listener(port)
    r = pub(port, "KA", "noxus/v1/KA/state", "marker")
    assert r.returncode == 0, r.stderr

    deadline = time.monotonic() + 60  # a safety net only
    while not any(p == b"marker" for _, p in marker.got) and time.monotonic() < deadline:
        time.sleep(0.05)
    marker.stop()


def test_kiosk_publishes_only_under_its_own_topic(prod_broker):
    port = prod_broker["plain"]
    backend = Listener(port)
    pub(port, "KA", "noxus/v1/KB/punch", "forged-by-A")  # B's topic with A's credentials
    pub(port, "KA", "noxus/v1/KA/ack", "fake-ack")  # A may not write acks, even its own
    pub(port, "KA", "noxus/v1/KA/punch", "genuine-A")
    _sync(port)
    backend.stop()
    payloads = [p for _, p in backend.got]
    assert b"genuine-A" in payloads
    assert b"forged-by-A" not in payloads and b"fake-ack" not in payloads


def test_kiosk_cannot_read_another_kiosks_messages(prod_broker):
    port = prod_broker["plain"]
    spy = Listener(port, user="KA", topic="noxus/v1/KB/#")
    own = Listener(port, user="KA", topic="noxus/v1/KA/ack")
    assert pub(port, "noxus-backend", "noxus/v1/KB/ack", "for-B").returncode == 0
    assert pub(port, "noxus-backend", "noxus/v1/KA/ack", "for-A").returncode == 0
    _sync(port)

    deadline = time.monotonic() + 60  # a safety net only
    while not own.got and time.monotonic() < deadline:
        time.sleep(0.05)
    spy.stop()
    own.stop()
    assert [p for _, p in own.got] == [b"for-A"]
    assert spy.got == []


def test_every_kiosk_reads_the_ingest_notice_and_none_can_forge_it(prod_broker):
    port = prod_broker["plain"]
    kiosk = Listener(port, user="KA", topic=protocol.INGEST_UP)
    backend = Listener(port, topic=protocol.INGEST_UP)
    assert pub(port, "KB", protocol.INGEST_UP, "forged-by-B").returncode == 0  # accepted, not routed
    assert pub(port, "noxus-backend", protocol.INGEST_UP, "from-a-worker").returncode == 0

    deadline = time.monotonic() + 60  # a safety net only
    while not kiosk.got and time.monotonic() < deadline:
        time.sleep(0.05)
    _sync(port)
    kiosk.stop()
    backend.stop()
    assert [p for _, p in kiosk.got] == [b"from-a-worker"]
    assert [p for _, p in backend.got] == [b"from-a-worker"]


def test_wrong_password_and_anonymous_are_refused(prod_broker):
    port = prod_broker["plain"]
    assert pub(port, "KA", "noxus/v1/KA/punch", "x", password="guess").returncode != 0
    r = subprocess.run(
        ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(port), "-t", "noxus/v1/KA/punch", "-m", "x"],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    assert r.returncode != 0


def test_tls_listener_accepts_clients_trusting_our_ca_only(prod_broker):
    d, port = prod_broker["dir"], prod_broker["tls"]
    backend = Listener(prod_broker["plain"])
    ok = pub(port, "KA", "noxus/v1/KA/punch", "over-tls", "--cafile", str(d / "ca.crt"))
    assert ok.returncode == 0, ok.stderr
    bad = pub(port, "KA", "noxus/v1/KA/punch", "untrusted", "--cafile", str(d / "other.crt"))
    assert bad.returncode != 0  # certificate verify failed
    plain_on_tls = pub(port, "KA", "noxus/v1/KA/punch", "plaintext")
    assert plain_on_tls.returncode != 0
    _sync(prod_broker["plain"])
    backend.stop()
    payloads = [p for _, p in backend.got]
    assert b"over-tls" in payloads and b"untrusted" not in payloads


def test_backend_refuses_a_payload_whose_kiosk_id_differs_from_the_topic():
    from firmware.core.protocol import Punch as WirePunch

    payload = protocol.encode_punch_batch("KA", [WirePunch(seq=1, uid="04A1B2C3", ts_ms=1_764_000_000_000)])
    assert protocol.decode_punch_batch(payload, "KA")[1] is None
    value, err = protocol.decode_punch_batch(payload, "KB")
    assert value is None and "kiosk" in err


def test_oversized_payload_is_dropped_and_other_kiosks_still_get_through(prod_broker):
    port = prod_broker["plain"]
    backend = Listener(port)
    big = prod_broker["dir"] / "big.bin"
    big.write_bytes(b"x" * 200_000)  # > max_packet_size: the broker disconnects A
    pub(port, "KA", "noxus/v1/KA/punch", "", "-f", str(big))
    assert pub(port, "KB", "noxus/v1/KB/punch", "b-still-served").returncode == 0
    _sync(port)
    backend.stop()
    payloads = [p for _, p in backend.got]
    assert b"b-still-served" in payloads
    assert not any(len(p) > 65536 for p in payloads)
