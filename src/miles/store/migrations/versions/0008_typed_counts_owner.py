"""Who typed each hand-entered view count (``video_snapshots.entered_by``): a typed count is its user's alone.

Before, a count one user typed for a video was shown to every user tracking it, could veto theirs ("views only
grow") and turned a collected video's source into ``web-entry``. Existing typed counts go to the first user who
tracked the video (the one who could type them); a collected video whose source a typed count had changed gets
back the source of its first collected snapshot.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MANUAL_SOURCE = "web-entry"


def upgrade() -> None:
    with op.batch_alter_table("video_snapshots") as batch:
        batch.add_column(sa.Column("entered_by", sa.Integer, nullable=True))
        batch.create_foreign_key("fk_snapshots_entered_by", "users", ["entered_by"], ["id"], ondelete="CASCADE")
    op.execute(
        sa.text(
            "UPDATE video_snapshots SET entered_by = (SELECT MIN(t.user_id) FROM tracked_videos t "
            "WHERE t.video_id = video_snapshots.video_id) WHERE source = :typed"
        ).bindparams(typed=MANUAL_SOURCE)
    )
    op.execute(
        sa.text(
            "UPDATE videos SET source = (SELECT s.source FROM video_snapshots s WHERE s.video_id = videos.id "
            "AND COALESCE(s.source, '') <> :typed ORDER BY s.captured_at LIMIT 1) "
            "WHERE source = :typed AND EXISTS (SELECT 1 FROM video_snapshots s WHERE s.video_id = videos.id "
            "AND COALESCE(s.source, '') <> :typed)"
        ).bindparams(typed=MANUAL_SOURCE)
    )


def downgrade() -> None:
    with op.batch_alter_table("video_snapshots") as batch:
        batch.drop_constraint("fk_snapshots_entered_by", type_="foreignkey")
        batch.drop_column("entered_by")
