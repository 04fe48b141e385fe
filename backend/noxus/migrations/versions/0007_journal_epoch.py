"""journal epoch: a punch is (kiosk, epoch, seq), one ingest cursor per epoch

A wiped or replaced kiosk journal draws a new epoch, so its seqs no longer
collide with the punches its old journal left at the backend. Existing rows
are epoch 0 (a batch without epoch is epoch 0).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 15:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _copy_cursor(pk: list[str], select: str, epoch: bool = True) -> None:
    cols = [sa.Column("kiosk_id", sa.String(32), sa.ForeignKey("kiosk.id"), nullable=False)]
    if epoch:
        cols.append(sa.Column("epoch", sa.BigInteger(), nullable=False, server_default="0"))
    cols += [sa.Column(c, sa.BigInteger(), nullable=False) for c in ("acked_seq", "duplicates", "lost")]
    op.create_table("ingest_cursor_new", *cols, sa.PrimaryKeyConstraint(*pk, name="ingest_cursor_pkey"))
    names = ", ".join(c.name for c in cols)
    op.execute(f"INSERT INTO ingest_cursor_new ({names}) SELECT {select} FROM ingest_cursor")
    op.drop_table("ingest_cursor")
    op.rename_table("ingest_cursor_new", "ingest_cursor")


def upgrade() -> None:
    with op.batch_alter_table("punch") as batch:
        batch.add_column(sa.Column("epoch", sa.BigInteger(), nullable=False, server_default="0"))
        batch.drop_constraint("uq_punch_kiosk_seq", type_="unique")
        batch.create_unique_constraint("uq_punch_kiosk_epoch_seq", ["kiosk_id", "epoch", "seq"])
    # (the server default 0 stays: it is what an old row and an old writer mean)
    if _sqlite():  # a primary key changes only with a table copy there
        _copy_cursor(["kiosk_id", "epoch"], "kiosk_id, 0, acked_seq, duplicates, lost")
        return
    op.add_column("ingest_cursor", sa.Column("epoch", sa.BigInteger(), nullable=False, server_default="0"))
    op.drop_constraint("ingest_cursor_pkey", "ingest_cursor", type_="primary")
    op.create_primary_key("ingest_cursor_pkey", "ingest_cursor", ["kiosk_id", "epoch"])


def downgrade() -> None:
    if _sqlite():
        _copy_cursor(["kiosk_id"], "kiosk_id, acked_seq, duplicates, lost", epoch=False)
    else:
        op.drop_constraint("ingest_cursor_pkey", "ingest_cursor", type_="primary")
        op.drop_column("ingest_cursor", "epoch")
        op.create_primary_key("ingest_cursor_pkey", "ingest_cursor", ["kiosk_id"])
    with op.batch_alter_table("punch") as batch:
        batch.drop_constraint("uq_punch_kiosk_epoch_seq", type_="unique")
        batch.create_unique_constraint("uq_punch_kiosk_seq", ["kiosk_id", "seq"])
        batch.drop_column("epoch")
