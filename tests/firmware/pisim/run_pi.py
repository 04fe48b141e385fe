"""Entry for the simulated Raspberry Pi: the real firmware/ports/pi code on
CPython with fake spidev/RPi.GPIO and the scripted badge field (simctl)."""

import json

import simctl

from firmware.ports.pi import main


def done(kiosk):
    return simctl.CHIP.done() and kiosk.journal.pending() == 0 and kiosk.sender._inflight_last is None


k = main.run("kiosk.json", done=done)
print(
    "DONE "
    + json.dumps(
        {
            "taps": k.taps,
            "last_seq": k.journal.last_seq,
            "acked": k.journal.acked,
            "reader_errors": k.reader.errors,
        }
    ),
    flush=True,
)
k.link.stop()
