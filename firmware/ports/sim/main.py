# Simulated kiosk: the portable core with a simulated reader and a printed
# feedback, on the MicroPython Unix port (or CPython). Used by `make run` and
# by the end-to-end tests.
#
#   micropython firmware/ports/sim/main.py kiosk.json
#
# kiosk.json: {"kiosk_id": "K1", "journal_dir": "...",
#   "broker": {"host": "127.0.0.1", "port": 1883, "tls": false, "username": null, "password": null},
#   (or "tls": true, "ca_file": "...": see firmware/core/tls.py)
#   "sim": {"taps": 500, "poll_ms": 5, "uids": "unique"|"demo"|["04A1B2C3", ...], "kiosk_no": 1,
#           "offline_taps": 0, "exit_when_drained": true, "cooldown_ms": 3000}}

import json
import sys

from firmware.core.clock import Clock
from firmware.core.feedback import PrintFeedback
from firmware.core.journal import Journal
from firmware.core.kiosk import Kiosk
from firmware.core.sim_reader import SimReader, unique_uid

DEMO_BADGES = (b"\x04\xA1\xB2\xC3", b"\x04\x11\x22\x33", b"\x04\x55\x66\x77",
               b"\x04\x99\x88\x77", b"\x04\x10\x20\x30", b"\x04\x40\x50\x60")


def tap_plan(sim):
    uids = sim.get("uids", "unique")
    if isinstance(uids, list):  # the demo: these badges (hex UIDs), in turn
        n = 0
        while sim.get("taps") is None or n < sim["taps"]:
            yield bytes.fromhex(uids[n % len(uids)])
            n += 1
        return
    if uids == "unique":
        start = sim.get("start_n", 0)
        for n in range(start, start + sim.get("taps", 0)):
            yield unique_uid(sim.get("kiosk_no", 1), n)
        return
    n = 0
    while sim.get("taps") is None or n < sim["taps"]:
        yield DEMO_BADGES[(n * 7 + sim.get("kiosk_no", 1)) % len(DEMO_BADGES)]
        n += 1


def claim_first(path):
    """No kiosk.json but a claim.json beside it: claim the credentials first
    (firmware/core/claim.py; the board id comes from claim.json on the simulator)."""
    from firmware.core import claim, fsutil
    i = path.rfind("/")
    claim_path = (path[:i + 1] if i >= 0 else "") + claim.CLAIM_FILE
    if fsutil.exists(path) or not fsutil.exists(claim_path):
        return
    uid = None
    try:  # the simulated board of noxus_provision.simboard has one; claim.json may name another
        import binascii

        import machine
        uid = binascii.hexlify(machine.unique_id()).decode()
    except (ImportError, AttributeError):
        pass
    claim.run_blocking(claim.Claimer(claim_path, path, uid, model="sim"))


def main(path):
    claim_first(path)
    with open(path) as f:
        cfg = json.load(f)
    sim = cfg.get("sim", {})
    kiosk_id = cfg["kiosk_id"]
    journal = Journal(cfg["journal_dir"]).open()
    reader = SimReader(tap_plan(sim), gap_polls=sim.get("gap_polls", 4))
    kiosk = Kiosk(kiosk_id, journal, reader, PrintFeedback(kiosk_id, sim.get("quiet", False)),
                  Clock(), cooldown_ms=sim.get("cooldown_ms", 3000),
                  poll_ms=sim.get("poll_ms", 50), telemetry_ms=sim.get("telemetry_ms", 60000),
                  sender_window=cfg.get("inflight"))
    broker = cfg.get("broker")
    offline_taps = sim.get("offline_taps", 0)

    def connect_when_due():
        if broker and kiosk.link is None and kiosk.taps >= offline_taps:
            from firmware.core import mqtt_link
            kiosk.attach(mqtt_link.from_config(kiosk_id, broker, on_error=kiosk.note,
                                               birth={"boot": journal.boot, "fw": "sim"}))

    def done():
        connect_when_due()
        if not reader.exhausted:
            return False
        if sim.get("exit_after_taps"):
            return True
        return sim.get("exit_when_drained", False) and journal.pending() == 0

    print("[%s] boot %d, journal holds seq %d, acked %d" % (
        kiosk_id, journal.boot, journal.last_seq, journal.acked))
    try:
        kiosk.run(done)
    except KeyboardInterrupt:  # Ctrl-C in `make run`: the journal is already safe on disk
        pass
    print("DONE " + json.dumps({"kiosk": kiosk_id, "last_seq": journal.last_seq,
                                "acked": journal.acked, "taps": kiosk.taps,
                                "resent": kiosk.sender.resent if kiosk.sender else 0,
                                "error": kiosk.sender.last_error if kiosk.sender else None}))
    try:
        if kiosk.link is not None:
            kiosk.link.stop()
        journal.close()  # writes the acked cursor kept in RAM (lazy_ack)
    except KeyboardInterrupt:
        # `make run`'s Ctrl-C reaches a kiosk twice (the terminal's, then the demo's): the
        # cursor write is atomic, so the old cursor stays and the next start resends a few
        # acked punches, which the backend stores once
        pass


if __name__ == "__main__":
    main(sys.argv[1])
