# The kiosk core around a tap: clock unset/jumps, journal full and 80 %,
# config (apply, reject, ignore old), badge names, commands, LED/buzzer/display.
# Portable: CPython via pytest, MicroPython Unix port via mprun.py.

import german_texts
from fwcase import eq, scratch

from firmware.core import feedback as fb
from firmware.core import protocol as P
from firmware.core.clock import Clock
from firmware.core.fleet.config import ConfigStore
from firmware.core.journal import Journal
from firmware.core.kiosk import Kiosk
from firmware.core.ui.badges import BadgeList
from firmware.core.ui.display import Screen, ascii_fold
from firmware.core.ui.pins import PinFeedback

A = b"\x04\xa1\xb2\xc3"
B = b"\x04\x11\x22\x33\x44\x55\x66"
T0 = 1767225600  # 2026-01-01T00:00:00Z


class Src:
    def __init__(self, t):
        self.t = t

    def __call__(self):
        return self.t


class Rec(fb.Feedback):
    def __init__(self):
        self.events = []

    def show(self, event, detail=""):
        self.events.append((event, detail))


class Reader:
    def __init__(self):
        self.uid = None
        self.errors = 0

    def read_uid(self):
        return self.uid


class Link:
    """A connected link that keeps what is published."""

    class client:
        on_message = None

    def __init__(self):
        self.sent = []
        self._birth = {}

    def start(self):
        pass

    def up(self):
        return True

    def poll(self, now):
        pass

    def publish(self, topic, payload, retain=False):
        self.sent.append((topic.split("/", 3)[3], payload))


def make(t=T0, max_records=60000, with_config=False, link=False, tail=0):
    root = scratch("kiosk")
    src = Src(t)
    clock = Clock(src)
    if tail:
        from firmware.ports.pico.tailjournal import TailJournal

        j = TailJournal(root + "/journal", seg_records=8, max_records=max_records, tail=tail).open()
    else:
        j = Journal(root + "/journal", seg_records=8, max_records=max_records).open()
    rec = Rec()
    cfg = ConfigStore(root + "/cfg") if with_config else None
    badges = BadgeList(root + "/cfg/badges.bin") if with_config else None
    k = Kiosk("K1", j, Reader(), rec, clock, config=cfg, badges=badges)
    if link:
        k.attach(Link())
    return k, src, rec


def tap(k, uid, now=0):
    k.reader.uid = uid
    k.step(now)
    k.reader.uid = None
    for i in range(1, 5):
        k.step(now + i * 50)


def results(k):
    while k._results:
        k._publish_results()
    out = []
    for leaf, payload in k.link.sent:
        if leaf == P.CMD_RESULT:
            d, err = P.decode_message(payload, "K1")
            out.append(d)
    return out


def case_clock_unset_punch_is_estimated_with_boot_and_uptime():
    k, src, rec = make(t=0)
    tap(k, A)
    p = k.journal.unacked(10)[0]
    eq(p.ts_ms, None)
    eq(p.boot, k.journal.boot)
    assert p.uptime_ms is not None and p.uptime_ms >= 0
    eq(p.to_wire()["boot"], k.journal.boot)


def case_clock_set_later_stamps_utc_and_telemetry_carries_the_triple():
    k, src, rec = make(t=0, link=True)
    tap(k, A)
    src.t = T0
    k._next_clock_check = 0
    tap(k, B, 10000)
    ps = k.journal.unacked(10)
    eq([p.estimated for p in ps], [True, False])
    t = k.telemetry()
    eq(t["boot"], k.journal.boot)
    assert t["ts"] is not None and t["uptime_ms"] is not None


def case_clock_jump_backward_and_forward_are_counted():
    src = Src(T0)
    c = Clock(src)
    eq(c.observe(), 0)
    src.t = T0 - 3600
    assert c.observe() < -3000000
    src.t = T0 + 7200
    assert c.observe() > 3000000
    eq(c.jumps, 2)


def case_small_drift_is_not_a_jump():
    src = Src(T0)
    c = Clock(src)
    c.observe()
    src.t = T0 + 1
    eq(c.observe() != 0, False)
    eq(c.jumps, 0)


def case_set_time_reports_skew_and_is_not_a_jump():
    src = Src(T0)

    def setter(ms):
        src.t = ms // 1000

    c = Clock(src, setter)
    c.observe()
    skew = c.set_time((T0 + 5) * 1000)
    eq(skew, 5000)
    eq(c.observe(), 0)
    eq(c.jumps, 0)


