# A simulated badge reader behind the same read_uid() interface as the MFRC522
# driver: each tap holds a card for a few polls, with request() flicker.

import struct


def unique_uid(kiosk_no, n):
    """A distinct 4-byte UID per (kiosk, tap), for tests that count rows."""
    return b"\xAA" + bytes((kiosk_no & 0xFF,)) + struct.pack(">H", n & 0xFFFF)


class SimReader:
    """Constant memory whatever the gap: a demo kiosk with taps minutes apart
    (tens of thousands of polls) must run in a Pico's heap."""

    def __init__(self, uids, hold_polls=2, gap_polls=4, flicker=True):
        self._uids = uids  # an iterator of UID bytes, one per tap
        self._uid = None  # the card of the current tap
        self._poll = 0  # polls into the current tap: hold_polls, then gap_polls
        self.hold_polls = hold_polls
        self.gap_polls = gap_polls
        self.flicker = flicker
        self.exhausted = False

    def read_uid(self):
        if self._uid is None or self._poll >= self.hold_polls + self.gap_polls:
            try:
                self._uid = next(self._uids)
            except StopIteration:
                self.exhausted = True
                return None
            self._poll = 0
        i = self._poll
        self._poll += 1
        if i >= self.hold_polls:
            return None
        # every other poll fails while the card lies there, as on a real MFRC522
        return None if self.flicker and i % 2 else self._uid
