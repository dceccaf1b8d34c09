"""auth_svc: reported audit events carry an idempotency key, so a retried report adds nothing.

Revision ID: 0005_audit_idempotency
Revises: 0004_operator
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_audit_idempotency"
down_revision = "0004_operator"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NULL for events without a key (sign-ins, admin actions, key-less reports): a unique
    # constraint admits any number of NULLs on both SQLite and PostgreSQL.
    with op.batch_alter_table("auth_audit_events") as batch:
        batch.add_column(sa.Column("idempotency_key", sa.String(200), nullable=True))
        batch.create_unique_constraint("uq_auth_audit_events_idempotency_key", ["idempotency_key"])


def downgrade() -> None:
    with op.batch_alter_table("auth_audit_events") as batch:
        batch.drop_constraint("uq_auth_audit_events_idempotency_key", type_="unique")
        batch.drop_column("idempotency_key")
