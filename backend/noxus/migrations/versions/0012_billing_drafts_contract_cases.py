"""billing: what a draft consumed (given back when it is deleted); a contract-end case names its contract

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 15:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('billing_invoice', schema=None) as batch_op:
        batch_op.add_column(sa.Column('prior_billed_through', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('consumed_setup', sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table('billing_invoice', schema=None) as batch_op:
        batch_op.alter_column('consumed_setup', server_default=None)
    with op.batch_alter_table('billing_retrieval_case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('contract_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_billing_retrieval_case_contract_id', 'billing_contract',
                                    ['contract_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('billing_retrieval_case', schema=None) as batch_op:
        batch_op.drop_constraint('fk_billing_retrieval_case_contract_id', type_='foreignkey')
        batch_op.drop_column('contract_id')
    with op.batch_alter_table('billing_invoice', schema=None) as batch_op:
        batch_op.drop_column('consumed_setup')
        batch_op.drop_column('prior_billed_through')
