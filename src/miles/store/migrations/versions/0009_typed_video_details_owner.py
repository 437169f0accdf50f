"""The title and publish time a user typed for a video Miles has not read (``tracked_videos.typed_title``,
``typed_published_at``): like a typed count, they are that user's alone.

Before, the first user to type a count for an unread video wrote its title and publish time into ``videos``, and
every other user tracking the same id (and the public video API) saw them, and their forecasts used that user's
publish time. Existing typed videos give their details to the tracked rows of the users who typed counts for them.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MANUAL_SOURCE = "web-entry"


def upgrade() -> None:
    with op.batch_alter_table("tracked_videos") as batch:
        batch.add_column(sa.Column("typed_title", sa.String(1000), nullable=True))
        batch.add_column(sa.Column("typed_published_at", sa.DateTime, nullable=True))
    typed_by_owner = (
        "FROM videos v WHERE v.id = tracked_videos.video_id AND v.source = :typed AND EXISTS (SELECT 1 FROM "
        "video_snapshots s WHERE s.video_id = v.id AND s.entered_by = tracked_videos.user_id)"
    )
    op.execute(
        sa.text(
            f"UPDATE tracked_videos SET typed_title = (SELECT v.title {typed_by_owner}), "
            f"typed_published_at = (SELECT v.published_at {typed_by_owner})"
        ).bindparams(typed=MANUAL_SOURCE)
    )


def downgrade() -> None:
    with op.batch_alter_table("tracked_videos") as batch:
        batch.drop_column("typed_published_at")
        batch.drop_column("typed_title")
