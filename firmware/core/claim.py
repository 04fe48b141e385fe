# A kiosk without credentials claims them with a code (docs/provisioning.md,
# "Claim protocol"). claim.json beside kiosk.json (written by
# `noxus-provision claim prepare`):
#
#   {"v": 1, "api": "https://noxus.example.ch", "code": "K7QPM-3XH2W",
#    "ca_file": "api-ca.pem",            (or "ca_pem": "-----BEGIN...": the pinned CA of the API)
#    "server_hostname": "noxus.example.ch",  (optional: the name on the API's certificate)
#    "wifi": {...}, "config": {...}}     (copied into kiosk.json: Wi-Fi, pin map, port extras)
#
# Without "code" the kiosk draws one and writes it into claim.json first, so it
# shows the same code after a reboot. States:
#
#   ANNOUNCE --202--> POLL --200--> DONE (kiosk.json stored, claim.json removed)
#      ^  409 "in use"   | 202: poll again after a jittered, growing delay
#      |  (new code)     | 404 cancelled / 410 expired or delivered:
#      +-----------------+ draw a new code and announce it
#
# 429 waits the server's Retry-After; network, TLS and 5xx failures back off
# (jittered, exponential, capped). One blocking HTTPS request per step, over
# the MicroPython (mbedTLS) or CPython ssl with the CA pinned like the broker's
# (firmware/core/tls.py). Storing is atomic: ca.pem, then kiosk.json (the
# commit point: a power cut before its rename leaves the claim as it was), then
# claim.json goes.

import json

from firmware.core import fsutil
from firmware.core.reconnect import Reconnect
from firmware.core.ticks import ticks_add, ticks_diff

CLAIM_FILE = "claim.json"
CA_FILE = "ca.pem"  # the broker's CA, beside kiosk.json (as noxus-provision enroll writes it)
ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"  # no 0/O, 1/I/L, U: read off a small display
CODE_LEN = 10  # ~49 bits, bound to the board id, expiring: the server side's rules
PATH = "/api/v1/enrollment/claims"

POLL_FLOOR_MS = 2000  # never faster: the API allows 12 calls a minute per board
POLL_BASE_MS = 5000  # first polls within seconds: the installer waits beside the kiosk
POLL_MAX_MS = 30000  # a kiosk left waiting asks about twice a minute
RETRY_AFTER_MAX_S = 3600  # an absurd Retry-After does not park the kiosk for days
HTTP_TIMEOUT_S = 20  # one TLS handshake on a Pico W takes a few seconds
MAX_BODY = 8192  # the enrollment answer is < 3 KiB with the CA

# The display's line above the code: a display text like the others (key
# "claim code", docs/protocol.md "texts"), but a kiosk being claimed has no
# config yet, so it is always the built-in French one. Kept here, not in
# ui/pins.TEXTS: only the claim step imports this module (the Pico W resets
# after it), so the running kiosk's heap never holds it.
TEXT_KEY = "claim code"
TEXT = ("Code:",)

ANNOUNCE = "announce"
POLL = "poll"
DONE = "done"


class ClaimError(ValueError):
    """claim.json cannot give a verified claim; the message says what to fix."""


class HttpError(OSError):
    pass


# --- a minimal HTTP/1.1 client (JSON in, status + JSON out) ------------------------------------


def split_url(url):
    """-> (tls, host, port, path prefix). Plain http only where the caller allows it."""
    if url.startswith("https://"):
        rest, port, tls = url[8:], 443, True
    elif url.startswith("http://"):
        rest, port, tls = url[7:], 80, False
    else:
        raise ClaimError("claim.json api %r is not an https:// URL" % url)
    i = rest.find("/")
    host, path = (rest, "") if i < 0 else (rest[:i], rest[i:])
    if ":" in host:
        host, p = host.rsplit(":", 1)
        port = int(p)
    if not host:
        raise ClaimError("claim.json api %r has no host" % url)
    return tls, host, port, path.rstrip("/")


def _send(s, data):
    w = getattr(s, "sendall", None)
    if w is None:  # MicroPython's TLS socket
        mv = memoryview(data)
        while mv:
            n = s.write(mv)
            mv = mv[n:] if n else mv
        return
    w(data)


def _read_exact(r, n):
    out = b""
    while len(out) < n:
        chunk = r.read(n - len(out))
        if not chunk:
            raise HttpError("connection closed after %d of %d bytes" % (len(out), n))
        out += chunk
    return out


