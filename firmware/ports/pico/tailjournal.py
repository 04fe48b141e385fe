# The punch journal on littlefs, with its appends made through a tail file.
#
# littlefs never appends into a block it already synced: an append + sync to a
# segment copies the segment's last block into a freshly erased one, one or two
# 4 KiB sector erases per punch (~48-95 ms on a Pico). A file small enough to
# stay inline in its directory's metadata costs a metadata commit instead
# (~1.5 ms). So a tap appends its record to `tail.nxt` (segment format, at most
# `tail` bytes: inline), and merge() moves the tail's records into the current
# segment in one write, off the tap path (the kiosk loop's flush(), between
# taps), then empties the tail. A power cut between the segment's sync and the
# tail's reset leaves records in both: open() keeps each seq once. Format:
# docs/protocol.md, "On flash". Not in the portable core: only littlefs needs it
# (and the core's heap budget, tests/firmware_core, has no room for it).

import struct

from firmware.core import fsutil
from firmware.core.journal import SEG_HEADER, Journal, decode_record

TAIL_NAME = "tail.nxt"


def _close(f):
    if f is not None:
        try:
            f.close()
        except OSError:
            pass


class TailJournal(Journal):
    def __init__(self, root, tail=256, **kw):
        Journal.__init__(self, root, **kw)
        # tail: the tail file's size limit in bytes, header included. It must
        # stay inline in littlefs metadata: the Pico's littlefs keeps files
        # inline up to ~380 bytes (docs/rp2040-emulation.md).
        self._tail = None  # open tail file
        # The tail's records, also in RAM: unacked() and merge() read them from
        # here; an append that failed mid-write did not add to it.
        self._tail_buf = bytearray(tail - SEG_HEADER)
        self._tail_len = 0  # bytes of records in _tail_buf (and in the file)
        self._tail_n = 0
        self._tail_path = fsutil.join(root, TAIL_NAME)
        self.merges_on_tap = 0  # tail merges a tap had to do: the tail was full

    def open(self):
        Journal.open(self)
        self._recover_tail(self._top)
        return self

    def _recover_tail(self, top):
        """Boot: append the tail's records that no segment holds (seq above
        `top`, the highest seq in the segments: seqs only grow, and a merge
        writes the tail's records in order) to the last segment, whose records
        they follow, sync it, then delete the tail."""
        path = self._tail_path
        raw = fsutil.read(path)
        if raw is None:
            return
        start = end = SEG_HEADER
        for p, nxt in self._records(path):
            self.last_seq = max(self.last_seq, p.seq)
            if p.seq <= top or p.seq <= self.acked:
                start = nxt
            end = nxt
        if end < len(raw):  # torn (a filesystem without atomic commits)
            self.dropped_torn += 1
            if len(raw) - end >= 4:
                (seq,) = struct.unpack_from("<I", raw, end)
                if seq == self.last_seq + 1:  # the torn record's seq survived
                    self.last_seq = seq
        if end > start:
            segs = self._segments
            if not segs:  # every segment acked and gone: a new one
                segs.append(struct.unpack_from("<I", raw, start)[0])
                start = 0  # with the tail's header (its boot id)
            with open(self._path(segs[-1]), "ab") as f:
                f.write(memoryview(raw)[start:end])
                fsutil.sync(f)
        fsutil.remove(path)
        self._save_state()  # the seq floor, past the seqs just found

    def _write(self, seq, rec):
        n = len(rec)
        try:
            if self._cur is None or self._cur_count + self._tail_n >= self.seg_records:
                self.rolls_on_tap += 1  # prepare() was not called since the last roll
                self.merge()  # the full segment takes the tail's records first
                self._roll(seq)
            elif self._tail is None or self._tail_len + n > len(self._tail_buf):
                if self._tail is not None:
                    self.merges_on_tap += 1  # full: taps with no idle time between
                self.merge()  # (a tail that failed a write starts afresh)
            self._tail.write(rec)  # type: ignore[union-attr]  # merge() or _roll() opened it
            fsutil.sync(self._tail)
        except OSError:
            # Not durable, so not accepted. The tail may end with part of this
            # record: the next append merges the records in RAM (every accepted
            # one) into the segment and starts a fresh tail.
            _close(self._tail)
            self._tail = None
            raise
        self._tail_buf[self._tail_len:self._tail_len + n] = rec
        self._tail_len += n
        self._tail_n += 1

    def merge(self):
        """Move the tail's records into the current segment (one write and
        sync: one or two erases, whatever the count), then start an empty
        tail. -> True when records moved."""
        moved = self._tail_n > 0
        if moved:
            if self._cur is None:  # abandoned after a failed write: a new one
                self._roll(struct.unpack_from("<I", self._tail_buf, 0)[0])
            try:
                self._cur.write(memoryview(self._tail_buf)[:self._tail_len])
                fsutil.sync(self._cur)
            except OSError:
                self._abandon()  # the tail still holds every record
                raise
            self._cur_count += self._tail_n
            self._tail_len = self._tail_n = 0
        if self._cur is not None:
            _close(self._tail)
            self._tail = None
            self._tail = self._create(self._tail_path)
        return moved

    def merge_due(self):
        """The tail is over half full: merge it at the next idle moment rather
        than let a tap merge a full one. Allocates nothing (asked every poll)."""
        return self._tail_len * 2 > len(self._tail_buf)

    def prepare(self):
        if self._cur is not None and (self._tail is None or self._cur_count + self._tail_n >= self.seg_records):
            self.merge()  # the tail's creation, or a full segment's last records
        return Journal.prepare(self)

    def _roll(self, first):
        Journal._roll(self, first)
        if not self._tail_n:  # (merge() rolls with records in the tail: it writes them first)
            self.merge()  # an empty tail, after this segment

    def unacked(self, limit):
        out = Journal.unacked(self, limit)
        pos = 0
        while pos < self._tail_len and len(out) < limit:
            p, pos = decode_record(self._tail_buf, pos, self.boot)
            if p.seq > self.acked and (not out or p.seq > out[-1].seq):
                out.append(p)
        return out

    def ack(self, upto):
        if upto > self.last_seq and self._tail_n:
            self.merge()  # the tail's records stay with their segment, which closes
        return Journal.ack(self, upto)

    def unsaved(self):
        return self.merge_due() or Journal.unsaved(self)

    def flush(self):
        """Merge the tail once it is half full (each merge costs an erase or
        two, whatever it moves: fewer, bigger ones), then the cursor."""
        merged = self.merge_due() and self.merge()
        return Journal.flush(self) or merged

    def wipe(self):
        _close(self._tail)
        self._tail = None
        fsutil.remove(self._tail_path)
        self._tail_len = self._tail_n = 0
        Journal.wipe(self)

    def close(self):
        Journal.close(self)  # the tail's records stay there: it is on flash too
        _close(self._tail)
        self._tail = None
