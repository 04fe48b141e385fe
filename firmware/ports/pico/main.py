# Raspberry Pi Pico W kiosk: MicroPython entry point. The device's /main.py is
#
#   from firmware.ports.pico.main import run
#   run()
#
# kiosk.json on the Pico's littlefs (written by noxus-provision):
#   {"kiosk_id": "K1", "wifi": {"ssid": "...", "password": "..."},
#    "broker": {"host": "...", "port": 8883, "tls": true, "ca_file": "ca.der",
#               "username": "...", "password": "..."},
#   (several brokers: "nodes": [{"host": ..., "port": ...}, ...] instead of "host",
#    docs/protocol.md "Kiosk configuration")
#    "pinmap": "hardware/pinmap.json", "ntp_host": "pool.ntp.org",
#    "max_records": 50000, "poll_ms": 50}
# Knobs the emulator tests set (docs/rp2040-emulation.md), absent on a
# production kiosk: "board" (pin-map section, default from the MicroPython
# board name), "wdt_ms" (0: no watchdog, for the REPL), "journal_seg_records"
# (small segments: rotation under power cuts), "journal_tail" (tail bytes,
# header included, at least 8 + 22), "trace_heap": N (print
# "NX boot <boot> seq <last seq> mem_free <bytes> mem_alloc <bytes>" once the
# loop starts, then
# "NX taps <n> mem_free <bytes> merges_on_tap <m>" every N recorded taps and "NX link mem_free
# <bytes>" each time MQTT connects, each after a gc.collect(); on the wired
# board that line adds "read_low <bytes>", the lowest mem_free (collected) as
# a socket read started while connecting: the heap inside the TLS handshake,
# which runs in one C call whose only Python code is those reads; "NX acked <seq>"
# at start and when an ack moved the journal cursor, "NX saved <seq>" when that
# cursor reached flash), "cursor_persist_ms" (Kiosk's CURSOR_PERSIST_MS), "heap_ballast":
# bytes held from before start-up on (the smallest heap the program runs in).
# An uncaught exception is written to crash.log, reported in the next birth and
# telemetry, and the board resets into a working state (docs/firmware.md).

import gc
import json

import machine

from firmware.core import fsutil
from firmware.core.clock import Clock
from firmware.core.fleet import crashlog, integrity
from firmware.core.fleet.config import ConfigStore
from firmware.core.kiosk import CURSOR_PERSIST_MS, Kiosk
from firmware.core.ticks import sleep_ms, ticks_add, ticks_diff, ticks_ms
from firmware.core.ui.badges import BadgeList
from firmware.ports.pico import hw
from firmware.ports.pico.tailjournal import TailJournal

FIRMWARE_HASH_FILE = "firmware.sha"  # written by provisioning: hash of the installed tree
CLAIM_FILE = "claim.json"  # a kiosk installed without a technician (firmware/core/claim.py)
CLAIM_CONFIG_RETRY_MS = 60000  # a claim.json that cannot work: reset after a minute (fixed over USB meanwhile)
MAX_RECORDS = 50000  # 52 790 fit an 848 KiB littlefs with the code frozen (bench)
# The journal's tail (tailjournal.py): a tap's record goes to a file small enough to
# stay inline in littlefs metadata (a commit, no 4 KiB erase); 256 B holds 15
# records of 16 B and the idle loop merges it from half full. littlefs here
# keeps files inline up to ~380 B (docs/rp2040-emulation.md).
JOURNAL_TAIL = 256


def build(cfg, wdt=True):
    # The MQTT client is the biggest module: load it first, into an unfragmented heap.
    gc.collect()
    from firmware.core.mqtt_link import MqttLink  # noqa: F401
    gc.collect()
    pm = hw.load_pinmap(cfg.get("pinmap", "hardware/pinmap.json"), cfg.get("board"))
    clock = Clock(hw.utc_seconds, hw.set_rtc)
    jkw = {"max_records": cfg.get("max_records", MAX_RECORDS)}
    if "journal_seg_records" in cfg:
        jkw["seg_records"] = cfg["journal_seg_records"]
    # Always a TailJournal: a plain Journal would not read the records a tail holds.
    journal = TailJournal("journal", tail=cfg.get("journal_tail", JOURNAL_TAIL), **jkw).open()
    config = ConfigStore("config")
    badges = BadgeList("config/badges.bin")
    wifi = hw.make_network(pm, cfg)
    port = hw.PicoPort(wifi, wdt_ms=cfg.get("wdt_ms", hw.WDT_TIMEOUT_MS) if wdt else 0)
    fw_hash, changed = integrity.check()  # the files on flash, hashed now
    gc.collect()
    kiosk = Kiosk(cfg["kiosk_id"], journal, hw.make_reader(pm), hw.make_feedback(pm, clock), clock,
                  poll_ms=cfg.get("poll_ms", 50), config=config, badges=badges, port=port,
                  sender_window=cfg.get("inflight"), cursor_persist_ms=cfg.get("cursor_persist_ms", CURSOR_PERSIST_MS),
                  firmware_hash=fw_hash or (fsutil.read(FIRMWARE_HASH_FILE, b"") or b"").decode().strip() or None)
    kiosk.crash = crashlog.read(port.crash_path)
    if changed:
        kiosk.note(f"integrity: {len(changed)} installed files differ from noxus_manifest.json: "
                   + " ".join(changed[:5]))
    return kiosk, wifi


