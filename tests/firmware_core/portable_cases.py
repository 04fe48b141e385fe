# Codec and journal cases run unchanged on CPython, the MicroPython Unix port
# and the MicroPython WebAssembly port. Each case prints one line
#     <name>\t<JSON result>
# and the pytest drivers compare the parsed results across runtimes (parsed,
# because MicroPython dicts do not keep insertion order, so wire bytes differ
# in key order while meaning the same). Binary journal records are printed as
# hex and must match byte for byte.
#
#   micropython tests/firmware_core/portable_cases.py <scratch-dir>
#
# MicroPython-compatible on purpose: no f-strings, typing, dataclasses.

import json
import os
import sys
from binascii import hexlify

from scratch import rmtree

from firmware.core import journal as J
from firmware.core import protocol as P

T0 = 1767225600123  # 2026-01-01T00:00:00.123Z

UIDS = (
    b"\x04\xa1\xb2\xc3",
    b"\x04\x11\x22\x33\x44\x55\x66",
    b"\x88\x04\x00\x01\x02\x03\x04\x05\x06\x07",
    b"\x00\x00\x00\x00",
    b"\xff\xff\xff\xff",
)


def _hex(b):
    return hexlify(bytes(b)).decode()


def _wire(p):
    return None if p is None else p.to_wire()


def _res(pair):
    """(value, err) -> JSON-able, with punches and batches unpacked."""
    value, err = pair
    if isinstance(value, P.PunchBatch):
        value = {
            "kiosk": value.kiosk_id,
            "from": value.held_from,
            "punches": [p.to_wire() for p in value.punches],
        }
    return [value, err]


def punches():
    out = []
    seq = 1
    for i in range(len(UIDS)):
        uid = P.uid_hex(UIDS[i])
        out.append(P.Punch(seq, uid, T0 + i * 61001))
        out.append(P.Punch(seq + 1, uid, None, P.KIND_ENROLL, 7, 12345 + i))
        out.append(P.Punch(seq + 2, uid, T0 + 999, P.KIND_ENROLL))
        seq += 3
    out.append(P.Punch(P.MAX_SEQ, "DEADBEEF", (1 << 53) - 1))
    out.append(P.Punch(42, "DEADBEEF", None, P.KIND_PUNCH, 0, 0))
    return out


BAD_BATCHES = (
    b"",
    b"\xff\xfe",
    b"null",
    b"[]",
    b"{}",
    b'{"v": 2, "kiosk": "K1"}',
    b'{"v": 1}',
    b'{"v": 1, "kiosk": "bad id"}',
    b'{"v": 1, "kiosk": "K2", "punches": []}',
    b'{"v": 1, "kiosk": "K1", "punches": []}',
    b'{"v": 1, "kiosk": "K1", "punches": {}}',
    b'{"v": 1, "kiosk": "K1", "punches": [1]}',
    b'{"v": 1, "kiosk": "K1", "punches": [{"seq": 0, "uid": "AABBCCDD", "ts": 5}]}',
    b'{"v": 1, "kiosk": "K1", "punches": [{"seq": true, "uid": "AABBCCDD", "ts": 5}]}',
    b'{"v": 1, "kiosk": "K1", "punches": [{"seq": 1, "uid": "aabbccdd", "ts": 5}]}',
    b'{"v": 1, "kiosk": "K1", "punches": [{"seq": 1, "uid": "AABBCC", "ts": 5}]}',
    b'{"v": 1, "kiosk": "K1", "punches": [{"seq": 1, "uid": "AABBCCDD", "ts": 1.5}]}',
    b'{"v": 1, "kiosk": "K1", "punches": [{"seq": 1, "uid": "AABBCCDD", "kind": "x", "ts": 5}]}',
    b'{"v": 1, "kiosk": "K1", "punches": [{"seq": 1, "uid": "AABBCCDD"}]}',
    b'{"v": 1, "kiosk": "K1", "punches": [{"seq": 1, "uid": "AABBCCDD", "boot": -1, "uptime_ms": 3}]}',
    b'{"v": 1, "kiosk": "K1", "from": "1", "punches": [{"seq": 1, "uid": "AABBCCDD", "ts": 5}]}',
    b'{"v": 1, "kiosk": "K1", "punches": [{"seq": 4294967296, "uid": "AABBCCDD", "ts": 5}]}',
)

