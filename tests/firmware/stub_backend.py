"""A minimal backend for firmware tests: takes punch batches from the broker,
keeps each (kiosk, seq) once, and acks the highest contiguous seq, as
docs/protocol.md asks of the real ingest. Counts duplicates it was sent."""

import threading

import paho.mqtt.client as mqtt

from firmware.core import protocol


class StubBackend:
    def __init__(self, port: int):
        self.punches: dict[tuple[str, int], dict] = {}
        self.duplicates = 0
        self.batches = 0
        self.states: list[dict] = []
        self.telemetry: list[dict] = []
        self.results: list[dict] = []
        self.errors: list[str] = []
        self._upto: dict[str, int] = {}
        self._lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="stub-backend")
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        for leaf in ("punch", "state", "telemetry", "cmd/result"):
            self.client.subscribe(f"noxus/v1/+/{leaf}", qos=1)
        self.client.loop_start()

    def _on_message(self, client, userdata, msg):
        (kiosk, leaf), err = protocol.parse_topic(msg.topic)
        if err:
            self.errors.append(err)
            return
        if leaf != protocol.PUNCH:
            d, err = protocol.decode_message(msg.payload, kiosk)
            getattr(
                self, {"state": "states", "telemetry": "telemetry", "cmd/result": "results"}[leaf]
            ).append(d or {"error": err})
            return
        batch, err = protocol.decode_punch_batch(msg.payload, kiosk)
        if err:
            self.errors.append(err)
            return
        with self._lock:
            self.batches += 1
            for p in batch.punches:
                if (kiosk, p.seq) in self.punches:
                    self.duplicates += 1
                else:
                    self.punches[(kiosk, p.seq)] = p.to_wire()
            upto = self._upto.get(kiosk, 0)
            while (kiosk, upto + 1) in self.punches:
                upto += 1
            self._upto[kiosk] = upto
        client.publish(
            protocol.topic(kiosk, protocol.ACK), protocol.encode_ack(kiosk, upto, batch.epoch), qos=1
        )

    def publish(self, kiosk: str, leaf: str, body: dict, retain: bool = False):
        self.client.publish(
            protocol.topic(kiosk, leaf), protocol.encode_message(kiosk, body), qos=1, retain=retain
        ).wait_for_publish(5)

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()