def loop(kiosk, wifi, cfg, done=None):
    broker = cfg["broker"]
    next_ntp = None
    link_refused = False  # a broker section that cannot give a verified link
    trace = cfg.get("trace_heap")
    taps = -1
    acked = -1  # the cursor at start is traced too
    saved = -1
    linked = False
    read_low = [0]  # trace: the lowest heap at a socket read while connecting
    if trace:
        def sample_read():
            gc.collect()
            f = gc.mem_free()
            if not read_low[0] or f < read_low[0]:
                read_low[0] = f

        hw.on_socket_read(sample_read)
    while done is None or not done(kiosk):
        start = ticks_ms()
        if trace and kiosk.taps != taps:
            if taps < 0 or kiosk.taps % trace == 0:
                gc.collect()
                j = kiosk.journal
                print(f"NX boot {j.boot} seq {j.last_seq} mem_free {gc.mem_free()} mem_alloc {gc.mem_alloc()}"
                      if taps < 0
                      else f"NX taps {kiosk.taps} mem_free {gc.mem_free()} merges_on_tap {j.merges_on_tap}")
            taps = kiosk.taps
        if trace and kiosk.link is not None and kiosk.link.up() != linked:
            linked = not linked  # each (re)connect is traced
            if linked:
                hw.on_socket_read(None)  # not on every read of a connected link
                gc.collect()
                print(f"NX link mem_free {gc.mem_free()}" + (f" read_low {read_low[0]}" if read_low[0] else ""))
            else:
                read_low[0] = 0
                hw.on_socket_read(sample_read)
        if trace and kiosk.journal.acked != acked:
            acked = kiosk.journal.acked
            print(f"NX acked {acked}")
        if trace and kiosk.journal.saved_acked != saved:
            saved = kiosk.journal.saved_acked
            print(f"NX saved {saved}")
        if wifi.poll(start):
            next_ntp = start  # joined (again): set the clock first
            if kiosk.link is None and not link_refused:
                # The TLS handshake runs on the link's first polls, after the NTP
                # sync below (mbedTLS checks the certificate's dates on the RTC).
                from firmware.core import mqtt_link
                gc.collect()
                try:
                    link = mqtt_link.from_config(kiosk.kiosk_id, broker, on_error=kiosk.note)
                except ValueError as e:  # tls.TlsConfigError: keep journaling offline
                    link_refused = True
                    kiosk.note("mqtt: " + str(e))
                else:
                    kiosk.attach(link)
        if (wifi.up and next_ntp is not None and ticks_diff(start, next_ntp) >= 0
                and kiosk.presence.current is None):
            try:
                hw.sync_ntp(kiosk.clock, cfg.get("ntp_host"))
                next_ntp = ticks_add(start, hw.NTP_EVERY_MS)
            except Exception:  # no answer: try again in a minute
                next_ntp = ticks_add(start, hw.NTP_RETRY_MS)
        kiosk.step(start)
        spent = ticks_diff(ticks_ms(), start)
        if spent < kiosk.poll_ms:
            sleep_ms(kiosk.poll_ms - spent)


def claim_first(path, claim_path=CLAIM_FILE):
    """No kiosk.json yet but a claim.json: join the network, set the clock (mbedTLS
    checks the API certificate's dates), show the code (display, or the blink pattern
    and the serial console), claim the credentials, store kiosk.json, reset."""
    if fsutil.exists(path) or not fsutil.exists(claim_path):
        return
    import binascii

    from firmware.core import claim
    with open(claim_path) as f:
        extra = json.load(f)
    wifi_cfg = {"wifi": extra.get("wifi"), "ethernet": extra.get("ethernet")}
    extra = extra.get("config") or {}
    pm = hw.load_pinmap(extra.get("pinmap", "hardware/pinmap.json"), extra.get("board"))
    clock = Clock(hw.utc_seconds, hw.set_rtc)
    feedback = hw.make_feedback(pm, clock)
    show, blink = claim.show_on(feedback)
    wifi = hw.make_network(pm, wifi_cfg)
    uid = binascii.hexlify(machine.unique_id()).decode().upper()
    c = claim.Claimer(claim_path, path, uid, "pico-w", show=show,
                      note=lambda line: crashlog.note("crash.log", line))  # prints it too
    ntp = [None]  # when to try NTP next; None: not joined yet

    def tick(now):
        if blink is not None:
            blink(now)
        if wifi.poll(now):
            ntp[0] = now
        if wifi.up and ntp[0] is not None and ntp[0] is not True and ticks_diff(now, ntp[0]) >= 0:
            try:
                hw.sync_ntp(clock, extra.get("ntp_host"))
                ntp[0] = True
            except Exception:  # no answer: the certificate's dates cannot be checked yet
                ntp[0] = ticks_add(now, hw.NTP_RETRY_MS)

    claim.run_blocking(c, tick, lambda now: wifi.up and ntp[0] is True)
    feedback.green.value(0)
    # Restart into the kiosk with a fresh heap: the claim's TLS session and HTTP
    # buffers leave it too fragmented for the MQTT client on the smallest heap.
    print("claim: restarting with kiosk.json")
    machine.reset()


def run(path="kiosk.json", done=None, wdt=True):
    try:
        claim_first(path)
    except ValueError as e:  # claim.ClaimError: claim.json cannot work; say why, then retry
        crashlog.note("crash.log", str(e))
        sleep_ms(CLAIM_CONFIG_RETRY_MS)
        machine.reset()
    with open(path) as f:
        cfg = json.load(f)
    kiosk = None
    ballast = bytearray(cfg["heap_ballast"]) if cfg.get("heap_ballast") else None  # noqa: F841
    try:
        kiosk, wifi = build(cfg, wdt)
        loop(kiosk, wifi, cfg, done)
    except Exception as e:
        up = kiosk.clock.uptime_ms() if kiosk is not None else 0
        crashlog.record("crash.log", e, up)
        machine.reset()
    return kiosk


if __name__ == "__main__":
    run()
