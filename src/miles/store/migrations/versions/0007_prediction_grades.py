"""Graded predictions: each stored prediction against the views that arrived at (about) each horizon.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "prediction_grades",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("prediction_id", sa.Integer, sa.ForeignKey("predictions.id", ondelete="CASCADE"), nullable=False),
        sa.Column("model_version", sa.String(64), nullable=False),
        sa.Column("video_id", sa.String(64), nullable=False),
        sa.Column("horizon_h", sa.Float, nullable=False),
        sa.Column("age_h", sa.Float, nullable=False),
        sa.Column("actual_views", sa.BigInteger, nullable=False),
        sa.Column("p10", sa.Float, nullable=False),
        sa.Column("p50", sa.Float, nullable=False),
        sa.Column("p90", sa.Float, nullable=False),
        sa.Column("error_log10", sa.Float, nullable=False),
        sa.Column("inside", sa.Boolean, nullable=False),
        sa.Column("channel_subscribers", sa.BigInteger, nullable=True),
        sa.Column("graded_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("prediction_id", "horizon_h", name="uq_grade_prediction_horizon"),
    )
    op.create_index("ix_grades_version_graded", "prediction_grades", ["model_version", "graded_at"])


def downgrade() -> None:
    op.drop_index("ix_grades_version_graded", "prediction_grades")
    op.drop_table("prediction_grades")
