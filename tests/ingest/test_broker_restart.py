"""One worker without a share group (NOXUS_INGEST_SHARE_GROUP=""): its plain
subscription outlives a Mosquitto restart, so a batch a kiosk sends after the
broker is back but before the worker has reconnected is queued for the worker
and stored, not dropped as with a `$share` subscription, which Mosquitto 2.0
does not restore (docs/deployment.md, "Shared subscriptions")."""

import threading
import uuid

from noxus.core.settings import Settings
from noxus.fleet.models import Kiosk
from noxus.ingest.models import Punch
from noxus.ingest.worker import IngestWorker
from sqlmodel import Session, select

from tests.ingest.test_ack_mqtt import WAIT, Kiosk_


def start_worker(settings, engine) -> tuple[IngestWorker, threading.Thread]:
    w = IngestWorker(settings, engine)
    subscribed = threading.Event()
    w.client.on_subscribe = lambda *_a: subscribed.set()
    t = threading.Thread(target=w.run, daemon=True)
    t.start()
    assert subscribed.wait(WAIT), "worker did not subscribe"
    return w, t


def test_a_batch_sent_while_the_worker_is_away_after_a_broker_restart_is_stored(
    db_url, private_broker, engine
):
    kid = "R" + uuid.uuid4().hex[:8]
    with Session(engine) as s:
        s.add(Kiosk(id=kid))
        s.commit()
    settings = Settings(
        database_url=db_url,
        mqtt_port=private_broker.port,
        ingest_share_group="",
        ingest_client_id=f"solo-{kid}",
    )
    worker, thread = start_worker(settings, engine)  # subscribes: a persistent session
    worker.stopping.set()
    thread.join(WAIT)
    private_broker.restart()

    kiosk = Kiosk_(private_broker, kid)
    try:
        kiosk.send([1, 2, 3], 1)  # no worker connected: the broker queues it for the worker's session
        worker, thread = start_worker(settings, engine)
        try:
            assert kiosk.ack() == 3
        finally:
            worker.stopping.set()
            thread.join(WAIT)
    finally:
        kiosk.close()
    with Session(engine) as s:
        assert sorted(s.exec(select(Punch.seq).where(Punch.kiosk_id == kid)).all()) == [1, 2, 3]
