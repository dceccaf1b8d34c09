"""alert_facts: the figures behind an alert's title and message (a serialized AlertFacts)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 20:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Server default: alerts raised before have none (clients show their title and message).
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("facts", sa.LargeBinary(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("facts")
