"""From a blank simulated board to an online, enrolled kiosk: the real CLI, the
real raw REPL (MicroPython on a pty), the app under uvicorn, a Mosquitto with
a password file and the production ACL."""

import json
import subprocess
import threading

import httpx
import paho.mqtt.client as mqtt
import pytest
from noxus_provision.cli import app
from typer.testing import CliRunner

from tests.provisioning.conftest import BACKEND_PASSWORD, BACKEND_USER

pytestmark = pytest.mark.slow


def cli(backend, *args, token=None):
    env = {"NOXUS_API": backend.url, "NOXUS_TOKEN": token or backend.token}
    return CliRunner().invoke(app, list(args), env=env)


def enroll(backend, board, *more, token=None):
    """`noxus-provision enroll` of a simulated board to tenant A's site."""
    return cli(
        backend,
        "enroll",
        "--device",
        board.device,
        "--port",
        "sim",
        "--site",
        str(backend.site_a),
        *more,
        token=token,
    )


def board_config(board) -> dict:
    return json.loads((board.root / "kiosk.json").read_text())


def mqtt_pub(broker, user, password, topic):
    return subprocess.run(
        [
            "mosquitto_pub",
            "-p",
            str(broker.port),
            "-u",
            user,
            "-P",
            password,
            "-t",
            topic,
            "-m",
            "x",
            "-q",
            "1",
            "-V",
            "mqttv5",
        ],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )


def api_enroll(backend, uid, site, token=None):
    return httpx.post(
        f"{backend.url}/api/v1/enrollment/kiosks",
        timeout=30,
        headers={"Authorization": f"Bearer {token or backend.token}"},
        json={"board_uid": uid, "site_id": site, "model": "sim"},
    )


def test_blank_board_becomes_an_online_kiosk_and_a_rerun_is_clean(backend, make_board):
    board = make_board("blank", "E6614103E7452D2F")
    r = enroll(backend, board, "--name", "Entrée atelier", "--timeout", "60")
    assert r.exit_code == 0, r.output
    assert "online: kiosk nx-e6614103e7452d2f" in r.output
    cfg = board_config(board)
    assert cfg["kiosk_id"] == "nx-e6614103e7452d2f" and cfg["broker"]["username"] == cfg["kiosk_id"]
    assert cfg["site"] == {
        "id": backend.site_a,
        "customer_id": backend.customer_a,
        "timezone": "Europe/Zurich",
    }
    # secrets are never printed
    assert backend.token not in r.output and cfg["broker"]["password"] not in r.output
    assert cfg["kiosk_id"] in backend.broker.passwd.read_text()

    again = enroll(backend, board, "--timeout", "60")
    assert again.exit_code == 0, again.output
    assert "0 file(s) written" in again.output and "online: kiosk nx-e6614103e7452d2f" in again.output
    # the rerun rotated the password; the kiosk came back with the new one
    assert board_config(board)["broker"]["password"] != cfg["broker"]["password"]


def test_brokers_given_with_broker_go_into_kiosk_json_and_the_kiosk_reaches_the_live_one(backend, make_board):
    """Two nodes, one of them dead: the kiosk dials its nodes in turn (mqtt_link.brokers_of)
    and comes online through the other, whichever it tried first."""
    from devstack.broker import free_port

    board = make_board("blank", "C1C1C1C1C1C1C1C1")
    dead, live = free_port(), backend.broker.port
    r = enroll(backend, board, "--broker", f"127.0.0.1:{dead}", "--broker", "127.0.0.1", "--timeout", "60")
    assert r.exit_code == 0, r.output
    assert f"brokers 127.0.0.1:{dead}, 127.0.0.1:{live}" in r.output  # a port left out: the backend's
    assert "online: kiosk nx-c1c1c1c1c1c1c1c1" in r.output
    broker = board_config(board)["broker"]
    assert broker["nodes"] == [{"host": "127.0.0.1", "port": dead}, {"host": "127.0.0.1", "port": live}]


