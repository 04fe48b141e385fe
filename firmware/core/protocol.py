# NoxusTime wire protocol v1 — the one encoder/decoder shared by kiosks and backend.
#
# Portable: runs unchanged on CPython and MicroPython (no typing, no dataclasses,
# no struct.Struct). Decoders never raise: they return (value, None) or
# (None, "reason"), so a malformed message can never crash a caller.
# The format is documented for third parties in docs/protocol.md.

import json

VERSION = 1
TOPIC_ROOT = "noxus/v1/"

KIND_PUNCH = "punch"
KIND_ENROLL = "enroll"
KINDS = (KIND_PUNCH, KIND_ENROLL)

# Topic leaves under noxus/v1/<kiosk_id>/
PUNCH = "punch"
ACK = "ack"
STATE = "state"
TELEMETRY = "telemetry"
CONFIG = "config"
CMD = "cmd"
CMD_RESULT = "cmd/result"
LEAVES = (PUNCH, ACK, STATE, TELEMETRY, CONFIG, CMD, CMD_RESULT)

# The ingest notice (docs/protocol.md, "Ingest notice"): a worker publishes it,
# QoS 0, not retained, each time it has subscribed; a kiosk with batches in
# flight sends them again at once. Its leaf is none of a kiosk's, so no kiosk
# id can make a kiosk topic of it.
INGEST_UP = TOPIC_ROOT + "ingest/up"

MAX_BATCH = 100  # punches per message: keeps a batch < 8 KiB, fine for a Pico's RAM
MAX_SEQ = 0xFFFFFFFF  # seq is a u32 on flash
MAX_EPOCH = 0x7FFFFFFF  # journal epoch: random at journal creation, 0 = before epochs
MAX_KIOSK_ID = 32
UID_LENGTHS = (4, 7, 10)  # ISO 14443-3 single, double, triple size UIDs
_HEX = "0123456789ABCDEF"
_ID_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"


def topic(kiosk_id, leaf):
    return TOPIC_ROOT + kiosk_id + "/" + leaf


def parse_topic(name):
    """'noxus/v1/K1/punch' -> (('K1', 'punch'), None)."""
    if isinstance(name, bytes):
        try:
            name = name.decode()
        except Exception:
            return None, "topic is not UTF-8"
    if not name.startswith(TOPIC_ROOT):
        return None, "topic %r is not under %s" % (name, TOPIC_ROOT)
    rest = name[len(TOPIC_ROOT):]
    cut = rest.find("/")
    if cut <= 0:
        return None, "topic %r has no kiosk id" % name
    kiosk_id, leaf = rest[:cut], rest[cut + 1:]
    err = check_kiosk_id(kiosk_id)
    if err:
        return None, err
    if leaf not in LEAVES:
        return None, "topic %r: unknown leaf %r" % (name, leaf)
    return (kiosk_id, leaf), None


def check_kiosk_id(kiosk_id):
    if not isinstance(kiosk_id, str) or not 0 < len(kiosk_id) <= MAX_KIOSK_ID:
        return "kiosk id must be 1..%d characters" % MAX_KIOSK_ID
    for c in kiosk_id:
        if c not in _ID_CHARS:
            return "kiosk id %r may only hold letters, digits, '-' and '_'" % kiosk_id
    return None


def uid_hex(uid_bytes):
    """Canonical badge UID: all bytes in reader order, uppercase hex."""
    out = ""
    for b in uid_bytes:
        out += _HEX[b >> 4] + _HEX[b & 15]
    return out


