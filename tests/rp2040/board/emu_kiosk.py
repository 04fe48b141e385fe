# A minimal Pico kiosk for the emulator tests, used while (or where)
# firmware/ports/pico/ is not there: the portable core (journal, presence,
# feedback, MFRC522 driver) on machine.SPI, Pin and WDT, offline.
# Board config: /emu.json {"kiosk_id", "pins": {...}, "wdt_ms", "cooldown_ms",
# "poll_ms", "seg_records", "max_records", "hang_after_ms", "idle",
# "mem_every"}. Prints "NX ..." lines the tests read.
import gc
import json
import time

from machine import SPI, WDT, Pin

from firmware.core.clock import Clock

try:
    from firmware.core.ui.pins import PinFeedback
except ImportError:  # before the core's ui package
    from firmware.core.feedback import PinFeedback
from firmware.core.journal import Journal
from firmware.core.kiosk import Kiosk
from firmware.core.mfrc522 import MFRC522


def main(path="/emu.json"):
    with open(path) as f:
        cfg = json.load(f)
    if cfg.get("idle"):
        print("NX idle")  # the REPL drives the journal (fill test)
        return
    p = cfg["pins"]
    spi = SPI(0, baudrate=4000000, sck=Pin(p["sck"]), mosi=Pin(p["mosi"]), miso=Pin(p["miso"]))
    reader = MFRC522(spi, Pin(p["cs"], Pin.OUT, value=1))
    reader.init()
    fb = PinFeedback(Pin(p["green"], Pin.OUT), Pin(p["red"], Pin.OUT), Pin(p["buzzer"], Pin.OUT))
    journal = Journal("/journal", seg_records=cfg.get("seg_records", 256),
                      max_records=cfg.get("max_records", 60000)).open()
    kiosk = Kiosk(cfg["kiosk_id"], journal, reader, fb, Clock(),
                  cooldown_ms=cfg.get("cooldown_ms", 3000), poll_ms=cfg.get("poll_ms", 50))
    wdt = WDT(timeout=cfg.get("wdt_ms", 8000))
    gc.collect()
    print("NX boot %d seq %d mem_free %d" % (journal.boot, journal.last_seq, gc.mem_free()))  # noqa: UP031
    poll = kiosk.poll_ms
    hang_at = cfg.get("hang_after_ms")
    mem_every = cfg.get("mem_every", 100)
    taps = 0
    if hang_at is not None:
        hang_at = time.ticks_add(time.ticks_ms(), hang_at)
    while True:
        start = time.ticks_ms()
        kiosk.step(start)
        fb.tick(start)
        wdt.feed()
        if kiosk.taps != taps:
            taps = kiosk.taps
            if taps % mem_every == 0:
                gc.collect()
                print("NX taps %d mem_free %d" % (taps, gc.mem_free()))  # noqa: UP031
        if hang_at is not None and time.ticks_diff(start, hang_at) >= 0:
            print("NX hang")
            while True:  # a hung main loop: only the watchdog gets us out
                pass
        spent = time.ticks_diff(time.ticks_ms(), start)
        if spent < poll:
            time.sleep_ms(poll - spent)
