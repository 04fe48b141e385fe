"""kiosk deployments: dated (customer, site, from, to) per kiosk, the source of
truth for the tenancy of a punch; filled from the status history

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 15:40:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import noxus.core.types

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kiosk_deployment",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kiosk_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("valid_from", noxus.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("valid_to", noxus.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"]),
        sa.ForeignKeyConstraint(["kiosk_id"], ["kiosk.id"]),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_kiosk_deployment_customer_id", "kiosk_deployment", ["customer_id"])
    op.create_index("ix_kiosk_deployment_kiosk_from", "kiosk_deployment", ["kiosk_id", "valid_from"])
    # The status history says where each kiosk was after every change.
    bind = op.get_bind()
    ev = sa.table("kiosk_status_event", sa.column("id"), sa.column("kiosk_id"), sa.column("customer_id"),
                  sa.column("site_id"), sa.column("at", noxus.core.types.UTCDateTime()), sa.column("actor"))
    events = bind.execute(sa.select(ev.c.kiosk_id, ev.c.customer_id, ev.c.site_id, ev.c.at, ev.c.actor)
                          .order_by(ev.c.kiosk_id, ev.c.at, ev.c.id)).all()
    table = sa.table("kiosk_deployment", sa.column("kiosk_id"), sa.column("customer_id"),
                     sa.column("site_id"), sa.column("valid_from", noxus.core.types.UTCDateTime()),
                     sa.column("valid_to", noxus.core.types.UTCDateTime()), sa.column("actor"))
    rows, open_ = [], {}
    for kiosk_id, customer_id, site_id, at, actor in events:
        cur = open_.get(kiosk_id)
        if cur is not None and (cur["customer_id"], cur["site_id"]) == (customer_id, site_id):
            continue
        if cur is not None:
            cur["valid_to"] = at
            del open_[kiosk_id]
        if customer_id is not None:
            open_[kiosk_id] = {"kiosk_id": kiosk_id, "customer_id": customer_id, "site_id": site_id,
                               "valid_from": at, "valid_to": None, "actor": (actor or "")[:120]}
            rows.append(open_[kiosk_id])
    if rows:
        op.bulk_insert(table, rows)


def downgrade() -> None:
    op.drop_index("ix_kiosk_deployment_kiosk_from", table_name="kiosk_deployment")
    op.drop_index("ix_kiosk_deployment_customer_id", table_name="kiosk_deployment")
    op.drop_table("kiosk_deployment")
