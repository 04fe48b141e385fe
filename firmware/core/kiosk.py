# The kiosk's main loop: reader -> presence -> journal -> feedback, and the
# journal -> sender -> MQTT link path, interleaved without blocking each other.
# The tap path does no network I/O and exactly one journal write; results and
# telemetry are queued and published by the loop.
#
# Everything past the constructor's first six arguments is optional, so the
# simulator, the Pico and the Pi ports share this one loop.

import gc

from firmware.core import feedback as fb
from firmware.core import protocol
from firmware.core.journal import ALERT_FILL, JournalFull
from firmware.core.presence import NEW, REPEAT, Presence
from firmware.core.sender import Sender
from firmware.core.ticks import sleep_ms, ticks_add, ticks_diff, ticks_ms

POLL_MS = 50  # reader poll period: a tap is answered within 50 ms + one write
TELEMETRY_MS = 60000
FIRMWARE_VERSION = "0.2.0"
CLOCK_CHECK_MS = 1000  # clock jump / first-set detection period
MAX_RESULTS = 8  # queued cmd/config results; older ones are dropped first
# The acked journal cursor goes to flash at most this often, and only while no
# card is on the reader and no beep plays (journal.py, lazy_ack): one
# state.json write per ack put a flash write (sometimes a 45 ms erase) in
# front of the next tap. 5 s: a power cut makes the kiosk resend at most ~5 s
# of acked punches (a few at a shift-change queue; the backend stores them
# once), and the cursor costs at most 12 state writes a minute, not one per ack.
CURSOR_PERSIST_MS = 5000


