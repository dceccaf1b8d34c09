"""auth_svc: failed sign-ins per throttle key, shared by the replicas (auth_svc/ratelimit.py).

Revision ID: 0003_hardening
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_hardening"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "auth_login_throttle",
        sa.Column("key", sa.String(160), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", sa.Float(), nullable=False),
    )
    op.create_index("ix_auth_login_throttle_last_failure_at", "auth_login_throttle", ["last_failure_at"])


def downgrade() -> None:
    op.drop_index("ix_auth_login_throttle_last_failure_at", "auth_login_throttle")
    op.drop_table("auth_login_throttle")
