"""metering: meter signing keys, signed boundary values, quarter-hour settlements, missing periods

Revision ID: 0003_metering
Revises: 0003_broker
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_metering"
down_revision = "0003_broker"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "meter_keys",
        sa.Column("meter_id", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("algorithm", sa.String(length=16), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("registered_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("meter_id", "key_id"),
    )
    op.create_table(
        "meter_boundaries",
        sa.Column("meter_id", sa.String(length=64), nullable=False),
        sa.Column("boundary_ms", sa.BigInteger(), nullable=False),
        sa.Column("import_wh", sa.BigInteger(), nullable=False),
        sa.Column("export_wh", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.Column("received_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("meter_id", "boundary_ms"),
    )
    with op.batch_alter_table("settlements", schema=None) as batch_op:
        batch_op.add_column(sa.Column("period_ms", sa.BigInteger(), nullable=False, server_default="3600000"))
        batch_op.add_column(sa.Column("meter_values", sa.LargeBinary(), nullable=True))
    op.create_table(
        "missing_periods",
        sa.Column("household_id", sa.String(length=64), nullable=False),
        sa.Column("period_start_ms", sa.BigInteger(), nullable=False),
        sa.Column("period_ms", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.String(length=256), nullable=False),
        sa.Column("closed_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("household_id", "period_start_ms"),
    )
    op.create_table(
        "recorded_meter_keys",
        sa.Column("meter_id", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("recorded_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("meter_id", "key_id"),
    )


def downgrade() -> None:
    op.drop_table("recorded_meter_keys")
    op.drop_table("missing_periods")
    with op.batch_alter_table("settlements", schema=None) as batch_op:
        batch_op.drop_column("meter_values")
        batch_op.drop_column("period_ms")
    op.drop_table("meter_boundaries")
    op.drop_table("meter_keys")
