"""The audit log is hash-chained: verify() passes on an intact chain and names the first
tampered entry after an edit, a deletion or an insertion."""

from noxus.privacy import audit
from sqlalchemy import text
from sqlmodel import Session


def _fill(engine, n=5):
    with Session(engine) as s:
        for i in range(n):
            audit.record(s, "alice#1", "read", "employee", i, customer_id=1, detail={"fields": ["name"], "é": i})
        s.commit()


def test_intact_chain_verifies(engine):
    _fill(engine)
    with Session(engine) as s:
        r = audit.verify(s)
        assert r.ok and r.checked == 5
        assert audit.head(s)[0] == 5


def test_edited_entry_is_detected(engine):
    _fill(engine)
    with Session(engine) as s:
        s.exec(text("UPDATE audit_entry SET actor = 'mallory' WHERE id = 3"))
        s.commit()
        r = audit.verify(s)
    assert not r.ok and r.first_bad_id == 3 and "edited" in r.problem


def test_deleted_entry_is_detected(engine):
    _fill(engine)
    with Session(engine) as s:
        s.exec(text("DELETE FROM audit_entry WHERE id = 2"))
        s.commit()
        r = audit.verify(s)
    assert not r.ok and r.first_bad_id == 3 and "removed" in r.problem


def test_rehashed_edit_still_breaks_the_next_link(engine):
    _fill(engine)
    with Session(engine) as s:
        e = s.get(audit.AuditEntry, 2)
        e.detail = {"fields": []}
        e.hash = audit.entry_hash(e.prev_hash, e)  # the forger recomputes this entry's hash...
        s.add(e)
        s.commit()
        r = audit.verify(s)
    assert not r.ok and r.first_bad_id == 3  # ...but entry 3 still links to the old one


def test_export_csv_has_one_row_per_entry(engine):
    _fill(engine, 3)
    with Session(engine) as s:
        out = audit.export_csv(list(audit.iter_entries(s)))
    assert out.count("\n") == 4 and "prev_hash" in out.splitlines()[0]
