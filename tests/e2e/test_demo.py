"""`make run` in miniature: `noxus demo` brings up broker, API, worker and
MicroPython kiosks whose punches show on the web page; Ctrl-C stops it all."""

import signal
import subprocess
import sys
import time

import httpx
import pytest

from noxus.devstack.broker import free_port

pytestmark = pytest.mark.slow


def test_demo_shows_punches_from_simulated_kiosks_and_stops_on_ctrl_c(tmp_path):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "noxus.cli", "demo", "--port", str(port),
                             "--var", str(tmp_path / "var")],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 90
        punches = []
        while time.monotonic() < deadline and len({p["kiosk_id"] for p in punches}) < 3:
            time.sleep(1)
            try:
                auth = {"Authorization": "Bearer " + (tmp_path / "var" / "demo-token.txt").read_text().strip()}
                punches = httpx.get(f"http://127.0.0.1:{port}/api/v1/punches?limit=100", headers=auth).json()
            except (httpx.HTTPError, OSError):
                continue
        assert {p["kiosk_id"] for p in punches} == {"DEMO-1", "DEMO-2", "DEMO-3"}
        page = httpx.get(f"http://127.0.0.1:{port}/", headers=auth).text
        assert "DEMO-1" in page and punches[0]["badge_uid"] in page
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    assert "stopped." in out
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
