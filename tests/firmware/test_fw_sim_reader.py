"""The simulated reader of the demo kiosks (firmware/core/sim_reader.py) on the
MicroPython Unix port: the same taps as before, and constant memory whatever the
gap between taps, so a demo kiosk with taps minutes apart runs in a Pico's heap."""

from mphelp import run_micropython

from firmware.core.sim_reader import SimReader

A, B = b"\x04\xa1\xb2\xc3", b"\x04\x11\x22\x33"


def test_each_tap_holds_the_card_with_flicker_then_leaves_a_gap():
    r = SimReader(iter([A, B]), hold_polls=4, gap_polls=2)
    polls = [r.read_uid() for _ in range(13)]
    assert polls == [A, None, A, None, None, None, B, None, B, None, None, None, None]
    assert r.exhausted


def test_without_flicker_the_card_answers_every_hold_poll():
    r = SimReader(iter([A]), hold_polls=3, gap_polls=1, flicker=False)
    assert [r.read_uid() for _ in range(5)] == [A, A, A, None, None]


def test_a_gap_of_200000_polls_allocates_nothing_and_fits_a_128k_heap_on_micropython():
    # 200 000 polls at 50 ms: taps almost 3 hours apart. A list per gap would need
    # 1.6 MB; the reader must not allocate at all between two taps.
    code = (
        "import gc\n"
        "from firmware.core.sim_reader import SimReader\n"
        "r = SimReader(iter([b'\\x04\\xa1\\xb2\\xc3', b'\\x04\\x11\\x22\\x33']), hold_polls=2, gap_polls=200000)\n"
        "first = r.read_uid()\n"
        "n = 0\n"
        "gc.collect()\n"
        "gc.disable()\n"
        "before = gc.mem_alloc()\n"
        "while n < 200001:  # no range iterator: measure the reader alone\n"
        "    r.read_uid()\n"
        "    n += 1\n"
        "used = gc.mem_alloc() - before\n"
        "gc.enable()\n"
        "second = r.read_uid()\n"
        "print('RESULT', first == b'\\x04\\xa1\\xb2\\xc3', used, second == b'\\x04\\x11\\x22\\x33')\n"
    )
    proc = run_micropython(["-c", code], heap="128K", timeout=600)
    line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT")]
    assert line, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert line[0] == "RESULT True 0 True", line[0]
