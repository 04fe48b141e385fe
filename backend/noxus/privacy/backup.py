"""`noxus backup` / `noxus restore` for SQLite (online backup API) and PostgreSQL (pg_dump custom
format, pg_restore). Backups are named noxus-<UTC timestamp>.<ext>; rotation deletes every backup
older than `backup_keep_days` (7: seed 001 says backups are destroyed after 7 days), judged by
the timestamp in the name, so copying files around does not make them look younger."""

from __future__ import annotations

import os
import pathlib
import re
import shutil
import sqlite3
import subprocess
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import make_url

NAME = re.compile(r"^noxus-(\d{8}T\d{6}Z)\.(sqlite3|pgdump)$")


class BackupError(RuntimeError):
    pass


def _sqlite_path(url: str) -> pathlib.Path:
    u = make_url(url)
    if not u.database or u.database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return pathlib.Path(u.database)


def _pg_args(url: str) -> tuple[list[str], dict[str, str]]:
    """libpq arguments without putting the password on the command line (it goes in PGPASSWORD)."""
    u = make_url(url)
    args = ["-h", u.host or "127.0.0.1", "-p", str(u.port or 5432), "-U", u.username or "postgres"]
    env = dict(os.environ)
    if u.password:
        env["PGPASSWORD"] = u.password
    return args + ["-d", u.database or "postgres"], env


def backup(url: str, out_dir: pathlib.Path, now: datetime | None = None) -> pathlib.Path:
    now = now or datetime.now(UTC)
    out_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(out_dir, 0o700)  # personal data: owner only
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    if url.startswith("sqlite"):
        target = out_dir / f"noxus-{stamp}.sqlite3"
        tmp = target.with_suffix(".partial")
        src = sqlite3.connect(_sqlite_path(url))
        dst = sqlite3.connect(tmp)
        try:
            src.backup(dst)  # consistent snapshot while the app keeps writing
        finally:
            dst.close()
            src.close()
    elif url.startswith("postgresql"):
        target = out_dir / f"noxus-{stamp}.pgdump"
        tmp = target.with_suffix(".partial")
        args, env = _pg_args(url)
        r = subprocess.run(
            ["pg_dump", "-Fc", "--no-owner", "-f", str(tmp), *args],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if r.returncode != 0:
            tmp.unlink(missing_ok=True)
            raise BackupError(f"pg_dump failed: {r.stderr.strip()}")
    else:
        raise BackupError(f"cannot back up {make_url(url).drivername}: only sqlite and postgresql")
    os.chmod(tmp, 0o600)
    tmp.rename(target)  # a crash never leaves a half backup under a valid name
    return target


def rotate(out_dir: pathlib.Path, keep_days: int, now: datetime | None = None) -> list[pathlib.Path]:
    """Delete backups keep_days old or older (so none ever exceeds it); returns what was deleted."""
    now = now or datetime.now(UTC)
    gone = []
    for p in sorted(out_dir.glob("noxus-*")):
        m = NAME.match(p.name)
        if not m:
            continue
        taken = datetime.strptime(m.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        if now - taken >= timedelta(days=keep_days):
            p.unlink()
            gone.append(p)
    return gone


def _integrity(db: pathlib.Path) -> str:
    """'' when SQLite's integrity check passes, else what it found."""
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            rows = [r[0] for r in con.execute("PRAGMA integrity_check").fetchall()]
        finally:
            con.close()
    except sqlite3.DatabaseError as e:
        return str(e)
    return "" if rows == ["ok"] else "; ".join(rows[:3])


def restore(path: pathlib.Path, url: str) -> None:
    """Restore into `url`, which should be a fresh (empty) database."""
    if not path.exists():
        raise BackupError(f"no backup at {path}")
    if path.suffix == ".sqlite3":
        if not url.startswith("sqlite"):
            raise BackupError("a .sqlite3 backup restores into a SQLite URL only")
        target = _sqlite_path(url)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists() and target.stat().st_size > 0:
            raise BackupError(f"{target} exists: restore into a new file, then swap it in")
        tmp = target.with_suffix(".restoring")
        shutil.copyfile(path, tmp)
        problems = _integrity(tmp)
        if problems:
            tmp.unlink(missing_ok=True)
            raise BackupError(f"{path} is corrupt, nothing restored ({problems}): take an older backup")
        tmp.rename(target)
    elif path.suffix == ".pgdump":
        if not url.startswith("postgresql"):
            raise BackupError("a .pgdump backup restores into a PostgreSQL URL only")
        args, env = _pg_args(url)
        r = subprocess.run(
            ["pg_restore", "--no-owner", "--exit-on-error", *args, str(path)],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if r.returncode != 0:
            raise BackupError(f"pg_restore failed: {r.stderr.strip()}")
    else:
        raise BackupError(f"unknown backup type {path.suffix!r}: expected .sqlite3 or .pgdump")
