"""Bad input over real MQTT: every bad message becomes a dead letter with its
raw bytes and a reason, the worker stays up, and good batches still land."""

import json
import queue

import paho.mqtt.client as mqtt
import pytest
from noxus.ingest.models import DeadLetter, Punch
from paho.mqtt.enums import CallbackAPIVersion
from sqlmodel import func, select

from firmware.core import protocol
from firmware.core.protocol import Punch as WirePunch
from tests.e2e.stack import Stack

pytestmark = pytest.mark.slow


@pytest.fixture
def stack(tmp_path, private_broker):
    s = Stack(tmp_path, f"sqlite:///{tmp_path / 'noxus.db'}", private_broker)
    s.register("KA", "KB")
    s.start_worker()
    s.wait_worker_subscribed()
    yield s
    s.close()


def client(port: int) -> tuple[mqtt.Client, queue.Queue]:
    acks: queue.Queue = queue.Queue()
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="tester")
    c.on_message = lambda _c, _u, m: acks.put((m.topic, m.payload))
    c.connect("127.0.0.1", port)
    c.subscribe("noxus/v1/+/ack", 1)
    c.loop_start()
    return c, acks


def test_malformed_messages_are_dead_letters_and_the_worker_keeps_acking(stack):
    c, acks = client(stack.broker.port)
    good = protocol.encode_punch_batch("KA", [WirePunch(1, "04A1B2C3", 1767225600000)])
    bad = {
        "garbage": ("noxus/v1/KA/punch", b"\x00\xffnot json at all"),
        "version": ("noxus/v1/KA/punch", json.dumps({"v": 9, "kiosk": "KA", "punches": []}).encode()),
        "types": (
            "noxus/v1/KA/punch",
            b'{"v":1,"kiosk":"KA","punches":[{"seq":"1","uid":"04A1B2C3","ts":1}]}',
        ),
        "unknown kiosk": (
            "noxus/v1/KZ/punch",
            protocol.encode_punch_batch("KZ", [WirePunch(1, "04A1B2C3", 1)]),
        ),
        "A on B's topic": ("noxus/v1/KB/punch", good),
        "huge": ("noxus/v1/KA/punch", b"[" * 200_000),
    }
    for topic, payload in bad.values():
        c.publish(topic, payload, qos=1).wait_for_publish(5)
    c.publish("noxus/v1/KA/punch", good, qos=1).wait_for_publish(5)

    topic, payload = acks.get(timeout=60)  # a safety net only
    assert topic == "noxus/v1/KA/ack" and protocol.decode_ack(payload, "KA") == (1, None)
    stack.wait_until(
        lambda: stack.count(select(func.count()).select_from(DeadLetter)) == len(bad),
        20,
        "every bad message in dead_letter",
    )
    assert stack.worker_alive()
    assert stack.count(select(func.count()).select_from(Punch)) == 1
    reasons = {d.topic + " " + d.reason for d in stack.rows(DeadLetter)}
    assert any("not JSON" in r for r in reasons)
    assert any("version 9 not supported" in r for r in reasons)
    assert any("seq must be an integer" in r for r in reasons)
    assert any("unknown kiosk 'KZ'" in r for r in reasons)
    assert any(r.startswith("noxus/v1/KB/punch") and "does not match topic kiosk 'KB'" in r for r in reasons)
    raw = {bytes(d.payload) for d in stack.rows(DeadLetter)}
    assert b"\x00\xffnot json at all" in raw
    c.loop_stop()
