# The simulated world around a simulated Pico W: a scripted badge field in front
# of a fake MFRC522 (SPI level), a Wi-Fi that stays down until the offline taps
# are done. Read from sim.json in the working directory:
#   {"taps": 2000, "offline_taps": 2000, "hold_polls": 2, "gap_polls": 3,
#    "kiosk_no": 1, "uid_len": 4}

import json
import sys

from fake_mfrc522 import FakeCard, FakeMFRC522

with open("sim.json") as f:
    CFG = json.load(f)


def uid_for(n):
    k = CFG.get("kiosk_no", 1) & 0xFF
    if CFG.get("uid_len", 4) == 7:
        return bytes((0x04, k, 0x5E, (n >> 16) & 255, (n >> 8) & 255, n & 255, 0x80))
    return bytes((0xAA, k, (n >> 8) & 255, n & 255))


class ScriptedChip(FakeMFRC522):
    """Each wake-up request is one poll: a new card every hold+gap polls."""

    def __init__(self):
        FakeMFRC522.__init__(self)
        self.polls = 0
        self.presented = 0
        self._card = None
        self._left = 0

    def _transceive(self):
        n = self.fifo_len - self.fifo_pos
        if n == 1 and self.regs[0x0D] & 7 == 7:
            self._poll()
        FakeMFRC522._transceive(self)

    def _poll(self):
        self.polls += 1
        hold = CFG.get("hold_polls", 2)
        gap = CFG.get("gap_polls", 3)
        if self._card is not None:
            self._left -= 1
            if self._left <= 0:
                self.leave(self._card)
                self._card = None
                self._left = gap
            return
        if self._left > 0:
            self._left -= 1
            return
        if self.presented < CFG.get("taps", 0):
            self._card = self.enter(FakeCard(uid_for(self.presented)))
            self.presented += 1
            self._left = hold

    def done(self):
        return self.presented >= CFG.get("taps", 0) and self._card is None


CHIP = ScriptedChip()


def online():
    return CHIP.presented >= CFG.get("offline_taps", 0) and CHIP._card is None


def drained(kiosk):
    """The scripted taps are done and the backend acked every punch."""
    return CHIP.done() and kiosk.journal.pending() == 0 and kiosk.sender.idle()


def report(kiosk, **extra):
    """The line the test reads back: `DONE ` and the kiosk's counters as JSON
    (plus `extra`, what only one port knows)."""
    out = {
        "taps": kiosk.taps,
        "last_seq": kiosk.journal.last_seq,
        "acked": kiosk.journal.acked,
        "reader_errors": kiosk.reader.errors,
    }
    out.update(extra)
    print("DONE " + json.dumps(out))
    sys.stdout.flush()  # before the link stops: a hung stop must not swallow it