def case_display_time_uses_pushed_offset_and_next_change():
    src = Src(T0 + 23 * 3600 + 30 * 60)  # 23:30 UTC
    c = Clock(src)
    c.set_zone(60)
    eq(c.local_hm(), (0, 30))
    c.set_zone(60, (T0 + 23 * 3600, 120))  # change already passed
    eq(c.local_hm(), (1, 30))


def case_journal_full_refuses_with_memory_full_and_keeps_every_punch():
    k, src, rec = make(max_records=3)
    for i in range(3):
        tap(k, bytes((4, 1, 2, i)), i * 1000)
    tap(k, bytes((4, 1, 2, 9)), 9000)
    eq(rec.events[-1][0], fb.FULL)
    eq(k.refused, 1)
    eq(k.journal.pending(), 3)
    eq([p.uid for p in k.journal.unacked(10)], ["04010200", "04010201", "04010202"])
    k.journal.ack(2)
    tap(k, bytes((4, 1, 2, 9)), 10000)  # the same badge again: recorded now
    eq(rec.events[-1][0], fb.ACCEPTED)
    eq(k.journal.pending(), 2)


def case_first_tap_after_boot_and_every_later_one_only_append_to_a_prepared_segment():
    """Segment creation (state write, file creation, header sync) happens at boot and
    in idle polls, never on a tap's path: counted by the journal, no wall clock."""
    k = make()[0]  # 8 records per segment
    eq(len(k.journal._segments), 1)  # the boot prepared the first segment
    from firmware.core.ticks import ticks_add, ticks_ms

    base = ticks_ms()  # the loop's time base (the housekeeping schedule starts from it)
    for i in range(20):  # 2.5 segments, a tap every 4 s with idle polls in between
        tap(k, bytes((4, 7, 0, i)), ticks_add(base, i * 4000))
        k.step(ticks_add(base, i * 4000 + 2000))  # an idle poll past the once-a-second housekeeping
    eq(k.taps, 20)
    eq(k.journal.rolls_on_tap, 0)  # segments created on the tap path


def case_taps_append_to_the_journal_tail_and_idle_polls_merge_it_never_a_tap():
    """With a tail (the Pico's TailJournal), a tap's record goes to the small
    inline file; the loop merges it into the segment once it is half full, as
    soon as the beep is over (the card may still be on the reader: its tap is
    answered), so no tap pays the merge's erases."""
    from firmware.core.journal import SEG_HEADER
    from firmware.core.ticks import ticks_add, ticks_ms

    class Playing(Rec):
        beep = False

        def playing(self):
            return self.beep

    k = make(tail=SEG_HEADER + 4 * 16)[0]  # 4 records; merged from 3, 8 per segment
    k.feedback = Playing()
    k._playing = k.feedback.playing
    j = k.journal
    base = ticks_ms()
    for i in range(20):  # 2.5 segments, a tap every 1.5 s
        t = ticks_add(base, i * 1500)
        k.reader.uid = bytes((4, 8, 0, i))
        k.feedback.beep = True
        k.step(t)  # the tap: journaled, the beep starts
        held = j._tail_n
        k.step(ticks_add(t, 50))
        eq((held > 0, j._tail_n), (True, held))  # in the tail, not merged while the beep plays
        k.feedback.beep = False
        k.step(ticks_add(t, 100))  # the card still on the reader
        eq(j.merge_due(), False)
        k.reader.uid = None
        for ms in range(150, 1500, 250):
            k.step(ticks_add(t, ms))
    eq(k.taps, 20)
    eq((j.merges_on_tap, j.rolls_on_tap), (0, 0))
    eq([p.seq for p in j.unacked(100)], list(range(1, 21)))
    eq(len(j._segments), 3)


def case_eighty_percent_raises_the_alert():
    k, src, rec = make(max_records=10)
    for i in range(7):
        tap(k, bytes((4, 1, 2, i)), i * 1000)
    eq(k.telemetry()["alert_fill"], False)
    tap(k, bytes((4, 1, 2, 7)), 8000)
    eq(k.telemetry()["alert_fill"], True)
    eq(k.journal.almost_full(), True)


def config_msg(version, **fields):
    d = {"config_version": version}
    d.update(fields)
    return P.encode_message("K1", d)


