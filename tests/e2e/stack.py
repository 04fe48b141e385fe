"""A whole NoxusTime on one machine, as separate processes: a private
Mosquitto, ingest workers (`noxus ingest`) and simulated kiosks on the
MicroPython Unix port. Faults are injected by killing and restarting them."""

import json
import os
import pathlib
import signal
import subprocess
import sys
import time

from noxus.core.db import make_engine
from noxus.core.migrate import upgrade
from noxus.fleet.models import Kiosk
from sqlmodel import Session, select

from devstack.broker import Mosquitto
from devstack.kiosks import spawn, write_config


class Stack:
    def __init__(self, tmp: pathlib.Path, db_url: str, broker: Mosquitto):
        self.tmp = tmp
        self.db_url = db_url
        self.broker = broker
        self.workers: dict[str, subprocess.Popen] = {}
        self.kiosks: dict[str, subprocess.Popen] = {}
        upgrade(db_url)
        self.engine = make_engine(db_url)

    def register(self, *kiosk_ids: str) -> None:
        with Session(self.engine) as s:
            for k in kiosk_ids:
                s.add(Kiosk(id=k))
            s.commit()

    def env(self, **extra: str) -> dict:
        return {
            **os.environ,
            "NOXUS_DATABASE_URL": self.db_url,
            "NOXUS_MQTT_PORT": str(self.broker.port),
            **extra,
        }

    # -- backend ---------------------------------------------------------
    def start_worker(self, name: str = "w1") -> None:
        log = open(self.tmp / f"worker-{name}.log", "ab")
        self.workers[name] = subprocess.Popen(
            [sys.executable, "-m", "noxus.cli", "ingest"],
            env=self.env(NOXUS_INGEST_CLIENT_ID=f"noxus-ingest-{name}"),
            stdout=log,
            stderr=log,
        )

    def wait_worker_subscribed(self, name: str = "w1", timeout: float = 60) -> None:
        log = self.tmp / f"worker-{name}.log"
        self.wait_until(lambda: "subscribed to" in log.read_text(), timeout, f"worker {name} connected")

    def kill_worker(self, name: str = "w1") -> None:
        proc = self.workers.pop(name)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)

    def worker_alive(self, name: str = "w1") -> bool:
        return self.workers[name].poll() is None

    # -- kiosks ----------------------------------------------------------
    def start_kiosk(self, kiosk_id: str, no: int, online: bool = True, **sim) -> None:
        sim = {
            "taps": 500,
            "poll_ms": 2,
            "kiosk_no": no,
            "quiet": True,
            "exit_when_drained": True,
            "cooldown_ms": 0,
            **sim,
        }
        cfg = write_config(self.tmp / kiosk_id, kiosk_id, self.broker.port if online else None, **sim)
        out = open(self.tmp / f"{kiosk_id}.out", "a")
        self.kiosks[kiosk_id] = spawn(cfg, stdout=out, stderr=subprocess.STDOUT)

    def wait_kiosk(self, kiosk_id: str, timeout: float) -> dict:
        proc = self.kiosks.pop(kiosk_id)
        try:
            rc = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise AssertionError(
                f"kiosk {kiosk_id} did not drain in {timeout}s:\n{self.tail(kiosk_id)}"
            ) from None
        assert rc == 0, f"kiosk {kiosk_id} exited {rc}:\n{self.tail(kiosk_id)}"
        done = [
            ln for ln in (self.tmp / f"{kiosk_id}.out").read_text().splitlines() if ln.startswith("DONE ")
        ]
        return json.loads(done[-1][5:])

    def tail(self, kiosk_id: str) -> str:
        return "\n".join((self.tmp / f"{kiosk_id}.out").read_text().splitlines()[-15:])

    def journal_state(self, kiosk_id: str) -> dict:
        return json.loads((self.tmp / kiosk_id / "journal" / "state.json").read_text())

    # -- database --------------------------------------------------------
    def count(self, query) -> int:
        with Session(self.engine) as s:
            return s.exec(query).one()

    def wait_until(self, predicate, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.1)
        raise AssertionError(f"timed out after {timeout}s waiting for {what}")

    def rows(self, model, *cols) -> list:
        """All rows of a table, or of some of its columns (tuples, or values for one)."""
        with Session(self.engine) as s:
            if not cols:
                return list(s.exec(select(model)).all())
            if len(cols) == 1:
                return list(s.exec(select(cols[0])).all())
            return [tuple(r) for r in s.exec(select(*cols)).all()]

    def close(self) -> None:
        for proc in [*self.kiosks.values(), *self.workers.values()]:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
        self.engine.dispose()