TOPICS = (
    "noxus/v1/K1/punch",
    "noxus/v1/K-1_x/cmd/result",
    "noxus/v1/K1/nope",
    "noxus/v2/K1/punch",
    "noxus/v1//punch",
    "noxus/v1/K 1/punch",
    "noxus/v1/K1",
    b"noxus/v1/K1/ack",
    b"\xff",
    "noxus/v1/" + "K" * 33 + "/punch",
    "noxus/v1/K1/state",
)


def protocol_cases(out):
    ps = punches()
    for i in range(0, len(ps), 4):
        chunk = ps[i : i + 4]
        wire = P.encode_punch_batch("K1", chunk, None if i % 8 else 1)
        out("batch_wire_%d" % i, json.loads(wire))
        out("batch_decoded_%d" % i, _res(P.decode_punch_batch(wire, "K1")))
        out("batch_wrong_topic_%d" % i, _res(P.decode_punch_batch(wire, "K2")))
        out("batch_bytearray_%d" % i, _res(P.decode_punch_batch(bytearray(wire))))
        out("batch_memoryview_%d" % i, _res(P.decode_punch_batch(memoryview(wire))))
        out("batch_str_%d" % i, _res(P.decode_punch_batch(wire.decode())))
    big = [P.Punch(s, "04A1B2C3", T0 + s) for s in range(1, P.MAX_BATCH + 2)]
    b, err = P.decode_punch_batch(P.encode_punch_batch("K1", big[:-1]))
    out(
        "batch_max",
        [
            len(b.punches),
            b.punches[0].to_wire(),
            b.punches[-1].to_wire(),
            [p.seq for p in b.punches] == list(range(1, P.MAX_BATCH + 1)),
            err,
        ],
    )
    out("batch_over_max", _res(P.decode_punch_batch(P.encode_punch_batch("K1", big))))
    for i in range(len(BAD_BATCHES)):
        out("bad_batch_%d" % i, _res(P.decode_punch_batch(BAD_BATCHES[i], "K1")))
    out("bad_type", _res(P.decode_punch_batch(12345)))
    for upto in (0, 1, 4242, P.MAX_SEQ):
        wire = P.encode_ack("K9", upto)
        out("ack_wire_%d" % upto, json.loads(wire))
        out("ack_%d" % upto, _res(P.decode_ack(wire, "K9")))
    for bad in (
        b'{"v": 1, "kiosk": "K9", "upto": -1}',
        b'{"v": 1, "kiosk": "K9", "upto": 4294967296}',
        b'{"v": 1, "kiosk": "K9", "upto": "5"}',
        b'{"v": 1, "kiosk": "K9"}',
        b'{"v": 1, "kiosk": "K9", "upto": false}',
    ):
        out("bad_ack_%s" % _hex(bad)[-12:], _res(P.decode_ack(bad, "K9")))
    for online in (True, False):
        wire = P.encode_state("K1", online, fw="0.1.0", boot=3)
        out("state_%s" % online, _res(P.decode_state(wire, "K1")))
    out("state_no_online", _res(P.decode_state(b'{"v": 1, "kiosk": "K1", "online": 1}')))
    body = {"pending": 3, "fill": 0.25, "alert_fill": False, "ts": None, "list": [1, "a", {"b": None}]}
    out("message", _res(P.decode_message(P.encode_message("K1", body), "K1")))
    out("config", _res(P.decode_config(P.encode_message("K1", {"config_version": 7}), "K1")))
    out("config_bad", _res(P.decode_config(P.encode_message("K1", {"config_version": -1}), "K1")))
    for t in TOPICS:
        out("topic_%s" % (_hex(t) if isinstance(t, bytes) else t), _res(P.parse_topic(t)))
    out("topic_build", [P.topic("K1", leaf) for leaf in P.LEAVES])
    for uid in UIDS:
        text = P.uid_hex(uid)
        back, err = P.uid_bytes(text)
        out("uid_%s" % text, [text, None if back is None else _hex(back), err])
    for text in ("", "ABC", "aabbccdd", "AABBCCDDEE", "AABBCCDDEEFFGG", 5, None):
        out("uid_bad_%r" % (text,), [P.check_uid(text), _res(P.uid_bytes(text))])


