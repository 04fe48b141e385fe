"""the outbox moves from billing to core (one outbox for every context), with claims

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 15:20:00
"""
import noxus.core.types
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('outbox_mail',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('category', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('to_addr', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('body', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('attachment', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', noxus.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('claim_token', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('claimed_until', noxus.core.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('sent_at', noxus.core.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('cancelled_by', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
    sa.Column('created_at', noxus.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('outbox_mail', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_mail_category'), ['category'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_mail_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_mail_status'), ['status'], unique=False)
    # carry the billing outbox over: pending -> queued, the document as an attachment reference
    op.execute("""
        INSERT INTO outbox_mail (id, category, customer_id, to_addr, subject, body, attachment, status,
                                 attempts, next_attempt_at, last_error, sent_at, created_at)
        SELECT o.id, COALESCE(d.kind, 'billing'), d.customer_id, o.to_addr, o.subject, o.body,
               CASE WHEN o.document_id IS NULL THEN NULL ELSE 'billing_document:' || o.document_id END,
               CASE o.status WHEN 'pending' THEN 'queued' ELSE o.status END,
               o.attempts, o.next_attempt_at, o.last_error, o.sent_at, o.created_at
        FROM billing_outbox o LEFT JOIN billing_document d ON d.id = o.document_id
    """)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("SELECT setval(pg_get_serial_sequence('outbox_mail', 'id'), "
                   "COALESCE((SELECT MAX(id) FROM outbox_mail), 0) + 1, false)")
    with op.batch_alter_table('billing_outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_billing_outbox_status'))
    op.drop_table('billing_outbox')


def downgrade() -> None:
    op.create_table('billing_outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('to_addr', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('body', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', noxus.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('sent_at', noxus.core.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', noxus.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['billing_document.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('billing_outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_billing_outbox_status'), ['status'], unique=False)
    op.execute("""
        INSERT INTO billing_outbox (id, to_addr, subject, body, document_id, status, attempts,
                                    next_attempt_at, last_error, sent_at, created_at)
        SELECT id, to_addr, subject, body,
               CASE WHEN attachment LIKE 'billing_document:%'
                    THEN CAST(SUBSTR(attachment, 18) AS INTEGER) ELSE NULL END,
               CASE status WHEN 'queued' THEN 'pending' WHEN 'sending' THEN 'pending'
                           WHEN 'cancelled' THEN 'failed' ELSE status END,
               attempts, next_attempt_at, last_error, sent_at, created_at
        FROM outbox_mail
    """)
    with op.batch_alter_table('outbox_mail', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_mail_status'))
        batch_op.drop_index(batch_op.f('ix_outbox_mail_customer_id'))
        batch_op.drop_index(batch_op.f('ix_outbox_mail_category'))
    op.drop_table('outbox_mail')