def case_config_applies_cooldown_zone_and_badge_names():
    k, src, rec = make(with_config=True, link=True)
    err = k.on_config(
        config_msg(
            3,
            cooldown_ms=1000,
            tz={"offset_min": 60, "next": None},
            badges={"04A1B2C3": "Zoë", "04112233445566": "Marc-André"},
        )
    )
    eq(err, None)
    eq(k.presence.cooldown_ms, 1000)
    eq(k.clock.utc_offset_min, 60)
    eq(k.config.version(), 3)
    tap(k, A)
    eq(rec.events[-1], (fb.ACCEPTED, "Zoë"))
    eq(results(k)[-1]["ok"], True)


def case_unknown_badge_is_recorded_with_unknown_feedback():
    k, src, rec = make(with_config=True)
    k.on_config(config_msg(1, badges={"04A1B2C3": "Anna"}))
    tap(k, b"\x04\x99\x98\x97")
    eq(rec.events[-1][0], fb.UNKNOWN)
    eq(k.journal.pending(), 1)


def case_rejected_config_is_reported_and_old_one_kept():
    k, src, rec = make(with_config=True, link=True)
    k.on_config(config_msg(2, cooldown_ms=2000, badges={"04A1B2C3": "Anna"}))
    err = k.on_config(config_msg(3, cooldown_ms=999999))
    assert "cooldown_ms" in err, err
    err = k.on_config(config_msg(4, badges={"04a1": "x"}))
    assert "uid" in err, err
    eq(k.config.version(), 2)
    eq(k.presence.cooldown_ms, 2000)
    eq(k.badges.name(A), "Anna")
    rs = results(k)
    eq([r["ok"] for r in rs], [True, False, False])
    eq(rs[1]["config_version"], 3)


def case_retained_config_seen_again_is_ignored_quietly():
    k, src, rec = make(with_config=True, link=True)
    k.on_config(config_msg(5))
    eq(k.on_config(config_msg(5)), None)
    eq(len(results(k)), 1)


def case_config_survives_a_reboot():
    k, src, rec = make(with_config=True)
    k.on_config(config_msg(7, cooldown_ms=1500, badges={"04A1B2C3": "Anna"}))
    root = k.config.root
    k2 = Kiosk(
        "K1",
        k.journal,
        Reader(),
        Rec(),
        k.clock,
        config=ConfigStore(root),
        badges=BadgeList(root + "/badges.bin"),
    )
    eq(k2.config.version(), 7)
    eq(k2.presence.cooldown_ms, 1500)
    eq(k2.badges.name(A), "Anna")


def case_badge_list_binary_search_over_many_badges():
    root = scratch("badges")
    bl = BadgeList(root + "/badges.bin")
    d = {}
    for i in range(300):
        d["04%06X" % (i * 7919)] = "N%d" % i
    d["04112233445566"] = "Seven"
    eq(bl.store(d), None)
    eq(bl.count, 301)
    eq(bl.name(bytes((4, 0, 0, 0))), "N0")
    eq(
        bl.name(bytes((4,)) + bytes(((299 * 7919) >> 16, ((299 * 7919) >> 8) & 255, (299 * 7919) & 255))),
        "N299",
    )
    eq(bl.name(B), "Seven")
    eq(bl.name(b"\x04\x00\x00\x01"), None)


def cmd(k, body):
    k._on_message("noxus/v1/K1/cmd", P.encode_message("K1", body))
    return results(k)[-1] if results(k) else None


def case_enroll_command_makes_the_next_tap_an_enrollment():
    k, src, rec = make(link=True)
    cmd(k, {"id": "c1", "cmd": "enroll"})
    tap(k, A)
    p = k.journal.unacked(10)[0]
    eq(p.kind, P.KIND_ENROLL)
    r = results(k)[-1]
    eq((r["id"], r["ok"], r["result"]["uid"]), ("c1", True, "04A1B2C3"))
    tap(k, B, 5000)
    eq(k.journal.unacked(10)[1].kind, P.KIND_PUNCH)


def case_enroll_times_out_with_a_failed_result():
    k, src, rec = make(link=True)
    cmd(k, {"id": "c2", "cmd": "enroll"})
    k.step(61000 + k._enroll_until)
    r = results(k)[-1]
    eq((r["id"], r["ok"]), ("c2", False))