class Kiosk:
    def __init__(self, kiosk_id, journal, reader, feedback, clock, link=None,
                 cooldown_ms=3000, poll_ms=POLL_MS, telemetry_ms=TELEMETRY_MS,
                 config=None, badges=None, port=None, firmware_hash=None, sender_window=None,
                 cursor_persist_ms=CURSOR_PERSIST_MS):
        self.kiosk_id = kiosk_id
        self.journal = journal
        self.reader = reader
        self.feedback = feedback
        self.clock = clock
        self.presence = Presence(cooldown_ms)
        self.poll_ms = poll_ms
        self.telemetry_ms = telemetry_ms
        self.config = config  # ConfigStore or None
        self.badges = badges  # BadgeList or None
        self.port = port  # optional hooks: reboot(), net_info(), free_flash(), wdt
        self.firmware_hash = firmware_hash
        self.sender_window = sender_window  # batches in flight (kiosk.json "inflight"; None or 1: one)
        self.link = None
        self.sender = None
        self.taps = 0
        self.refused = 0
        self.repeats = 0
        self.reboot_at = None
        self.crash = None  # text of the last crash, reported once
        self._next_telemetry = None
        self._results = []
        self._commands = None  # fleet.commands, imported on the first command
        self._enroll_id = None
        self._enroll_until = 0
        self._clock_was_set = clock.now_ms() is not None
        self._last_ack_up = None  # uptime ms of the last ack
        self._warned = False
        self._next_clock_check = ticks_ms()
        # 0: every ack written at once (the journal's own default)
        self.cursor_persist_ms = cursor_persist_ms
        self._next_persist = self._next_clock_check
        self._lazy = bool(cursor_persist_ms) and hasattr(journal, "flush")
        if self._lazy:
            journal.lazy_ack = True
        self._playing = getattr(feedback, "playing", None)  # bound once: asked every poll
        if config is not None:
            self._apply(config.current)
        self._prepare = getattr(journal, "prepare", None)  # bound once: no allocation per call
        self._merge_due = getattr(journal, "merge_due", None)
        self._prepare_journal()  # boot: the first tap must only append
        if link is not None:
            self.attach(link)

    # -- wiring ----------------------------------------------------------
    def birth(self):
        """Fields of the retained online state message."""
        d = {"boot": self.journal.boot, "fw": FIRMWARE_VERSION,
             "pending": self.journal.pending(), "last_seq": self.journal.last_seq}
        if self.firmware_hash:
            d["fw_hash"] = self.firmware_hash
        if self.config is not None:
            d["config_version"] = self.config.version()
        if self.crash:
            d["crash"] = self.crash
        if self.link is not None:
            d["tls"] = getattr(self.link, "tls", False)  # is the broker link encrypted
        return d

    def attach(self, link):
        self.link = link
        if self.sender_window and self.sender_window > 1:  # loaded only then: heap (docs/firmware.md)
            from firmware.core.pipeline import PipelinedSender

            self.sender = PipelinedSender(self.journal, self.kiosk_id, link.publish, window=self.sender_window)
        else:
            self.sender = Sender(self.journal, self.kiosk_id, link.publish)
        link.client.on_message = self._on_message
        link._on_connect_cb = self._link_up
        birth = getattr(link, "_birth", None)
        if isinstance(birth, dict):
            birth.update(self.birth())
        link.start()

    def note(self, line):
        """A problem that needs no reboot but a crash-log line (a refused TLS
        handshake, a missing display driver): on flash and in the next report."""
        path = getattr(self.port, "crash_path", None) if self.port is not None else None
        if path:
            from firmware.core.fleet import crashlog
            crashlog.note(path, line, self.clock.uptime_ms())
        else:
            print(line)
        if self.crash is None:  # the first one is reported; crash.log keeps them all
            self.crash = line

    def _link_up(self):
        self.sender.link_up()
        self._next_telemetry = None  # report at once on every (re)connect
        birth = getattr(self.link, "_birth", None)
        if isinstance(birth, dict):
            birth.update(self.birth())  # fresh journal depth for the next connect's birth

    def _on_message(self, topic, payload):
        if topic == protocol.INGEST_UP:
            # A worker has just subscribed: what it missed before (a broker
            # restart forgets `$share` subscriptions, the broker dropped our
            # batch) comes again now instead of after the ack timeout.
            self.sender.link_up()
        elif topic.endswith("/" + protocol.ACK):
            self.sender.on_ack(payload)
            self._last_ack_up = self.clock.uptime_ms()
        elif topic.endswith("/" + protocol.CONFIG):
            self.on_config(payload)
        elif topic.endswith("/" + protocol.CMD):
            d, err = protocol.decode_message(payload, self.kiosk_id)
            if err:
                self._result({"id": None, "cmd": None, "ok": False, "error": err})
                return
            if self._commands is None:
                from firmware.core.fleet.commands import Commands
                self._commands = Commands(self)
            res = self._commands.handle(d, ticks_ms())
            if res is not None:
                self._result(res)

    def _result(self, body):
        if len(self._results) >= MAX_RESULTS:
            self._results.pop(0)
        self._results.append(body)

    # -- config ----------------------------------------------------------
    def on_config(self, payload):
        """Validate, store, then apply; a rejected config is reported and the
        running one kept. -> None or the reason it was rejected."""
        if self.config is None:
            return "this kiosk keeps no config"
        from firmware.core.fleet.config import validate
        d, err = protocol.decode_config(payload, self.kiosk_id)
        cfg = badges = None
        if not err:
            cfg, badges, err = validate(d, self.config.version())
            if err and d.get("config_version") == self.config.version():
                return None  # the retained copy of what we run: not an error
        if not err and badges is not None and self.badges is not None:
            err = self.badges.store(badges)
        if err:
            v = d.get("config_version") if isinstance(d, dict) else None
            self._result({"id": None, "cmd": "config", "ok": False,
                          "config_version": v, "error": err})
            return err
        self.config.save(cfg)
        self._apply(cfg)
        self._result({"id": None, "cmd": "config", "ok": True,
                      "config_version": cfg["config_version"]})
        return None

    def _apply(self, cfg):
        self.presence.cooldown_ms = cfg.get("cooldown_ms", self.presence.cooldown_ms)
        if "telemetry_s" in cfg:
            self.telemetry_ms = cfg["telemetry_s"] * 1000
        tz = cfg.get("tz")
        if tz and hasattr(self.clock, "set_zone"):
            nxt = tz.get("next")
            self.clock.set_zone(tz.get("offset_min", 0), tuple(nxt) if nxt else None)
        self.feedback.set_texts(cfg.get("texts"))

    # -- commands the core carries out -------------------------------------
    def arm_enrollment(self, cid, now_ms):
        timeout_s = 60
        if self.config is not None:
            timeout_s = self.config.current.get("enroll_timeout_s", 60)
        if self._enroll_id is not None:
            self._result({"id": self._enroll_id, "cmd": "enroll", "ok": False,
                          "error": "replaced by enrollment %r" % (cid,)})
        self._enroll_id = cid if cid is not None else ""
        self._enroll_until = ticks_add(now_ms, timeout_s * 1000)
        self.feedback.show(fb.ENROLL_WAIT)
        return None

    def journal_status(self):
        j = self.journal
        return {"pending": j.pending(), "last_seq": j.last_seq, "acked": j.acked,
                "fill": j.fill(), "max_records": j.max_records,
                "segments": len(j._segments), "boot": j.boot}

    def factory_reset(self):
        self.journal.wipe()
        if self.config is not None:
            from firmware.core import fsutil
            fsutil.remove(self.config.path)
            self.config.current = self.config.load()
        if self.badges is not None:
            from firmware.core import fsutil
            fsutil.remove(self.badges.path)
            self.badges.load()

    # -- the tap path ----------------------------------------------------
    def record(self, uid, kind=protocol.KIND_PUNCH):
        ts = self.clock.now_ms()
        estimated = ts is None
        enrolling = self._enroll_id is not None
        if enrolling:
            kind = protocol.KIND_ENROLL
        try:
            p = self.journal.append(uid, self.clock.uptime_ms() if estimated else ts,
                                    kind, estimated)
        except JournalFull:
            self.refused += 1
            self.presence.forget()  # not recorded: a retry must not say "already recorded"
            self.feedback.show(fb.FULL)
            return None
        self.taps += 1
        if enrolling:
            self._result({"id": self._enroll_id, "cmd": "enroll", "ok": True,
                          "result": {"uid": p.uid, "seq": p.seq}})
            self._enroll_id = None
            self.feedback.show(fb.ENROLLED, p.uid)
            return p
        name = self.badges.name(uid) if self.badges is not None else None
        if name is None and self.badges is not None and self.badges.count:
            self.feedback.show(fb.UNKNOWN)  # recorded all the same: the backend decides
        else:
            self.feedback.show(fb.ACCEPTED, name or "#%d %s" % (p.seq, p.uid))
        if self.journal.almost_full() and not self._warned:
            self._warned = True
            self._next_telemetry = None  # the 80 % alert goes out at once
        return p

    def step(self, now_ms):
        event = self.presence.poll(self.reader.read_uid(), now_ms)
        if event == NEW:
            self.record(self.presence.current)
        elif event == REPEAT:
            self.repeats += 1
            self.feedback.show(fb.ALREADY)
        self.feedback.tick(now_ms)
        self._housekeeping(now_ms)
        if self.link is not None:
            self.link.poll(now_ms)
            self.sender.poll(now_ms, self.link.up())
            self._publish_results()
            self._telemetry(now_ms)

    def _housekeeping(self, now_ms):
        port = self.port
        wdt = getattr(port, "wdt", None) if port is not None else None
        if wdt is not None:
            wdt.feed()
        if ticks_diff(now_ms, self._next_clock_check) >= 0:
            # Once a second, not per poll: epoch times are heap ints on a Pico.
            self._next_clock_check = ticks_add(now_ms, CLOCK_CHECK_MS)
            jump = self.clock.observe() if hasattr(self.clock, "observe") else 0
            now_set = self.clock.now_ms() is not None
            j = self.journal
            online = self.link is not None and self.link.up()
            # fill=None: a float would be a heap object on a Pico every second; the
            # screen needs only the 80 % flag.
            self.feedback.status(online, j.pending(), None, j.almost_full())
            if self.presence.current is None:
                self._prepare_journal()  # idle: the next segment before the tap needs it
            if jump or now_set != self._clock_was_set:
                # A step or the first set: report at once so the backend can
                # place estimated punches and flag the jump.
                self._clock_was_set = now_set
                self._next_telemetry = None
        self._persist_cursor(now_ms)
        if self._enroll_id is not None and ticks_diff(now_ms, self._enroll_until) >= 0:
            self._result({"id": self._enroll_id, "cmd": "enroll", "ok": False,
                          "error": "no badge was tapped in time"})
            self._enroll_id = None
        if self._warned and not self.journal.almost_full():
            self._warned = False
        if self.reboot_at is not None and ticks_diff(now_ms, self.reboot_at) >= 0 \
                and not self._results:
            self.reboot_at = None
            reboot = getattr(port, "reboot", None) if port is not None else None
            if reboot is not None:
                self.flush_cursor()  # a reboot on command resends nothing
                reboot()

    def _persist_cursor(self, now_ms):
        """The acked cursor to flash once its interval is over, between taps.
        A half-full journal tail (tailjournal.py) is merged first, in a poll
        of its own, as soon as no beep plays, even with the card still on the
        reader: its tap is answered, and no other tap can come before that
        card leaves (a card counts as gone 150 ms after its last read: work
        put off until then meets the next card of a queue)."""
        if not self._lazy or (self._playing is not None and self._playing()):
            return
        j = self.journal
        if self._merge_due is not None and self._merge_due():
            try:
                j.merge()
            except OSError:
                pass  # flash trouble: the tail keeps its records, tried again later
            return
        if self.presence.current is not None or ticks_diff(now_ms, self._next_persist) < 0:
            return
        if j.unsaved():
            self._next_persist = ticks_add(now_ms, self.cursor_persist_ms)
            self.flush_cursor()

    def flush_cursor(self):
        """Write the acked cursor now (before a reboot; the port's shutdown)."""
        flush = getattr(self.journal, "flush", None)
        if flush is not None:
            try:
                flush()
            except OSError:
                pass  # flash trouble: the cursor stays in RAM, tried again later

    def _prepare_journal(self):
        if self._prepare is not None:
            try:
                self._prepare()
            except OSError:
                pass  # flash trouble: the tap path tries again and reports it

    def _publish_results(self):
        if not self._results or not self.link.up():
            return
        body = self._results[0]
        try:
            self.link.publish(protocol.topic(self.kiosk_id, protocol.CMD_RESULT),
                              protocol.encode_message(self.kiosk_id, body))
        except Exception:
            return  # try again next loop
        self._results.pop(0)

    def telemetry(self):
        j = self.journal
        c = self.clock
        body = {"boot": j.boot, "uptime_ms": c.uptime_ms(), "ts": c.now_ms(),
                "pending": j.pending(), "last_seq": j.last_seq, "acked": j.acked,
                "fill": j.fill(), "fw": FIRMWARE_VERSION, "alert_fill": j.fill() >= ALERT_FILL,
                "taps": self.taps, "refused": self.refused,
                "clock_skew_ms": getattr(c, "skew_ms", None),
                "clock_jumps": getattr(c, "jumps", 0),
                "last_jump_ms": getattr(c, "last_jump_ms", 0),
                "last_ack_age_ms": None if self._last_ack_up is None
                else c.uptime_ms() - self._last_ack_up,
                "reader_errors": getattr(self.reader, "errors", 0)}
        try:
            body["free_heap"] = gc.mem_free()
        except AttributeError:  # CPython
            pass
        if self.config is not None:
            body["config_version"] = self.config.version()
        if self.link is not None:
            body["tls"] = getattr(self.link, "tls", False)  # is the broker link encrypted
        if self.crash:
            body["crash"] = self.crash
        port = self.port
        if port is not None:
            for hook in ("net_info", "free_flash"):
                fn = getattr(port, hook, None)
                if fn is not None:
                    try:
                        v = fn()
                    except Exception as e:  # a failing probe must not stop telemetry
                        v = {"error": repr(e)}
                    if isinstance(v, dict):
                        body.update(v)
                    else:
                        body[hook] = v
        return body

    def _telemetry(self, now_ms):
        if not self.link.up():
            return
        if self._next_telemetry is not None and ticks_diff(self._next_telemetry, now_ms) > 0:
            return
        self._next_telemetry = ticks_add(now_ms, self.telemetry_ms)
        try:
            self.link.publish(protocol.topic(self.kiosk_id, protocol.TELEMETRY),
                              protocol.encode_message(self.kiosk_id, self.telemetry()))
        except Exception:
            # best effort (punches are not), but a report lost to a full heap or a busy
            # link is tried again in a second, not a whole interval later
            self._next_telemetry = ticks_add(now_ms, 1000)
            return
        if self.crash:
            self.crash = None
            clear = getattr(self.port, "clear_crash", None) if self.port is not None else None
            if clear is not None:
                clear()

    def run(self, done=None):
        """Loop until done() is true (forever on a real kiosk)."""
        while done is None or not done():
            start = ticks_ms()
            self.step(start)
            spent = ticks_diff(ticks_ms(), start)
            if spent < self.poll_ms:
                sleep_ms(self.poll_ms - spent)