def test_a_kiosks_credentials_are_refused_on_another_kiosks_topics(backend):
    a = api_enroll(backend, "A1A1A1A1A1A1A1A1", backend.site_a).json()
    b = api_enroll(backend, "B2B2B2B2B2B2B2B2", backend.site_a).json()
    ka, kb = a["kiosk_id"], b["kiosk_id"]
    pa = a["mqtt"]["password"]

    own = mqtt_pub(backend.broker, ka, pa, f"noxus/v1/{ka}/punch")
    assert own.returncode == 0 and "failed" not in own.stderr
    other = mqtt_pub(backend.broker, ka, pa, f"noxus/v1/{kb}/punch")
    assert "Not authorized" in other.stderr
    wrong = mqtt_pub(backend.broker, ka, "not-the-password", f"noxus/v1/{ka}/punch")
    assert wrong.returncode != 0 and "not authori" in (wrong.stderr + wrong.stdout).lower()

    # A subscribed to B's commands receives nothing; B itself does
    spy = Subscriber(backend.broker, ka, pa, f"noxus/v1/{kb}/cmd", f"noxus/v1/{ka}/cmd")
    owner = Subscriber(backend.broker, kb, b["mqtt"]["password"], f"noxus/v1/{kb}/cmd")
    try:
        for topic, body in ((f"noxus/v1/{kb}/cmd", "for-b"), (f"noxus/v1/{ka}/cmd", "for-a")):
            subprocess.run(
                [
                    "mosquitto_pub",
                    "-p",
                    str(backend.broker.port),
                    "-u",
                    BACKEND_USER,
                    "-P",
                    BACKEND_PASSWORD,
                    "-t",
                    topic,
                    "-m",
                    body,
                    "-q",
                    "1",
                ],
                check=True,
                timeout=30,
            )
        assert owner.wait_for(b"for-b") == [b"for-b"]
        # "for-a" was published after "for-b" on the same connection: once the spy has
        # it, "for-b" would have reached it before, had the ACL let it through
        assert spy.wait_for(b"for-a") == [b"for-a"]
    finally:
        spy.stop()
        owner.stop()


class Subscriber:
    """An MQTT client subscribed (SUBACK received) to `topics` with a kiosk's credentials."""

    def __init__(self, broker, user, password, *topics):
        self.got: list[bytes] = []
        self._arrived = threading.Condition()
        subscribed = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        self.client.username_pw_set(user, password)
        self.client.on_connect = lambda c, *_: c.subscribe([(t, 1) for t in topics])
        self.client.on_subscribe = lambda *_: subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", broker.port)
        self.client.loop_start()
        assert subscribed.wait(60), f"{user} got no SUBACK"

    def _on_message(self, _client, _userdata, msg):
        with self._arrived:
            self.got.append(msg.payload)
            self._arrived.notify_all()

    def wait_for(self, payload: bytes, timeout: float = 60) -> list[bytes]:
        """Everything received once `payload` arrived (timeout: a safety net only)."""
        with self._arrived:
            self._arrived.wait_for(lambda: payload in self.got, timeout)
            return list(self.got)

    def stop(self):
        self.client.loop_stop()
        self.client.disconnect()


def test_a_wrong_token_is_refused_with_what_to_do(backend, make_board):
    simboard = make_board("wrong-token", "0102030405060708")
    r = enroll(backend, simboard, token="nxt_this-is-not-a-token")
    assert r.exit_code == 5, r.output
    assert "refused your token" in r.output and "noxus token create" in r.output
    assert "nxt_this-is-not-a-token" not in r.output


def test_a_board_enrolled_to_another_customer_is_refused(backend, make_board):
    simboard = make_board("other-customer", "1112131415161718")
    first = api_enroll(backend, simboard.uid, backend.site_b)
    assert first.status_code == 200, first.text
    r = enroll(backend, simboard)
    assert r.exit_code == 5, r.output
    assert f"enrolled to customer {backend.customer_b}" in r.output
    assert "retrieval" in r.output


def test_enrolling_again_at_another_site_of_the_same_customer_moves_the_kiosk(backend):
    assert api_enroll(backend, "C3C3C3C3C3C3C3C3", backend.site_a).status_code == 200
    moved = api_enroll(backend, "C3C3C3C3C3C3C3C3", backend.site_a2)
    assert moved.status_code == 200 and moved.json()["site_id"] == backend.site_a2


def test_claim_code_kiosk_gets_its_credentials_once_after_approval(backend):
    from noxus_provision import claim as claim_mod
    from noxus_provision.api import Backend

    kiosk = Backend(backend.url, None)
    code = claim_mod.new_code()
    kiosk.open_claim("D4D4D4D4D4D4D4D4", code, "pico-w")
    assert kiosk.redeem_claim("D4D4D4D4D4D4D4D4", code) is None  # not approved yet

    r = cli(backend, "claim", "approve", code, "--site", str(backend.site_a), "--name", "Quai")
    assert r.exit_code == 0, r.output
    got = kiosk.redeem_claim("D4D4D4D4D4D4D4D4", code)
    assert got["kiosk_id"] == "nx-d4d4d4d4d4d4d4d4" and got["mqtt"]["password"]
    ok = mqtt_pub(
        backend.broker, got["kiosk_id"], got["mqtt"]["password"], f"noxus/v1/{got['kiosk_id']}/state"
    )
    assert ok.returncode == 0 and "failed" not in ok.stderr

    with pytest.raises(Exception, match="already delivered"):
        kiosk.redeem_claim("D4D4D4D4D4D4D4D4", code)
    with pytest.raises(Exception, match="no kiosk waits"):
        kiosk.redeem_claim("FFFFFFFFFFFFFFFF", code)  # right code, wrong board


