"""A PostgreSQL server of the test's own (initdb + pg_ctl on a free port), to
stop and start again mid-run. As root it runs as the `postgres` user."""

import os
import pathlib
import pwd
import shutil
import subprocess
import tempfile

from noxus.devstack.broker import free_port, wait_port

BIN_DIRS = ("/usr/lib/postgresql/17/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/15/bin",
            "/usr/local/bin", "/usr/bin")


def pg_bin(name: str) -> str | None:
    for d in BIN_DIRS:
        p = pathlib.Path(d) / name
        if p.exists():
            return str(p)
    return shutil.which(name)


class PrivatePostgres:
    def __init__(self):
        self.initdb, self.pg_ctl = pg_bin("initdb"), pg_bin("pg_ctl")
        if not (self.initdb and self.pg_ctl):
            raise RuntimeError("initdb/pg_ctl not found: apt-get install postgresql")
        self.root = pathlib.Path(tempfile.mkdtemp(prefix="noxus-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.as_user: list[str] = []
        if os.geteuid() == 0:  # postgres refuses to run as root
            pw = pwd.getpwnam("postgres")
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        subprocess.run([*self.as_user, *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def init(self) -> "PrivatePostgres":
        self._run(self.initdb, "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync",
                  "-E", "UTF8", "--locale=C")
        return self

    def start(self) -> None:
        opts = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c max_connections=60"
        self._run(self.pg_ctl, "-D", str(self.data), "-l", str(self.root / "pg.log"), "-o", opts, "-w",
                  "-t", "30", "start")
        wait_port(self.port, 30)

    def stop(self, mode: str = "fast") -> None:
        """mode "immediate" is a crash: no shutdown checkpoint, WAL replay on start."""
        self._run(self.pg_ctl, "-D", str(self.data), "-m", mode, "-w", "stop")

    def destroy(self) -> None:
        try:
            self.stop("immediate")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.root, ignore_errors=True)
