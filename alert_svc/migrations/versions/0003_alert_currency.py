"""alert_currency: price alerts' figure in the installation's currency (µ/kWh) and that currency

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 15:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Server defaults: alerts raised before keep 0 / "" (their figure was EUR/MWh only).
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("spot_micro_per_kwh", sa.BigInteger(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("currency", sa.String(length=3), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("currency")
        batch.drop_column("spot_micro_per_kwh")
