# The punch journal: append-only segments on flash, one CRC-checked record per
# punch, written and synced before the kiosk says "accepted".
#
# Layout in the journal directory (format in docs/protocol.md, "On flash"):
#   state.json          {"acked": N, "boot": B, "seq": S} written atomically
#   <first-seq:08x>.nxj segments: 8-byte header, then records
# A segment is deleted only once every record in it is acked and that cursor is
# on flash. On littlefs the Pico appends through a small tail file instead
# (firmware/ports/pico/tailjournal.py).
#
# With lazy_ack (the kiosk loop sets it) an ack moves the cursor in RAM only and
# flush() writes it later, off the tap path: a state.json write is a few page
# programs and sometimes a 45 ms sector erase, which a tap arriving meanwhile
# would wait for. A power cut before the flush makes the kiosk resend punches
# the backend already acked (it stores them once); never the reverse, because
# segments go only after the cursor covering them is on flash.

import os
import struct
from binascii import crc32

from firmware.core import fsutil
from firmware.core.protocol import KIND_ENROLL, KIND_PUNCH, Punch, uid_hex

SEG_MAGIC = b"NJ"
SEG_VERSION = 1
SEG_HEADER = 8  # magic(2) version(1) reserved(1) boot(u32)
SEG_SUFFIX = ".nxj"
REC_FIXED = 10  # seq(u32) time_s(u32) meta(u16), then uid, then crc16
REC_CRC = 2
_UID_CODE = {4: 0, 7: 1, 10: 2}
_UID_LEN = (4, 7, 10)
_META_KIND = 1 << 12
_META_ESTIMATED = 1 << 13


ENOSPC = 28  # errno: littlefs has no free block left
ALERT_FILL = 0.8  # telemetry alert and display warning from 80 % use
_ALERT_NUM, _ALERT_DEN = 4, 5  # ALERT_FILL as integers: no float on the loop's path


def new_epoch():
    # A random journal epoch 1..2^31-1, drawn when a journal is created: a
    # wiped or replaced journal's seqs never collide with the old one's.
    try:
        b = os.urandom(4)
    except AttributeError:  # the WebAssembly port has no os.urandom
        import random
        return random.getrandbits(31) or 1
    return (b[0] | b[1] << 8 | b[2] << 16 | (b[3] & 127) << 24) or 1


class JournalFull(Exception):
    """The punch was not recorded: the journal will not overwrite unacked punches."""


