"""The Raspberry Pi port (firmware/ports/pi) started under its simulator: the
real port code on CPython with fake spidev and RPi.GPIO, the fake MFRC522 at
SPI level and a scripted badge field, against a real Mosquitto and a stub
backend."""

import json
import os
import shutil
import subprocess
import sys

import pytest
from mphelp import HERE, REPO
from stub_backend import StubBackend


@pytest.fixture
def backend(broker):
    b = StubBackend(broker.port)
    yield b
    b.close()


def test_pi_port_reads_badges_journals_and_drains_through_mqtt(tmp_path, broker, backend):
    (tmp_path / "hardware").mkdir()
    shutil.copy(REPO / "hardware" / "pinmap.json", tmp_path / "hardware" / "pinmap.json")
    (tmp_path / "kiosk.json").write_text(
        json.dumps(
            {
                "kiosk_id": "R1",
                "data_dir": str(tmp_path / "data"),
                "poll_ms": 0,
                "broker": {"host": "127.0.0.1", "port": broker.port, "tls": False},
            }
        )
    )
    (tmp_path / "sim.json").write_text(json.dumps({"taps": 30, "offline_taps": 0, "uid_len": 7}))
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(str(p) for p in (REPO, HERE / "pisim", HERE / "picosim", HERE)),
    }
    proc = subprocess.run(
        [sys.executable, str(HERE / "pisim" / "run_pi.py")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    done = [line for line in proc.stdout.splitlines() if line.startswith("DONE ")]
    assert done, proc.stdout[-3000:] + proc.stderr[-3000:]
    res = json.loads(done[0][5:])
    assert res == {"taps": 30, "last_seq": 30, "acked": 30, "reader_errors": 0}
    got = sorted(seq for (k, seq) in backend.punches if k == "R1")
    assert got == list(range(1, 31))
    assert all(len(p["uid"]) == 14 for p in backend.punches.values())
    assert "boot 1, 0 punches waiting" in proc.stdout
