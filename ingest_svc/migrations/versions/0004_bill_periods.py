"""bill_periods: a settled period's bill components in the rule set's currency (NOK)

Revision ID: 0004_bill_periods
Revises: 0003_metering
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_bill_periods"
down_revision = "0003_metering"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("settlements") as batch:
        batch.add_column(sa.Column("currency", sa.String(length=3), nullable=True))
        batch.add_column(sa.Column("cost_micro", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("cost_components", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("settlements") as batch:
        batch.drop_column("cost_components")
        batch.drop_column("cost_micro")
        batch.drop_column("currency")
