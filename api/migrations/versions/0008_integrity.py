"""integrity: one line per (plan, SKU), job attempts, plan editors, revocable keys

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 15:00:00

- plan_lines unique on (plan_id, sku_id). Concurrent retries of one job could write a
  plan's lines twice before this revision; the later copies are removed (the first
  copy of each SKU is the line that was computed; the others repeat it).
- plan_lines.unit_volume and .moq: what an edit is checked and totalled against.
- jobs.attempt: which run of a job may write its results (a retry starts a new one).
- plan_editors: who changed a plan's lines (they may not approve it).
- users.revoked_at: a revoked key is refused.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "DELETE FROM plan_lines WHERE id NOT IN "
        "(SELECT MIN(id) FROM plan_lines GROUP BY plan_id, sku_id)"
    )
    with op.batch_alter_table("plan_lines") as batch:
        batch.add_column(sa.Column("unit_volume", sa.Float(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("moq", sa.Integer(), nullable=False, server_default="0"))
        batch.create_unique_constraint("uq_plan_lines_plan_sku", ["plan_id", "sku_id"])
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("attempt", sa.Integer(), nullable=False, server_default="1"))
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "plan_editors",
        sa.Column("plan_id", sa.Integer(), sa.ForeignKey("plans.id"), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.PrimaryKeyConstraint("plan_id", "user_id"),
    )


def downgrade() -> None:
    op.drop_table("plan_editors")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("revoked_at")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("attempt")
    with op.batch_alter_table("plan_lines") as batch:
        batch.drop_constraint("uq_plan_lines_plan_sku", type_="unique")
        batch.drop_column("moq")
        batch.drop_column("unit_volume")
