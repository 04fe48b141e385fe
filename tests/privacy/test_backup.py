"""Backups are encrypted at rest and restore into a fresh database with identical content;
a wrong key, a flipped byte or a cut-off file is refused before anything is written; rotation
leaves none older than 7 days."""

import contextlib
from datetime import UTC, date, datetime

import pytest
from noxus.core import audit
from noxus.core.db import make_engine
from noxus.hr.models import Employee
from noxus.privacy import backup
from noxus.tenancy.models import Customer
from sqlalchemy import MetaData, select
from sqlmodel import Session

from tests.support import pg


def _dump(engine) -> dict:
    md = MetaData()
    md.reflect(engine)
    out = {}
    with engine.connect() as c:
        for name, t in sorted(md.tables.items()):
            out[name] = sorted(map(tuple, c.execute(select(t)).all()), key=repr)
    return out


KEY = backup.parse_key(backup.new_key())
MARKER = "Zoé-Plaintext-Marker"


def test_backup_restores_into_a_fresh_database_identically(engine, db_url, tmp_path, request):
    with Session(engine) as s:
        c = Customer(name="Alpha SA")
        s.add(c)
        s.flush()
        s.add(
            Employee(
                customer_id=c.id,
                first_name=MARKER,
                last_name="Müller",
                personnel_number="1",
                active_from=date(2024, 1, 1),
            )
        )
        audit.record(s, "t", "create", "employee", 1, c.id, {"x": "é"})
        s.commit()
    path = backup.backup(db_url, tmp_path / "backups", KEY)
    assert path.stat().st_mode & 0o077 == 0
    data = path.read_bytes()
    # nothing readable: neither the names nor the database's own structure
    for clear in (
        MARKER.encode(),
        MARKER.encode("utf-16-le"),
        "Müller".encode(),
        b"audit_entry",
        b"CREATE TABLE",
    ):
        assert clear not in data
    assert not list((tmp_path / "backups").glob("*.partial"))
    with contextlib.ExitStack() as stack:
        if db_url.startswith("sqlite"):
            fresh = f"sqlite:///{tmp_path / 'restored.db'}"
        else:  # a second, empty database on the same server
            fresh = stack.enter_context(pg.scratch_database(request.getfixturevalue("pg_admin_url")))
        backup.restore(path, fresh, [KEY])
        restored = make_engine(fresh)
        assert _dump(restored) == _dump(engine)
        with Session(restored) as s:
            assert audit.verify(s).ok
        restored.dispose()


def test_rotation_deletes_backups_older_than_7_days(tmp_path):
    now = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
    for stamp in ("20261117T020000Z", "20261118T030000Z", "20261118T040000Z", "20261124T030000Z"):
        (tmp_path / f"noxus-{stamp}.sqlite3").write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("not a backup")
    gone = backup.rotate(tmp_path, 7, now)
    assert sorted(p.name for p in gone) == [
        "noxus-20261117T020000Z.sqlite3",
        "noxus-20261118T030000Z.sqlite3",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "notes.txt",
        "noxus-20261118T040000Z.sqlite3",
        "noxus-20261124T030000Z.sqlite3",
    ]


def _sqlite_backup(tmp_path):
    src = tmp_path / "src.db"
    url = f"sqlite:///{src}"
    from noxus.core.migrate import upgrade

    upgrade(url)
    e = make_engine(url)
    with Session(e) as s:
        for i in range(300):
            s.add(Customer(name=f"Customer {i} " + "x" * 150))
        s.commit()
    e.dispose()
    return backup.backup(url, tmp_path / "backups", KEY)


def _clear(path, tmp_path):
    out = tmp_path / "clear.sqlite3"
    with open(path, "rb") as f:
        out.write_bytes(b"".join(backup.decrypt_stream(f, [KEY], path)))
    return out


def test_restore_refuses_a_backup_corrupted_in_the_middle_and_leaves_nothing(tmp_path):
    """A database already damaged when it was backed up: the encryption is sound, SQLite's
    integrity check after decryption refuses it."""
    good = _clear(_sqlite_backup(tmp_path), tmp_path)
    data = bytearray(good.read_bytes())
    page = 4096
    for i in range(3 * page, len(data) - page, page):  # scribble over every page's b-tree header
        data[i : i + 16] = b"\xff" * 16
    damaged = tmp_path / "damaged.sqlite3"
    damaged.write_bytes(bytes(data))
    bad = tmp_path / "noxus-20260101T000000Z.sqlite3.enc"
    backup.encrypt_file(damaged, bad, KEY)
    target = tmp_path / "restored.db"
    with pytest.raises(backup.BackupError, match="corrupt"):
        backup.restore(bad, f"sqlite:///{target}", [KEY])
    assert not target.exists() and not target.with_suffix(".restoring").exists()