def record_cases(out):
    ps = punches()
    for p in ps:
        if p.ts_ms is not None and p.ts_ms // 1000 > 0xFFFFFFFF:
            continue  # the journal stores u32 seconds: valid until 2106
        uid, _ = P.uid_bytes(p.uid)
        est = p.ts_ms is None
        rec = J.encode_record(p.seq, uid, p.uptime_ms if est else p.ts_ms, p.kind, est)
        back, nxt = J.decode_record(rec, 0, p.boot)
        out("record_%d" % p.seq, [_hex(rec), _wire(back), nxt, back == p])
        # A record that lost its last byte, or has one bit flipped, is not a punch.
        out("record_torn_%d" % p.seq, _wire(J.decode_record(rec[:-1], 0, 7)[0]))
        flipped = bytearray(rec)
        flipped[len(rec) // 2] ^= 0x10
        out("record_flip_%d" % p.seq, _wire(J.decode_record(bytes(flipped), 0, 7)[0]))


def journal_cases(out, root):
    rmtree(root)
    j = J.Journal(root, seg_records=4).open()
    for i in range(10):
        j.append(UIDS[i % len(UIDS)], T0 + i * 1000 if i % 3 else 1000 + i, P.KIND_PUNCH, i % 3 == 0)
    out("journal_after_append", [j.boot, j.last_seq, j.acked, sorted(os.listdir(root))])
    out("journal_unacked", [p.to_wire() for p in j.unacked(100)])
    j.ack(6)
    out("journal_after_ack", [j.last_seq, j.acked, sorted(os.listdir(root)), [p.seq for p in j.unacked(3)]])
    j.close()
    # Power cut mid-write: half a record at the end of the last segment.
    seg = root + "/" + max(n for n in os.listdir(root) if n.endswith(J.SEG_SUFFIX))
    with open(seg, "ab") as f:
        f.write(J.encode_record(11, UIDS[0], T0, P.KIND_PUNCH, False)[:9])
    j = J.Journal(root, seg_records=4).open()
    out("journal_reboot", [j.boot, j.last_seq, j.acked, j.dropped_torn, [p.seq for p in j.unacked(100)]])
    p = j.append(UIDS[1], T0 + 1)
    out("journal_next", p.to_wire())
    j.ack(j.last_seq)
    out("journal_all_acked", [j.last_seq, j.acked, sorted(os.listdir(root))])
    j.close()
    j = J.Journal(root, seg_records=4).open()
    out("journal_reboot_empty", [j.boot, j.last_seq, j.acked, j.unacked(10) == []])
    with open(root + "/state.json") as f:
        st = json.loads(f.read())
        # the epoch is random per journal: checked for range, then left out
        out("journal_epoch_ok", 0 < st.pop("epoch") <= P.MAX_EPOCH and st.get("epoch") is None)
        out("journal_state", st)
    j.close()
    rmtree(root)


def run(out, root):
    protocol_cases(out)
    record_cases(out)
    journal_cases(out, root)


def main(root):
    import gc

    collect = sys.implementation.name == "micropython"  # keep a 128 KB heap unfragmented

    def out(name, value):
        print("%s\t%s" % (name, json.dumps(value)))
        if collect:
            gc.collect()

    run(out, root)
    print("DONE")


def parse_output(text):
    """The printed lines back to {name: value} (used by the pytest drivers).
    Raises ValueError when the run did not reach DONE or printed a case twice."""
    lines = text.splitlines()
    if "DONE" not in lines:
        raise ValueError("the case run stopped early:\n" + "\n".join(lines[-20:]))
    out = {}
    for line in lines:
        if "\t" in line:
            name, value = line.split("\t", 1)
            if name in out:
                raise ValueError("case %s printed twice" % name)
            out[name] = json.loads(value)
    return out


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "/tmp/noxus_portable_cases")