def case_set_time_and_journal_status_commands():
    k, src, rec = make(link=True)
    r = cmd(k, {"id": "t", "cmd": "set_time", "args": {"utc_ms": (T0 + 2) * 1000}})
    eq((r["ok"], r["result"]["skew_ms"]), (True, 2000))
    tap(k, A)
    r = cmd(k, {"id": "s", "cmd": "journal_status"})
    eq((r["result"]["pending"], r["result"]["last_seq"]), (1, 1))
    r = cmd(k, {"id": "x", "cmd": "format_disk"})
    assert not r["ok"] and "unknown command" in r["error"], r


def case_factory_reset_needs_the_code_and_keeps_the_seq_floor():
    k, src, rec = make(link=True)
    tap(k, A)
    r = cmd(k, {"id": "f1", "cmd": "factory_reset"})
    eq(r["ok"], False)
    code = r["code"]
    r = cmd(k, {"id": "f2", "cmd": "factory_reset", "args": {"code": "WRONG"}})
    eq(r["ok"], False)
    eq(k.journal.pending(), 1)
    code = r["code"]  # a wrong code issues a fresh one
    r = cmd(k, {"id": "f3", "cmd": "factory_reset", "args": {"code": code}})
    assert not r["ok"] and "not acked" in r["error"], r
    r = cmd(k, {"id": "f4", "cmd": "factory_reset"})
    r = cmd(k, {"id": "f5", "cmd": "factory_reset", "args": {"code": r["code"], "discard_unacked": True}})
    eq((r["ok"], r["result"]["discarded"]), (True, 1))
    eq(k.journal.pending(), 0)
    assert k.reboot_at is not None
    tap(k, B, 10000)
    eq(k.journal.unacked(10)[0].seq, 2)  # seq 1 is never reused


def case_pin_feedback_plays_pattern_and_switches_off():
    class Pin:
        def __init__(self):
            self.v = 0
            self.changes = 0

        def value(self, v=None):
            if v is None:
                return self.v
            if v != self.v:
                self.changes += 1
            self.v = v

    g, r, bz = Pin(), Pin(), Pin()
    f = PinFeedback(g, r, bz)
    f.show(fb.FULL)
    eq((g.v, r.v, bz.v), (0, 1, 1))
    from firmware.core.ticks import ticks_add, ticks_ms

    t0 = ticks_ms()
    for i in range(200):
        f.tick(ticks_add(t0, i * 25))
    eq((g.v, r.v, bz.v), (0, 0, 0))
    eq(bz.changes, 6)  # on, off, on, off, on, off: three beeps
    f.show(fb.ACCEPTED)
    eq((g.v, r.v, bz.v), (1, 0, 1))


def case_display_shows_name_then_idle_clock_and_memory_warning():
    src = Src(T0 + 8 * 3600 + 5 * 60)
    c = Clock(src)
    c.set_zone(60)
    f = Lines()
    s = Screen(f, c)
    s.event(fb.ACCEPTED, "Zoë", 10)
    eq(f.lines, ["Bonjour", "Zoe"])
    from firmware.core.ticks import ticks_add, ticks_ms

    s.status(False, 12, True)
    s.tick(ticks_add(ticks_ms(), 1000))
    eq(f.lines[0], "09:05")
    eq(f.lines[1], "hors ligne 12")
    eq(f.lines[2], "Memoire presque")
    eq(ascii_fold("Zoë Müller-Ça"), "Zoe Muller-Ca")


GERMAN = dict(german_texts.GERMAN)
GERMAN["a later key"] = ["kept, unused"]  # a key a later backend sends: kept, not shown


class Lines:
    """A framebuf that keeps the lines drawn last."""

    def __init__(self):
        self.lines = []

    def fill(self, c):
        self.lines = []

    def text(self, s, x, y, c=1):
        self.lines.append(s)

    def show(self):
        pass


def _screen_kiosk():
    class Pin:
        def value(self, v=None):
            return 0

    root = scratch("texts")
    clock = Clock(Src(T0))
    j = Journal(root + "/journal", seg_records=8, max_records=10).open()
    screen = Screen(Lines(), clock)
    cfg = ConfigStore(root + "/cfg")
    badges = BadgeList(root + "/cfg/badges.bin")
    fbk = PinFeedback(Pin(), Pin(), Pin(), screen)
    k = Kiosk("K1", j, Reader(), fbk, clock, config=cfg, badges=badges)
    k.attach(Link())
    return k, screen, root, clock, fbk


