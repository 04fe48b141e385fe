"""`noxus backup` / `noxus restore` for SQLite (online backup API) and PostgreSQL (pg_dump custom
format, pg_restore), encrypted at rest (nLPD art. 8: a stolen backup file discloses nothing).

Backups are named noxus-<UTC timestamp>.<kind>.enc; rotation deletes every backup older than
`backup_keep_days` (7: seed 001 says backups are destroyed after 7 days), judged by the
timestamp in the name, so copying files around does not make them look younger.

File format (docs/security.md, "Backups"): a 24-byte header — magic `NOXBK1\\n\\0`, the key id
(8 bytes: SHA-256 of the key, truncated; tells which key to use without revealing it) and a
random 8-byte nonce prefix — then chunks of at most 1 MiB of plaintext, each AES-256-GCM
sealed as `length (4 bytes) || ciphertext+tag`, nonce = prefix || chunk number (4 bytes),
associated data = header || chunk number || last-chunk flag. So a flipped byte anywhere, a
swapped, dropped or repeated chunk, or a cut-off file fails authentication, and big databases
stream through in constant memory. The PostgreSQL dump never touches the disk in clear; the
SQLite snapshot does, for the time of the backup, beside the live database (same protection)."""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import os
import pathlib
import re
import secrets
import sqlite3
import struct
import subprocess
import tempfile
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import IO, TYPE_CHECKING

from sqlalchemy.engine import make_url

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from noxus.core.settings import Settings

# Plain .sqlite3/.pgdump: backups written before encryption (at most 7 days old); they still
# rotate out and restore.
NAME = re.compile(r"^noxus-(\d{8}T\d{6}Z)\.(sqlite3|pgdump)(\.enc)?$")
MAGIC = b"NOXBK1\n\0"
HEADER = len(MAGIC) + 8 + 8
CHUNK = 1 << 20  # plaintext per sealed chunk: constant memory for any database size
KEY_BYTES = 32  # AES-256


class BackupError(RuntimeError):
    pass


