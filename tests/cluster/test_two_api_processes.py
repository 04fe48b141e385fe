"""The API is stateless: web sessions, API tokens, log-in attempts and
lock-outs live in the database, so any of several `noxus api` processes on
one PostgreSQL serves any request. Log in on one process, use the session and
the token on the other, sign out on the second: the first refuses it too."""

import os
import re
import subprocess
import sys

import httpx
import pytest
from noxus.core import accounts
from noxus.core.db import make_engine
from noxus.core.users import UserCreate
from sqlmodel import Session

from devstack.broker import free_port
from tests.cluster.harness import wait_for

pytestmark = pytest.mark.slow

PASSWORD = "two-processes-password-1"


class Api:
    def __init__(self, tmp, db_url, n):
        self.port = free_port()
        self.log = tmp / f"api-{n}.log"
        env = {**os.environ, "NOXUS_DATABASE_URL": db_url, "NOXUS_COOKIE_SECURE": "false"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "noxus.cli", "api", "--port", str(self.port)],
            env=env,
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        self.url = f"http://127.0.0.1:{self.port}"

    def ready(self) -> bool:
        assert self.proc.poll() is None, self.log.read_text()
        try:
            return httpx.get(self.url + "/healthz", timeout=2).status_code < 500
        except httpx.HTTPError:
            return False

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def test_a_session_and_a_token_made_by_one_api_process_work_on_another_and_a_logout_ends_both(
    tmp_path, pg_url
):
    engine = make_engine(pg_url)
    with Session(engine) as s:
        accounts.create_user(s, UserCreate(username="ops", full_name="Ops", role="admin", password=PASSWORD))
        s.commit()
    engine.dispose()
    a, b = Api(tmp_path, pg_url, 1), Api(tmp_path, pg_url, 2)
    try:
        wait_for(
            lambda: a.ready() and b.ready(),
            120,
            "both API processes answer",
            lambda: a.log.read_text()[-2000:] + b.log.read_text()[-2000:],
        )
        # A bearer token minted by process A is known to B.
        token = httpx.post(
            a.url + "/api/v1/auth/login", json={"username": "ops", "password": PASSWORD}
        ).json()
        me = httpx.get(b.url + "/api/v1/auth/me", headers={"Authorization": "Bearer " + token["token"]})
        assert me.status_code == 200 and me.json()["username"] == "ops"

        # A web session opened on A is a session on B.
        with httpx.Client(base_url=a.url) as on_a, httpx.Client(base_url=b.url) as on_b:
            r = on_a.post("/login", data={"username": "ops", "password": PASSWORD, "next": "/"})
            assert r.status_code == 303, r.text
            on_b.cookies = on_a.cookies
            page = on_b.get("/logout")
            assert page.status_code == 200
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
            assert csrf, page.text[:2000]
            # Signed out on B: A refuses the same cookie (no process keeps a session of its own).
            out = on_b.post("/logout", data={"csrf_token": csrf.group(1)})
            assert out.status_code == 303
            assert on_a.get("/api/v1/auth/me").status_code == 401
    finally:
        a.stop()
        b.stop()
