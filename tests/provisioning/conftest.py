"""Fixtures for provisioning: simulated boards (real MicroPython behind a pty)."""

import os
import pathlib
import signal
import subprocess
import sys

import pytest


class SimBoardProc:
    """`python -m noxus_provision.simboard` as a process: killing it unplugs the cable."""

    def __init__(self, root: pathlib.Path, uid: str):
        self.root, self.uid = root, uid
        self.proc: subprocess.Popen | None = None
        self.device = ""

    def plug(self) -> "SimBoardProc":
        self.proc = subprocess.Popen([sys.executable, "-m", "noxus_provision.simboard", str(self.root),
                                      "--uid", self.uid], stdout=subprocess.PIPE, text=True,
                                     start_new_session=True)
        self.device = self.proc.stdout.readline().strip()
        assert self.device.startswith("/dev/"), self.device
        return self

    def unplug(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)  # the relay and its MicroPython, at once
            self.proc.wait(10)
        self.proc = None


@pytest.fixture
def simboard(tmp_path):
    """A blank simulated Pico W (MicroPython already flashed, empty filesystem)."""
    b = SimBoardProc(tmp_path / "board", "E6614103E7452D2F").plug()
    yield b
    b.unplug()


@pytest.fixture
def make_board(tmp_path):
    boards = []

    def make(name: str, uid: str) -> SimBoardProc:
        b = SimBoardProc(tmp_path / name, uid).plug()
        boards.append(b)
        return b

    yield make
    for b in boards:
        b.unplug()