def encode_record(seq, uid, time_ms, kind, estimated):
    """time_ms: UTC epoch ms, or ms since boot when estimated. 16 bytes for a
    4-byte UID, 19 for 7, 22 for 10."""
    meta = (time_ms % 1000) | (_UID_CODE[len(uid)] << 10)
    if kind == KIND_ENROLL:
        meta |= _META_KIND
    if estimated:
        meta |= _META_ESTIMATED
    body = struct.pack("<IIH", seq, time_ms // 1000, meta) + bytes(uid)
    return body + struct.pack("<H", crc32(body) & 0xFFFF)


def decode_record(buf, pos, boot):
    """-> (Punch, next_pos) or (None, pos) when the bytes there are not a whole,
    valid record (a torn tail)."""
    if len(buf) - pos < REC_FIXED + REC_CRC:
        return None, pos
    seq, secs, meta = struct.unpack_from("<IIH", buf, pos)
    code = (meta >> 10) & 3
    if code > 2 or meta & 0xC000 or (meta & 1023) > 999:
        return None, pos
    end = pos + REC_FIXED + _UID_LEN[code]
    if len(buf) < end + REC_CRC:
        return None, pos
    (crc,) = struct.unpack_from("<H", buf, end)
    if crc != crc32(memoryview(buf)[pos:end]) & 0xFFFF:
        return None, pos
    ms = secs * 1000 + (meta & 1023)
    kind = KIND_ENROLL if meta & _META_KIND else KIND_PUNCH
    uid = uid_hex(buf[pos + REC_FIXED:end])
    if meta & _META_ESTIMATED:
        return Punch(seq, uid, None, kind, boot, ms), end + REC_CRC
    return Punch(seq, uid, ms, kind), end + REC_CRC


class Journal:
    def __init__(self, root, seg_records=2040, max_records=60000):
        self.root = root
        # 2040 x 16 B + header = 8 littlefs blocks of 4 KiB. Measured on an
        # 848 KiB VfsLfs2 (bench/firmware_bench.py): one-block segments fit
        # only 49 733 punches (a directory of ~200 files costs metadata blocks
        # and gets slow), 8-block segments 52 790; bigger ones hold more acked
        # punches back (a segment goes only when all of it is acked).
        self.seg_records = seg_records
        self.max_records = max_records
        self.boot = 0
        self.epoch = 0  # journal epoch: (kiosk, epoch, seq) names a punch
        self.last_seq = 0
        self.acked = 0  # the backend's cursor: every seq up to it is stored
        self.saved_acked = 0  # the cursor in state.json (<= acked)
        self.lazy_ack = False  # True: ack() leaves the flash write to flush()
        self._segments = []  # first seqs, ascending
        self._cur = None  # open file of the current segment
        self._cur_count = 0
        self.dropped_torn = 0
        self.rolls_on_tap = 0  # segments created by append: 0 when prepare() keeps ahead
        self._scratch = bytearray(REC_FIXED + 10 + REC_CRC)  # largest record
        # (segment, byte offset, seq): the record at that offset follows seq;
        # every record before it is <= seq. Valid while seq <= acked.
        self._hint = None

    # -- boot ------------------------------------------------------------
    def open(self):
        fsutil.makedirs(self.root)
        state = self._load_state()
        fresh = not state and not any(n.endswith(SEG_SUFFIX) for n in os.listdir(self.root))
        # A new journal draws its epoch; one from before epochs stays epoch 0.
        self.epoch = new_epoch() if fresh else state.get("epoch", 0)
        self.acked = self.saved_acked = state.get("acked", 0)
        self.boot = state.get("boot", 0) + 1
        self.last_seq = max(state.get("seq", 0), self.acked)
        self._segments = sorted(
            int(n[:-len(SEG_SUFFIX)], 16) for n in os.listdir(self.root)
            if n.endswith(SEG_SUFFIX) and len(n) == 8 + len(SEG_SUFFIX))
        self._hint = None  # torn tails may be trimmed below
        top = 0  # the highest seq any segment holds
        for first in self._segments:
            top = max(top, self._check_segment(first))
        self._top = top  # for the tail journal's recovery
        self._save_state()
        # A new segment per boot: its header carries the boot id that estimated
        # (clock-unset) punches refer to.
        self._cur = None
        return self

    def _records(self, path, start=SEG_HEADER):
        """Yield (punch, end offset) for each valid record of a segment, reading
        record by record into one scratch buffer: a whole segment in RAM would
        fragment a 128 KB heap. Stops at the first invalid record. `start`: the
        byte offset of a record boundary to begin at (see _hint)."""
        try:
            f = open(path, "rb")
        except OSError:
            return
        try:
            head = f.read(SEG_HEADER)
            boot = self._header_boot(head)
            if boot is None:
                return
            if start > SEG_HEADER:
                f.seek(start)
            buf, view, pos = self._scratch, memoryview(self._scratch), start
            while True:
                n = f.readinto(view[:REC_FIXED])
                if n != REC_FIXED:
                    return
                code = (buf[9] >> 2) & 3
                if code > 2:
                    return
                rest = _UID_LEN[code] + REC_CRC
                if f.readinto(view[REC_FIXED:REC_FIXED + rest]) != rest:
                    return
                p, size = decode_record(view[:REC_FIXED + rest], 0, boot)
                if p is None:
                    return
                pos += size
                yield p, pos
        finally:
            f.close()

    def _check_segment(self, first):
        """Trim a torn segment; -> the highest seq it holds (0: none)."""
        pos, prev = SEG_HEADER, 0
        path = self._path(first)
        for p, end in self._records(path):
            self.last_seq = max(self.last_seq, p.seq)
            pos, prev = end, p.seq
        if pos >= fsutil.size(path):
            return prev
        # A record failed its check: a torn tail (power cut mid-write) or, with
        # valid records after it, flash bit rot. Keep every valid record; the
        # bad one is reported lost by the backend's gap check, and no seq seen
        # here is ever reused. Only the part after `pos` is read into RAM: it is
        # a few bytes for a torn tail, and a segment is 32 KiB.
        self.dropped_torn += 1
        with open(path, "rb") as f:
            boot = self._header_boot(f.read(SEG_HEADER))
            f.seek(pos)
            rest = f.read()
        kept = []
        i = 0
        while boot is not None and i < len(rest):
            p, nxt = decode_record(rest, i, boot)
            if p is not None and p.seq > prev:
                kept.append(rest[i:nxt])
                self.last_seq = max(self.last_seq, p.seq)
                i, prev = nxt, p.seq
            else:
                i += 1
        if not kept and len(rest) >= 4:
            (seq,) = struct.unpack_from("<I", rest, 0)
            if seq == self.last_seq + 1:  # the torn record's seq survived
                self.last_seq = seq
        rest = None
        if pos <= SEG_HEADER and not kept:
            fsutil.remove(path)
            self._segments.remove(first)
        else:
            fsutil.rewrite_prefix(path, pos, kept)
        return prev

    @staticmethod
    def _header_boot(buf):
        if len(buf) < SEG_HEADER or buf[:2] != SEG_MAGIC or buf[2] != SEG_VERSION:
            return None
        return struct.unpack_from("<I", buf, 4)[0]

    def _load_state(self):
        import json
        raw = fsutil.read(fsutil.join(self.root, "state.json"))
        if not raw:
            return {}
        try:
            return json.loads(raw)
        except ValueError:
            return {}

    def _save_state(self):
        import json
        acked = self.acked
        fsutil.write_atomic(fsutil.join(self.root, "state.json"), json.dumps(
            {"acked": acked, "boot": self.boot, "seq": self.last_seq,
             "epoch": self.epoch}).encode())
        self.saved_acked = acked

    def _path(self, first):
        return fsutil.join(self.root, "%08x%s" % (first, SEG_SUFFIX))

    # -- writing ---------------------------------------------------------
    def pending(self):
        return self.last_seq - self.acked

    def fill(self):
        """Fraction of the journal capacity holding unacked punches."""
        return self.pending() / self.max_records

    def almost_full(self):
        # Integer arithmetic: a float is a heap object on MicroPython, and the
        # loop asks this once a second.
        return self.pending() * _ALERT_DEN >= self.max_records * _ALERT_NUM

    def full(self):
        return self.pending() >= self.max_records

    def append(self, uid, time_ms, kind=KIND_PUNCH, estimated=False):
        """Durably record one punch and return it. Raises JournalFull rather than
        overwrite an unacked punch."""
        if self.pending() >= self.max_records:
            raise JournalFull("journal full: %d punches wait for the backend" % self.pending())
        seq = self.last_seq + 1
        try:
            self._write(seq, encode_record(seq, uid, time_ms, kind, estimated))
        except OSError as e:
            if e.args and e.args[0] == ENOSPC:
                raise JournalFull("flash full: %d punches wait for the backend" % self.pending())
            raise
        self.last_seq = seq
        if estimated:
            return Punch(seq, uid_hex(uid), None, kind, self.boot, time_ms)
        return Punch(seq, uid_hex(uid), time_ms, kind)

    def _write(self, seq, rec):
        try:
            if self._cur is None or self._cur_count >= self.seg_records:
                self.rolls_on_tap += 1  # prepare() was not called since the last roll
                self._roll(seq)
            self._cur.write(rec)
            fsutil.sync(self._cur)
        except OSError:
            # Not durable, so not accepted. The segment's tail may hold part of
            # this record: write the next punch to a fresh segment (boot-time
            # recovery trims the tail and never reuses a seq it finds there).
            self._abandon()
            raise
        self._cur_count += 1

    def prepare(self):
        """Create the segment the next punch goes to, off the tap path: the port calls
        it at boot and the kiosk loop when no card is present, so a tap only appends
        (creating a segment costs a state write, a file creation and a header sync,
        which would push the first tap after a boot past its 150 ms budget).
        -> True when a segment was created."""
        if self._cur is not None and self._cur_count < self.seg_records:
            return False
        if self.pending() >= self.max_records:
            return False  # full: the tap refuses anyway
        self._roll(self.last_seq + 1)
        return True

    def _abandon(self):
        f, self._cur = self._cur, None
        if f is not None:
            try:
                f.close()
            except OSError:
                pass

    def _create(self, path):
        """A new file holding a segment header (this boot's), synced."""
        f = open(path, "wb")
        try:
            f.write(SEG_MAGIC + bytes((SEG_VERSION, 0)) + struct.pack("<I", self.boot))
            fsutil.sync(f)
        except OSError:
            try:
                f.close()
            except OSError:
                pass
            fsutil.remove(path)  # a header-only file holds nothing
            raise
        return f

    def _roll(self, first):
        self._abandon()
        # Persist the seq floor first: even if every segment is later deleted,
        # the counter resumes past it.
        self.last_seq = max(self.last_seq, first - 1)
        self._save_state()
        self._cur = self._create(self._path(first))
        if first not in self._segments:
            self._segments.append(first)
        self._cur_count = 0

    # -- reading and acking ----------------------------------------------
    def unacked(self, limit):
        """The first `limit` punches after the acked cursor, in seq order."""
        out = []
        segs = self._segments
        for i in range(len(segs)):
            if i + 1 < len(segs) and segs[i + 1] <= self.acked + 1:
                continue  # the whole segment is acked
            # Resume at the first unacked record found last time rather than
            # decoding the segment's acked head again on every batch (2 040
            # records per segment: that made each send cost ~1 000 decodes).
            start, hint = SEG_HEADER, self._hint
            if hint is not None and hint[0] == segs[i] and hint[2] <= self.acked:
                start = hint[1]
            prev = start
            for p, end in self._records(self._path(segs[i]), start):
                # A seq seen already: a copy a failed tail merge left behind.
                if p.seq > self.acked and (not out or p.seq > out[-1].seq):
                    if not out:
                        self._hint = (segs[i], prev, p.seq - 1)
                    out.append(p)
                    if len(out) >= limit:
                        return out
                prev = end
        return out

    def ack(self, upto):
        """The backend durably stored everything up to `upto`: move the cursor
        and, unless lazy_ack, write it and delete the segments that hold
        nothing newer (with lazy_ack, flush() does both later)."""
        if upto > self.last_seq:
            # The backend holds seqs this journal never wrote (it was wiped or
            # replaced): resume past them so no new punch reuses a stored seq
            # (the next segment's roll writes that floor before any record).
            self.last_seq = upto
            if self._cur is not None:
                self._cur.close()
                self._cur = None
        if upto <= self.acked:
            return False
        self.acked = upto
        if not self.lazy_ack:
            self.flush()
        return True

    def unsaved(self):
        """True when flush() has work: an acked cursor not on flash yet, or
        segments it covers still there. Allocates nothing (asked every poll)."""
        if self.saved_acked != self.acked:
            return True
        segs = self._segments
        if len(segs) > 1 and segs[1] <= self.saved_acked + 1:
            return True
        return len(segs) > 0 and self.saved_acked == self.last_seq and self._cur is None

    def flush(self):
        """Write the acked cursor if it moved, then delete the segments that
        the cursor on flash covers: a segment goes only once a power cut can
        no longer bring back a cursor below its records. -> True when it
        wrote or deleted anything."""
        wrote = False
        if self.saved_acked != self.acked:
            self._save_state()
            wrote = True
        saved = self.saved_acked
        segs = self._segments
        while len(segs) > 1 and segs[1] <= saved + 1:
            fsutil.remove(self._path(segs.pop(0)))
            wrote = True
        if segs and saved == self.last_seq and self._cur is None:
            # Everything acked and no segment open for writing: free it too.
            fsutil.remove(self._path(segs.pop(0)))
            wrote = True
        return wrote

    def wipe(self):
        """Factory reset: drop every segment but keep the seq floor, so a
        wiped kiosk never reuses a seq the backend already holds."""
        self._abandon()
        for first in self._segments:
            fsutil.remove(self._path(first))
        self._segments = []
        self._hint = None
        self.acked = self.last_seq
        self._save_state()

    def close(self):
        self.flush()
        if self._cur is not None:
            self._cur.close()
            self._cur = None
