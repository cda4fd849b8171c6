"""plan forecasts: each plan line's forecast fan, for the review page's chart

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 13:10:00

- plan_forecasts: per (plan, SKU) the fan the plan was computed from (recent demand and
  the forecast mean per day and segment, and the SKU's dispersion, from which the page
  draws the 50% / 90% bands; `forecast.fan`). Plans computed before this revision have
  none: their lines' reasons show no fan.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "plan_forecasts",
        sa.Column("plan_id", sa.Integer(), sa.ForeignKey("plans.id"), primary_key=True),
        sa.Column("sku_id", sa.String(100), primary_key=True),
        sa.Column("fan", sa.JSON(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("plan_forecasts")
