# Screen layout for the optional 128x64 SSD1306 (or any framebuf-like object
# with fill(c), text(s, x, y[, c]) and show()). Portable: the port hands in
# the driver object; tests hand in a recorder.
#
# Idle screen: local time (UTC + offset from config), network state, the
# "memory almost full" warning. A tap replaces it for a few seconds with the
# event's message. Redraws happen on change or once a minute, never per poll.

from firmware.core import feedback as fb
from firmware.core.ticks import ticks_add, ticks_diff, ticks_ms
from firmware.core.ui.pins import TEXTS

COLS = 16  # 8x8 font on 128 px

# Latin letters of the sites' names and their ASCII stand-ins (two strings:
# a dict would cost ~3 KB of a 128 KB heap).
_FROM = "àâäáçéèêëîïíôöóùûüúñÿÀÂÄÇÉÈÊÎÔÖÙÜ"
_TO = "aaaaceeeeiiiooouuuunyAAACEEEIOOUU"


def ascii_fold(text):
    """The framebuf font has ASCII only: Zoë -> Zoe, anything else -> '?'."""
    out = ""
    for c in text:
        if " " <= c <= "~":
            out += c
        else:
            i = _FROM.find(c)
            out += _TO[i] if i >= 0 else "?"
    return out


class Screen:
    def __init__(self, fbuf, clock=None, texts=None):
        self.fb = fbuf
        self.clock = clock
        self.texts = texts or TEXTS
        self._until = None  # ticks when the event message ends
        self._online = False
        self._pending = 0
        self._warn = False
        self._shown_minute = -1
        self._dirty = True
        self.lines = ()  # what is on screen, for tests and logs

    def set_texts(self, texts):
        """The config's texts ({key of TEXTS: [line, line]}, validated ASCII,
        16 columns) over the built-in ones; None: the built-in ones. One small
        dict; the strings are the config's own."""
        if not texts:
            self.texts = TEXTS
        else:
            t = {}
            for k in TEXTS:
                t[k] = texts.get(k) or TEXTS[k]
            self.texts = t
        self._dirty = True

    def _draw(self, lines):
        f = self.fb
        f.fill(0)
        for i in range(len(lines)):
            f.text(lines[i][:COLS], 0, i * 12)
        f.show()
        self.lines = lines

    def event(self, event, detail, hold_ms):
        t = self.texts.get(event) or self.texts[fb.ERROR]
        second = t[1] if len(t) > 1 else ""
        if detail:
            second = ascii_fold(detail)
        self._draw((t[0], second))
        self._until = ticks_add(ticks_ms(), hold_ms)

    def status(self, online, pending, warn):
        if online != self._online or warn != self._warn or (pending == 0) != (self._pending == 0):
            self._dirty = True
        self._online = online
        self._pending = pending
        self._warn = warn

    def tick(self, now_ms):
        if self._until is not None:
            if ticks_diff(now_ms, self._until) < 0:
                return
            self._until = None
            self._dirty = True
        hm = self.clock.local_hm() if self.clock is not None else None
        minute = -1 if hm is None else hm[0] * 60 + hm[1]
        if not self._dirty and minute == self._shown_minute:
            return
        self._shown_minute = minute
        self._dirty = False
        self.idle(hm)

    def idle(self, hm):
        clock = "--:--" if hm is None else "%02d:%02d" % hm
        net = self.texts[fb.ONLINE if self._online else fb.OFFLINE][0]
        lines = [clock, net]
        if self._pending and not self._online:
            lines[1] = "%s %d" % (net, self._pending)
        if self._warn:
            for line in self.texts[fb.ALMOST_FULL]:
                if line:
                    lines.append(line)
        self._draw(tuple(lines))