def _read_body(r, length, chunked):
    if chunked:  # a proxy in front of the API may chunk
        out = b""
        while True:
            size = int(r.readline().split(b";")[0].strip(), 16)
            if size == 0:
                return out
            if len(out) + size > MAX_BODY:
                raise HttpError("answer larger than %d bytes" % MAX_BODY)
            out += _read_exact(r, size)
            r.readline()
    if length is not None:
        if length > MAX_BODY:
            raise HttpError("answer larger than %d bytes" % MAX_BODY)
        return _read_exact(r, length)
    out = b""
    while len(out) <= MAX_BODY:  # Connection: close and no length: until the end
        chunk = r.read(512)
        if not chunk:
            return out
        out += chunk
    raise HttpError("answer larger than %d bytes" % MAX_BODY)


def post_json(host, port, path, doc, ctx=None, timeout_s=HTTP_TIMEOUT_S):
    """One POST; -> (status, retry_after seconds or None, parsed JSON or None).
    OSError (network, TLS: the handshake verifies the pinned CA and the name)."""
    import socket

    body = json.dumps(doc).encode()
    ai = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)[0]
    s = socket.socket(ai[0], socket.SOCK_STREAM, ai[2])
    try:
        s.settimeout(timeout_s)
        s.connect(ai[-1])
        if ctx is not None:
            s = ctx.wrap_socket(s, server_hostname=host)
        hh = host if port in (80, 443) else "%s:%d" % (host, port)
        _send(s, ("POST %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: noxus-kiosk\r\n"
                  "Content-Type: application/json\r\nAccept: application/json\r\n"
                  "Content-Length: %d\r\nConnection: close\r\n\r\n" % (path, hh, len(body))).encode())
        _send(s, body)
        r = s if hasattr(s, "readline") else s.makefile("rb")  # CPython sockets read through a file
        line = r.readline()
        parts = line.split()
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/"):
            raise HttpError("not an HTTP answer: %r" % line[:40])
        status = int(parts[1])
        length = retry = None
        chunked = False
        while True:
            h = r.readline()
            if not h or h in (b"\r\n", b"\n"):
                break
            i = h.find(b":")
            if i < 0:
                continue
            name = h[:i].strip().lower()
            val = h[i + 1:].strip()
            if name == b"content-length":
                length = int(val)
            elif name == b"transfer-encoding":
                chunked = b"chunked" in val.lower()
            elif name == b"retry-after":
                try:
                    retry = int(val)
                except ValueError:  # an HTTP date: treated as "later"
                    retry = None
        data = _read_body(r, length, chunked)
    finally:
        s.close()
    doc = None
    if data:
        try:
            doc = json.loads(data)
        except ValueError:
            doc = None
    return status, retry, doc


# --- the claim -------------------------------------------------------------------------------


def draw_code(urandom=None):
    """A fresh code XXXXX-XXXXX from the board's random source."""
    if urandom is None:
        from os import urandom
    out = ""
    while len(out) < CODE_LEN:
        for b in urandom(16):
            if b < 240 and len(out) < CODE_LEN:  # 240 = 8 * 30: no bias toward the first letters
                out += ALPHABET[b % 30]
    return out[:5] + "-" + out[5:]


def pretty(code):
    c = code.replace("-", "").replace(" ", "").upper()
    return c[:5] + "-" + c[5:] if len(c) == CODE_LEN else c


def _dir(path):
    i = path.rfind("/")
    return path[:i] if i > 0 else ("/" if i == 0 else "")


def kiosk_config(enrolled, claim, ca_path):
    """kiosk.json from the enrollment answer (docs/provisioning.md) and claim.json."""
    m = enrolled["mqtt"]
    broker = {"host": m["host"], "port": m["port"], "tls": m["tls"],
              "username": m["username"], "password": m["password"]}
    if m.get("nodes"):  # a cluster: mqtt_link.brokers_of dials these in turn
        broker["nodes"] = m["nodes"]
    if m.get("tls"):
        broker["ca_file"] = ca_path
        if m.get("server_hostname"):
            broker["server_hostname"] = m["server_hostname"]
    cfg = {"v": 1, "kiosk_id": enrolled["kiosk_id"], "journal_dir": "journal", "broker": broker,
           "site": {"id": enrolled["site_id"], "customer_id": enrolled["customer_id"],
                    "timezone": enrolled["site_timezone"]}}
    if claim.get("wifi"):
        cfg["wifi"] = claim["wifi"]
    extra = claim.get("config") or {}
    for k in extra:
        cfg[k] = extra[k]
    return cfg


