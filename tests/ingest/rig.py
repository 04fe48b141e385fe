"""A kiosk's real journal and sender wired to the real ingest service, in one
process: the broker is the list of messages in flight, which a test may
drop, duplicate or reorder. Everything else is production code."""

import pathlib
import shutil

from noxus.ingest.service import Incoming, ingest
from sqlmodel import Session

from firmware.core import protocol
from firmware.core.journal import Journal
from firmware.core.sender import Sender


class Backend:
    def __init__(self, engine):
        self.engine = engine

    def commit(self, messages: list[Incoming]) -> list[Incoming]:
        """One ingest worker's group: store, commit, then the acks it publishes."""
        with Session(self.engine) as s:
            out = ingest(s, messages)
            s.commit()
        return [
            Incoming(protocol.topic(k, protocol.ACK), protocol.encode_ack(k, upto, epoch))
            for (k, epoch), upto in out.acks.items()
        ]


class Kiosk:
    """The firmware core's journal and sender on a folder; `flash` survives
    power cuts, `wipe()` replaces it (a new board, a factory reset)."""

    def __init__(self, kiosk_id: str, flash: pathlib.Path, seg_records: int = 8, batch_max: int = 20):
        self.kiosk_id = kiosk_id
        self.batch_max = batch_max
        self.flash = flash
        self.seg_records = seg_records
        self.outbox: list[Incoming] = []  # published, not yet taken by the broker
        self.now = 0
        self.boot()

    def boot(self):
        self.journal = Journal(str(self.flash), seg_records=self.seg_records).open()
        self.sender = Sender(self.journal, self.kiosk_id, self._publish, batch_max=self.batch_max)
        self.sender.link_up()

    def _publish(self, topic, payload):
        self.outbox.append(Incoming(topic, bytes(payload)))

    def power_cut(self):
        """Everything in RAM is gone (the MQTT client's queue too); flash stays."""
        self.outbox = []
        self.journal.close()
        self.boot()

    def wipe(self):
        self.journal.close()
        shutil.rmtree(self.flash)
        self.outbox = []
        self.boot()

    def tap(self, n: int, ts_ms: int) -> protocol.Punch:
        return self.journal.append(bytes((0x04, n >> 16 & 255, n >> 8 & 255, n & 255)), ts_ms)

    def poll(self, advance_ms: int = 0):
        self.now += advance_ms
        self.sender.poll(self.now, True)

    def send_ahead(self, skip: int, n: int):
        """What a pipelining kiosk sends: a later batch of what it holds, with
        `from` = the lowest seq it holds (docs/protocol.md)."""
        held = self.journal.unacked(skip + n)
        if len(held) > skip:
            self._publish(
                protocol.topic(self.kiosk_id, protocol.PUNCH),
                protocol.encode_punch_batch(self.kiosk_id, held[skip:], held[0].seq, self.journal.epoch),
            )

    def take(self) -> list[Incoming]:
        out, self.outbox = self.outbox, []
        return out

    def on_ack(self, msg: Incoming):
        self.sender.on_ack(msg.payload)
