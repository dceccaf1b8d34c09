"""devices on the broker: hashed MQTT credentials and the meters each device speaks for

Revision ID: 0003_broker
Revises: 0003_bill
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_broker"
down_revision = "0003_bill"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "devices",
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("issued_ms", sa.BigInteger(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("rotations", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("device_id"),
    )
    op.create_table(
        "device_meters",
        sa.Column("meter_id", sa.String(length=64), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["device_id"], ["devices.device_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("meter_id"),
    )
    op.create_index("ix_device_meters_device_id", "device_meters", ["device_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_device_meters_device_id", table_name="device_meters")
    op.drop_table("device_meters")
    op.drop_table("devices")
