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

from firmware.core.sender import ACK_TIMEOUT_MS, BACKOFF_MAX_MS, BATCH_MAX, Sender
from firmware.core.ticks import ticks_add, ticks_diff

WINDOW = 4  # batches in flight by default once pipelining is on (bench: docs/benchmarks.md)
WINDOW_MAX = 16


class PipelinedSender(Sender):
    def __init__(self, journal, kiosk_id, publish, batch_max=BATCH_MAX,
                 ack_timeout_ms=ACK_TIMEOUT_MS, backoff_max_ms=BACKOFF_MAX_MS, window=WINDOW):
        Sender.__init__(self, journal, kiosk_id, publish, batch_max, ack_timeout_ms, backoff_max_ms)
        self.window = max(1, min(WINDOW_MAX, window or WINDOW))

    def link_up(self):
        """A new connection: whatever was in flight may be lost, resend now."""
        self._flight = []  # [last seq, ack deadline] per batch in flight, oldest first
        self._timeout = self.ack_timeout_ms

    def idle(self):
        return not self._flight

    def _acked(self, upto, advanced):
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
            return Sender._punches_from(self, start)
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
            # The oldest batch got no ack in time: send again from the first
            # unacked punch (go-back-N).
            self._back_off()
            self._flight = []
        if len(self._flight) >= self.window:
            return
        start = self.journal.acked + 1
        if self._flight and self._flight[-1][0] + 1 > start:
            start = self._flight[-1][0] + 1
        last = self._publish_next(start)
        if last is not None:
            self._flight.append([last, ticks_add(now_ms, self._timeout)])
