# The Journal interface the firmware's senders use (unacked, ack, acked,
# epoch, last_seq), kept in RAM: shared by the portable link checks, the
# ingest and fleet tests and bench/loadgen.py. MicroPython-compatible on
# purpose (link_checks.py imports it on the Unix port): no typing.


class MemJournal:
    def __init__(self, punches=None):
        self.punches = [] if punches is None else punches
        self.acked = 0
        self.epoch = 0  # the journal epoch (docs/protocol.md); 0: a journal from before epochs

    @property
    def last_seq(self):
        return len(self.punches)

    def unacked(self, limit):
        return self.punches[self.acked : self.acked + limit]

    def ack(self, upto):
        if upto <= self.acked:
            return False
        self.acked = min(upto, self.last_seq)
        return True
