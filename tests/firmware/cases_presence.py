# Presence state machine: flicker, cooldown, "already recorded". Portable:
# pytest calls these on CPython, mprun.py on the MicroPython Unix port.

from fake_mfrc522 import FakeCard, FakeMFRC522, FakePin

from firmware.core import mfrc522 as M
from firmware.core.presence import NEW, REPEAT, Presence
from firmware.core.ticks import ticks_add

A = b"\x04\xa1\xb2\xc3"
B = b"\x04\x11\x22\x33\x44\x55\x66"
POLL = 50


def eq(a, b):
    if a != b:
        raise AssertionError("%r != %r" % (a, b))


def feed(p, polls, t0=0):
    """polls: UIDs or None, one per 50 ms -> list of non-None events."""
    out = []
    t = t0
    for uid in polls:
        ev = p.poll(uid, t)
        if ev is not None:
            out.append(ev)
        t = ticks_add(t, POLL)
    return out, t


def case_card_held_for_ten_seconds_is_one_punch():
    p = Presence()
    ev, _ = feed(p, [A] * 200)
    eq(ev, [NEW])


def case_flicker_every_other_poll_never_makes_a_second_punch():
    p = Presence()
    ev, _ = feed(p, [A, None] * 100)
    eq(ev, [NEW])


def case_flicker_with_two_misses_in_a_row_is_still_one_card():
    p = Presence()
    ev, _ = feed(p, [A, None, None] * 50)
    eq(ev, [NEW])


def case_same_card_back_within_cooldown_is_already_recorded():
    p = Presence(cooldown_ms=3000)
    ev, _ = feed(p, [A] * 4 + [None] * 10 + [A] * 4)  # back after 0.5 s
    eq(ev, [NEW, REPEAT])


def case_same_card_back_after_cooldown_is_a_new_punch():
    p = Presence(cooldown_ms=3000)
    ev, _ = feed(p, [A] * 4 + [None] * 61 + [A] * 4)  # gone 3.05 s
    eq(ev, [NEW, NEW])


def case_cooldown_counts_from_the_last_sighting_not_the_punch():
    # Held 5 s, slips off for 0.5 s, comes back: still the same presentation.
    p = Presence(cooldown_ms=3000)
    ev, _ = feed(p, [A] * 100 + [None] * 10 + [A] * 10)
    eq(ev, [NEW, REPEAT])


def case_repeat_is_reported_once_per_presentation():
    p = Presence()
    ev, _ = feed(p, [A] * 3 + [None] * 4 + [A, None] * 10)
    eq(ev, [NEW, REPEAT])


def case_cooldown_is_configurable():
    p = Presence(cooldown_ms=500)
    ev, _ = feed(p, [A] * 2 + [None] * 12 + [A] * 2)  # gone 0.6 s
    eq(ev, [NEW, NEW])


def case_another_card_is_new_at_once():
    p = Presence()
    ev, _ = feed(p, [A] * 3 + [None] * 3 + [B] * 3)
    eq(ev, [NEW, NEW])


def case_card_swapped_without_a_gap_is_new():
    p = Presence()
    ev, _ = feed(p, [A] * 3 + [B] * 3)
    eq(ev, [NEW, NEW])


def case_forget_after_a_refused_punch_lets_the_retry_count():
    p = Presence()
    ev, t = feed(p, [A] * 2 + [None] * 4)
    p.forget()
    ev2, _ = feed(p, [A] * 2, t)
    eq(ev + ev2, [NEW, NEW])


def case_ticks_wrap_does_not_turn_an_old_punch_into_a_repeat():
    # On a Pico ticks_ms wraps every 2**30 ms (12.4 days); start just before it.
    p = Presence()
    t0 = ticks_add(0, -1000)
    p.poll(A, t0)
    for i in range(1, 4):
        p.poll(None, ticks_add(t0, i * POLL))
    eq(p.poll(A, ticks_add(t0, 8 * 3600 * 1000)), NEW)  # eight hours later


def case_ticks_wrap_keeps_a_recent_repeat():
    p = Presence()
    t0 = ticks_add(0, -100)
    p.poll(A, t0)
    for i in range(1, 4):
        p.poll(None, ticks_add(t0, i * POLL))
    eq(p.poll(A, ticks_add(t0, 1000)), REPEAT)


def case_real_driver_in_flicker_mode_gives_one_punch_per_presentation():
    chip = FakeMFRC522()
    drv = M.MFRC522(chip.spi, chip.cs, FakePin(), wakeup=False, halt=False)
    drv.init()
    p = Presence()
    card = FakeCard(A)
    events = []
    t = 0
    for presentation in range(3):
        chip.enter(card)
        for _ in range(40):  # held 2 s, flickering
            ev = p.poll(drv.read_uid(), t)
            if ev:
                events.append(ev)
            t += POLL
        chip.leave(card)
        for _ in range(70 if presentation == 0 else 10):  # away 3.5 s, then 0.5 s
            ev = p.poll(drv.read_uid(), t)
            if ev:
                events.append(ev)
            t += POLL
    eq(events, [NEW, NEW, REPEAT])


def case_real_driver_in_wakeup_mode_gives_one_punch_for_a_held_card():
    chip = FakeMFRC522()
    drv = M.MFRC522(chip.spi, chip.cs, FakePin())
    drv.init()
    p = Presence()
    chip.enter(FakeCard(B, sak=0x00))
    events = []
    for i in range(100):
        ev = p.poll(drv.read_uid(), i * POLL)
        if ev:
            events.append(ev)
    eq(events, [NEW])
