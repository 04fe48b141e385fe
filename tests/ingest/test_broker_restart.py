"""A Mosquitto restart and the ingest worker's subscriptions.

One worker without a share group (NOXUS_INGEST_SHARE_GROUP=""): its plain
subscription outlives a Mosquitto restart, so a batch a kiosk sends after the
broker is back but before the worker has reconnected is queued for the worker
and stored, not dropped as with a `$share` subscription, which Mosquitto 2.0
does not restore (docs/deployment.md, "Shared subscriptions")."""

import contextlib
import queue
import threading
import uuid
from collections.abc import Iterator

import paho.mqtt.client as mqtt
from noxus.core.settings import Settings
from noxus.fleet.models import Kiosk
from noxus.ingest.worker import IngestWorker
from paho.mqtt.enums import CallbackAPIVersion
from sqlmodel import Session

from firmware.core import protocol
from tests.ingest.test_ack_mqtt import WAIT, Kiosk_, stored


@contextlib.contextmanager
def running(settings, engine) -> Iterator[IngestWorker]:
    """A worker in a thread, subscribed, stopped at the end."""
    w = IngestWorker(settings, engine)
    t = threading.Thread(target=w.run, daemon=True)
    t.start()
    try:
        assert w.subscribed.wait(WAIT), "worker did not subscribe"
        yield w
    finally:
        w.stopping.set()
        t.join(WAIT)


def subscribed_then_broker_restarted(db_url, broker, engine, share_group: str) -> tuple[str, Settings]:
    """A registered kiosk; a worker that subscribed once (a persistent session)
    and stopped; then the broker restarted. -> (kiosk id, the worker's settings)."""
    kid = "R" + uuid.uuid4().hex[:8]
    with Session(engine) as s:
        s.add(Kiosk(id=kid))
        s.commit()
    settings = Settings(
        database_url=db_url,
        mqtt_port=broker.port,
        ingest_share_group=share_group and share_group + kid,
        ingest_client_id=f"worker-{kid}",
    )
    with running(settings, engine):
        pass
    broker.restart()
    return kid, settings


def test_a_batch_sent_while_the_worker_is_away_after_a_broker_restart_is_stored(
    db_url, private_broker, engine
):
    kid, settings = subscribed_then_broker_restarted(db_url, private_broker, engine, share_group="")

    kiosk = Kiosk_(private_broker, kid)
    try:
        kiosk.send([1, 2, 3], 1)  # no worker connected: the broker queues it for the worker's session
        with running(settings, engine):
            assert kiosk.ack() == 3
    finally:
        kiosk.close()
    assert stored(engine, kid) == [1, 2, 3]


def test_a_share_worker_back_after_a_broker_restart_tells_the_kiosks_to_send_again(
    db_url, private_broker, engine
):
    """With a share group the batch a kiosk sends before the worker is back is
    dropped (Mosquitto does not restore a `$share` subscription). The worker
    publishes the ingest notice once subscribed; a batch sent on it is stored
    and acked. The kiosk here sends again on the notice only, as the firmware
    does (tests/firmware/cases_kiosk.py), not on an ack timeout."""
    kid, settings = subscribed_then_broker_restarted(db_url, private_broker, engine, share_group="g")

    notices: queue.Queue[bytes] = queue.Queue()
    listener = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"listen-{kid}")
    listening = threading.Event()
    listener.on_subscribe = lambda *_a: listening.set()
    listener.on_message = lambda _c, _u, m: notices.put(bytes(m.payload))
    listener.connect("127.0.0.1", private_broker.port)
    listener.subscribe(protocol.INGEST_UP, qos=0)
    listener.loop_start()
    kiosk = Kiosk_(private_broker, kid)
    try:
        assert listening.wait(WAIT)
        kiosk.send([1, 2, 3], 1)  # no member in the share group: dropped
        with running(settings, engine):
            assert notices.get(timeout=WAIT) == protocol.encode_ingest_up()
            kiosk.send([1, 2, 3], 1)  # the firmware's answer to the notice
            assert kiosk.ack() == 3
    finally:
        kiosk.close()
        listener.loop_stop()
        listener.disconnect()
    assert stored(engine, kid) == [1, 2, 3]
