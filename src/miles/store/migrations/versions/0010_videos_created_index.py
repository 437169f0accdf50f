"""An index on ``videos (platform, created_at)``: the ideas cache key reads when the newest video of a platform was
stored on every ideas request, which scanned the whole table.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_videos_platform_created", "videos", ["platform", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_videos_platform_created", table_name="videos")
