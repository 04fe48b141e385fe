"""fleet: asset register columns, status history, telemetry history

Revision ID: fleet_0001
Revises: 0002
Create Date: 2026-11-25 11:10:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import noxus.core.types


revision = 'fleet_0001'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('kiosk', schema=None) as batch_op:
        batch_op.add_column(sa.Column('serial', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.add_column(sa.Column('model', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('owner', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False,
                                      server_default='NOXUS'))
        batch_op.add_column(sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False,
                                      server_default='in_stock'))
        batch_op.add_column(sa.Column('customer_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('site_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('installed_at', noxus.core.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('retrieved_at', noxus.core.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('firmware_target', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.add_column(sa.Column('firmware_target_hash', sqlmodel.sql.sqltypes.AutoString(length=80),
                                      nullable=True))
        batch_op.add_column(sa.Column('firmware_hash', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True))
        batch_op.add_column(sa.Column('last_telemetry_at', noxus.core.types.UTCDateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('clock_skew_s', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('reboot_window_start', noxus.core.types.UTCDateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('reboot_count', sa.Integer(), nullable=False, server_default='0'))
        batch_op.create_index(batch_op.f('ix_kiosk_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_kiosk_site_id'), ['site_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_kiosk_status'), ['status'], unique=False)
        batch_op.create_unique_constraint('uq_kiosk_serial', ['serial'])
        batch_op.create_foreign_key('fk_kiosk_customer_id', 'customer', ['customer_id'], ['id'])
        batch_op.create_foreign_key('fk_kiosk_site_id', 'site', ['site_id'], ['id'])

    op.create_table('kiosk_status_event',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kiosk_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('from_status', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=True),
    sa.Column('to_status', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('site_id', sa.Integer(), nullable=True),
    sa.Column('at', noxus.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('scheduled_for', noxus.core.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('recorded_at', noxus.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], ),
    sa.ForeignKeyConstraint(['kiosk_id'], ['kiosk.id'], ),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('kiosk_status_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kiosk_status_event_kiosk_id'), ['kiosk_id'], unique=False)
    # Kiosks registered before the register existed start their history in stock.
    op.execute("INSERT INTO kiosk_status_event (kiosk_id, from_status, to_status, at, actor, reason, "
               "recorded_at) SELECT id, NULL, 'in_stock', created_at, 'migration fleet_0001', "
               "'registered before the asset register', created_at FROM kiosk")

    op.create_table('kiosk_telemetry',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kiosk_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('resolution', sqlmodel.sql.sqltypes.AutoString(length=4), nullable=False),
    sa.Column('at', noxus.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('samples', sa.Integer(), nullable=False),
    sa.Column('fill', sa.Float(), nullable=True),
    sa.Column('pending', sa.Integer(), nullable=True),
    sa.Column('flash_free', sa.BigInteger(), nullable=True),
    sa.Column('clock_skew_s', sa.Float(), nullable=True),
    sa.Column('boot', sa.BigInteger(), nullable=True),
    sa.Column('uptime_ms', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['kiosk_id'], ['kiosk.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('kiosk_telemetry', schema=None) as batch_op:
        batch_op.create_index('ix_kiosk_telemetry_kiosk_res_at', ['kiosk_id', 'resolution', 'at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('kiosk_telemetry', schema=None) as batch_op:
        batch_op.drop_index('ix_kiosk_telemetry_kiosk_res_at')
    op.drop_table('kiosk_telemetry')
    with op.batch_alter_table('kiosk_status_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kiosk_status_event_kiosk_id'))
    op.drop_table('kiosk_status_event')
    with op.batch_alter_table('kiosk', schema=None) as batch_op:
        batch_op.drop_constraint('fk_kiosk_site_id', type_='foreignkey')
        batch_op.drop_constraint('fk_kiosk_customer_id', type_='foreignkey')
        batch_op.drop_constraint('uq_kiosk_serial', type_='unique')
        batch_op.drop_index(batch_op.f('ix_kiosk_status'))
        batch_op.drop_index(batch_op.f('ix_kiosk_site_id'))
        batch_op.drop_index(batch_op.f('ix_kiosk_customer_id'))
        for col in ('reboot_count', 'reboot_window_start', 'clock_skew_s', 'last_telemetry_at', 'firmware_hash',
                    'firmware_target_hash', 'firmware_target', 'retrieved_at', 'installed_at', 'site_id',
                    'customer_id', 'status', 'owner', 'model', 'serial'):
            batch_op.drop_column(col)
