"""auth_svc: one-time password-reset tokens issued by an operator (only their SHA-256 is kept).

Revision ID: 0004_operator
Revises: 0003_hardening
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_operator"
down_revision = "0003_hardening"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "auth_password_resets",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column(
            "user_id", sa.String(36), sa.ForeignKey("auth_users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("issued_at", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.Column("spent_at", sa.Float(), nullable=True),
    )
    op.create_index("ix_auth_password_resets_user_id", "auth_password_resets", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_auth_password_resets_user_id", "auth_password_resets")
    op.drop_table("auth_password_resets")
