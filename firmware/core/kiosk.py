# The kiosk's main loop: reader -> presence -> journal -> feedback, and the
# journal -> sender -> MQTT link path, interleaved without blocking each other.
# The tap path does no network I/O and exactly one journal write.

from firmware.core import feedback as fb
from firmware.core import protocol
from firmware.core.journal import JournalFull
from firmware.core.presence import NEW, REPEAT, Presence
from firmware.core.sender import Sender
from firmware.core.ticks import sleep_ms, ticks_diff, ticks_ms

POLL_MS = 50  # reader poll period: a tap is answered within 50 ms + one write
TELEMETRY_MS = 60000
ALERT_FILL = 0.8  # warn at 80 % journal use (docs/protocol.md, telemetry)
FIRMWARE_VERSION = "0.1.0"


class Kiosk:
    def __init__(self, kiosk_id, journal, reader, feedback, clock, link=None,
                 cooldown_ms=3000, poll_ms=POLL_MS, telemetry_ms=TELEMETRY_MS):
        self.kiosk_id = kiosk_id
        self.journal = journal
        self.reader = reader
        self.feedback = feedback
        self.clock = clock
        self.presence = Presence(cooldown_ms)
        self.poll_ms = poll_ms
        self.telemetry_ms = telemetry_ms
        self.link = link
        self.sender = None
        self.taps = 0
        self.refused = 0
        self._next_telemetry = None
        if link is not None:
            self.attach(link)

    def attach(self, link):
        self.link = link
        self.sender = Sender(self.journal, self.kiosk_id, link.publish)
        link.client.on_message = self._on_message
        link._on_connect_cb = self.sender.link_up
        link.start()

    def _on_message(self, topic, payload):
        if topic.endswith("/" + protocol.ACK):
            self.sender.on_ack(payload)

    def record(self, uid, kind=protocol.KIND_PUNCH):
        ts = self.clock.now_ms()
        estimated = ts is None
        try:
            p = self.journal.append(uid, self.clock.uptime_ms() if estimated else ts,
                                    kind, estimated)
        except JournalFull:
            self.refused += 1
            self.presence.forget()  # not recorded: a retry must not say "already recorded"
            self.feedback.show(fb.FULL)
            return None
        self.taps += 1
        self.feedback.show(fb.ACCEPTED, "#%d %s" % (p.seq, p.uid))
        return p

    def step(self, now_ms):
        event = self.presence.poll(self.reader.read_uid(), now_ms)
        if event == NEW:
            self.record(self.presence.current)
        elif event == REPEAT:
            self.feedback.show(fb.ALREADY)
        if self.link is not None:
            self.link.poll(now_ms)
            self.sender.poll(now_ms, self.link.up())
            self._telemetry(now_ms)

    def _telemetry(self, now_ms):
        if not self.link.up():
            return
        if self._next_telemetry is not None and ticks_diff(self._next_telemetry, now_ms) > 0:
            return
        self._next_telemetry = now_ms + self.telemetry_ms
        body = {"boot": self.journal.boot, "uptime_ms": self.clock.uptime_ms(),
                "ts": self.clock.now_ms(), "pending": self.journal.pending(),
                "last_seq": self.journal.last_seq, "fill": self.journal.fill(),
                "fw": FIRMWARE_VERSION, "alert_fill": self.journal.fill() >= ALERT_FILL}
        try:
            self.link.publish(protocol.topic(self.kiosk_id, protocol.TELEMETRY),
                              protocol.encode_message(self.kiosk_id, body))
        except Exception:
            pass  # telemetry is best effort; punches are not

    def run(self, done=None):
        """Loop until done() is true (forever on a real kiosk)."""
        while done is None or not done():
            start = ticks_ms()
            self.step(start)
            spent = ticks_diff(ticks_ms(), start)
            if spent < self.poll_ms:
                sleep_ms(self.poll_ms - spent)
