# The badge list the backend pushes in config ({"04A1B2C3": "Anna", ...}):
# kept on flash as a sorted file of fixed-size entries and looked up by binary
# search, so a site with thousands of badges costs no heap on a Pico (a dict of
# 2 000 names would take ~100 KB). Used only for the display: an unknown badge
# is still recorded; the backend decides what a punch means.
#
# badges.bin: "NB" 0x01 0x00, count (u16 LE), then `count` entries of 28 bytes
# sorted by (UID padded to 10 bytes with zeros, UID length):
#   UID (10 bytes, zero-padded) | UID length (1) | name length (1) | name UTF-8 (16, zero-padded)

import struct

from firmware.core import fsutil
from firmware.core.protocol import uid_bytes

MAGIC = b"NB\x01\x00"
HEADER = 6
ENTRY = 28
NAME_MAX = 16  # bytes of UTF-8: a first name on a 16-column display
MAX_BADGES = 5000  # 140 KB of flash


def _name_bytes(name):
    b = name.encode()
    if len(b) <= NAME_MAX:
        return b
    b = b[:NAME_MAX]
    while b:  # do not cut a UTF-8 character in half
        try:
            b.decode()
            return b
        except UnicodeError:
            b = b[:-1]
    return b


def encode(badges):
    """{uid hex: first name} -> (bytes, None) or (None, reason)."""
    if not isinstance(badges, dict):
        return None, "badges must be an object {uid: first name}"
    if len(badges) > MAX_BADGES:
        return None, "%d badges: at most %d fit on a kiosk" % (len(badges), MAX_BADGES)
    rows = []
    for uid, name in badges.items():
        raw, err = uid_bytes(uid)
        if err:
            return None, "badge list: " + err
        if not isinstance(name, str):
            return None, "badge %s: the name must be a string" % uid
        key = raw + b"\x00" * (10 - len(raw)) + bytes((len(raw),))
        rows.append((key, _name_bytes(name)))
    rows.sort()
    out = bytearray(MAGIC + struct.pack("<H", len(rows)))
    for key, nb in rows:
        out += key + bytes((len(nb),)) + nb + b"\x00" * (NAME_MAX - len(nb))
    return bytes(out), None


class BadgeList:
    def __init__(self, path):
        self.path = path
        self.count = 0
        self._buf = bytearray(ENTRY)
        self._key = bytearray(11)
        self.load()

    def load(self):
        self.count = 0
        try:
            with open(self.path, "rb") as f:
                head = f.read(HEADER)
        except OSError:
            return
        if len(head) == HEADER and head[:4] == MAGIC:
            self.count = struct.unpack_from("<H", head, 4)[0]

    def store(self, badges):
        """Validate and write atomically. -> None or the reason it was refused."""
        data, err = encode(badges)
        if err:
            return err
        fsutil.write_atomic(self.path, data)
        self.load()
        return None

    def name(self, uid):
        """First name for UID bytes, '' for a listed badge without a name,
        None for a badge not on the list (or no list)."""
        if not self.count:
            return None
        key = self._key
        n = len(uid)
        for i in range(10):
            key[i] = uid[i] if i < n else 0
        key[10] = n
        buf = self._buf
        lo, hi = 0, self.count - 1
        try:
            f = open(self.path, "rb")
        except OSError:
            return None
        try:
            while lo <= hi:
                mid = (lo + hi) // 2
                f.seek(HEADER + mid * ENTRY)
                if f.readinto(buf) != ENTRY:
                    return None
                c = _cmp(buf, key)
                if c == 0:
                    return bytes(buf[12:12 + buf[11]]).decode()
                if c < 0:
                    lo = mid + 1
                else:
                    hi = mid - 1
        finally:
            f.close()
        return None


def _cmp(entry, key):
    for i in range(11):
        a = entry[i]
        b = key[i]
        if a != b:
            return -1 if a < b else 1
    return 0