def test_badge_enrolled_from_the_next_tap_on_a_kiosk(backend):
    import threading

    import paho.mqtt.client as mqtt

    from firmware.core import protocol

    k = api_enroll(backend, "E5E5E5E5E5E5E5E5", backend.site_a).json()
    kid = k["kiosk_id"]

    # the kiosk: in enrollment mode on command, its next tap goes out as kind "enroll"
    kiosk = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="kiosk-" + kid)
    kiosk.username_pw_set(kid, k["mqtt"]["password"])
    got_cmd = threading.Event()

    def on_message(client, _u, msg):
        body, err = protocol.decode_message(msg.payload, kid)
        assert err is None and body["cmd"] == "enrollment_mode"
        got_cmd.set()
        tap = protocol.Punch(1, "04A1B2C3D4E5F6", 1764000000000, protocol.KIND_ENROLL)
        client.publish(protocol.topic(kid, protocol.PUNCH), protocol.encode_punch_batch(kid, [tap]), qos=1)

    kiosk.on_message = on_message
    kiosk.on_connect = lambda c, *_: c.subscribe(protocol.topic(kid, protocol.CMD), 1)
    kiosk.connect("127.0.0.1", backend.broker.port)
    kiosk.loop_start()
    try:
        r = cli(
            backend,
            "badge",
            "enroll",
            "--kiosk",
            kid,
            "--employee",
            str(backend.employee),
            "--timeout",
            "30",
            token=backend.admin_token,
        )
    finally:
        kiosk.loop_stop()
        kiosk.disconnect()
    assert got_cmd.is_set()
    assert r.exit_code == 0, r.output
    assert "badge 04A1B2C3D4E5F6" in r.output
    badges = httpx.get(
        f"{backend.url}/api/v1/hr/badges",
        params={"uid": "04A1B2C3D4E5F6"},
        headers={"Authorization": f"Bearer {backend.admin_token}"},
    ).json()
    assert [b["employee_id"] for b in badges] == [backend.employee]


def test_pi_install_with_site_enrolls_the_pi_by_its_serial_number(backend, tmp_path):
    root = tmp_path / "pi"
    (root / "proc").mkdir(parents=True)
    (root / "proc/cpuinfo").write_text("Hardware\t: BCM2835\nSerial\t\t: 10000000a3b4c5d6\nModel\t: Pi 4\n")
    args = ["pi", "install", "--root", str(root), "--site", str(backend.site_a), "--no-systemd", "--no-pip"]
    r = cli(backend, *args)
    assert r.exit_code == 0, r.output
    cfg = json.loads((root / "etc/noxus/kiosk.json").read_text())
    assert cfg["kiosk_id"] == "nx-10000000a3b4c5d6" and cfg["data_dir"] == "/var/lib/noxus-kiosk"
    assert cfg["pinmap"] == "/opt/noxus/hardware/pinmap.json" and len(cfg["firmware_hash"]) == 64
    assert cfg["broker"]["password"] not in r.output and "nodes" not in cfg["broker"]
    ok = mqtt_pub(
        backend.broker, cfg["kiosk_id"], cfg["broker"]["password"], f"noxus/v1/{cfg['kiosk_id']}/state"
    )
    assert ok.returncode == 0 and "failed" not in ok.stderr


def test_pi_install_writes_the_brokers_given_with_broker(backend, tmp_path):
    root = tmp_path / "pi"
    (root / "proc").mkdir(parents=True)
    (root / "proc/cpuinfo").write_text("Hardware\t: BCM2835\nSerial\t\t: 10000000b4c5d6e7\nModel\t: Pi 4\n")
    args = ["pi", "install", "--root", str(root), "--site", str(backend.site_a), "--no-systemd", "--no-pip"]
    r = cli(backend, *args, "--broker", "mq1.example:8883", "--broker", "mq2.example:8884")
    assert r.exit_code == 0, r.output
    broker = json.loads((root / "etc/noxus/kiosk.json").read_text())["broker"]
    assert broker["nodes"] == [{"host": "mq1.example", "port": 8883}, {"host": "mq2.example", "port": 8884}]
    assert (broker["host"], broker["port"]) == ("mq1.example", 8883)
