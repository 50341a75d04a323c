"""forward delivery outbox

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 08:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "forward_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=100), nullable=False),
        sa.Column("target", sa.String(length=16), nullable=False),
        sa.Column("occurrence_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.String(length=1000), nullable=True),
        sa.ForeignKeyConstraint(["occurrence_id"], ["occurrence.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("uid"),
    )
    op.create_index(
        "ix_forward_delivery_status_target",
        "forward_delivery",
        ["status", "target", "occurrence_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_forward_delivery_occurrence_id"), "forward_delivery", ["occurrence_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_forward_delivery_occurrence_id"), table_name="forward_delivery")
    op.drop_index("ix_forward_delivery_status_target", table_name="forward_delivery")
    op.drop_table("forward_delivery")
