"""Lightweight kiosks for load and fault tests: CPython + paho, the real wire
codec and the real firmware Sender (one batch in flight, resend on timeout,
journal freed only by the app ack), with the journal kept in memory."""

import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from firmware.core import protocol
from firmware.core.sender import Sender
from firmware.core.ticks import ticks_ms
from tests.firmware_core import memjournal


class MemJournal(memjournal.MemJournal):
    """The Journal interface Sender uses (unacked, ack, acked), in RAM."""

    def tap(self, uid: str) -> None:
        seq = len(self.punches) + 1
        self.punches.append(protocol.Punch(seq, uid, int(time.time() * 1000)))

    def pending(self):
        return self.last_seq - self.acked


class LoadKiosk:
    def __init__(self, kiosk_id: str, port: int, acks: list, ack_timeout_ms=1000, backoff_max_ms=2000):
        self.id = kiosk_id
        self.journal = MemJournal()
        self.lock = threading.Lock()
        self.acks = acks  # shared list of (monotonic time, kiosk id, upto)
        self.up = threading.Event()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=kiosk_id, clean_session=True, protocol=mqtt.MQTTv311
        )
        self.client.will_set(
            protocol.topic(kiosk_id, protocol.STATE),
            protocol.encode_state(kiosk_id, False),
            qos=1,
            retain=True,
        )
        self.client.max_inflight_messages_set(100)
        self.client.max_queued_messages_set(0)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = lambda *_: self.up.clear()
        self.client.on_message = self._on_message
        self.sender = Sender(
            self.journal,
            kiosk_id,
            self._publish,
            ack_timeout_ms=ack_timeout_ms,
            backoff_max_ms=backoff_max_ms,
        )
        self.port = port

    def _publish(self, topic, payload):
        info = self.client.publish(topic, payload, qos=1)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            raise OSError(f"publish failed: {info.rc}")

    def _on_connect(self, client, _u, _f, reason, _p):
        if reason.is_failure:
            return
        client.subscribe(protocol.topic(self.id, protocol.ACK), qos=1)
        client.publish(
            protocol.topic(self.id, protocol.STATE),
            protocol.encode_state(self.id, True, boot=1, fw="load"),
            qos=1,
            retain=True,
        )
        with self.lock:
            self.sender.link_up()
        self.up.set()

    def _on_message(self, _c, _u, msg):
        upto, err = protocol.decode_ack(msg.payload, self.id)
        if err is None:
            self.acks.append((time.monotonic(), self.id, upto))
        with self.lock:
            self.sender.on_ack(msg.payload)

    def start(self):
        self.client.connect_async("127.0.0.1", self.port, keepalive=30)
        self.client.loop_start()
        return self

    def tap(self, uid: str):
        with self.lock:
            self.journal.tap(uid)

    def poll(self):
        with self.lock:
            self.sender.poll(ticks_ms(), self.up.is_set())

    def heartbeat(self):
        if self.up.is_set():
            body = {
                "boot": 1,
                "uptime_ms": ticks_ms(),
                "ts": int(time.time() * 1000),
                "pending": self.journal.pending(),
                "last_seq": self.journal.last_seq,
                "fill": self.journal.pending() / 60000,
            }
            self.client.publish(
                protocol.topic(self.id, protocol.TELEMETRY), protocol.encode_message(self.id, body), qos=0
            )

    def drained(self):
        with self.lock:
            return self.journal.pending() == 0

    def stop(self):
        self.client.disconnect()
        self.client.loop_stop()
