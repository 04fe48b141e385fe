"""A kiosk's byte-identical resend of a punch batch that still waits in the
worker's inbox is PUBACKed at once and not queued: in a storm the queue is
longer than the kiosks' ack timeout, and every queued resend would be
committed again as duplicates (docs/benchmarks.md, storm). The original's
commit sends the app ack that covers both; once it is committed, a resend is
queued and committed again, so the kiosk gets its ack again."""

import uuid

import paho.mqtt.client as mqtt
from noxus.core.settings import Settings
from noxus.fleet.models import Kiosk
from noxus.ingest.worker import IngestWorker
from sqlmodel import Session

from firmware.core import protocol
from firmware.core.protocol import Punch as WirePunch

T0 = 1_767_225_600_000


class FakeClient:
    """What the worker calls on its MQTT client after a commit, recorded."""

    def __init__(self):
        self.pubacks: list[int] = []
        self.published: list[tuple[str, bytes]] = []

    def ack(self, mid, qos):
        self.pubacks.append(mid)

    def publish(self, topic, payload, qos=0):
        self.published.append((topic, payload))


def message(mid: int, topic: str, payload: bytes) -> mqtt.MQTTMessage:
    m = mqtt.MQTTMessage(mid=mid, topic=topic.encode())
    m.payload, m.qos = payload, 1
    return m


def test_a_resend_of_a_batch_waiting_in_the_inbox_is_pubacked_and_not_queued(db_url, engine):
    kid = "W" + uuid.uuid4().hex[:8]
    with Session(engine) as s:
        s.add(Kiosk(id=kid))
        s.commit()
    worker = IngestWorker(Settings(database_url=db_url), engine)
    fake = FakeClient()
    worker.client = fake
    punch_topic, state_topic = protocol.topic(kid, protocol.PUNCH), protocol.topic(kid, protocol.STATE)
    batch = protocol.encode_punch_batch(kid, [WirePunch(s, "04A1B2C3", T0 + s) for s in (1, 2)])
    state = protocol.encode_state(kid, True, boot=1)

    worker._on_message(fake, None, message(1, punch_topic, batch))
    worker._on_message(fake, None, message(2, punch_topic, batch))  # the kiosk's resend
    worker._on_message(fake, None, message(3, state_topic, state))
    worker._on_message(fake, None, message(4, state_topic, state))  # births are not skipped
    assert fake.pubacks == [2]
    assert [m.mid for m, _ in list(worker.inbox.queue)] == [1, 3, 4]

    assert worker.process_once() == 3
    assert sorted(fake.pubacks) == [1, 2, 3, 4]
    assert fake.published == [(protocol.topic(kid, protocol.ACK), protocol.encode_ack(kid, 2))]

    # Committed: a resend now is queued again and acked again (its ack was lost, say).
    worker._on_message(fake, None, message(5, punch_topic, batch))
    assert worker.process_once() == 1
    assert fake.published[-1] == (protocol.topic(kid, protocol.ACK), protocol.encode_ack(kid, 2))
    assert worker.totals.stored == 2 and worker.totals.duplicates == 2
