"""bridge: outbox leases and status, settlements, meter marks, household progress, device status

Revision ID: 0002
Revises: 0001
Create Date: 2025-01-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("status", sa.String(length=16), nullable=False, server_default="pending")
        )
        batch_op.add_column(
            sa.Column("claimed_until_ms", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("sent_ms", sa.BigInteger(), nullable=True))
        batch_op.create_index("ix_outbox_status_next", ["status", "next_attempt_ms"], unique=False)

    op.create_table(
        "settlements",
        sa.Column("household_id", sa.String(length=64), nullable=False),
        sa.Column("hour_start_ms", sa.BigInteger(), nullable=False),
        sa.Column("zone", sa.String(length=16), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("metered_wh", sa.BigInteger(), nullable=False),
        sa.Column("closed_ms", sa.BigInteger(), nullable=False),
        sa.Column("priced", sa.Boolean(), nullable=False),
        sa.Column("spot_price_micro_eur_per_kwh", sa.BigInteger(), nullable=True),
        sa.Column("spot_cost_micro_eur", sa.BigInteger(), nullable=True),
        sa.Column("grid_energy_cost_micro_eur", sa.BigInteger(), nullable=True),
        sa.Column("capacity_cost_micro_eur", sa.BigInteger(), nullable=True),
        sa.Column("standing_charge_micro_eur", sa.BigInteger(), nullable=True),
        sa.Column("vat_micro_eur", sa.BigInteger(), nullable=True),
        sa.Column("total_cost_micro_eur", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("household_id", "hour_start_ms"),
    )
    op.create_index("ix_settlements_priced_hour", "settlements", ["priced", "hour_start_ms"], unique=False)
    op.create_table(
        "meter_marks",
        sa.Column("meter_id", sa.String(length=64), nullable=False),
        sa.Column("boundary_ms", sa.BigInteger(), nullable=False),
        sa.Column("import_wh", sa.BigInteger(), nullable=False),
        sa.Column("export_wh", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("meter_id"),
    )
    op.create_table(
        "household_progress",
        sa.Column("household_id", sa.String(length=64), nullable=False),
        sa.Column("next_hour_ms", sa.BigInteger(), nullable=False),
        sa.Column("predicted_round_ms", sa.BigInteger(), nullable=False),
        sa.Column("predicted_target_ms", sa.BigInteger(), nullable=False),
        sa.Column("predicted_p50_micro_eur_per_kwh", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("household_id"),
    )
    op.create_index(
        "ix_household_progress_next_hour_ms", "household_progress", ["next_hour_ms"], unique=False
    )
    op.create_table(
        "daily_peaks",
        sa.Column("household_id", sa.String(length=64), nullable=False),
        sa.Column("local_day", sa.String(length=10), nullable=False),
        sa.Column("peak_wh", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("household_id", "local_day"),
    )
    op.create_table(
        "device_status",
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("gateway_id", sa.String(length=64), nullable=False),
        sa.Column("ts_ms", sa.BigInteger(), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "device_id"),
    )


def downgrade() -> None:
    op.drop_table("device_status")
    op.drop_table("daily_peaks")
    op.drop_index("ix_household_progress_next_hour_ms", table_name="household_progress")
    op.drop_table("household_progress")
    op.drop_table("meter_marks")
    op.drop_index("ix_settlements_priced_hour", table_name="settlements")
    op.drop_table("settlements")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_status_next")
        batch_op.drop_column("sent_ms")
        batch_op.drop_column("claimed_until_ms")
        batch_op.drop_column("status")