def case_configured_texts_are_shown_and_survive_a_reboot():
    from firmware.core.ticks import ticks_add, ticks_ms

    k, screen, root, clock, fbk = _screen_kiosk()
    eq(k.on_config(config_msg(7, texts=GERMAN, badges={"04A1B2C3": "Zoë"})), None)
    tap(k, A)
    eq(screen.fb.lines, ["Guten Tag", "Zoe"])
    tap(k, A, 300)  # the same badge within the cooldown
    eq(screen.fb.lines, ["Bereits", "erfasst"])
    tap(k, b"\x04\x99\x98\x97", 10000)
    eq(screen.fb.lines, ["Badge unbekannt", "siehe HR"])
    cmd(k, {"id": "c9", "cmd": "enroll"})
    eq(screen.fb.lines, ["Badge", "bitte badgen"])
    k.step(ticks_add(ticks_ms(), 61000))  # enrollment timed out, messages expired
    screen.status(False, 3, True)
    screen.tick(ticks_add(ticks_ms(), 62000))
    eq(screen.fb.lines, ["00:00", "offline 3", "Speicher fast", "voll"])
    # a text the config leaves out keeps its French default
    screen.event(fb.FULL, "", 10)
    eq(screen.fb.lines, ["Memoire pleine", "NON enregistre"])
    # after a reboot the stored config brings the texts back before any message
    j = Journal(root + "/journal2", seg_records=8, max_records=10).open()
    screen2 = Screen(Lines(), clock)
    Kiosk(
        "K1",
        j,
        Reader(),
        PinFeedback(fbk.green, fbk.red, fbk.buzzer, screen2),
        clock,
        config=ConfigStore(root + "/cfg"),
    )
    screen2.event(fb.ACCEPTED, "", 10)
    eq(screen2.fb.lines, ["Guten Tag", ""])


def case_a_config_without_texts_brings_back_the_french_defaults():
    from firmware.core.ticks import ticks_add, ticks_ms

    k, screen, root, clock, fbk = _screen_kiosk()
    k.on_config(config_msg(1, texts=GERMAN))
    eq(k.on_config(config_msg(2)), None)
    screen.event(fb.ACCEPTED, "Anna", 10)
    eq(screen.fb.lines, ["Bonjour", "Anna"])
    screen.status(False, 0, False)
    screen.tick(ticks_add(ticks_ms(), 1000))
    eq(screen.fb.lines, ["00:00", "hors ligne"])


def case_texts_that_do_not_fit_the_display_reject_the_config():
    k, screen, root, clock, fbk = _screen_kiosk()
    k.on_config(config_msg(1, texts={"accepted": ["Guten Tag", ""]}))
    for bad, why in (
        ({"accepted": ["Guten Tag, willkommen"]}, "at most 16"),
        ({"accepted": ["Grüezi"]}, "ASCII"),
        ({"accepted": "Hallo"}, "one or two lines"),
        ({"accepted": ["a", "b", "c"]}, "one or two lines"),
        (["Hallo"], "object"),
    ):
        err = k.on_config(config_msg(2, texts=bad))
        assert err is not None and why in err, (bad, err)
    eq(k.config.version(), 1)
    screen.event(fb.ACCEPTED, "", 10)
    eq(screen.fb.lines, ["Guten Tag", ""])


def case_configured_texts_cost_under_two_kilobytes_of_heap_on_micropython():
    # The display keeps one small dict over the config's own strings. CPython
    # has no gc.mem_alloc.
    import gc

    if not hasattr(gc, "mem_alloc"):
        return
    import json

    texts = json.loads(json.dumps(GERMAN))  # as the config decoder hands them over
    screen = Screen(Lines(), None)
    gc.collect()
    before = gc.mem_alloc()
    screen.set_texts(texts)
    used = gc.mem_alloc() - before
    print("texts dict heap bytes", used)
    assert used < 2048, used


