"""What every scenario shares: the punches, their wire payloads, a paho
client that publishes a list of messages as fast as QoS 1 allows."""

import threading
import time
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from firmware.core import protocol
from firmware.core.protocol import Punch

T0 = 1_767_225_600_000  # 2026-01-01T00:00Z
INFLIGHT = 1000  # QoS 1 messages a client may have un-PUBACKed (Mosquitto's limit here too)


@dataclass
class Workload:
    """N punches from `kiosks` kiosks, `per_message` punches per MQTT message."""

    punches: int
    per_message: int
    kiosks: int = 10

    @property
    def messages(self) -> int:
        return self.punches // self.per_message

    @property
    def label(self) -> str:
        return f"{self.per_message} punch{'es' if self.per_message > 1 else ''}/message"

    def kiosk_ids(self, prefix: str) -> list[str]:
        return [f"{prefix}-{i:02d}" for i in range(self.kiosks)]

    def batches(self, prefix: str) -> list[tuple[str, list[Punch]]]:
        """(kiosk, punches) per message, kiosks interleaved like a real fleet;
        per kiosk, seqs 1, 2, 3... in order."""
        ids = self.kiosk_ids(prefix)
        per_kiosk = self.punches // self.kiosks
        out = []
        for start in range(0, per_kiosk, self.per_message):
            for k, kiosk in enumerate(ids):
                seqs = range(start + 1, min(start + self.per_message, per_kiosk) + 1)
                out.append(
                    (
                        kiosk,
                        [Punch(s, f"04{k:02X}{s >> 8 & 255:02X}{s & 255:02X}", T0 + s * 1000) for s in seqs],
                    )
                )
        return out

    def payloads(self, prefix: str) -> list[tuple[str, bytes]]:
        """(topic, payload) exactly as firmware/core/sender.py publishes them."""
        return [
            (protocol.topic(kiosk, protocol.PUNCH), protocol.encode_punch_batch(kiosk, ps))
            for kiosk, ps in self.batches(prefix)
        ]


def client(port: int, client_id: str = "", on_message=None) -> mqtt.Client:
    """A clean-session client (an existing session of that id is discarded)."""
    c = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311, clean_session=True
    )
    c.max_inflight_messages_set(INFLIGHT)
    if on_message is not None:
        c.on_message = on_message
    connected = threading.Event()
    c.on_connect = lambda *_: connected.set()
    c.connect("127.0.0.1", port, keepalive=60)
    c.loop_start()
    if not connected.wait(10):
        raise RuntimeError(f"no MQTT connection to 127.0.0.1:{port}")
    return c


def subscribe(c: mqtt.Client, topic: str) -> None:
    done = threading.Event()
    c.on_subscribe = lambda *_: done.set()
    c.subscribe(topic, qos=1)
    if not done.wait(10):
        raise RuntimeError(f"no SUBACK for {topic}")


def publish_all(c: mqtt.Client, messages: list[tuple[str, bytes]]) -> None:
    for topic, payload in messages:
        c.publish(topic, payload, qos=1)


def wait(event: threading.Event, timeout: float, what: str) -> float:
    if not event.wait(timeout):
        raise TimeoutError(f"{what} did not finish within {timeout:.0f}s")
    return time.perf_counter()
