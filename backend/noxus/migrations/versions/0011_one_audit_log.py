"""one audit log: HR and billing events move into the hash-chained audit_entry

Personal data gets its own erasable column, covered by the chain through a salted digest
(noxus.core.audit). The rows of hr_audit and billing_event are appended to the chain in the
order they happened, then the two tables are dropped.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 16:00:00
"""

import json

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_entry") as batch:
        batch.add_column(sa.Column("personal", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("personal_digest", sqlmodel.sql.sqltypes.AutoString(length=64),
                                   nullable=False, server_default=""))
    _move_events()
    with op.batch_alter_table("hr_audit") as batch:
        batch.drop_index("ix_hr_audit_customer_id")
    op.drop_table("hr_audit")
    with op.batch_alter_table("billing_event") as batch:
        batch.drop_index("ix_billing_event_customer_id")
    op.drop_table("billing_event")


def _move_events() -> None:
    from noxus.core import audit
    from noxus.core.audit_entry import AuditEntry

    bind = op.get_bind()
    rows = []
    for r in bind.execute(sa.text("SELECT at, actor, action, entity, entity_id, customer_id, detail FROM hr_audit")):
        detail = json.loads(r.detail) if isinstance(r.detail, str) else r.detail
        rows.append((r.at, r.actor, r.action, r.entity, r.entity_id, r.customer_id, None, detail))
    for r in bind.execute(sa.text(
            "SELECT at, actor, kind, customer_id, invoice_id, case_id, detail FROM billing_event")):
        detail = json.loads(r.detail) if isinstance(r.detail, str) else (r.detail or {})
        obj, oid = (("retrieval_case", r.case_id) if r.case_id is not None else
                    ("invoice", r.invoice_id) if r.invoice_id is not None else ("customer", r.customer_id))
        body = {"invoice_id": r.invoice_id, "case_id": r.case_id, **(detail or {})}
        rows.append((r.at, r.actor, r.kind, obj, oid, r.customer_id,
                     {k: v for k, v in body.items() if v is not None}, None))
    if not rows:
        return
    rows.sort(key=lambda row: str(row[0]))
    last = bind.execute(sa.text("SELECT hash FROM audit_entry ORDER BY id DESC LIMIT 1")).scalar()
    prev = last or audit.GENESIS
    table = sa.table("audit_entry", *(sa.column(c) for c in (
        "at", "actor", "action", "object_type", "object_id", "customer_id", "detail", "personal",
        "personal_digest", "prev_hash", "hash")))
    from datetime import UTC, datetime

    for at, actor, action, obj, oid, customer_id, detail, personal in rows:
        when = datetime.fromisoformat(at) if isinstance(at, str) else at
        when = when if when.tzinfo else when.replace(tzinfo=UTC)
        kept = None
        digest = ""
        if personal:
            import secrets

            kept = {**personal, "_salt": secrets.token_hex(16)}
            digest = audit.personal_digest(kept)
        entry = AuditEntry(at=when, actor=str(actor)[:160], action=str(action)[:64], object_type=str(obj)[:64],
                           object_id="" if oid is None else str(oid)[:64], customer_id=customer_id,
                           detail=detail or {}, personal=kept, personal_digest=digest, prev_hash=prev, hash="")
        entry.hash = audit.entry_hash(prev, entry)
        bind.execute(table.insert().values(
            at=when, actor=entry.actor, action=entry.action, object_type=entry.object_type,
            object_id=entry.object_id, customer_id=customer_id, detail=entry.detail, personal=kept,
            personal_digest=digest, prev_hash=prev, hash=entry.hash))
        prev = entry.hash


def downgrade() -> None:
    raise NotImplementedError("the HR and billing events live in the one audit log now; restore a backup")
