"""Backups restore into a fresh database with identical content; rotation leaves none older
than 7 days."""

import contextlib
from datetime import UTC, date, datetime

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
        s.add(Employee(customer_id=c.id, first_name="Zoé", last_name="Müller", personnel_number="1",
                       active_from=date(2024, 1, 1)))
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
    assert sorted(p.name for p in gone) == ["noxus-20261117T020000Z.sqlite3", "noxus-20261118T030000Z.sqlite3"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "notes.txt", "noxus-20261118T040000Z.sqlite3", "noxus-20261124T030000Z.sqlite3"]
