"""What the technician sees when things go wrong: Ctrl-C, a wrong board, no board."""

import os
import signal
import subprocess
import sys
import time

from noxus_provision.cli import app
from typer.testing import CliRunner

CLI = [sys.executable, "-c", "from noxus_provision.cli import main; main()"]


def test_ctrl_c_mid_install_says_rerun_and_the_rerun_completes(simboard):
    proc = subprocess.Popen(
        [*CLI, "install", "--device", simboard.device, "--port", "sim"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    core = simboard.root / "firmware" / "core"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(list(core.glob("*.py"))) < 3:
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 130, out
    assert "interrupted" in out and "rerun the same command" in out
    assert "Traceback" not in out

    rerun = CliRunner().invoke(app, ["install", "--device", simboard.device, "--port", "sim"])
    assert rerun.exit_code == 0, rerun.output
    assert "verified by hash" in rerun.output
    assert not list(simboard.root.rglob("*.part")) or "written" in rerun.output


def enroll_offline(simboard, port: str, *more: str):
    """`noxus-provision enroll` against an API nobody listens on: what fails must fail before it."""
    return CliRunner().invoke(
        app,
        ["enroll", "--device", simboard.device, "--port", port, "--site", "1", "--skip-install", *more],
        env={"NOXUS_API": "http://127.0.0.1:9", "NOXUS_TOKEN": "x"},
    )


def test_a_board_of_the_wrong_kind_is_named(simboard):
    r = enroll_offline(simboard, "pico")
    assert r.exit_code == 4, r.output
    assert "not 'rp2'" in r.output and "Pico W" in r.output


def test_an_uninstalled_board_is_sent_to_install_first(simboard):
    r = enroll_offline(simboard, "sim")
    assert r.exit_code == 1, r.output
    assert "no NoxusTime firmware yet" in r.output and "noxus-provision install" in r.output


def test_expect_uid_refuses_another_board(simboard):
    r = enroll_offline(simboard, "sim", "--expect-uid", "0000000000000001")
    assert r.exit_code == 4 and "plug in the right board" in r.output


def test_a_broker_that_is_not_host_or_host_port_is_refused_before_the_board_is_touched(simboard):
    r = enroll_offline(simboard, "sim", "--broker", "mq1.example:8883", "--broker", "mq2.example:mqtt")
    assert r.exit_code == 1, r.output
    assert "'mq2.example:mqtt' is not HOST or HOST:PORT" in r.output and "once per node" in r.output
    assert "no NoxusTime firmware yet" not in r.output  # refused before the board was read


def test_a_missing_device_path_is_a_clear_error(tmp_path):
    r = CliRunner().invoke(app, ["install", "--device", str(tmp_path / "ttyACM9"), "--port", "sim"])
    assert r.exit_code == 1
    assert "cannot open" in r.output and "noxus-provision list" in r.output


def test_claim_prepare_for_an_https_api_asks_for_the_ca_the_kiosk_pins():
    r = CliRunner().invoke(
        app,
        ["claim", "prepare", "--device", "/dev/null", "--port", "sim"],
        env={"NOXUS_API": "https://noxus.example.ch"},
    )
    assert r.exit_code != 0, r.output
    assert "--api-ca" in r.output and "pins the CA" in r.output
