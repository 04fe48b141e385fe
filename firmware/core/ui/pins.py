# LED and buzzer patterns (and the optional display) for the kiosk's events.
# show() only switches pins and draws the message (no sleep): the tap path
# stays short, and tick(now) ends the LED and plays the rest of the buzzer
# pattern from the main loop without allocating.

from firmware.core import feedback as fb
from firmware.core.ticks import ticks_add, ticks_diff, ticks_ms

ACCEPTED = fb.ACCEPTED
ALREADY = fb.ALREADY
ENROLLED = fb.ENROLLED
UNKNOWN = fb.UNKNOWN
FULL = fb.FULL
ERROR = fb.ERROR
ALMOST_FULL = fb.ALMOST_FULL
ENROLL_WAIT = fb.ENROLL_WAIT

GREEN = 1
RED = 2

# event -> (LED, buzzer on/off ms alternating, ms the message stays on screen)
PATTERNS = {
    ACCEPTED: (GREEN, (80,), 1500),
    ALREADY: (GREEN, (60, 80, 60), 1500),
    ENROLLED: (GREEN, (80, 60, 80, 60, 80), 2000),
    ENROLL_WAIT: (GREEN, (80,), 2000),
    UNKNOWN: (RED, (400,), 2500),
    FULL: (RED, (300, 150, 300, 150, 300), 4000),
    ERROR: (RED, (700,), 2500),
}

# Display texts (8x8 font, 16 columns on a 128 px SSD1306), one or two lines
# each: French, the built-in default. The config's "texts" (same keys, in the
# site's language, from the backend's catalogs) replace them (display.py).
TEXTS = {
    ACCEPTED: ("Bonjour", ""),
    ALREADY: ("Deja", "enregistre"),
    ENROLLED: ("Badge", "enregistre"),
    ENROLL_WAIT: ("Badge", "Badger SVP"),
    UNKNOWN: ("Badge inconnu", "voir RH"),
    FULL: ("Memoire pleine", "NON enregistre"),
    ERROR: ("Erreur", "reessayer"),
    ALMOST_FULL: ("Memoire presque", "pleine"),
    fb.ONLINE: ("en ligne",),
    fb.OFFLINE: ("hors ligne",),
}


class PinFeedback(fb.Feedback):
    """green, red, buzzer: Pin-like objects with value(0|1) (an active
    buzzer); display: a firmware.core.ui.display.Screen or None."""

    def __init__(self, green, red, buzzer, display=None):
        self.green = green
        self.red = red
        self.buzzer = buzzer
        self.display = display
        self._pattern = ()
        self._step = 0  # index of the buzzer segment playing
        self._step_end = 0
        self._led_end = 0
        self._busy = False
        self._online = False
        self._pending = 0
        self._warn = False
        self.last_event = None
        for p in (green, red, buzzer):
            p.value(0)

    def show(self, event, detail=""):
        led, pattern, hold = PATTERNS.get(event, PATTERNS[ERROR])
        now = ticks_ms()
        self.green.value(1 if led == GREEN else 0)
        self.red.value(1 if led == RED else 0)
        self.buzzer.value(1)
        self._pattern = pattern
        self._step = 0
        self._step_end = ticks_add(now, pattern[0])
        self._led_end = ticks_add(now, hold if hold < 1500 else 1500)
        self._busy = True
        self.last_event = event
        if self.display is not None:
            self.display.event(event, detail, hold)

    def tick(self, now_ms):
        if self._busy:
            if self._step < len(self._pattern) and ticks_diff(now_ms, self._step_end) >= 0:
                self._step += 1
                if self._step < len(self._pattern):
                    self.buzzer.value(0 if self._step & 1 else 1)
                    self._step_end = ticks_add(self._step_end, self._pattern[self._step])
                else:
                    self.buzzer.value(0)
            if ticks_diff(now_ms, self._led_end) >= 0 and self._step >= len(self._pattern):
                self.green.value(0)
                self.red.value(0)
                self._busy = False
        if self.display is not None:
            self.display.tick(now_ms)

    def playing(self):
        return self._busy and self._step < len(self._pattern)

    def set_texts(self, texts):
        if self.display is not None:
            self.display.set_texts(texts)

    def status(self, online, pending, fill, warn=None):
        self._online = online
        self._pending = pending
        if warn is None:
            warn = fill is not None and fill >= 0.8
        self._warn = warn
        if self.display is not None:
            self.display.status(online, pending, warn)
