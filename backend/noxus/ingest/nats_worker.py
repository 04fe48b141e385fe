"""The ingest worker on a NATS cluster: JetStream in, database, acks out.

Kiosks speak MQTT 3.1.1 to any node's MQTT gateway; their topic
`noxus/v1/K/punch` is the NATS subject `noxus.v1.K.punch`. A replicated
work-queue stream (NOXUS_INGEST, R3) captures everything kiosks publish, and
all workers pull from one durable consumer with explicit acks: competing
consumers, each message handed to one worker at a time. A worker pulls a
group, calls the unchanged `service.ingest`, COMMITs, and only then acks the
group's messages to JetStream and publishes each kiosk's app ack on
`noxus.v1.K.ack`, which the gateway delivers to the kiosk's MQTT subscription.

A worker that dies before its acks leaves the messages pending: JetStream
hands them to another worker after `nats_ack_wait_s`, and the service's
ON CONFLICT makes that harmless. While the database is down a worker keeps its
group, tells JetStream it is still working on it (in_progress) and retries.
"""

import asyncio
import logging
import signal
import threading
import time

import nats
from nats.aio.client import Client
from nats.errors import TimeoutError as NatsTimeout
from nats.js import api
from nats.js.errors import NotFoundError
from sqlalchemy.engine import Engine

from firmware.core import protocol
from noxus.core.settings import Settings
from noxus.ingest import groups, metrics
from noxus.ingest.service import Incoming, Outcome

log = logging.getLogger("noxus.ingest")

FETCH_WAIT_S = 1.0  # a pull request waits this long for the first message
# Everything a kiosk publishes; `cmd/result` becomes two tokens.
SUBJECTS = [
    f"{protocol.TOPIC_ROOT.replace('/', '.')}*.{leaf.replace('/', '.')}"
    for leaf in (protocol.PUNCH, protocol.STATE, protocol.TELEMETRY, protocol.CMD_RESULT)
]


def subject_of(topic: str) -> str:
    """MQTT topic -> NATS subject, as the MQTT gateway maps it (kiosk ids hold no '.')."""
    return topic.replace("/", ".")


def topic_of(subject: str) -> str:
    return subject.replace(".", "/")


async def ensure_stream(js, settings: Settings) -> None:
    """Create the ingest stream and the workers' durable consumer if missing
    (idempotent: every worker does it at start)."""
    config = api.StreamConfig(
        name=settings.nats_stream,
        subjects=SUBJECTS,
        retention=api.RetentionPolicy.WORK_QUEUE,
        storage=api.StorageType.FILE,
        num_replicas=settings.nats_stream_replicas,
        max_age=settings.nats_max_age_days * 86400.0,
    )
    try:
        await js.stream_info(settings.nats_stream)
    except NotFoundError:
        await js.add_stream(config)
    consumer = api.ConsumerConfig(
        durable_name=settings.nats_durable,
        ack_policy=api.AckPolicy.EXPLICIT,
        ack_wait=settings.nats_ack_wait_s,
        max_ack_pending=settings.nats_max_ack_pending,
        deliver_policy=api.DeliverPolicy.ALL,
        max_deliver=-1,
        num_replicas=settings.nats_stream_replicas,
    )
    try:
        await js.consumer_info(settings.nats_stream, settings.nats_durable)
    except NotFoundError:
        await js.add_consumer(settings.nats_stream, consumer)


class NatsIngestWorker:
    def __init__(self, settings: Settings, engine: Engine):
        self.settings = settings
        self.engine = engine
        self.stopping = threading.Event()
        self.totals = Outcome()

    async def _commit_retrying(self, msgs) -> Outcome:
        incoming = [Incoming(topic_of(m.subject), m.data) for m in msgs]
        for delay in groups.retry_delays():
            try:
                return await asyncio.to_thread(
                    groups.commit, self.engine, incoming, self.settings.ingest_accept_unknown_kiosks
                )
            except Exception as e:  # database down or busy: retry, never ack
                groups.refused(len(msgs), delay, e)
                if self.stopping.is_set():
                    raise
                for m in msgs:  # keep them ours: no redelivery to a worker that would fail too
                    try:
                        await m.in_progress()
                    except Exception as e:  # noqa: BLE001  (the broker is down too: it redelivers later)
                        log.debug("in_progress not sent: %s", e)
                await asyncio.sleep(delay)
        raise AssertionError("retry_delays() never ends")

    async def process_once(self, nc: Client, psub) -> int:
        try:
            msgs = await psub.fetch(batch=self.settings.ingest_max_messages, timeout=FETCH_WAIT_S)
        except NatsTimeout:
            return 0
        arrived = time.monotonic()
        outcome = await self._commit_retrying(msgs)
        # Committed: now, and only now, acknowledge. A lost ack means a
        # redelivery, which the service stores as a duplicate (nothing twice).
        for m in msgs:
            await m.ack()
        for topic, payload in groups.app_acks(outcome):
            await nc.publish(subject_of(topic), payload)
        metrics.ACK_LATENCY.observe(time.monotonic() - arrived)
        groups.account(self.totals, outcome, len(msgs))
        return len(msgs)

    async def _connected(self, *_):
        metrics.CONNECTED.set(1)

    async def _disconnected(self, *_):
        metrics.CONNECTED.set(0)
        if not self.stopping.is_set():
            log.warning("NATS connection lost; reconnecting")

    async def run_async(self) -> None:
        s = self.settings
        nc = await nats.connect(
            servers=s.nats_servers,
            name=s.ingest_client_id,
            user=s.mqtt_username,
            password=s.mqtt_password,
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.5,
            connect_timeout=2,
            reconnected_cb=self._connected,
            disconnected_cb=self._disconnected,
        )
        js = nc.jetstream(timeout=10)
        while True:  # the stream may be electing a leader right after a cluster start
            try:
                await ensure_stream(js, s)
                psub = await js.pull_subscribe_bind(s.nats_durable, s.nats_stream)
                break
            except Exception as e:  # noqa: BLE001  (leader election, node down: all retried)
                if self.stopping.is_set():
                    return
                log.warning("JetStream not ready (%s); retrying", e)
                await asyncio.sleep(1)
        metrics.CONNECTED.set(1)
        log.info(
            "consuming %s/%s from %s as %s",
            s.nats_stream,
            s.nats_durable,
            ", ".join(s.nats_servers),
            s.ingest_client_id,
        )
        try:
            while not self.stopping.is_set():
                try:
                    await self.process_once(nc, psub)
                except NatsTimeout:
                    pass
                except Exception as e:  # noqa: BLE001  (a node lost mid-fetch or mid-ack: pull again)
                    if self.stopping.is_set():
                        break
                    log.warning("JetStream error (%s); pulling again", e)
                    await asyncio.sleep(0.2)
        finally:
            await nc.close()
            groups.stopped(self.totals)

    def run(self) -> None:
        metrics.serve_worker_metrics(self.settings)
        asyncio.run(self.run_async())

    def install_signal_handlers(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: self.stopping.set())
