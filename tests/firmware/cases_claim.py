# The kiosk's claim state machine (firmware/core/claim.py) against a scripted
# API: backoff, Retry-After, new codes, atomic storing, the HTTP reader.
# Portable: pytest calls these on CPython, mprun.py on the MicroPython Unix port.

import io
import json
import os

from firmware.core import claim as C
from firmware.core import fsutil

UID = "E6614103E7452D2F"
ENROLLED = {
    "kiosk_id": "nx-e6614103e7452d2f",
    "name": "",
    "board_uid": UID,
    "customer_id": 3,
    "site_id": 12,
    "site_timezone": "Europe/Zurich",
    "enrolled_at": "2026-11-30T18:00:00",
    "mqtt": {
        "host": "mqtt.noxus.example.ch",
        "port": 8883,
        "tls": True,
        "username": "nx-e6614103e7452d2f",
        "password": "s3cret",
        "ca_pem": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
        "server_hostname": None,
    },
}
_n = [0]


def eq(a, b):
    if a != b:
        raise AssertionError("%r != %r" % (a, b))


def scratch():
    _n[0] += 1
    base = os.getenv("FW_SCRATCH") or "/tmp"
    d = "%s/claim-%d-%d" % (base, os.getpid() if hasattr(os, "getpid") else 0, _n[0])
    fsutil.makedirs(d)
    for f in ("claim.json", "kiosk.json", "ca.pem", "claim.json.tmp", "kiosk.json.tmp"):
        fsutil.remove(d + "/" + f)
    return d


