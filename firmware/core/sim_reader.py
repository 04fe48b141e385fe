# A simulated badge reader behind the same read_uid() interface as the MFRC522
# driver: each tap holds a card for a few polls, with request() flicker.

import struct


def unique_uid(kiosk_no, n):
    """A distinct 4-byte UID per (kiosk, tap), for tests that count rows."""
    return b"\xAA" + bytes((kiosk_no & 0xFF,)) + struct.pack(">H", n & 0xFFFF)


class SimReader:
    def __init__(self, uids, hold_polls=2, gap_polls=4, flicker=True):
        self._uids = uids  # an iterator of UID bytes, one per tap
        self._pattern = []
        self.hold_polls = hold_polls
        self.gap_polls = gap_polls
        self.flicker = flicker
        self.exhausted = False

    def read_uid(self):
        if not self._pattern:
            try:
                uid = next(self._uids)
            except StopIteration:
                self.exhausted = True
                return None
            hold = []
            for i in range(self.hold_polls):
                # every other poll fails while the card lies there, as on a real MFRC522
                hold.append(None if self.flicker and i % 2 else uid)
            self._pattern = hold + [None] * self.gap_polls
        return self._pattern.pop(0)