def case_no_card_polls_allocate_nothing_on_micropython():
    # The whole loop step without a card: driver over SPI (to the fake chip),
    # presence, feedback tick, housekeeping with its once-a-second clock check.
    # CPython has no gc.mem_alloc.
    import gc

    if not hasattr(gc, "mem_alloc"):
        return
    from fake_mfrc522 import FakeMFRC522, FakePin

    from firmware.core.mfrc522 import MFRC522
    from firmware.core.ticks import ticks_add

    chip = FakeMFRC522()
    drv = MFRC522(chip.spi, chip.cs, FakePin())
    drv.init()
    j = Journal(scratch("alloc"), max_records=100).open()
    k = Kiosk("K1", j, drv, Rec(), Clock(Src(T0)))
    # Loop time starts at the kiosk's first clock check (taken from the real
    # ticks at construction), so the check runs every 20 polls inside the
    # measured window whatever the machine's uptime or load.
    now = k._next_clock_check
    for _ in range(50):  # warm up: first calls intern names, create bound objects
        k.step(now)
        now = ticks_add(now, 50)
    next_check = k._next_clock_check
    gc.collect()
    gc.disable()
    try:
        before = gc.mem_alloc()
        for _ in range(10000):
            k.step(now)
            now = ticks_add(now, 50)
        used = gc.mem_alloc() - before
    finally:
        gc.enable()
    assert k._next_clock_check != next_check, "the clock check did not run in the measured window"
    eq(used, 0)


def case_idle_screen_shows_offline_backlog_and_memory_warning_from_the_loop():
    class Pin:
        def value(self, v=None):
            return 0

    src = Src(T0)
    clock = Clock(src)
    j = Journal(scratch("idle"), seg_records=8, max_records=10).open()
    f = Lines()
    screen = Screen(f, clock)
    k = Kiosk("K1", j, Reader(), PinFeedback(Pin(), Pin(), Pin(), screen), clock)
    for i in range(8):
        tap(k, bytes((4, 7, 7, i)), i * 1000)
    from firmware.core.ticks import ticks_add, ticks_ms

    later = ticks_add(ticks_ms(), 60000)  # the messages' hold runs on the real ticks
    k.step(later)  # messages expired, the once-a-second status check ran
    k.step(ticks_add(later, 1100))
    eq(f.lines[1], "hors ligne 8")
    eq(f.lines[2], "Memoire presque")