class Api:
    """Answers (status, retry_after, doc) in turn; records the calls."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.calls = []

    def __call__(self, host, port, path, body, ctx):
        self.calls.append((path, dict(body)))
        a = self.answers.pop(0)
        if isinstance(a, Exception):
            raise a
        return a


def make(post, code="K7QPM-3XH2W", **more):
    d = scratch()
    cfg = {
        "v": 1,
        "api": "http://127.0.0.1:8000",
        "tls": False,
        "board_uid": UID,
        "wifi": {"ssid": "Atelier", "password": "pw", "country": "CH"},
        "config": {"pinmap": "hardware/pinmap.json"},
    }
    if code:
        cfg["code"] = code
    cfg.update(more)
    with open(d + "/claim.json", "w") as f:
        f.write(json.dumps(cfg))
    lines = []
    shown = []
    c = C.Claimer(
        d + "/claim.json", d + "/kiosk.json", out=lines.append, show=shown.append, rand=lambda: 0.5, post=post
    )
    return c, d, lines, shown


def case_shows_the_prepared_code_announces_then_polls():
    api = Api((202, None, {"status": "pending"}), (202, None, {"status": "pending"}))
    c, d, lines, shown = make(api)
    eq(shown, ["K7QPM-3XH2W"])
    assert "claim code: K7QPM-3XH2W (board " + UID + ")" in lines[0], lines
    eq(c.step(0), C.POLL)
    eq(
        api.calls[0],
        ("/api/v1/enrollment/claims", {"board_uid": UID, "code": "K7QPM-3XH2W", "model": "pico-w"}),
    )
    assert not c.due(1000)  # not at once: the first poll waits the jittered base delay
    eq(c.step(c.next_ms), C.POLL)
    eq(api.calls[1], ("/api/v1/enrollment/claims/redeem", {"board_uid": UID, "code": "K7QPM-3XH2W"}))


def case_pending_polls_back_off_with_jitter_up_to_the_cap():
    api = Api(*([(202, None, None)] * 12))
    c, d, lines, shown = make(api)
    t = 0
    gaps = []
    for _ in range(12):
        c.step(t)
        gaps.append(c.next_ms - t)
        t = c.next_ms
    # rand 0.5: half way between the floor and 5, 10, 20, 30 (cap) seconds
    eq(gaps[:5], [3500, 6000, 11000, 16000, 16000])
    assert max(gaps) <= C.POLL_MAX_MS and min(gaps) >= C.POLL_FLOOR_MS


def case_a_429_waits_the_servers_retry_after():
    api = Api((429, 45, {"detail": "too many claim requests"}), (202, None, None))
    c, d, lines, shown = make(api)
    c.step(0)
    eq(c.state, C.ANNOUNCE)
    eq(c.next_ms, 45000)
    assert "claim: rate limited, next try in 45 s" in lines, lines
    api2 = Api((429, 99999, None))
    c2 = make(api2)[0]
    c2.step(0)
    eq(c2.next_ms, C.RETRY_AFTER_MAX_S * 1000)  # an absurd Retry-After is capped


def case_a_cancelled_or_expired_code_is_replaced_by_a_new_one_kept_in_claim_json():
    for status in (404, 410):
        api = Api(
            (202, None, None),
            (status, None, {"detail": "no kiosk waits with this claim code"}),
            (202, None, None),
        )
        c, d, lines, shown = make(api)
        c.step(0)
        c.step(c.next_ms)
        eq(c.state, C.ANNOUNCE)
        assert c.code != "K7QPM-3XH2W" and len(c.code) == 11 and c.code[5] == "-"
        eq(shown, ["K7QPM-3XH2W", c.code])  # the display follows
        eq(json.loads(fsutil.read(d + "/claim.json"))["code"], c.code)  # a reboot shows the same code
        c.step(c.next_ms)
        eq(api.calls[-1][1]["code"], c.code)
        eq(c.state, C.POLL)


def case_409_code_in_use_draws_a_new_code_another_pending_code_does_not():
    api = Api((409, None, {"detail": "this claim code is already in use: the kiosk must draw a new one"}))
    c, d, lines, shown = make(api)
    c.step(0)
    assert c.code != "K7QPM-3XH2W"
    api = Api((409, None, {"detail": "board X already waits with another claim code"}))
    c, d, lines, shown = make(api)
    c.step(0)
    eq(c.code, "K7QPM-3XH2W")
    eq(c.state, C.ANNOUNCE)
    assert lines[-1].startswith("claim: announce refused (409): board X already waits"), lines


def case_no_code_in_claim_json_draws_one_from_the_alphabet():
    api = Api()
    c, d, lines, shown = make(api, code=None)
    for ch in c.code.replace("-", ""):
        assert ch in C.ALPHABET, c.code
    eq(json.loads(fsutil.read(d + "/claim.json"))["code"], c.code)


def case_network_failures_back_off_and_are_printed_once():
    api = Api(OSError("ECONNREFUSED"), OSError("ECONNREFUSED"), (202, None, None))
    c, d, lines, shown = make(api)
    c.step(0)
    t = c.next_ms
    c.step(t)
    assert c.next_ms - t > t, (t, c.next_ms)  # the delay grows
    eq(len([ln for ln in lines if "refused" in ln]), 1)
    c.step(c.next_ms)
    eq(c.state, C.POLL)


def case_approval_stores_ca_and_kiosk_json_and_removes_claim_json():
    api = Api((202, None, None), (200, None, ENROLLED))
    c, d, lines, shown = make(api)
    c.step(0)
    eq(c.step(c.next_ms), C.DONE)
    cfg = json.loads(fsutil.read(d + "/kiosk.json"))
    eq(cfg["kiosk_id"], "nx-e6614103e7452d2f")
    eq(
        cfg["broker"],
        {
            "host": "mqtt.noxus.example.ch",
            "port": 8883,
            "tls": True,
            "ca_file": d + "/ca.pem",
            "username": "nx-e6614103e7452d2f",
            "password": "s3cret",
        },
    )
    eq(cfg["wifi"]["ssid"], "Atelier")
    eq(cfg["pinmap"], "hardware/pinmap.json")
    eq(cfg["site"], {"id": 12, "customer_id": 3, "timezone": "Europe/Zurich"})
    eq(fsutil.read(d + "/ca.pem").decode(), ENROLLED["mqtt"]["ca_pem"])
    assert not fsutil.exists(d + "/claim.json")
    assert not fsutil.exists(d + "/kiosk.json.tmp")


def case_a_cluster_enrollment_puts_every_node_into_kiosk_json():
    nodes = [{"host": "mq1.noxus.example.ch", "port": 8883}, {"host": "mq2.noxus.example.ch", "port": 8884}]
    enrolled = json.loads(json.dumps(ENROLLED))
    enrolled["mqtt"]["nodes"] = nodes
    c, d, lines, shown = make(Api((202, None, None), (200, None, enrolled)))
    c.step(0)
    eq(c.step(c.next_ms), C.DONE)
    broker = json.loads(fsutil.read(d + "/kiosk.json"))["broker"]
    eq(broker["nodes"], nodes)  # what mqtt_link.brokers_of dials in turn


def case_plain_http_or_no_pinned_ca_is_refused_with_what_to_do():
    for more, words in (
        ({"tls": True}, "plain http"),
        ({"tls": True, "api": "https://noxus.example.ch"}, "no ca_file"),
    ):
        try:
            make(Api(), **more)
        except C.ClaimError as e:
            assert words in str(e), str(e)
        else:
            raise AssertionError("accepted " + repr(more))


def case_http_reader_takes_length_chunked_and_until_close():
    eq(C._read_body(io.BytesIO(b'{"a": 1}xx'), 8, False), b'{"a": 1}')
    eq(C._read_body(io.BytesIO(b'4\r\n{"a"\r\n3\r\n: 1\r\n1\r\n}\r\n0\r\n\r\n'), None, True), b'{"a": 1}')
    eq(C._read_body(io.BytesIO(b"[1, 2]"), None, False), b"[1, 2]")
    try:
        C._read_body(io.BytesIO(b"x"), C.MAX_BODY + 1, False)
    except C.HttpError:
        pass
    else:
        raise AssertionError("an oversized answer was read")


def case_urls():
    eq(C.split_url("https://noxus.example.ch"), (True, "noxus.example.ch", 443, ""))
    eq(C.split_url("https://10.0.0.2:8443/noxus/"), (True, "10.0.0.2", 8443, "/noxus"))
    eq(C.split_url("http://127.0.0.1:8000"), (False, "127.0.0.1", 8000, ""))


class _Pin:
    def __init__(self):
        self.values = []

    def value(self, v=None):
        if v is not None:
            self.values.append(v)


class _Fb:
    def __init__(self):
        self.texts = []
        self.shown = 0

    def fill(self, c):
        self.texts = []

    def text(self, s, x, y, c=1):
        self.texts.append(s)

    def show(self):
        self.shown += 1


def case_the_code_goes_on_the_display_when_there_is_one():
    from firmware.core.ui.display import Screen
    from firmware.core.ui.pins import PinFeedback

    fb = _Fb()
    feedback = PinFeedback(_Pin(), _Pin(), _Pin(), Screen(fb))
    show, blink = C.show_on(feedback)
    assert blink is None
    show("K7QPM-3XH2W")
    eq(fb.texts[:2], ["Code:", "K7QPM-3XH2W"])  # the built-in text: no config yet
    eq(fb.texts[0], C.TEXT[0])
    eq(fb.shown, 1)


def case_without_a_display_the_green_led_flashes_twice_every_two_seconds():
    from firmware.core.ui.pins import PinFeedback

    green = _Pin()
    show, blink = C.show_on(PinFeedback(green, _Pin(), _Pin(), None))
    assert show is None
    green.values = []
    for t in range(0, 4000, 50):
        blink(t)
    eq(green.values, [1, 0, 1, 0, 1, 0, 1, 0])  # on 100, off 200, on 100, off 1600: twice per 2 s
