"""users: e-mail address; one-time invitation links (only the token's hash)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 16:00:00
"""

import noxus.core.types
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

S = sqlmodel.sql.sqltypes.AutoString
T = noxus.core.types.UTCDateTime


def upgrade() -> None:
    with op.batch_alter_table("app_user") as batch:
        batch.add_column(sa.Column("email", S(length=254), nullable=True))
    op.create_table(
        "user_invitation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", S(length=64), nullable=False),
        sa.Column("created_by", S(length=120), nullable=False),
        sa.Column("created_at", T(timezone=True), nullable=False),
        sa.Column("expires_at", T(timezone=True), nullable=False),
        sa.Column("used_at", T(timezone=True), nullable=True),
        sa.Column("revoked_at", T(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index(op.f("ix_user_invitation_user_id"), "user_invitation", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_user_invitation_user_id"), table_name="user_invitation")
    op.drop_table("user_invitation")
    with op.batch_alter_table("app_user") as batch:
        batch.drop_column("email")