def new_key() -> str:
    """A fresh backup key as it goes into NOXUS_BACKUP_KEY (urlsafe base64 of 32 random bytes)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode()


def parse_key(text: str, where: str = "NOXUS_BACKUP_KEY") -> bytes:
    try:
        raw = base64.urlsafe_b64decode(text.strip().encode())
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != KEY_BYTES:
        raise BackupError(
            f"{where} is not a backup key (44 characters of base64 for 32 bytes): "
            "make one with `noxus backup-key`"
        )
    return raw


def key_id(key: bytes) -> bytes:
    return hashlib.sha256(b"noxus-backup-key-id\0" + key).digest()[:8]


def keys_from(settings: Settings) -> list[bytes]:
    """The keys of the settings, the one new backups use first; [] when none is set."""
    keys = []
    if settings.backup_key is not None:
        keys.append(parse_key(settings.backup_key.get_secret_value()))
    if settings.backup_key_file:
        p = pathlib.Path(settings.backup_key_file)
        try:
            text = p.read_text()
        except OSError as e:
            raise BackupError(f"cannot read the backup key file {p}: {e.strerror}") from None
        keys.append(parse_key(text, str(p)))
    keys += [parse_key(k.get_secret_value(), "NOXUS_BACKUP_OLD_KEYS") for k in settings.backup_old_keys]
    return keys


def backup_key(settings: Settings) -> bytes:
    """The key new backups are encrypted with; refuses clearly when there is none."""
    keys = keys_from(settings)
    if not keys:
        raise BackupError(
            "no backup key: backups are encrypted and none is written without a key. Make one with "
            "`noxus backup-key`, store it in NOXUS_BACKUP_KEY (or a file named by "
            "NOXUS_BACKUP_KEY_FILE) AND somewhere off this host: without it no backup can be restored"
        )
    return keys[0]


# --- the sealed stream ------------------------------------------------------------------------


def _aead(key: bytes) -> AESGCM:
    # imported here: only backup and restore need it
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    return AESGCM(key)


def _chunks(f: IO[bytes]) -> Iterator[tuple[bytes, bool]]:
    """(chunk, is_last) over a stream, reading one chunk ahead so the last is known."""
    cur = f.read(CHUNK)
    while True:
        nxt = f.read(CHUNK) if len(cur) == CHUNK else b""
        yield cur, not nxt
        if not nxt:
            return
        cur = nxt


def _ad(header: bytes, n: int, last: bool) -> bytes:
    return header + struct.pack(">I?", n, last)


def encrypt_stream(src: IO[bytes], dst: IO[bytes], key: bytes) -> None:
    aead = _aead(key)
    header = MAGIC + key_id(key) + secrets.token_bytes(8)
    dst.write(header)
    for n, (chunk, last) in enumerate(_chunks(src)):
        sealed = aead.encrypt(header[-8:] + struct.pack(">I", n), chunk, _ad(header, n, last))
        dst.write(struct.pack(">I", len(sealed)) + sealed)


def encrypt_file(src: pathlib.Path, dst: pathlib.Path, key: bytes) -> None:
    with open(src, "rb") as i, open(dst, "wb") as o:
        encrypt_stream(i, o, key)


def _pick_key(header: bytes, keys: Iterable[bytes], path: pathlib.Path) -> bytes:
    if len(header) < HEADER or not header.startswith(MAGIC):
        raise BackupError(f"{path} is not an encrypted NoxusTime backup (or its start is damaged)")
    want = header[len(MAGIC) : len(MAGIC) + 8]
    for k in keys:
        if key_id(k) == want:
            return k
    raise BackupError(
        f"{path} was encrypted with another key (id {want.hex()}) than the ones configured: set that "
        "key in NOXUS_BACKUP_KEY or NOXUS_BACKUP_OLD_KEYS; nothing restored"
    )


def decrypt_stream(src: IO[bytes], keys: Iterable[bytes], path: pathlib.Path) -> Iterator[bytes]:
    """The plaintext chunks; raises BackupError on the first byte that does not authenticate."""
    from cryptography.exceptions import InvalidTag

    header = src.read(HEADER)
    key = _pick_key(header, keys, path)
    aead = _aead(key)
    tampered = (
        f"{path} was altered or damaged after it was written (authentication failed); "
        "nothing restored: take an older backup"
    )
    n = 0
    while True:
        size = src.read(4)
        if len(size) != 4:
            raise BackupError(tampered)  # ended before a chunk marked last: cut off
        (length,) = struct.unpack(">I", size)
        if length > CHUNK + 16:
            raise BackupError(tampered)
        sealed = src.read(length)
        if len(sealed) != length:
            raise BackupError(tampered)
        nonce = header[-8:] + struct.pack(">I", n)
        try:
            plain = aead.decrypt(nonce, sealed, _ad(header, n, True))
            last = True
        except InvalidTag:
            try:
                plain = aead.decrypt(nonce, sealed, _ad(header, n, False))
                last = False
            except InvalidTag:
                raise BackupError(tampered) from None
        yield plain
        n += 1
        if last:
            if src.read(1):
                raise BackupError(tampered)  # bytes appended after the last chunk
            return


def verify(path: pathlib.Path, keys: Iterable[bytes]) -> None:
    """Authenticate the whole file without writing anything (before a restore touches a database)."""
    with open(path, "rb") as f:
        for _ in decrypt_stream(f, list(keys), path):
            pass


# --- backup -----------------------------------------------------------------------------------


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


def backup(url: str, out_dir: pathlib.Path, key: bytes, now: datetime | None = None) -> pathlib.Path:
    now = now or datetime.now(UTC)
    out_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(out_dir, 0o700)  # personal data: owner only
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    if url.startswith("sqlite"):
        target = out_dir / f"noxus-{stamp}.sqlite3.enc"
    elif url.startswith("postgresql"):
        target = out_dir / f"noxus-{stamp}.pgdump.enc"
    else:
        raise BackupError(f"cannot back up {make_url(url).drivername}: only sqlite and postgresql")
    tmp = target.with_name(target.name + ".partial")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            if url.startswith("sqlite"):
                _sqlite_backup(url, out, key)
            else:
                _pg_backup(url, out, key)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    tmp.rename(target)  # a crash never leaves a half backup under a valid name
    return target


def _sqlite_backup(url: str, out: IO[bytes], key: bytes) -> None:
    db = _sqlite_path(url)
    # The clear snapshot sits beside the live database (same disk, same protection) only for
    # the time of the backup; never in the backup folder, which may be a mounted share.
    fd, name = tempfile.mkstemp(prefix=".noxus-backup-", dir=db.parent)
    os.close(fd)
    snap = pathlib.Path(name)
    try:
        src = sqlite3.connect(db)
        dst = sqlite3.connect(snap)
        try:
            src.backup(dst)  # consistent snapshot while the app keeps writing
        finally:
            dst.close()
            src.close()
        with open(snap, "rb") as f:
            encrypt_stream(f, out, key)
    finally:
        snap.unlink(missing_ok=True)


def _pg_backup(url: str, out: IO[bytes], key: bytes) -> None:
    args, env = _pg_args(url)
    with tempfile.TemporaryFile() as err:  # a file, not a pipe: pg_dump never blocks on stderr
        p = subprocess.Popen(
            ["pg_dump", "-Fc", "--no-owner", *args], env=env, stdout=subprocess.PIPE, stderr=err
        )
        assert p.stdout is not None
        try:
            encrypt_stream(p.stdout, out, key)  # the dump is encrypted as it streams out
        finally:
            p.stdout.close()
            rc = p.wait()
        if rc != 0:
            err.seek(0)
            raise BackupError(f"pg_dump failed: {err.read().decode(errors='replace').strip()}")


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


# --- restore ----------------------------------------------------------------------------------


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


def _kind(path: pathlib.Path) -> tuple[str, bool]:
    m = NAME.match(path.name)
    name = path.name
    encrypted = name.endswith(".enc")
    base = name[:-4] if encrypted else name
    if m or base.endswith((".sqlite3", ".pgdump")):
        return base.rsplit(".", 1)[1], encrypted
    raise BackupError(f"unknown backup type {path.name!r}: expected .sqlite3.enc or .pgdump.enc")


@contextlib.contextmanager
def _plain(path: pathlib.Path, keys: list[bytes], encrypted: bool) -> Iterator[Iterator[bytes]]:
    """The backup's bytes in chunks, decrypted when it is encrypted (already authenticated)."""
    with open(path, "rb") as f:
        if encrypted:
            yield decrypt_stream(f, keys, path)
        else:
            yield iter(lambda: f.read(CHUNK), b"")


