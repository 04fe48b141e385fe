"""Properties of the shared codec (firmware/core/protocol.py) and the flash
record (firmware/core/journal.py), checked with Hypothesis on CPython:

- every decoder, fed random bytes or random JSON structures, returns either
  (None, "reason") or a valid value, and never raises;
- encode -> decode is the identity;
- a journal record that is truncated, or has any single bit flipped, is
  rejected (or, were a flip harmless, decodes to the very same punch).
"""

import json
import os

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from firmware.core import journal, protocol
from firmware.core.protocol import Punch

settings.register_profile(
    "noxus", max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
# CI runs the same examples every time (a red build is then reproducible).
settings.register_profile("noxus-ci", parent=settings.get_profile("noxus"), derandomize=True)
settings.load_profile("noxus-ci" if os.environ.get("CI") else "noxus")

U32 = 0xFFFFFFFF
DECODERS = {
    "decode_punch_batch": protocol.decode_punch_batch,
    "decode_ack": protocol.decode_ack,
    "decode_state": protocol.decode_state,
    "decode_message": protocol.decode_message,
    "decode_config": protocol.decode_config,
}

# -- strategies -------------------------------------------------------------

kiosk_ids = st.text(alphabet=protocol._ID_CHARS, min_size=1, max_size=protocol.MAX_KIOSK_ID)
uid_bytes = st.sampled_from(protocol.UID_LENGTHS).flatmap(lambda n: st.binary(min_size=n, max_size=n))
seqs = st.integers(1, U32)
kinds = st.sampled_from(protocol.KINDS)


@st.composite
def punches(draw, seq=seqs, ts_max=(1 << 53) - 1):
    uid = protocol.uid_hex(draw(uid_bytes))
    if draw(st.booleans()):
        return Punch(draw(seq), uid, draw(st.integers(1, ts_max)), draw(kinds))
    return Punch(
        draw(seq), uid, None, draw(kinds), draw(st.integers(0, 1 << 40)), draw(st.integers(0, 1 << 40))
    )


json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(1 << 70), 1 << 70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
FIELDS = (
    "v",
    "kiosk",
    "from",
    "punches",
    "upto",
    "online",
    "config_version",
    "seq",
    "uid",
    "kind",
    "ts",
    "boot",
    "uptime_ms",
)


@st.composite
def near_valid_objects(draw):
    """A valid message of some kind with fields replaced, dropped or added at
    random: reaches the deep branches that plain random JSON never does."""
    kiosk = draw(kiosk_ids)
    ps = draw(st.lists(punches(), min_size=1, max_size=3))
    d = {
        "v": 1,
        "kiosk": kiosk,
        "from": ps[0].seq,
        "punches": [p.to_wire() for p in ps],
        "upto": draw(st.integers(0, U32)),
        "online": draw(st.booleans()),
        "config_version": draw(st.integers(0, 99)),
    }
    targets = [d] + d["punches"]
    for _ in range(draw(st.integers(1, 4))):
        target = draw(st.sampled_from(targets))
        key = draw(st.sampled_from(FIELDS))
        action = draw(st.sampled_from(("replace", "drop", "bool", "big", "neg")))
        if action == "drop":
            target.pop(key, None)
        elif action == "bool":
            target[key] = draw(st.booleans())
        elif action == "big":
            target[key] = U32 + draw(st.integers(1, 1 << 60))
        elif action == "neg":
            target[key] = -draw(st.integers(0, 1 << 40))
        else:
            target[key] = draw(json_values)
    return d


payloads = (
    st.binary(max_size=300)
    | json_values.map(lambda v: json.dumps(v).encode())
    | near_valid_objects().map(lambda d: json.dumps(d).encode())
)
topic_kiosks = st.none() | kiosk_ids | st.text(max_size=5)

# -- every decoder: a clear error value or a valid value, never an exception --


def _check_valid_batch(batch, kiosk_id):
    assert isinstance(batch, protocol.PunchBatch)
    assert protocol.check_kiosk_id(batch.kiosk_id) is None
    assert kiosk_id is None or batch.kiosk_id == kiosk_id
    assert 1 <= len(batch.punches) <= protocol.MAX_BATCH
    assert isinstance(batch.held_from, int) and 0 < batch.held_from <= U32
    for p in batch.punches:
        assert type(p.seq) is int and 0 < p.seq <= U32
        assert protocol.check_uid(p.uid) is None
        assert p.kind in protocol.KINDS
        if p.ts_ms is None:
            assert type(p.boot) is int and type(p.uptime_ms) is int
            assert p.boot >= 0 and p.uptime_ms >= 0
        else:
            assert type(p.ts_ms) is int and 0 < p.ts_ms < 1 << 53
    # A decoded batch re-encodes to a payload that decodes to the same batch.
    again, err = protocol.decode_punch_batch(
        protocol.encode_punch_batch(batch.kiosk_id, batch.punches, batch.held_from)
    )
    assert err is None and again.punches == batch.punches and again.held_from == batch.held_from


def _check_result(name, result, kiosk_id):
    assert isinstance(result, tuple) and len(result) == 2, f"{name} returned {result!r}"
    value, err = result
    if err is not None:
        assert value is None, f"{name} returned a value and an error"
        assert isinstance(err, str) and err, f"{name} error is {err!r}"
        return
    if name == "decode_punch_batch":
        _check_valid_batch(value, kiosk_id)
    elif name == "decode_ack":
        assert type(value) is int and 0 <= value <= U32
    else:
        assert isinstance(value, dict) and value["v"] == 1
        assert protocol.check_kiosk_id(value["kiosk"]) is None
        assert kiosk_id is None or value["kiosk"] == kiosk_id
        if name == "decode_state":
            assert isinstance(value["online"], bool)
        if name == "decode_config":
            assert type(value["config_version"]) is int and value["config_version"] >= 0


@given(payload=payloads, kiosk_id=topic_kiosks)
def test_decoders_return_a_reason_or_a_valid_value_for_any_payload(payload, kiosk_id):
    for name, decode in DECODERS.items():
        _check_result(name, decode(payload, kiosk_id), kiosk_id)


@given(
    payload=st.one_of(
        st.text(max_size=50),
        st.integers(),
        st.none(),
        st.lists(st.integers()),
        st.binary(max_size=50).map(bytearray),
        st.binary(max_size=50).map(memoryview),
    )
)
def test_decoders_accept_any_python_object_without_raising(payload):
    for name, decode in DECODERS.items():
        _check_result(name, decode(payload), None)


@given(
    name=st.one_of(
        st.text(max_size=60),
        st.binary(max_size=60),
        st.builds(
            lambda k, leaf: protocol.TOPIC_ROOT + k + "/" + leaf, st.text(max_size=40), st.text(max_size=12)
        ),
    )
)
def test_parse_topic_returns_a_reason_or_a_kiosk_and_a_known_leaf(name):
    value, err = protocol.parse_topic(name)
    if err is not None:
        assert value is None and isinstance(err, str) and err
        return
    kiosk_id, leaf = value
    assert protocol.check_kiosk_id(kiosk_id) is None and leaf in protocol.LEAVES
    text = name.decode() if isinstance(name, bytes) else name
    assert protocol.topic(kiosk_id, leaf) == text


@given(buf=st.binary(max_size=64), data=st.data(), boot=st.integers(0, U32))
def test_journal_decode_record_returns_a_punch_or_stays_put_for_any_bytes(buf, data, boot):
    pos = data.draw(st.integers(0, len(buf)))
    p, nxt = journal.decode_record(buf, pos, boot)
    if p is None:
        assert nxt == pos
    else:
        assert isinstance(p, Punch) and nxt - pos in (16, 19, 22) and nxt <= len(buf)
        assert protocol.check_uid(p.uid) is None and 0 <= p.seq <= U32


# -- round trips ------------------------------------------------------------


@given(
    kiosk_id=kiosk_ids,
    batch=st.lists(punches(), min_size=1, max_size=protocol.MAX_BATCH),
    held_from=st.none() | seqs,
)
def test_punch_batch_round_trip(kiosk_id, batch, held_from):
    wire = protocol.encode_punch_batch(kiosk_id, batch, held_from)
    decoded, err = protocol.decode_punch_batch(wire, kiosk_id)
    assert err is None
    assert decoded.kiosk_id == kiosk_id
    assert decoded.punches == batch
    assert [p.estimated for p in decoded.punches] == [p.estimated for p in batch]
    assert decoded.held_from == (batch[0].seq if held_from is None else held_from)


@given(kiosk_id=kiosk_ids, upto=st.integers(0, U32))
def test_ack_round_trip(kiosk_id, upto):
    assert protocol.decode_ack(protocol.encode_ack(kiosk_id, upto), kiosk_id) == (upto, None)


@given(
    kiosk_id=kiosk_ids,
    online=st.booleans(),
    extra=st.dictionaries(st.sampled_from(["fw", "boot", "ip", "note"]), json_scalars, max_size=3),
)
def test_state_and_message_round_trip(kiosk_id, online, extra):
    state, err = protocol.decode_state(protocol.encode_state(kiosk_id, online, **extra), kiosk_id)
    assert err is None and state == {"v": 1, "kiosk": kiosk_id, "online": online, **extra}
    msg, err = protocol.decode_message(protocol.encode_message(kiosk_id, extra), kiosk_id)
    assert err is None and msg == {"v": 1, "kiosk": kiosk_id, **extra}


@given(uid=uid_bytes)
def test_uid_hex_round_trip(uid):
    assert protocol.uid_bytes(protocol.uid_hex(uid)) == (uid, None)


# -- flash records ------------------------------------------------------------

# The journal stores whole seconds as a u32: valid to 2106.
record_punches = punches(ts_max=U32 * 1000 + 999)


def _encode(p):
    uid, _ = protocol.uid_bytes(p.uid)
    est = p.ts_ms is None
    if est:
        assume(p.uptime_ms // 1000 <= U32)
    return journal.encode_record(p.seq, uid, p.uptime_ms if est else p.ts_ms, p.kind, est)


@given(p=record_punches, prefix=st.binary(max_size=20), suffix=st.binary(max_size=20))
def test_journal_record_round_trip_at_any_offset(p, prefix, suffix):
    rec = _encode(p)
    back, nxt = journal.decode_record(prefix + rec + suffix, len(prefix), p.boot)
    assert back == p and nxt == len(prefix) + len(rec)


@given(p=record_punches)
def test_any_truncation_of_a_record_is_detected(p):
    rec = _encode(p)
    for cut in range(len(rec)):
        assert journal.decode_record(rec[:cut], 0, p.boot) == (None, 0), f"cut at {cut}"


@given(p=record_punches)
def test_any_single_bit_flip_of_a_record_is_detected(p):
    rec = _encode(p)
    for bit in range(len(rec) * 8):
        bad = bytearray(rec)
        bad[bit // 8] ^= 1 << (bit % 8)
        back, _ = journal.decode_record(bytes(bad) + bytes(3), 0, p.boot)
        assert back is None or back == p, f"bit {bit} flipped: decoded {back!r} instead of {p!r}"


def test_a_version_that_only_equals_1_loosely_is_refused():
    for v in ("true", "1.0"):
        body = '{"v": %s, "kiosk": "K1", "upto": 3}' % v
        assert protocol.decode_ack(body.encode()) == (
            None,
            "protocol version %s not supported (this side speaks v1)" % ("True" if v == "true" else "1.0"),
        )


def test_a_clock_past_2106_counts_as_unset_instead_of_breaking_every_tap():
    from firmware.core.clock import Clock

    assert Clock(source=lambda: 2**32 + 5).now_ms() is None
    assert Clock(source=lambda: 1767225600.5).now_ms() == 1767225600500
