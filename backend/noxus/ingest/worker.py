"""The ingest worker: MQTT in, database, acks out.

paho's network thread only queues messages; one database thread drains the
queue in groups (group commit), calls `service.ingest`, commits, and only
then sends each PUBACK (manual_ack) and each kiosk's app ack. If the database
is down nothing is acked: the broker keeps the messages (persistent session)
and the kiosks keep their journals until the database is back.

Run several workers with distinct client ids: they share the subscription
group `$share/<group>/...`, so the broker spreads the kiosks' batches.
"""

import logging
import queue
import signal
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy.engine import Engine

from firmware.core import protocol
from noxus.core import tls
from noxus.core.settings import Settings
from noxus.ingest import groups, metrics
from noxus.ingest.service import Incoming, Outcome

log = logging.getLogger("noxus.ingest")

RECONNECT_MIN_S = 0.1  # paho takes float seconds (its hint says int)
RECONNECT_MAX_S = 0.5
SUBSCRIBED_LEAVES = (protocol.PUNCH, protocol.STATE, protocol.TELEMETRY, protocol.CMD_RESULT)


class IngestWorker:
    def __init__(self, settings: Settings, engine: Engine):
        self.settings = settings
        self.engine = engine
        # (message, arrival time): the ack latency metric starts at arrival.
        self.inbox: queue.Queue[tuple[mqtt.MQTTMessage, float]] = queue.Queue()
        self.stopping = threading.Event()
        self.connected = threading.Event()
        self.subscribed = threading.Event()  # set at each SUBACK, after the ingest notice
        self.totals = Outcome()
        # Punch batches received and not yet committed (in the inbox or the group
        # being committed), by (topic, payload): a kiosk's resend of one of them
        # is PUBACKed at once and not queued (see _on_message).
        self._pending: set[tuple[str, bytes]] = set()
        self._pending_lock = threading.Lock()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=settings.ingest_client_id,
            clean_session=settings.ingest_clean_session,
            protocol=mqtt.MQTTv311,
            manual_ack=True,
        )
        tls.configure_mqtt(self.client, settings)
        # Back before the kiosks: Mosquitto does not restore a `$share`
        # subscription from its persistence after a restart, so a batch a
        # kiosk publishes before this worker has subscribed again is dropped
        # and waits for the kiosk's ack timeout (docs/benchmarks.md, storm).
        # A worker is one client: retrying every half second costs nothing.
        self.client.reconnect_delay_set(RECONNECT_MIN_S, RECONNECT_MAX_S)  # type: ignore[arg-type]
        # Acks we have not sent yet are inflight for the broker; let it hand us a
        # full group-commit's worth.
        self.client.max_inflight_messages_set(settings.ingest_max_messages)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        metrics.QUEUE_DEPTH.set_function(self.inbox.qsize)

    def _on_connect(self, client, _userdata, _flags, reason, _props):
        if reason.is_failure:
            log.error("broker refused the connection: %s", reason)
            return
        group = self.settings.ingest_share_group
        # No group (one worker only): a plain subscription, which Mosquitto
        # restores after its own restart and queues for until we are back.
        share = f"$share/{group}/" if group else ""
        client.subscribe([(f"{share}{protocol.TOPIC_ROOT}+/{leaf}", 1) for leaf in SUBSCRIBED_LEAVES])
        self.connected.set()
        metrics.CONNECTED.set(1)
        log.info(
            "connected to %s:%s as %s",
            self.settings.mqtt_host,
            self.settings.mqtt_port,
            self.settings.ingest_client_id,
        )

    def _on_subscribe(self, client, _userdata, _mid, _reasons, _props) -> None:
        """Subscribed (again): tell the kiosks, so that a batch the broker dropped
        while no worker was subscribed comes again now, not after the kiosk's
        ack timeout (docs/protocol.md, "Ingest notice"). QoS 0, not retained: only
        kiosks connected now need it; one that connects later sends anyway."""
        client.publish(protocol.INGEST_UP, protocol.encode_ingest_up(), qos=0)
        log.info("subscribed to %s", ", ".join(SUBSCRIBED_LEAVES))
        self.subscribed.set()

    def _on_message(self, client, _userdata, msg) -> None:
        """Queue a message for the database thread, unless it is a byte-identical
        resend of a punch batch still waiting here. A kiosk resends a batch whose
        app ack is late (5 s, then backoff); in a storm the queue is longer than
        that, and every resend queued would be committed once more as duplicates,
        making the queue longer still. The original's commit acks exactly the
        same seqs, so the resend is PUBACKed (the broker may drop it) and never
        app-acked on its own; if the original is lost with this worker, the
        kiosk's journal still holds the punches and resends them."""
        if msg.topic.endswith("/" + protocol.PUNCH):
            key = (msg.topic, bytes(msg.payload))
            with self._pending_lock:
                resend = key in self._pending
                self._pending.add(key)
            if resend:
                client.ack(msg.mid, msg.qos)
                metrics.RESENDS_SKIPPED.inc()
                return
        self.inbox.put((msg, time.monotonic()))

    def _on_disconnect(self, _client, _userdata, _flags, reason, _props):
        self.connected.clear()
        self.subscribed.clear()
        metrics.CONNECTED.set(0)
        if not self.stopping.is_set():
            log.warning("broker connection lost (%s); reconnecting", reason)

    def _next_group(self) -> list[tuple[mqtt.MQTTMessage, float]]:
        try:
            first = self.inbox.get(timeout=0.2)
        except queue.Empty:
            return []
        group = [first]
        while len(group) < self.settings.ingest_max_messages:
            try:
                group.append(self.inbox.get_nowait())
            except queue.Empty:
                break
        return group

    def _commit(self, group: list[tuple[mqtt.MQTTMessage, float]]) -> Outcome:
        incoming = [Incoming(m.topic, bytes(m.payload)) for m, _ in group]
        for delay in groups.retry_delays():
            try:
                return groups.commit(self.engine, incoming, self.settings.ingest_accept_unknown_kiosks)
            except Exception as e:  # database down or busy: retry, never ack
                groups.refused(len(group), delay, e)
                if self.stopping.is_set():
                    raise
                time.sleep(delay)
        raise AssertionError("retry_delays() never ends")

    def process_once(self) -> int:
        group = self._next_group()
        if not group:
            return 0
        outcome = self._commit(group)
        # Committed: now, and only now, acknowledge.
        now = time.monotonic()
        for msg, arrived in group:
            self.client.ack(msg.mid, msg.qos)
            metrics.ACK_LATENCY.observe(now - arrived)
        for topic, payload in groups.app_acks(outcome):
            self.client.publish(topic, payload, qos=1)
        with self._pending_lock:  # after the app acks: they cover a resend that comes now
            for msg, _ in group:
                self._pending.discard((msg.topic, bytes(msg.payload)))
        groups.account(self.totals, outcome, len(group))
        return len(group)

    def run(self) -> None:
        metrics.serve_worker_metrics(self.settings)
        self.client.connect_async(self.settings.mqtt_host, self.settings.mqtt_port, keepalive=30)
        self.client.loop_start()
        try:
            while not self.stopping.is_set():
                self.process_once()
        finally:
            self.client.disconnect()
            self.client.loop_stop()
            groups.stopped(self.totals)

    def install_signal_handlers(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: self.stopping.set())
