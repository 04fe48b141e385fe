# The sender with up to `window` batches in flight (docs/protocol.md,
# "Pipelining"; docs/firmware.md, "Batches in flight"). A separate module from
# sender.py so that a MicroPython board with one batch in flight never loads it
# (its 128 KB heap has no room to spare); the Pi port and the load generator
# use it.
#
# Pipelining is safe because the ack names the highest *contiguous* stored
# seq and the backend writes a seq off only below a batch's `from` (the
# lowest seq the kiosk still holds: the first unacked record, in every batch
# of the window, not the batch's own first seq): batch 2 committed before
# batch 1 is stored and waits, the ack moves only when batch 1 is in.
# If the oldest batch in flight gets no ack in time, the sender goes back to
# the first unacked punch and sends again from there (go-back-N), with the
# timeout doubled up to BACKOFF_MAX_MS.

import gc

from firmware.core import protocol
from firmware.core.sender import ACK_TIMEOUT_MS, BACKOFF_MAX_MS, BATCH_MAX, BATCH_MIN
from firmware.core.ticks import ticks_add, ticks_diff

WINDOW = 4  # batches in flight by default once pipelining is on (bench: docs/benchmarks.md)
WINDOW_MAX = 16


class PipelinedSender:
    def __init__(self, journal, kiosk_id, publish, batch_max=BATCH_MAX,
                 ack_timeout_ms=ACK_TIMEOUT_MS, backoff_max_ms=BACKOFF_MAX_MS, window=WINDOW):
        self.journal = journal
        self.kiosk_id = kiosk_id
        self.publish = publish  # publish(topic, payload) -> None, raises on failure
        self.batch_max = batch_max
        self._batch = batch_max
        self.ack_timeout_ms = ack_timeout_ms
        self.backoff_max_ms = backoff_max_ms
        self.window = max(1, min(WINDOW_MAX, window or WINDOW))
        self._timeout = ack_timeout_ms
        self._flight = []  # [last seq, ack deadline] per batch in flight, oldest first
        self.sent = 0
        self.resent = 0
        self.bad_acks = 0
        self.last_error = None
        self._topic = protocol.topic(kiosk_id, protocol.PUNCH)

    @property
    def _inflight_last(self):
        """Last seq of the newest batch awaiting its ack, or None when idle."""
        return self._flight[-1][0] if self._flight else None

    def idle(self):
        return not self._flight

    def link_up(self):
        """A new connection: whatever was in flight may be lost, resend now."""
        self._flight = []
        self._timeout = self.ack_timeout_ms

    def on_ack(self, payload):
        upto, err = protocol.decode_ack(payload, self.kiosk_id, self.journal.epoch)
        if err:
            self.bad_acks += 1
            self.last_error = err
            return
        self.journal.ack(upto)
        done = 0
        while done < len(self._flight) and self._flight[done][0] <= upto:
            done += 1
        if done:
            del self._flight[:done]
            self._timeout = self.ack_timeout_ms

    def _punches_from(self, start):
        """-> (lowest seq the journal holds, up to one batch of unacked
        punches with seq >= start)."""
        skip = start - (self.journal.acked + 1)
        if skip <= 0:
            batch = self.journal.unacked(self._batch)
            return (batch[0].seq if batch else 0), batch
        held = self.journal.unacked(skip + self._batch)
        out = []
        for p in held:
            if p.seq >= start:
                out.append(p)
        return (held[0].seq if held else 0), out

    def poll(self, now_ms, link_up):
        if not link_up:
            return
        if self._flight and ticks_diff(self._flight[0][1], now_ms) <= 0:
            # The oldest batch got no ack in time: back off so a backend that
            # is down is not flooded, and send again from the first unacked punch.
            self._timeout = min(self._timeout * 2, self.backoff_max_ms)
            self.resent += 1
            self._flight = []
        if len(self._flight) >= self.window:
            return
        start = self.journal.acked + 1
        if self._flight and self._flight[-1][0] + 1 > start:
            start = self._flight[-1][0] + 1
        try:
            held_from, batch = self._punches_from(start)
            if not batch:
                return
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
            self.last_error = f"memory: batch reduced to {self._batch}"
            return
        except Exception as e:  # the link refused it (queue full, socket gone): retry later
            self.last_error = f"publish failed: {e!r}"
            return
        self.sent += 1
        if self._batch < self.batch_max:
            self._batch += 1
        self._flight.append([last, ticks_add(now_ms, self._timeout)])
