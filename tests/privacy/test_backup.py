"""Backups restore into a fresh database with identical content; rotation leaves none older
than 7 days."""

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


def test_backup_restores_into_a_fresh_database_identically(engine, db_url, tmp_path, request):
    with Session(engine) as s:
        c = Customer(name="Alpha SA")
        s.add(c)
        s.flush()
        s.add(
            Employee(
                customer_id=c.id,
                first_name="Zoé",
                last_name="Müller",
                personnel_number="1",
                active_from=date(2024, 1, 1),
            )
        )
        audit.record(s, "t", "create", "employee", 1, c.id, {"x": "é"})
        s.commit()
    path = backup.backup(db_url, tmp_path / "backups")
    assert path.stat().st_mode & 0o077 == 0
    with contextlib.ExitStack() as stack:
        if db_url.startswith("sqlite"):
            fresh = f"sqlite:///{tmp_path / 'restored.db'}"
        else:  # a second, empty database on the same server
            fresh = stack.enter_context(pg.scratch_database(request.getfixturevalue("pg_admin_url")))
        backup.restore(path, fresh)
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
    return backup.backup(url, tmp_path / "backups")


def test_restore_refuses_a_backup_corrupted_in_the_middle_and_leaves_nothing(tmp_path):
    good = _sqlite_backup(tmp_path)
    data = bytearray(good.read_bytes())
    page = 4096
    for i in range(3 * page, len(data) - page, page):  # scribble over every page's b-tree header
        data[i : i + 16] = b"\xff" * 16
    bad = good.with_name("noxus-20260101T000000Z.sqlite3")
    bad.write_bytes(bytes(data))
    target = tmp_path / "restored.db"
    with pytest.raises(backup.BackupError, match="corrupt"):
        backup.restore(bad, f"sqlite:///{target}")
    assert not target.exists() and not target.with_suffix(".restoring").exists()


def test_restore_refuses_a_file_that_is_not_a_database(tmp_path):
    bad = tmp_path / "noxus-20260101T000000Z.sqlite3"
    bad.write_bytes(b"not a database at all" * 100)
    target = tmp_path / "restored.db"
    with pytest.raises(backup.BackupError, match="corrupt"):
        backup.restore(bad, f"sqlite:///{target}")
    assert not target.exists()


def test_a_sound_sqlite_backup_still_restores(tmp_path):
    good = _sqlite_backup(tmp_path)
    target = tmp_path / "restored.db"
    backup.restore(good, f"sqlite:///{target}")
    e = make_engine(f"sqlite:///{target}")
    with Session(e) as s:
        assert len(s.exec(select(Customer)).all()) == 300
    e.dispose()
