"""The ack rule over a real Mosquitto, with two ingest workers sharing
`$share/<group>/...`: an ack never passes a seq the backend lacks unless the
kiosk wrote it off (its `from` above it); late arrivals are stored and undo
the loss; a kiosk may pipeline several batches."""

import queue
import threading
import uuid

import paho.mqtt.client as mqtt
import pytest
from noxus.core.settings import Settings
from noxus.fleet.models import Kiosk, KioskAlert
from noxus.ingest.models import IngestCursor, Punch
from noxus.ingest.worker import IngestWorker
from paho.mqtt.enums import CallbackAPIVersion
from sqlmodel import Session, select

from firmware.core import protocol
from firmware.core.protocol import Punch as WirePunch

T0 = 1_767_225_600_000
WAIT = 30  # safety net only: every wait ends on an event


class Workers:
    """n IngestWorker threads in this process, one share group of their own."""

    def __init__(self, db_url, broker, engine, n=2):
        group = "g" + uuid.uuid4().hex[:8]
        self.workers, self.threads = [], []
        for i in range(n):
            settings = Settings(
                database_url=db_url,
                mqtt_port=broker.port,
                ingest_share_group=group,
                ingest_client_id=f"ack-{group}-{i}",
                ingest_clean_session=True,
            )
            w = IngestWorker(settings, engine)
            t = threading.Thread(target=w.run, daemon=True)
            t.start()
            assert w.subscribed.wait(WAIT), "worker did not subscribe"
            self.workers.append(w)
            self.threads.append(t)

    def stop(self):
        for w in self.workers:
            w.stopping.set()
        for t in self.threads:
            t.join(WAIT)


class Kiosk_:
    """A kiosk's MQTT side, played by hand: publish batches, collect acks."""

    def __init__(self, broker, kiosk_id):
        self.kiosk_id = kiosk_id
        self.acks: queue.Queue[int] = queue.Queue()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"kiosk-{kiosk_id}-{uuid.uuid4().hex[:6]}"
        )
        subscribed = threading.Event()
        self.client.on_subscribe = lambda *_a: subscribed.set()
        self.client.on_message = lambda _c, _u, m: self.acks.put(protocol.decode_ack(m.payload, kiosk_id)[0])
        self.client.connect("127.0.0.1", broker.port)
        self.client.subscribe(protocol.topic(kiosk_id, protocol.ACK), qos=1)
        self.client.loop_start()
        assert subscribed.wait(WAIT)

    def send(self, seqs, held_from):
        punches = [WirePunch(s, f"04A1B2{s % 256:02X}", T0 + s * 1000) for s in seqs]
        info = self.client.publish(
            protocol.topic(self.kiosk_id, protocol.PUNCH),
            protocol.encode_punch_batch(self.kiosk_id, punches, held_from),
            qos=1,
        )
        info.wait_for_publish(WAIT)

    def ack(self) -> int:
        return self.acks.get(timeout=WAIT)

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()


@pytest.fixture
def rig(db_url, broker, engine):
    kid = "A" + uuid.uuid4().hex[:8]
    with Session(engine) as s:
        s.add(Kiosk(id=kid))
        s.commit()
    workers = Workers(db_url, broker, engine)
    kiosk = Kiosk_(broker, kid)
    yield kiosk, engine
    kiosk.close()
    workers.stop()


def cursor(engine, kid):
    with Session(engine) as s:
        return s.get(IngestCursor, (kid, 0))


def stored(engine, kid):
    with Session(engine) as s:
        return sorted(s.exec(select(Punch.seq).where(Punch.kiosk_id == kid)).all())


def alerts(engine, kid):
    with Session(engine) as s:
        return s.exec(select(KioskAlert).where(KioskAlert.kiosk_id == kid)).all()


def test_a_gap_the_kiosk_still_holds_is_waited_for_then_acked(rig):
    kiosk, engine = rig
    kiosk.send([1, 2], 1)
    assert kiosk.ack() == 2
    kiosk.send([4], 3)  # 3 is still on the kiosk: wait for it
    assert kiosk.ack() == 2
    kiosk.send([3, 4], 3)
    assert kiosk.ack() == 4
    assert stored(engine, kiosk.kiosk_id) == [1, 2, 3, 4]
    assert cursor(engine, kiosk.kiosk_id).lost == 0 and alerts(engine, kiosk.kiosk_id) == []


def test_reordered_batches_are_acked_only_up_to_the_first_hole(rig):
    kiosk, engine = rig
    kiosk.send([7, 8, 9], 1)
    assert kiosk.ack() == 0
    kiosk.send([4, 5, 6], 1)
    assert kiosk.ack() == 0
    kiosk.send([1, 2, 3], 1)
    assert kiosk.ack() == 9
    assert cursor(engine, kiosk.kiosk_id).lost == 0


def test_a_written_off_range_is_counted_lost_and_a_late_arrival_takes_it_back(rig):
    kiosk, engine = rig
    kiosk.send([1, 2], 1)
    assert kiosk.ack() == 2
    kiosk.send([6], 6)  # the kiosk says: 3..5 are gone from my flash
    assert kiosk.ack() == 6
    c = cursor(engine, kiosk.kiosk_id)
    assert (c.acked_seq, c.lost) == (6, 3)
    [alert] = alerts(engine, kiosk.kiosk_id)
    assert alert.kind == "seq_gap" and alert.resolved_at is None
    # 3..5 were only late (e.g. held in another worker's queue): stored, no longer lost.
    kiosk.send([3, 4, 5], 3)
    assert kiosk.ack() == 6
    assert stored(engine, kiosk.kiosk_id) == [1, 2, 3, 4, 5, 6]
    assert cursor(engine, kiosk.kiosk_id).lost == 0
    [alert] = alerts(engine, kiosk.kiosk_id)
    assert alert.resolved_at is not None


def test_a_kiosk_pipelining_three_batches_is_acked_to_the_end_and_never_beyond_what_is_stored(rig):
    kiosk, engine = rig
    for first in (1, 21, 41):  # three batches in flight, all saying from = 1
        kiosk.send(range(first, first + 20), 1)
    acks = [kiosk.ack()]  # one ack per commit group: 1 to 3 of them
    while acks[-1] != 60 and len(acks) < 3:
        acks.append(kiosk.ack())
    # Each ack is a prefix the backend holds: 0 (a later batch first), 20, 40 or 60.
    assert set(acks) <= {0, 20, 40, 60} and max(acks) == 60
    assert stored(engine, kiosk.kiosk_id) == list(range(1, 61))
    assert cursor(engine, kiosk.kiosk_id).lost == 0 and alerts(engine, kiosk.kiosk_id) == []
