"""purchase_orders.ordered_at and reference: an approved order placed with its supplier

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("purchase_orders") as batch:
        batch.add_column(sa.Column("ordered_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("reference", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("purchase_orders") as batch:
        batch.drop_column("reference")
        batch.drop_column("ordered_at")
