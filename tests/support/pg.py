"""PostgreSQL for tests and benchmarks.

`admin_url()` is the machine's server when it accepts a password-less connection
(postgres@127.0.0.1:5432/test by default, or the URL in NOXUS_TEST_PG), and
otherwise a private server of this process's own (initdb + pg_ctl on a free port,
stopped at exit), so the PostgreSQL half of the suite never skips on a stock
machine. `scratch_database()` creates a database on it (optionally copied from a
template or migrated) and drops it afterwards: the one place that does so.

`PrivatePostgres` is also what tests use to stop and start a server mid-run.
As root it runs as the `postgres` user (PostgreSQL refuses to run as root)."""

import atexit
import contextlib
import os
import pathlib
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator

from sqlalchemy import create_engine, text

from devstack.broker import free_port, wait_port

DEFAULT_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BIN_DIRS = (
    *sorted(map(str, pathlib.Path("/usr/lib/postgresql").glob("*/bin")), reverse=True),
    "/usr/local/bin",
    "/usr/bin",
)


def pg_bin(name: str) -> str | None:
    for d in BIN_DIRS:
        p = pathlib.Path(d) / name
        if p.exists():
            return str(p)
    return shutil.which(name)


class PrivatePostgres:
    def __init__(self, max_connections: int = 60, durable: bool = True):
        self.initdb, self.pg_ctl = pg_bin("initdb"), pg_bin("pg_ctl")
        if not (self.initdb and self.pg_ctl):
            raise RuntimeError("initdb/pg_ctl not found: apt-get install postgresql")
        self.root = pathlib.Path(tempfile.mkdtemp(prefix="noxus-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.max_connections = max_connections
        self.durable = durable  # False: no fsync (a scratch server for a test run)
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
        self._run(
            self.initdb,
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale=C",
        )
        return self

    def start(self) -> None:
        opts = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
            f"-c max_connections={self.max_connections}"
        )
        if not self.durable:
            opts += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._run(
            self.pg_ctl,
            "-D",
            str(self.data),
            "-l",
            str(self.root / "pg.log"),
            "-o",
            opts,
            "-w",
            "-t",
            "60",
            "start",
        )
        wait_port(self.port, 60)

    def stop(self, mode: str = "fast") -> None:
        """mode "immediate" is a crash: no shutdown checkpoint, WAL replay on start."""
        self._run(self.pg_ctl, "-D", str(self.data), "-m", mode, "-w", "stop")

    def destroy(self) -> None:
        try:
            self.stop("immediate")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.root, ignore_errors=True)


def unreachable(url: str) -> str | None:
    """None when `url` accepts a connection, else why not (first line of the error)."""
    try:
        eng = create_engine(url, connect_args={"connect_timeout": 3})
        try:
            with eng.connect() as c:
                c.execute(text("SELECT 1"))
        finally:
            eng.dispose()
        return None
    except Exception as e:  # noqa: BLE001  any failure means: not this server
        return str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__


_private: list[PrivatePostgres] = []
_resolved: dict[str, str] = {}
notes: list[str] = []  # what admin_url() decided, for the test run's summary


def admin_url(env_var: str = "NOXUS_TEST_PG") -> str:
    """An admin URL of a PostgreSQL server that accepts us: the configured one
    if it answers, else a private server started once per process."""
    if env_var in _resolved:
        return _resolved[env_var]
    url = os.environ.get(env_var) or DEFAULT_ADMIN_URL
    why = unreachable(url)
    if why is not None:
        if not _private:
            if pg_bin("initdb") is None:
                raise RuntimeError(
                    f"PostgreSQL at {url} does not answer ({why}) and initdb is not installed "
                    "to start a private one: apt-get install postgresql, or set " + env_var
                )
            server = PrivatePostgres(max_connections=200, durable=False).init()
            server.start()
            atexit.register(server.destroy)
            _private.append(server)
        notes.append(
            f"PostgreSQL at {url} does not answer ({why}): using a private server on port {_private[0].port}"
        )
        url = _private[0].url
    _resolved[env_var] = url
    return url


def database_url(admin: str, name: str) -> str:
    return admin.rsplit("/", 1)[0] + "/" + name


def create_database(admin: str, prefix: str = "noxus_t_", template: str | None = None) -> str:
    """Create an empty database (or a copy of `template`) on the server; -> its URL."""
    name = prefix + uuid.uuid4().hex[:10]
    eng = create_engine(admin, isolation_level="AUTOCOMMIT")
    try:
        with eng.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
    finally:
        eng.dispose()
    return database_url(admin, name)


def drop_database(admin: str, url: str) -> None:
    name = url.rsplit("/", 1)[1]
    eng = create_engine(admin, isolation_level="AUTOCOMMIT")
    try:
        with eng.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        eng.dispose()


@contextlib.contextmanager
def scratch_database(
    admin: str, prefix: str = "noxus_t_", template: str | None = None, migrate: bool = False
) -> Iterator[str]:
    """A database of its own for the `with` block, dropped afterwards (also on error).
    migrate=True brings it to the latest schema with Alembic."""
    url = create_database(admin, prefix, template)
    try:
        if migrate:
            from noxus.core.migrate import upgrade

            upgrade(url)
        yield url
    finally:
        drop_database(admin, url)