def restore(path: pathlib.Path, url: str, keys: list[bytes] | None = None) -> None:
    """Restore into `url`, which should be a fresh (empty) database. An encrypted backup is
    authenticated whole before anything is written, with the first of `keys` whose id it names."""
    if not path.exists():
        raise BackupError(f"no backup at {path}")
    kind, encrypted = _kind(path)
    keys = keys or []
    if encrypted:
        if not keys:
            raise BackupError(
                f"{path} is encrypted and no backup key is set: set NOXUS_BACKUP_KEY (or "
                "NOXUS_BACKUP_KEY_FILE / NOXUS_BACKUP_OLD_KEYS) to the key it was made with"
            )
        verify(path, keys)
    if kind == "sqlite3":
        if not url.startswith("sqlite"):
            raise BackupError("a .sqlite3 backup restores into a SQLite URL only")
        target = _sqlite_path(url)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists() and target.stat().st_size > 0:
            raise BackupError(f"{target} exists: restore into a new file, then swap it in")
        tmp = target.with_suffix(".restoring")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "wb") as out, _plain(path, keys, encrypted) as chunks:
                for c in chunks:
                    out.write(c)
            problems = _integrity(tmp)
            if problems:
                raise BackupError(f"{path} is corrupt, nothing restored ({problems}): take an older backup")
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        tmp.rename(target)
    else:
        if not url.startswith("postgresql"):
            raise BackupError("a .pgdump backup restores into a PostgreSQL URL only")
        args, env = _pg_args(url)
        with tempfile.TemporaryFile() as err:
            # the custom format reads from standard input: the clear dump never touches the disk
            p = subprocess.Popen(
                ["pg_restore", "--no-owner", "--exit-on-error", *args],
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
            assert p.stdin is not None
            try:
                with _plain(path, keys, encrypted) as chunks:
                    for c in chunks:
                        p.stdin.write(c)
            except BrokenPipeError:
                pass  # pg_restore stopped on an error: its message says which
            finally:
                with contextlib.suppress(BrokenPipeError):
                    p.stdin.close()
                rc = p.wait()
            if rc != 0:
                err.seek(0)
                raise BackupError(f"pg_restore failed: {err.read().decode(errors='replace').strip()}")
