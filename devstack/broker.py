"""A private Mosquitto for `make run` and the tests: its own port, config and
persistence folder. The real broker, never an in-process stand-in."""

import pathlib
import shutil
import socket
import subprocess
import time
from typing import Self

# Same durability settings as deploy/mosquitto/mosquitto.conf, on one port.
CONF = """\
listener {port} 127.0.0.1
allow_anonymous true
persistence true
persistence_location {data}/
autosave_on_changes true
autosave_interval {autosave}
max_queued_messages 100000
max_inflight_messages 1000
user root
log_dest file {data}/mosquitto.log
log_type error
log_type warning
log_type notice
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


class Mosquitto:
    def __init__(
        self, data_dir: pathlib.Path, port: int | None = None, autosave: int = 100, extra_conf: str = ""
    ):
        # autosave every 100 changes, as in production: saving on every change
        # cut raw QoS 1 throughput to ~72 msg/s (bench/). A broker crash loses
        # at most the unsaved queue, which the kiosks' journals resend.
        self.exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not pathlib.Path(self.exe).exists():
            raise RuntimeError("mosquitto is not installed: apt-get install mosquitto (make run does it)")
        self.data = pathlib.Path(data_dir)
        self.data.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.autosave = autosave
        self.extra_conf = extra_conf  # more listeners (a TLS one for the firmware's TLS tests)
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Mosquitto":
        conf = self.data / "mosquitto.conf"
        conf.write_text(CONF.format(port=self.port, data=self.data, autosave=self.autosave) + self.extra_conf)
        self.proc = subprocess.Popen(
            [self.exe, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_port(self.port)
        return self

    def stop(self, kill: bool = False) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill() if kill else self.proc.terminate()
            self.proc.wait(10)
        self.proc = None

    def restart(self, kill: bool = False) -> None:
        self.stop(kill)
        self.start()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
