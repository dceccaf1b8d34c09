"""bill: household contract settings (grid company, municipality, scheme, dwelling, supplier terms)

Revision ID: 0003_bill
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_bill"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("households", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("grid_company", sa.String(length=64), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("municipality", sa.String(length=8), nullable=False, server_default=""))
        batch_op.add_column(
            sa.Column("price_scheme", sa.String(length=16), nullable=False, server_default="spot")
        )
        batch_op.add_column(
            sa.Column("dwelling", sa.String(length=16), nullable=False, server_default="home")
        )
        batch_op.add_column(sa.Column("supplier_markup_micro_per_kwh", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("supplier_fee_nano_per_month", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("households", schema=None) as batch_op:
        for column in (
            "supplier_fee_nano_per_month",
            "supplier_markup_micro_per_kwh",
            "dwelling",
            "price_scheme",
            "municipality",
            "grid_company",
        ):
            batch_op.drop_column(column)
