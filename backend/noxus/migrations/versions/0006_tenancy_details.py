"""customers: legal name, UID/VAT, billing address, contact person, canton, archive; sites: canton

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 15:40:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

S = sqlmodel.sql.sqltypes.AutoString
CUSTOMER_TEXT = [("legal_name", 70), ("street", 70), ("house_num", 16), ("postcode", 16), ("town", 35),
                 ("contact_name", 70), ("contact_email", 254), ("contact_phone", 32)]


def upgrade() -> None:
    from noxus.core.types import UTCDateTime

    with op.batch_alter_table("customer") as batch:
        for name, length in CUSTOMER_TEXT:
            batch.add_column(sa.Column(name, S(length=length), nullable=False, server_default=""))
        batch.add_column(sa.Column("vat_number", S(length=32), nullable=True))
        batch.add_column(sa.Column("country", S(length=2), nullable=False, server_default="CH"))
        batch.add_column(sa.Column("canton", S(length=2), nullable=True))
        batch.add_column(sa.Column("archived_at", UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table("site") as batch:
        batch.add_column(sa.Column("canton", S(length=2), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("site") as batch:
        batch.drop_column("canton")
    with op.batch_alter_table("customer") as batch:
        for name in ("archived_at", "canton", "country", "vat_number", *(n for n, _ in CUSTOMER_TEXT)):
            batch.drop_column(name)
