"""Data quality: each snapshot records its view metric; ``quality_flags`` lists findings and quarantined snapshots.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("video_snapshots") as batch:
        batch.add_column(sa.Column("view_metric", sa.String(32), nullable=False, server_default="views"))
    op.create_table(
        "quality_flags",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key", sa.String(300), nullable=False, unique=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column(
            "snapshot_id",
            sa.BigInteger().with_variant(sa.Integer, "sqlite"),
            sa.ForeignKey("video_snapshots.id", ondelete="CASCADE"),
            nullable=True,
        ),
        sa.Column("video_id", sa.String(64), nullable=True),
        sa.Column("quarantined", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_quality_flags_snapshot", "quality_flags", ["snapshot_id"])
    op.create_index("ix_quality_flags_created", "quality_flags", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_quality_flags_created", "quality_flags")
    op.drop_index("ix_quality_flags_snapshot", "quality_flags")
    op.drop_table("quality_flags")
    with op.batch_alter_table("video_snapshots") as batch:
        batch.drop_column("view_metric")
