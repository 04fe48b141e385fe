"""Raspberry Pi kiosk (CPython), run by systemd (noxus-kiosk.service):

    python -m firmware.ports.pi.main /etc/noxus/kiosk.json

kiosk.json: {"kiosk_id": "K1", "data_dir": "/var/lib/noxus-kiosk",
  "broker": {"host": "...", "port": 8883, "tls": true, "ca_file": "/etc/noxus/ca.pem",
             "username": "...", "password": "..."},
  (several brokers: "nodes": [{"host": ..., "port": ...}, ...] instead of "host",
   docs/protocol.md "Kiosk configuration")
  "pinmap": "/opt/noxus/hardware/pinmap.json", "poll_ms": 50, "max_records": 1000000}
The OS keeps the clock (systemd-timesyncd) and the network; the core does the
rest, exactly as on a Pico. An uncaught exception is logged to crash.log and the
process exits non-zero: systemd restarts it and the next birth reports it."""

import json
import os
import sys

from firmware.core import mqtt_link
from firmware.core.clock import Clock
from firmware.core.fleet import crashlog
from firmware.core.fleet.config import ConfigStore
from firmware.core.journal import Journal
from firmware.core.kiosk import CURSOR_PERSIST_MS, FIRMWARE_VERSION, Kiosk
from firmware.core.ui.badges import BadgeList
from firmware.ports.pi import hw

MAX_RECORDS = 1000000  # an SD card holds far more; this bounds the backlog a backend must take


def build(cfg):
    data = cfg["data_dir"]
    os.makedirs(data, exist_ok=True)
    pm = hw.load_pinmap(cfg.get("pinmap", "hardware/pinmap.json"))
    g = hw.gpio()
    clock = Clock()
    journal = Journal(os.path.join(data, "journal"), max_records=cfg.get("max_records", MAX_RECORDS)).open()
    port = hw.PiPort(data, cfg.get("iface", "wlan0"))
    kiosk = Kiosk(cfg["kiosk_id"], journal, hw.make_reader(pm, g), hw.make_feedback(pm, g, clock), clock,
                  poll_ms=cfg.get("poll_ms", 50), config=ConfigStore(os.path.join(data, "config")),
                  badges=BadgeList(os.path.join(data, "config", "badges.bin")), port=port,
                  firmware_hash=cfg.get("firmware_hash"), sender_window=cfg.get("inflight", 4),  # CPython: heap to spare
                  cursor_persist_ms=cfg.get("cursor_persist_ms", CURSOR_PERSIST_MS))
    kiosk.crash = crashlog.read(port.crash_path)
    try:
        link = mqtt_link.from_config(kiosk.kiosk_id, cfg["broker"], on_error=kiosk.note)
    except ValueError as e:  # tls.TlsConfigError: keep journaling offline, say why
        kiosk.note("mqtt: " + str(e))
    else:
        kiosk.attach(link)
    port.wdt.notify("READY=1")
    return kiosk, port


def board_uid():
    """The Pi's serial number, as noxus-provision pi reads it."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "Serial" and value.strip().strip("0"):
                    return value.strip().upper()
    except OSError:
        pass
    try:
        with open("/sys/firmware/devicetree/base/serial-number", "rb") as f:
            return f.read().strip(b"\0").strip().decode().upper() or None
    except OSError:
        return None


def claim_first(path):
    """No kiosk.json but a claim.json beside it: show the code (display or blink, and
    the service's journal), claim the credentials over HTTPS, store kiosk.json
    (firmware/core/claim.py). systemd hears READY and the watchdog meanwhile."""
    claim_path = os.path.join(os.path.dirname(path) or ".", "claim.json")
    if os.path.exists(path) or not os.path.exists(claim_path):
        return
    from firmware.core import claim

    with open(claim_path) as f:
        extra = json.load(f).get("config") or {}
    show = blink = None
    try:
        feedback = hw.make_feedback(hw.load_pinmap(extra.get("pinmap", "hardware/pinmap.json")), hw.gpio(), Clock())
        show, blink = claim.show_on(feedback)
    except (ImportError, OSError, KeyError, RuntimeError):  # no GPIO here: the journal shows the code
        pass
    wdt = hw.SystemdWatchdog()
    wdt.notify("READY=1")

    def tick(now):
        wdt.feed()
        if blink is not None:
            blink(now)

    crash = os.path.join(extra.get("data_dir", "/var/lib/noxus-kiosk"), "crash.log")
    claim.run_blocking(claim.Claimer(claim_path, path, board_uid(), "pi",
                                     out=lambda line: print(line, flush=True), show=show,
                                     note=lambda line: crashlog.note(crash, line)), tick)


def run(path, done=None):
    claim_first(path)
    with open(path) as f:
        cfg = json.load(f)
    kiosk = port = None
    try:
        kiosk, port = build(cfg)
        print(f"noxus kiosk {cfg['kiosk_id']} {FIRMWARE_VERSION}: boot {kiosk.journal.boot}, "
              f"{kiosk.journal.pending()} punches waiting", flush=True)
        kiosk.run(None if done is None else (lambda: done(kiosk)))
    except Exception as e:
        crash = port.crash_path if port is not None else os.path.join(cfg.get("data_dir", "."), "crash.log")
        crashlog.record(crash, e, kiosk.clock.uptime_ms() if kiosk is not None else 0)
        raise
    return kiosk


if __name__ == "__main__":
    run(sys.argv[1] if len(sys.argv) > 1 else "/etc/noxus/kiosk.json")