class Claimer:
    """claim_path: claim.json; kiosk_path: where kiosk.json goes. out(line):
    the serial console; note(line): a failure, once per distinct text (the port's
    crash log, reported with the first birth; default: out); show(code): the display."""

    def __init__(self, claim_path, kiosk_path, board_uid=None, model="pico-w", out=print,
                 show=None, rand=None, post=post_json, urandom=None, note=None):
        raw = fsutil.read(claim_path)
        if not raw:
            raise ClaimError("%s is missing: run noxus-provision claim prepare" % claim_path)
        self.cfg = json.loads(raw)
        raw = None
        self.path = claim_path
        self.kiosk_path = kiosk_path
        self.root = _dir(kiosk_path)
        # claim.json's board_uid (simulated kiosks) names the board where the port cannot
        self.uid = (self.cfg.get("board_uid") or board_uid or "").upper()
        if not self.uid:
            raise ClaimError("no board id: machine.unique_id() is not available")
        self.model = self.cfg.get("model") or model
        self.out = out
        self._note = note or out
        self._show = show
        self._post = post
        self._urandom = urandom
        api = self.cfg.get("api")
        if not api:
            raise ClaimError("%s has no api URL: run noxus-provision claim prepare --api URL" % claim_path)
        self.api = api.rstrip("/")
        tls, self.host, self.port, prefix = split_url(self.api)
        if not tls and self.cfg.get("tls", True) is not False:
            raise ClaimError("claim.json api %s is plain http: use https (plain only with \"tls\": false)"
                             % self.api)
        self.prefix = prefix + PATH
        self.ctx = self._context() if tls else None
        poll = self.cfg.get("poll") or {}  # test knob: {"floor_ms", "base_ms", "max_ms"}
        self.backoff = Reconnect([self.api], self.uid, rand, poll.get("base_ms", POLL_BASE_MS),
                                 poll.get("max_ms", POLL_MAX_MS), poll.get("floor_ms", POLL_FLOOR_MS))
        self.state = ANNOUNCE
        self.next_ms = None  # due at once
        self.polls = 0
        self.last_error = None
        self.result = None  # kiosk.json's content once DONE
        self.code = self.cfg.get("code")
        if not self.code:
            self._new_code("no code in claim.json")
        else:
            self.code = pretty(self.code)
            self._announce_code()

    def _context(self):
        from firmware.core import tls
        spec = {"host": self.host, "tls": True, "ca_file": self.cfg.get("ca_file"),
                "ca_pem": self.cfg.get("ca_pem"), "server_hostname": self.cfg.get("server_hostname")}
        if not spec["ca_file"] and not spec["ca_pem"]:
            raise ClaimError("claim.json has no ca_file: the kiosk pins the CA of the API's certificate "
                             "(noxus-provision claim prepare --api-ca FILE)")
        try:
            ctx = tls.context(spec, self.root)
        except ValueError as e:
            raise ClaimError("claim: API CA: " + str(e).replace("broker ", ""))
        return ctx

    # -- the code ---------------------------------------------------------------------------------

    def _announce_code(self):
        self.out("claim code: %s (board %s): approve it at %s/enrollment/claims"
                 % (self.code, self.uid, self.api))
        if self._show is not None:
            self._show(self.code)

    def _new_code(self, why):
        """A fresh code, written into claim.json before anyone sees it: a reboot shows the same."""
        self.code = draw_code(self._urandom)
        self.cfg["code"] = self.code
        fsutil.write_atomic(self.path, json.dumps(self.cfg).encode())
        self.out("claim: new code (" + why + ")")
        self._announce_code()
        self.state = ANNOUNCE
        self.backoff.connected()

    # -- one step ---------------------------------------------------------------------------------

    def due(self, now_ms):
        return self.state != DONE and (self.next_ms is None or ticks_diff(now_ms, self.next_ms) >= 0)

    def _later(self, now_ms, ms):
        self.next_ms = ticks_add(now_ms, ms)

    def _error(self, text):
        if text != self.last_error:  # each distinct failure once: no flash wear on a retry loop
            self.last_error = text
            self._note(text)

    def step(self, now_ms):
        """At most one request, when due. -> the state."""
        if not self.due(now_ms):
            return self.state
        body = {"board_uid": self.uid, "code": self.code}
        leaf = ""
        if self.state == ANNOUNCE:
            body["model"] = self.model
        else:
            leaf = "/redeem"
            self.polls += 1
        try:
            status, retry, doc = self._post(self.host, self.port, self.prefix + leaf, body, self.ctx)
        except (OSError, ValueError) as e:  # network down, TLS refused (wrong CA, name, dates), garbage
            self._error("claim: %s%s refused: %s%s" % (self.api, leaf and " (poll)",
                        " ".join(str(e).split()) or type(e).__name__,
                        " (TLS: check claim.json ca_file)" if self.ctx is not None else ""))
            self._later(now_ms, self.backoff.failed())
            return self.state
        detail = doc.get("detail") if isinstance(doc, dict) else None
        if status == 429:
            wait = self.backoff.failed()
            if retry is not None:
                wait = max(wait, min(retry, RETRY_AFTER_MAX_S) * 1000)
            self._error("claim: rate limited, next try in %d s" % (wait // 1000))
            self._later(now_ms, wait)
        elif self.state == ANNOUNCE:
            if status in (200, 202):
                self.last_error = None
                self.out("claim: announced, waiting for approval")
                self.state = POLL
                self.backoff.connected()
                self._later(now_ms, self.backoff.failed())
            elif status == 409 and detail and "in use" in detail:
                self._new_code("the server refused the old one")
                self._later(now_ms, POLL_FLOOR_MS)
            else:  # 409 another code pending for this board (staff cancel it), 422, 5xx
                self._error("claim: announce refused (%d): %s" % (status, detail or ""))
                self._later(now_ms, self.backoff.failed())
        elif status == 202:
            self.last_error = None
            self._later(now_ms, self.backoff.failed())
        elif status == 200 and isinstance(doc, dict) and doc.get("mqtt"):
            self.store(doc)
        elif status in (404, 410):  # cancelled, expired, or delivered to a board that lost it
            self._error("claim: %s (%d)" % (detail or "refused", status))
            self._new_code("the old one is no longer valid")
            self._later(now_ms, POLL_FLOOR_MS)
        else:
            self._error("claim: poll refused (%d): %s" % (status, detail or ""))
            self._later(now_ms, self.backoff.failed())
        return self.state

    def store(self, enrolled):
        """ca.pem, then kiosk.json (the commit point), then claim.json goes."""
        ca_path = fsutil.join(self.root, CA_FILE) if self.root else CA_FILE
        cfg = kiosk_config(enrolled, self.cfg, ca_path)
        ca_pem = enrolled["mqtt"].get("ca_pem")
        if enrolled["mqtt"].get("tls") and ca_pem:
            fsutil.write_atomic(ca_path, ca_pem.encode())
        ca_pem = None
        fsutil.write_atomic(self.kiosk_path, json.dumps(cfg).encode())
        fsutil.remove(self.path)
        self.result = cfg
        self.state = DONE
        self.out("claim: approved, kiosk %s: credentials stored" % cfg["kiosk_id"])


def run_blocking(claimer, tick=None, ready=None, idle_ms=50):
    """Step until DONE; tick(now) runs every loop (LED, network), ready(now) gates
    the requests (no network yet). -> kiosk.json's content."""
    from firmware.core.ticks import sleep_ms, ticks_ms
    while claimer.state != DONE:
        now = ticks_ms()
        if tick is not None:
            tick(now)
        if ready is None or ready(now):
            claimer.step(now)
        sleep_ms(idle_ms)
    return claimer.result


class Blink:
    """Two short flashes every two seconds: "waiting for approval, the code is
    on the serial console" on boards without a display."""

    PATTERN = (100, 200, 100, 1600)  # on, off, on, off (ms)

    def __init__(self, pin):
        self.pin = pin
        self.i = 0
        self.until = None

    def tick(self, now_ms):
        if self.until is None or ticks_diff(now_ms, self.until) >= 0:
            self.i = (self.i + 1) % len(self.PATTERN) if self.until is not None else 0
            self.pin.value(1 if self.i % 2 == 0 else 0)
            self.until = ticks_add(now_ms, self.PATTERN[self.i])


def show_on(feedback):
    """-> show(code) for a PinFeedback: the code on its display, or the blink
    pattern (returned as tick) when there is none. -> (show, tick or None)."""
    screen = getattr(feedback, "display", None)
    if screen is not None:
        def show(code):
            f = screen.fb
            f.fill(0)
            f.text(TEXT[0], 0, 0)
            f.text(code, 0, 12)
            f.text("noxus", 0, 36)  # the brand: where the code is typed
            f.show()
            screen.lines = (TEXT[0], code)
        return show, None
    green = getattr(feedback, "green", None)
    if green is None:
        return None, None
    return None, Blink(green).tick
