"""merge the five context branches into one linear history

Revision ID: 0003
Revises: billing_0001, fleet_0001, hr_0001, prov_0001, sec_0001
Create Date: 2026-11-30 15:00:00
"""

revision = "0003"
down_revision = ("billing_0001", "fleet_0001", "hr_0001", "prov_0001", "sec_0001")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
