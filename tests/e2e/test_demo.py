"""`make run` in miniature: `noxus demo` brings up broker, API, worker and
MicroPython kiosks whose punches show on the web page; Ctrl-C stops it all."""

import os
import pathlib
import signal
import subprocess
import sys
import time

import httpx
import pytest

from devstack.broker import free_port

pytestmark = pytest.mark.slow


def _punches(port: int, token_file) -> list[dict]:
    try:
        auth = {"Authorization": "Bearer " + token_file.read_text().strip()}
        got = httpx.get(f"http://127.0.0.1:{port}/api/v1/punches?limit=100", headers=auth)
    except (httpx.HTTPError, OSError):
        return []
    return got.json() if got.status_code == 200 else []


def test_demo_shows_punches_from_simulated_kiosks_and_stops_on_ctrl_c(tmp_path):
    port = free_port()
    var = tmp_path / "var"
    # Its own process group, so that whatever happens no child outlives the test.
    # Output to a file, not a pipe: the test waits for the demo to exit, not for every
    # process that may have inherited its stdout to close it.
    log = tmp_path / "demo.log"
    with log.open("w") as sink:  # the demo keeps its own copy of the descriptor
        proc = subprocess.Popen(
            [sys.executable, "-m", "devstack.demo", "--port", str(port), "--var", str(var)],
            cwd=pathlib.Path(__file__).resolve().parents[2],
            stdout=sink,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 300  # a safety net: the loop ends when all three punched
        punches: list[dict] = []
        while time.monotonic() < deadline and len({p["kiosk_id"] for p in punches}) < 3:
            time.sleep(1)
            punches = _punches(port, var / "demo-token.txt")
        assert {p["kiosk_id"] for p in punches} == {"DEMO-1", "DEMO-2", "DEMO-3"}
        auth = {"Authorization": "Bearer " + (var / "demo-token.txt").read_text().strip()}
        page = httpx.get(f"http://127.0.0.1:{port}/", headers=auth).text
        assert "DEMO-1" in page and punches[0]["badge_uid"] in page
        customers = httpx.get(f"http://127.0.0.1:{port}/customers", headers=auth).text
        assert "Menuiserie du Léman" in customers and "Bäckerei Aare" in customers

        proc.send_signal(signal.SIGINT)  # what Ctrl-C in `make run` does
        # the demo gives each of its processes 10 s to stop: generous on a loaded machine
        proc.wait(timeout=180)
        out = log.read_text()
        assert proc.returncode == 0, out
        assert "stopped." in out
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(10)