def uid_bytes(text):
    err = check_uid(text)
    if err:
        return None, err
    out = bytearray(len(text) // 2)
    for i in range(len(out)):
        out[i] = _HEX.index(text[2 * i]) * 16 + _HEX.index(text[2 * i + 1])
    return bytes(out), None


def check_uid(text):
    if not isinstance(text, str):
        return "uid must be a string of uppercase hex"
    if len(text) // 2 not in UID_LENGTHS or len(text) % 2:
        return "uid %r must be 4, 7 or 10 bytes of hex" % text
    for c in text:
        if c not in _HEX:
            return "uid %r must be uppercase hex" % text
    return None


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


class Punch:
    """One badge tap. Either ts_ms (UTC epoch ms) is set, or the kiosk clock was
    never set and the time is (boot, uptime_ms): 'estimated'."""

    def __init__(self, seq, uid, ts_ms=None, kind=KIND_PUNCH, boot=None, uptime_ms=None):
        self.seq = seq
        self.uid = uid
        self.ts_ms = ts_ms
        self.kind = kind
        self.boot = boot
        self.uptime_ms = uptime_ms

    @property
    def estimated(self):
        return self.ts_ms is None

    def to_wire(self):
        d = {"seq": self.seq, "uid": self.uid, "kind": self.kind}
        if self.ts_ms is None:
            d["boot"] = self.boot
            d["uptime_ms"] = self.uptime_ms
        else:
            d["ts"] = self.ts_ms
        return d

    def __eq__(self, other):
        return isinstance(other, Punch) and self.to_wire() == other.to_wire()

    def __repr__(self):
        return "Punch(%r)" % (self.to_wire(),)


def _punch_from_wire(d):
    if not isinstance(d, dict):
        return None, "punch must be an object"
    seq = d.get("seq")
    if not _is_int(seq) or not 0 < seq <= MAX_SEQ:
        return None, "punch seq must be an integer 1..%d" % MAX_SEQ
    uid = d.get("uid")
    err = check_uid(uid)
    if err:
        return None, "punch %d: %s" % (seq, err)
    kind = d.get("kind", KIND_PUNCH)
    if kind not in KINDS:
        return None, "punch %d: kind must be one of %s" % (seq, ", ".join(KINDS))
    ts = d.get("ts")
    if ts is not None:
        if not _is_int(ts) or not 0 < ts < (1 << 53):
            return None, "punch %d: ts must be UTC epoch milliseconds" % seq
        return Punch(seq, uid, ts, kind), None
    boot, up = d.get("boot"), d.get("uptime_ms")
    if not (_is_int(boot) and _is_int(up) and boot >= 0 and up >= 0):
        return None, "punch %d: needs ts, or boot and uptime_ms when the clock is unset" % seq
    return Punch(seq, uid, None, kind, boot, up), None


def _dumps(d):
    return json.dumps(d).encode()


def _loads(payload, kiosk_id=None):
    """Parse a JSON object and check its version (and kiosk id when given)."""
    if isinstance(payload, (bytes, bytearray, memoryview)):
        try:
            payload = bytes(payload).decode()
        except Exception:
            return None, "payload is not UTF-8"
    if not isinstance(payload, str):
        return None, "payload must be bytes"
    try:
        d = json.loads(payload)
    except Exception:
        return None, "payload is not JSON"
    if not isinstance(d, dict):
        return None, "payload must be a JSON object"
    v = d.get("v")
    if not _is_int(v) or v != VERSION:  # not true, not 1.0
        return None, "protocol version %r not supported (this side speaks v%d)" % (v, VERSION)
    kid = d.get("kiosk")
    err = check_kiosk_id(kid)
    if err:
        return None, err
    if kiosk_id is not None and kid != kiosk_id:
        return None, "payload kiosk %r does not match topic kiosk %r" % (kid, kiosk_id)
    return d, None


class PunchBatch:
    """A batch of punches from one kiosk. `held_from` is the lowest seq the kiosk
    still holds: any lower seq missing at the backend is lost for good.
    `epoch` names the journal the seqs count in (0: a journal from before
    epochs); a punch's identity is (kiosk, epoch, seq)."""

    def __init__(self, kiosk_id, punches, held_from, epoch=0):
        self.kiosk_id = kiosk_id
        self.punches = punches
        self.held_from = held_from
        self.epoch = epoch


def _punch_json(p):
    # Formatted directly rather than dict + json.dumps: a kiosk encodes batches
    # on a ~20 KB free heap. Safe without escaping: uid is hex, kind a constant.
    if p.ts_ms is None:
        return '{"seq":%d,"uid":"%s","kind":"%s","boot":%d,"uptime_ms":%d}' % (
            p.seq, p.uid, p.kind, p.boot, p.uptime_ms)
    return '{"seq":%d,"uid":"%s","kind":"%s","ts":%d}' % (p.seq, p.uid, p.kind, p.ts_ms)


def encode_punch_batch(kiosk_id, punches, held_from=None, epoch=0):
    if check_kiosk_id(kiosk_id):
        raise ValueError(check_kiosk_id(kiosk_id))
    if held_from is None:
        held_from = punches[0].seq if punches else 1
    ep = ',"epoch":%d' % epoch if epoch else ""  # epoch 0 is the field left out
    return ('{"v":%d,"kiosk":"%s"%s,"from":%d,"punches":[%s]}' % (
        VERSION, kiosk_id, ep, held_from, ",".join(_punch_json(p) for p in punches))).encode()


def decode_punch_batch(payload, kiosk_id=None):
    d, err = _loads(payload, kiosk_id)
    if err:
        return None, err
    items = d.get("punches")
    if not isinstance(items, list) or not items:
        return None, "punches must be a non-empty list"
    if len(items) > MAX_BATCH:
        return None, "batch of %d punches exceeds %d" % (len(items), MAX_BATCH)
    punches = []
    for item in items:
        p, err = _punch_from_wire(item)
        if err:
            return None, err
        punches.append(p)
    held_from = d.get("from", punches[0].seq)
    if not _is_int(held_from) or not 0 < held_from <= MAX_SEQ:
        return None, "from must be an integer seq"
    epoch, err = _epoch(d)
    if err:
        return None, err
    return PunchBatch(d["kiosk"], punches, held_from, epoch), None


def _epoch(d):
    epoch = d.get("epoch", 0)
    if not _is_int(epoch) or not 0 <= epoch <= MAX_EPOCH:
        return None, "epoch must be an integer 0..%d" % MAX_EPOCH
    return epoch, None


def encode_ack(kiosk_id, upto, epoch=0):
    d = {"v": VERSION, "kiosk": kiosk_id, "upto": upto}
    if epoch:
        d["epoch"] = epoch
    return _dumps(d)


def decode_ack(payload, kiosk_id=None, epoch=None):
    """-> (upto, None): the highest seq up to which the backend stored every
    punch (or wrote it off on the kiosk's word). With `epoch` given, an ack
    of another journal epoch (queued before a wipe) is an error, not an ack."""
    d, err = _loads(payload, kiosk_id)
    if err:
        return None, err
    upto = d.get("upto")
    if not _is_int(upto) or not 0 <= upto <= MAX_SEQ:
        return None, "ack upto must be an integer seq"
    got, err = _epoch(d)
    if err or epoch is None or got == epoch:
        return (None, err) if err else (upto, None)
    return None, "ack of another journal epoch"


def encode_state(kiosk_id, online, **extra):
    d = {"v": VERSION, "kiosk": kiosk_id, "online": bool(online)}
    d.update(extra)
    return _dumps(d)


def encode_ingest_up():
    """The ingest notice's payload; a kiosk acts on the topic alone."""
    return _dumps({"v": VERSION})


def encode_message(kiosk_id, body):
    """telemetry, config, cmd and cmd/result: a JSON object with v and kiosk."""
    d = {"v": VERSION, "kiosk": kiosk_id}
    d.update(body)
    return _dumps(d)


def decode_message(payload, kiosk_id=None):
    """state, telemetry, config, cmd, cmd/result -> (dict, None)."""
    return _loads(payload, kiosk_id)


def decode_state(payload, kiosk_id=None):
    d, err = _loads(payload, kiosk_id)
    if err:
        return None, err
    if not isinstance(d.get("online"), bool):
        return None, "state needs online: true|false"
    return d, None


def decode_config(payload, kiosk_id=None):
    d, err = _loads(payload, kiosk_id)
    if err:
        return None, err
    if not _is_int(d.get("config_version")) or d["config_version"] < 0:
        return None, "config needs an integer config_version"
    return d, None
