# Moves the unacked part of the journal to the backend, one batch in flight.
#
# Delivery is at-least-once here (QoS 1, resend on timeout) and exactly-once
# end to end because the backend dedups on (kiosk, seq) and acks only what it
# has committed; the journal is freed only up to that app-level ack.

import gc

from firmware.core import protocol
from firmware.core.ticks import ticks_add, ticks_diff

BATCH_MAX = 20  # punches per message: ~1.3 KiB of JSON
BATCH_MIN = 1  # on MemoryError the batch halves down to this, then grows back
ACK_TIMEOUT_MS = 5000  # backend commit + ack round trip is ~ms; 5 s means lost
BACKOFF_MAX_MS = 60000  # backend down: a batch a minute; a 2-4 min storm backlog: 4-6 resends, 7-13 at 20 s


class Sender:
    def __init__(self, journal, kiosk_id, publish, batch_max=BATCH_MAX,
                 ack_timeout_ms=ACK_TIMEOUT_MS, backoff_max_ms=BACKOFF_MAX_MS):
        self.journal = journal
        self.kiosk_id = kiosk_id
        self.publish = publish  # publish(topic, payload) -> None, raises on failure
        self.batch_max = batch_max
        self._batch = batch_max
        self.ack_timeout_ms = ack_timeout_ms
        self.backoff_max_ms = backoff_max_ms
        self._timeout = ack_timeout_ms
        self.sent = 0
        self.resent = 0
        self.bad_acks = 0
        self.last_error = None
        self._topic = protocol.topic(kiosk_id, protocol.PUNCH)
        self.link_up()  # nothing in flight yet (each class sets up its own in-flight state)

    def link_up(self):
        """A new connection: whatever was in flight may be lost, resend now."""
        self._inflight_last = None  # last seq of the batch awaiting its ack
        self._deadline = 0
        self._timeout = self.ack_timeout_ms

    def idle(self):
        return self._inflight_last is None

    def on_ack(self, payload):
        upto, err = protocol.decode_ack(payload, self.kiosk_id, self.journal.epoch)
        if err:
            self.bad_acks += 1
            self.last_error = err
            return
        self._acked(upto, self.journal.ack(upto))

    def _acked(self, upto, advanced):
        """The backend stored everything up to `upto` (`advanced`: the journal's cursor moved)."""
        if self._inflight_last is not None and (advanced or upto >= self._inflight_last):
            self._inflight_last = None
            self._timeout = self.ack_timeout_ms

    def _back_off(self):
        """No ack in time: back off so a backend that is down is not flooded."""
        self._timeout = min(self._timeout * 2, self.backoff_max_ms)
        self.resent += 1

    def poll(self, now_ms, link_up):
        if not link_up:
            return
        if self._inflight_last is not None:
            if ticks_diff(self._deadline, now_ms) > 0:
                return
            self._back_off()
        self._inflight_last = self._publish_next(self.journal.acked + 1)
        if self._inflight_last is not None:
            self._deadline = ticks_add(now_ms, self._timeout)

    def _punches_from(self, start):
        """-> (lowest seq the journal holds, up to one batch of unacked punches
        with seq >= start). With one batch in flight `start` is always the
        first unacked seq."""
        batch = self.journal.unacked(self._batch)
        return (batch[0].seq if batch else 0), batch

    def _publish_next(self, start):
        """Publish the next batch of unacked punches from seq `start` on; -> its
        last seq, or None when there was nothing to send or it failed (why in
        last_error). The batch size shrinks on MemoryError and grows back after."""
        try:
            held_from, batch = self._punches_from(start)
            if not batch:
                return None
            # `from` is the lowest seq the journal still holds: the first unacked
            # record, which is above acked + 1 only when records were lost on
            # flash (torn or rotten). The backend writes off as lost exactly the
            # unstored seqs below it, and waits for every other gap.
            payload = protocol.encode_punch_batch(self.kiosk_id, batch, held_from, self.journal.epoch)
            last = batch[-1].seq
            batch = None  # free the punches before the MQTT client copies the payload
            self.publish(self._topic, payload)
        except MemoryError:
            # A fragmented heap has no room for this batch: free what we can and
            # try a smaller one next poll. Punches stay safe in the journal.
            batch = payload = None
            gc.collect()
            self._batch = max(BATCH_MIN, self._batch // 2)
            self.last_error = "memory: batch reduced to %d" % self._batch
            return None
        except Exception as e:  # the link refused it (queue full, socket gone): retry later
            self.last_error = "publish failed: %r" % (e,)
            return None
        self.sent += 1
        if self._batch < self.batch_max:
            self._batch += 1
        return last
