"""The production Mosquitto config in deploy/mosquitto/ loads, refuses
anonymous clients and confines each kiosk to its own topics."""

import pathlib
import re
import shutil
import subprocess
import threading
import time

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from devstack.broker import free_port, wait_port

DEPLOY = pathlib.Path(__file__).resolve().parents[2] / "deploy" / "mosquitto"


@pytest.fixture(autouse=True, scope="module")
def _mosquitto_passwd_installed():
    # installable, so a failure that says how, never a skip (docs/testing.md, "Skips")
    assert shutil.which("mosquitto_passwd") or pathlib.Path("/usr/bin/mosquitto_passwd").exists(), (
        "mosquitto_passwd is not installed: apt-get install mosquitto (make test-deps does it)"
    )


@pytest.fixture
def prod_broker(tmp_path):
    """deploy/mosquitto/mosquitto.conf with test paths and ports; TLS listener kept when
    openssl can make a certificate."""
    port = free_port()
    passwd = tmp_path / "passwd"
    for user in ("noxus-backend", "K1", "K2"):
        subprocess.run(
            [
                "mosquitto_passwd",
                "-b",
                *(["-c"] if not passwd.exists() else []),
                str(passwd),
                user,
                f"pw-{user}",
            ],
            check=True,
            capture_output=True,
        )
    conf = (DEPLOY / "mosquitto.conf").read_text()
    conf = conf.replace("/var/lib/mosquitto/", f"{tmp_path}/").replace(
        "/var/lib/noxus/mosquitto/noxus.passwd", str(passwd)
    )
    conf = conf.replace("/etc/mosquitto/noxus.acl", str(DEPLOY / "noxus.acl"))
    conf = conf.replace("listener 1883 127.0.0.1", f"listener {port} 127.0.0.1")
    conf = conf.replace("log_dest syslog", f"log_dest file {tmp_path}/mosquitto.log")
    if shutil.which("openssl"):
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "1",
                "-subj",
                "/CN=localhost",
                "-keyout",
                str(tmp_path / "server.key"),
                "-out",
                str(tmp_path / "server.crt"),
            ],
            check=True,
            capture_output=True,
        )
        shutil.copy(tmp_path / "server.crt", tmp_path / "ca.crt")
        conf = conf.replace("/etc/mosquitto/certs/", f"{tmp_path}/")
        conf = conf.replace("listener 8883", f"listener {free_port()} 127.0.0.1")
    else:
        conf = re.sub(r"listener 8883.*?tls_version tlsv1.2\n", "", conf, flags=re.DOTALL)
    (tmp_path / "mosquitto.conf").write_text(conf + "user root\n")
    proc = subprocess.Popen(
        [shutil.which("mosquitto") or "/usr/sbin/mosquitto", "-c", str(tmp_path / "mosquitto.conf")],
        stderr=subprocess.PIPE,
    )
    try:
        wait_port(port)
    except TimeoutError:
        proc.kill()
        raise AssertionError(proc.stderr.read().decode()) from None
    yield port
    proc.terminate()
    proc.wait(10)


def client(port, user, received=None, subscribe=()):
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"t-{user}-{time.monotonic_ns()}")
    if user:
        c.username_pw_set(user, f"pw-{user}")
    ready = threading.Event()

    def on_connect(cl, _u, _f, reason, _p):
        if reason.is_failure:
            return
        if subscribe:
            cl.subscribe([(t, 1) for t in subscribe])
        else:
            ready.set()

    c.on_connect = on_connect
    c.on_subscribe = lambda *_: ready.set()
    if received is not None:
        c.on_message = lambda _c, _u, m: received.append((m.topic, m.payload))
    c.connect("127.0.0.1", port)
    c.loop_start()
    return c, ready


def test_production_config_confines_each_kiosk_to_its_own_topics(prod_broker):
    port = prod_broker
    backend_got, k2_got = [], []
    backend, b_ready = client(port, "noxus-backend", backend_got, ["noxus/v1/+/punch"])
    k2, k2_ready = client(port, "K2", k2_got, ["noxus/v1/K1/ack", "noxus/v1/K2/ack"])
    try:
        assert b_ready.wait(60) and k2_ready.wait(60)
        k2.publish("noxus/v1/K1/punch", b"forged", qos=1).wait_for_publish(60)  # denied by the ACL
        k2.publish("noxus/v1/K2/punch", b"own", qos=1).wait_for_publish(60)
        backend.publish("noxus/v1/K1/ack", b"for K1", qos=1).wait_for_publish(60)
        backend.publish("noxus/v1/K2/ack", b"for K2", qos=1).wait_for_publish(60)
        # The denied message of each pair was published first on the same connection:
        # had it gone through, it would have arrived before the allowed one.
        deadline = time.monotonic() + 60  # a safety net only
        while (len(backend_got) < 1 or len(k2_got) < 1) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert backend_got == [("noxus/v1/K2/punch", b"own")]
        assert k2_got == [("noxus/v1/K2/ack", b"for K2")]
    finally:
        for c in (backend, k2):
            c.disconnect()
            c.loop_stop()


def test_production_config_refuses_anonymous_clients(prod_broker):
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="anon")
    codes = []
    c.on_connect = lambda _c, _u, _f, reason, _p: codes.append(reason)
    c.connect("127.0.0.1", prod_broker)
    c.loop_start()
    deadline = time.monotonic() + 60  # a safety net only
    while not codes and time.monotonic() < deadline:
        time.sleep(0.05)
    c.loop_stop()
    assert codes and codes[0].is_failure
