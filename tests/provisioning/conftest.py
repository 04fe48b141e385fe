"""Fixtures for provisioning: simulated boards (real MicroPython behind a pty)."""

import datetime as _dt
import os
import pathlib
import shutil
import signal
import subprocess
import sys

import pytest
from noxus.fleet.enrollment_mqtt import PasswordFile

from devstack.broker import Mosquitto, free_port, wait_port
from tests.support.server import uvicorn_command


class SimBoardProc:
    """`python -m noxus_provision.simboard` as a process: killing it unplugs the cable."""

    def __init__(self, root: pathlib.Path, uid: str):
        self.root, self.uid = root, uid
        self.proc: subprocess.Popen | None = None
        self.device = ""

    def plug(self) -> "SimBoardProc":
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "noxus_provision.simboard", str(self.root), "--uid", self.uid],
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
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


# --- a broker with accounts and the production ACL, and the backend under uvicorn -------------

REPO = pathlib.Path(__file__).resolve().parents[2]
BACKEND_USER, BACKEND_PASSWORD = "noxus-backend", "backend-test-password"

ACL_CONF = """\
listener {port} 127.0.0.1
allow_anonymous false
password_file {data}/noxus.passwd
acl_file {data}/noxus.acl
persistence false
user root
log_dest file {data}/mosquitto.log
"""


class AclMosquitto(Mosquitto):
    """Mosquitto with a password file and deploy/mosquitto/noxus.acl, as in production."""

    @property
    def passwd(self) -> pathlib.Path:
        return self.data / "noxus.passwd"

    def start(self) -> "AclMosquitto":
        shutil.copy(REPO / "deploy" / "mosquitto" / "noxus.acl", self.data / "noxus.acl")
        if not self.passwd.exists():
            PasswordFile(self.passwd).set(BACKEND_USER, BACKEND_PASSWORD)
        conf = self.data / "mosquitto.conf"
        conf.write_text(ACL_CONF.format(port=self.port, data=self.data) + self.extra_conf)
        self.proc = subprocess.Popen(
            [self.exe, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_port(self.port)
        return self


class BackendProc:
    """ssl: (certfile, keyfile) serves the API over HTTPS; env: more settings."""

    def __init__(
        self,
        tmp: pathlib.Path,
        broker: AclMosquitto,
        ssl: tuple[pathlib.Path, pathlib.Path] | None = None,
        env: dict[str, str] | None = None,
    ):
        from noxus.core import accounts
        from noxus.core.db import make_engine
        from noxus.core.migrate import upgrade
        from noxus.core.users import UserCreate
        from noxus.hr.models import Employee
        from noxus.tenancy.models import Customer, Site
        from sqlmodel import Session

        self.broker = broker
        self.db_url = f"sqlite:///{tmp / 'noxus.db'}"
        upgrade(self.db_url)
        self.engine = make_engine(self.db_url)
        with Session(self.engine) as s:
            a, b = Customer(name="Boulangerie A"), Customer(name="Garage B")
            s.add_all([a, b])
            s.flush()
            sa, sa2, sb = (
                Site(customer_id=a.id, name="Atelier"),
                Site(customer_id=a.id, name="Magasin"),
                Site(customer_id=b.id, name="Garage"),
            )
            s.add_all([sa, sa2, sb])
            s.flush()
            emp = Employee(
                customer_id=a.id,
                first_name="Léa",
                last_name="Muller",
                personnel_number="17",
                active_from=_dt.date(2026, 1, 1),
            )
            s.add(emp)
            tech = accounts.create_user(s, UserCreate(username="tech", role="technician"))
            admin = accounts.create_user(s, UserCreate(username="admin", role="admin"))
            _, self.token = accounts.create_token(s, tech, "test")
            _, self.admin_token = accounts.create_token(s, admin, "test")
            s.commit()
            self.customer_a, self.customer_b = a.id, b.id
            self.site_a, self.site_a2, self.site_b = sa.id, sa2.id, sb.id
            self.employee = emp.id
        port = free_port()
        self.url = f"{'https' if ssl else 'http'}://127.0.0.1:{port}"
        extra = env or {}
        env = {
            **os.environ,
            "NOXUS_DATABASE_URL": self.db_url,
            "NOXUS_MQTT_HOST": "127.0.0.1",
            "NOXUS_MQTT_PORT": str(broker.port),
            "NOXUS_MQTT_USERNAME": BACKEND_USER,
            "NOXUS_MQTT_PASSWORD": BACKEND_PASSWORD,
            "NOXUS_MQTT_PASSWORD_FILE": str(broker.passwd),
            "NOXUS_MQTT_RELOAD_COMMAND": f"kill -HUP {broker.proc.pid}",
            "NOXUS_KIOSK_MQTT_HOST": "127.0.0.1",
            "NOXUS_KIOSK_MQTT_PORT": str(broker.port),
            **extra,
        }
        tls_args = ["--ssl-certfile", str(ssl[0]), "--ssl-keyfile", str(ssl[1])] if ssl else []
        self.proc = subprocess.Popen(
            uvicorn_command(port, *tls_args),
            env=env,
            cwd=tmp,
        )
        wait_port(port, 30)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)
        self.engine.dispose()


@pytest.fixture(scope="module")
def acl_broker(tmp_path_factory):
    with AclMosquitto(tmp_path_factory.mktemp("acl-mosquitto")) as b:
        yield b


@pytest.fixture(scope="module")
def backend(tmp_path_factory, acl_broker):
    """The real app under uvicorn on a migrated SQLite database, minting into acl_broker."""
    b = BackendProc(tmp_path_factory.mktemp("backend"), acl_broker)
    yield b
    b.stop()