def test_restore_refuses_a_file_that_is_not_a_database(tmp_path):
    bad = tmp_path / "noxus-20260101T000000Z.sqlite3.enc"
    (tmp_path / "junk").write_bytes(b"not a database at all" * 100)
    backup.encrypt_file(tmp_path / "junk", bad, KEY)
    target = tmp_path / "restored.db"
    with pytest.raises(backup.BackupError, match="corrupt"):
        backup.restore(bad, f"sqlite:///{target}", [KEY])
    assert not target.exists()
    plain = tmp_path / "noxus-20260101T000000Z.sqlite3"  # a backup from before encryption
    plain.write_bytes(b"not a database at all" * 100)
    with pytest.raises(backup.BackupError, match="corrupt"):
        backup.restore(plain, f"sqlite:///{target}")
    assert not target.exists()


def test_a_sound_sqlite_backup_still_restores(tmp_path):
    good = _sqlite_backup(tmp_path)
    target = tmp_path / "restored.db"
    backup.restore(good, f"sqlite:///{target}", [KEY])
    e = make_engine(f"sqlite:///{target}")
    with Session(e) as s:
        assert len(s.exec(select(Customer)).all()) == 300
    e.dispose()


def test_restore_with_the_wrong_key_is_refused_naming_the_key_and_writes_nothing(tmp_path):
    good = _sqlite_backup(tmp_path)
    target = tmp_path / "restored.db"
    other = backup.parse_key(backup.new_key())
    with pytest.raises(backup.BackupError, match="another key .*NOXUS_BACKUP_OLD_KEYS"):
        backup.restore(good, f"sqlite:///{target}", [other])
    assert not target.exists() and not target.with_suffix(".restoring").exists()
    with pytest.raises(backup.BackupError, match="no backup key is set"):
        backup.restore(good, f"sqlite:///{target}", [])
    # after a key rotation the old key, listed second, still opens it
    backup.restore(good, f"sqlite:///{target}", [other, KEY])
    assert target.exists()


@pytest.mark.parametrize("where", ["header", "first chunk", "middle", "last byte", "cut off", "appended"])
def test_a_tampered_backup_is_refused_before_anything_is_written(tmp_path, where, monkeypatch):
    monkeypatch.setattr(backup, "CHUNK", 64 * 1024)  # a small database in several chunks
    good = _sqlite_backup(tmp_path)
    data = bytearray(good.read_bytes())
    assert len(data) > 2 * backup.CHUNK  # several chunks: the middle one is neither first nor last
    if where == "header":
        data[backup.HEADER - 1] ^= 1  # the nonce prefix (the header is authenticated data)
    elif where == "first chunk":
        data[backup.HEADER + 10] ^= 1
    elif where == "middle":
        data[len(data) // 2] ^= 0x80
    elif where == "last byte":
        data[-1] ^= 1
    elif where == "cut off":  # whole chunks dropped from the end
        data = data[: backup.HEADER + 4 + backup.CHUNK + 16]
    else:
        data += b"\0" * 20
    bad = tmp_path / "noxus-20260101T000000Z.sqlite3.enc"
    bad.write_bytes(bytes(data))
    target = tmp_path / "restored.db"
    with pytest.raises(backup.BackupError, match="altered or damaged|not an encrypted"):
        backup.restore(bad, f"sqlite:///{target}", [KEY])
    assert not target.exists() and not target.with_suffix(".restoring").exists()


def test_a_tampered_postgresql_backup_is_refused_before_the_database_is_touched(tmp_path, pg_admin_url):
    with pg.scratch_database(pg_admin_url, migrate=True) as src:
        good = backup.backup(src, tmp_path / "b", KEY)
    data = bytearray(good.read_bytes())
    data[-5] ^= 1  # in the last chunk: pg_restore would have restored everything before it
    good.write_bytes(bytes(data))
    with pg.scratch_database(pg_admin_url) as fresh:
        with pytest.raises(backup.BackupError, match="altered or damaged"):
            backup.restore(good, fresh, [KEY])
        e = make_engine(fresh)
        with e.connect() as c:
            n = c.exec_driver_sql("select count(*) from pg_tables where schemaname = 'public'").scalar()
            assert n == 0
        e.dispose()


def test_no_backup_without_a_key(tmp_path, monkeypatch):
    from noxus.core.settings import Settings

    for var in ("NOXUS_BACKUP_KEY", "NOXUS_BACKUP_KEY_FILE", "NOXUS_BACKUP_OLD_KEYS"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(backup.BackupError, match="no backup key.*noxus backup-key"):
        backup.backup_key(Settings(_env_file=None))
    with pytest.raises(backup.BackupError, match="not a backup key"):
        backup.backup_key(Settings(_env_file=None, backup_key="too short"))
    f = tmp_path / "key"
    f.write_text(backup.new_key() + "\n")
    assert backup.backup_key(Settings(_env_file=None, backup_key_file=str(f))) == backup.parse_key(
        f.read_text()
    )
