"""The audit log is hash-chained: verify() passes on an intact chain and names the first
tampered entry after an edit, a deletion or an insertion."""

from noxus.core import audit
from sqlalchemy import text
from sqlmodel import Session, select


def _fill(engine, n=5):
    with Session(engine) as s:
        for i in range(n):
            audit.record(
                s, "alice#1", "read", "employee", i, customer_id=1, detail={"fields": ["name"], "é": i}
            )
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


def test_erasing_personal_data_keeps_the_chain_verifiable_and_leaves_no_name(engine):
    from noxus.core.audit_entry import AuditEntry
    from noxus.hr import audit as hr_audit

    with Session(engine) as s:
        audit.record(s, "alice#1", "read", "invoice", 7, customer_id=1, detail={"amount": 100})
        hr_audit.record(
            s, 1, "alice#1", "employee.update", "employee", 42, last_name="Müller", first_name="Anna"
        )
        audit.record(s, "alice#1", "read", "invoice", 8, customer_id=1)
        s.commit()
        entry = s.exec(select(AuditEntry).where(AuditEntry.object_type == "employee")).one()
        assert entry.shown() == {"last_name": "Müller", "first_name": "Anna"}
        assert audit.erase_personal([entry]) == 1
        s.add(entry)
        s.commit()
    with Session(engine) as s:
        entry = s.exec(select(AuditEntry).where(AuditEntry.object_type == "employee")).one()
        assert "Müller" not in str(entry.personal) and entry.personal == {"erased": True}
        assert audit.verify(s).ok


def test_edited_personal_data_is_detected(engine):
    from noxus.core.audit_entry import AuditEntry
    from noxus.hr import audit as hr_audit

    with Session(engine) as s:
        hr_audit.record(s, 1, "alice#1", "employee.update", "employee", 42, last_name="Müller")
        s.commit()
        entry = s.exec(select(AuditEntry)).one()
        entry.personal = {**entry.personal, "last_name": "Meier"}
        s.add(entry)
        s.commit()
        r = audit.verify(s)
    assert not r.ok and "personal data" in r.problem
