"""Ledger tables: chain head, transactions, blocks, idempotency keys.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_PK_INT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    head = op.create_table(
        "ledger_head",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("tx_count", sa.BigInteger(), nullable=False),
        sa.Column("last_tx_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("block_count", sa.BigInteger(), nullable=False),
        sa.Column("last_block_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("sealed_tx_count", sa.BigInteger(), nullable=False),
        sa.Column("pending_since_ms", sa.BigInteger(), nullable=True),
    )
    op.create_table(
        "ledger_transactions",
        sa.Column("leaf_index", _PK_INT, primary_key=True, autoincrement=False),
        sa.Column("tx_hash", sa.LargeBinary(32), nullable=False, unique=True),
        sa.Column("prev_tx_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("kind", sa.SmallInteger(), nullable=False),
        sa.Column("household_id", sa.String(256), nullable=True),
        sa.Column("hour_ms", sa.BigInteger(), nullable=False),
        sa.Column("appended_at_ms", sa.BigInteger(), nullable=False),
        sa.Column("record", sa.LargeBinary(), nullable=False),
    )
    op.create_index(
        "ix_ledger_tx_household_kind_hour", "ledger_transactions", ["household_id", "kind", "hour_ms"]
    )
    op.create_table(
        "ledger_blocks",
        sa.Column("height", _PK_INT, primary_key=True, autoincrement=False),
        sa.Column("prev_block_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("merkle_root", sa.LargeBinary(32), nullable=False),
        sa.Column("first_tx_index", sa.BigInteger(), nullable=False, unique=True),
        sa.Column("tx_count", sa.Integer(), nullable=False),
        sa.Column("sealed_at_ms", sa.BigInteger(), nullable=False),
        sa.Column("block_hash", sa.LargeBinary(32), nullable=False, unique=True),
    )
    op.create_table(
        "ledger_requests",
        sa.Column("request_id", sa.String(128), primary_key=True),
        sa.Column("digest", sa.LargeBinary(32), nullable=False),
        sa.Column("first_leaf_index", sa.BigInteger(), nullable=False),
        sa.Column("tx_count", sa.Integer(), nullable=False),
    )
    # The one chain-head row every writer locks; genesis hashes are 32 zero bytes (spec §3, §5).
    op.bulk_insert(
        head,
        [
            {
                "id": 1,
                "tx_count": 0,
                "last_tx_hash": bytes(32),
                "block_count": 0,
                "last_block_hash": bytes(32),
                "sealed_tx_count": 0,
                "pending_since_ms": None,
            }
        ],
    )


def downgrade() -> None:
    op.drop_table("ledger_requests")
    op.drop_table("ledger_blocks")
    op.drop_index("ix_ledger_tx_household_kind_hour", table_name="ledger_transactions")
    op.drop_table("ledger_transactions")
    op.drop_table("ledger_head")