def case_journal_drain_with_partial_acks_returns_every_punch_in_order():
    # unacked() resumes from a remembered offset; acks that stop inside a
    # batch, cross segments, or repeat must still give exactly the right punches.
    j = Journal(scratch("drain"), seg_records=50, max_records=1000).open()
    for i in range(230):
        j.append(bytes((4, 9, i >> 8, i & 255)), T0 * 1000 + i)
    step = 0
    seen = []
    while j.pending():
        batch = j.unacked(7)
        eq([p.seq for p in batch], list(range(j.acked + 1, j.acked + 1 + len(batch))))
        upto = batch[-1].seq if step % 3 else batch[len(batch) // 2].seq  # sometimes half a batch
        for p in batch:
            if p.seq <= upto and (not seen or p.seq > seen[-1]):
                seen.append(p.seq)
        j.ack(upto)
        if step % 5 == 0:
            j.ack(upto)  # a duplicate ack
        step += 1
    eq(seen, list(range(1, 231)))
    j.close()
    j = Journal(j.root, seg_records=50, max_records=1000).open()  # reboot: hint dropped
    eq(j.unacked(5), [])


class Backend:
    """The ingest side in-process: stores each (seq) of the kiosk's published
    batches once, counts the ones sent again, acks the highest contiguous seq."""

    def __init__(self):
        self.stored = {}
        self.duplicates = 0
        self.upto = 0

    def deliver(self, k):
        sent, k.link.sent = k.link.sent, []
        for leaf, payload in sent:
            if leaf != P.PUNCH:
                continue
            batch, err = P.decode_punch_batch(payload, "K1")
            assert err is None, err
            for p in batch.punches:
                if p.seq in self.stored:
                    self.duplicates += 1
                else:
                    self.stored[p.seq] = p.uid
            while self.upto + 1 in self.stored:
                self.upto += 1
            k._on_message(P.topic("K1", P.ACK), P.encode_ack("K1", self.upto, batch.epoch))


def _saved(k):
    import json

    from firmware.core import fsutil

    return json.loads(fsutil.read(k.journal.root + "/state.json"))["acked"]


def case_acked_cursor_reaches_flash_between_taps_at_most_once_per_interval():
    from firmware.core.kiosk import CURSOR_PERSIST_MS
    from firmware.core.ticks import ticks_add

    class Playing(Rec):
        beep = False

        def playing(self):
            return self.beep

    k, src, rec = make(link=True)
    k.feedback = Playing()
    k._playing = k.feedback.playing
    be = Backend()
    t = k._next_persist  # loop time from the kiosk's own start
    k.reader.uid = A
    k.step(t)  # the tap: journaled, then published
    be.deliver(k)  # its ack comes back while the card is still on the reader
    k.step(ticks_add(t, 50))
    eq((k.journal.acked, k.journal.saved_acked, _saved(k)), (1, 0, 0))
    k.reader.uid = None
    k.feedback.beep = True
    for i in range(2, 8):  # card gone, but the beep still plays: no flash write
        k.step(ticks_add(t, i * 50))
    eq(k.journal.saved_acked, 0)
    k.feedback.beep = False
    k.step(ticks_add(t, 400))
    eq((k.journal.saved_acked, _saved(k)), (1, 1))
    # a second tap acked 1 s later: its cursor waits for the interval to end
    tap(k, B, ticks_add(t, 1400))
    be.deliver(k)
    for ms in range(1700, 400 + CURSOR_PERSIST_MS, 250):
        k.step(ticks_add(t, ms))
    eq((k.journal.acked, k.journal.saved_acked), (2, 1))
    k.step(ticks_add(t, 400 + CURSOR_PERSIST_MS))
    eq((k.journal.saved_acked, _saved(k)), (2, 2))


def case_power_cut_between_ack_and_cursor_write_resends_and_the_backend_stores_once():
    from firmware.core.ticks import ticks_add

    k, src, rec = make(link=True)  # 8-record segments
    root = k.journal.root
    be = Backend()
    t = k._next_persist
    for i in range(20):  # 20 taps, each published and acked while the card is on
        k.reader.uid = bytes((4, 5, 6, i))
        k.step(ticks_add(t, i * 300))
        be.deliver(k)
        k.reader.uid = None
        for s in range(1, 6):
            k.step(ticks_add(t, i * 300 + s * 50))
    j = k.journal
    eq((j.acked, j.last_seq, be.duplicates), (20, 20, 0))
    saved = _saved(k)
    assert 0 < saved < 20, saved  # the first cursor reached flash, the later ones wait
    k.reader.uid = bytes((4, 5, 6, 99))  # a 21st tap, never published: the power goes now
    k.record(k.reader.uid)
    # power back on: same files, new program
    j2 = Journal(root, seg_records=8, max_records=60000).open()
    eq((j2.acked, j2.last_seq), (saved, 21))
    k2 = Kiosk("K1", j2, Reader(), Rec(), k.clock)
    k2.attach(Link())
    t2 = k2._next_persist
    for i in range(40):
        k2.step(ticks_add(t2, i * 50))
        be.deliver(k2)
    eq(sorted(be.stored), list(range(1, 22)))  # stored once each, the unacked 21st included
    eq(be.duplicates, 20 - saved)  # what the cursor on flash did not cover was sent again
    eq((j2.acked, j2.saved_acked, _saved(k2)), (21, 21, 21))


def _punches_sent(k):
    out = [payload for leaf, payload in k.link.sent if leaf == P.PUNCH]
    k.link.sent = []
    return out


def case_the_ingest_notice_sends_the_batches_in_flight_again_at_once():
    # After a broker restart Mosquitto drops a batch published before a `$share`
    # worker has subscribed again; the worker's notice brings it back now, not
    # after the 5 s ack timeout (docs/protocol.md, "Ingest notice").
    k, src, rec = make(link=True)
    tap(k, A)
    eq(len(_punches_sent(k)), 1)
    k.step(1000)  # the ack timeout is far: nothing is sent again
    eq(_punches_sent(k), [])
    k._on_message(P.INGEST_UP, P.encode_ingest_up())
    k.step(1050)
    again = _punches_sent(k)
    eq(len(again), 1)
    batch, err = P.decode_punch_batch(again[0], "K1")
    eq([p.seq for p in batch.punches], [1])
    eq(k.sender.resent, 0)  # a notice is not an ack timeout: no backoff
    # Nothing in flight: the notice sends nothing.
    k._on_message(P.topic("K1", P.ACK), P.encode_ack("K1", 1, batch.epoch))
    k._on_message(P.INGEST_UP, P.encode_ingest_up())
    k.step(1100)
    eq(_punches_sent(k), [])
