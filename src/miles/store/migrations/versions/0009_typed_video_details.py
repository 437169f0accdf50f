"""The title and publish time a user typed for a video Miles has not read (``typed_videos``): like a typed count,
they are that user's alone, and they outlive the tracking (stop tracking, track again: the counts and details are
still there).

Before, the first user to type a count for an unread video wrote its title and publish time into ``videos``, and
every other user tracking the same id (and the public video API) saw them, and their forecasts used that user's
publish time. Existing typed videos give their details to each user who typed counts for them. On PostgreSQL the
table is under the same row-level security as the other user-owned tables (migration 0003).

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
CURRENT_USER = "NULLIF(current_setting('miles.user_id', true), '')::integer"
POLICY = "miles_owner_only"


def upgrade() -> None:
    op.create_table(
        "typed_videos",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("video_id", sa.String(64), nullable=False),
        sa.Column("title", sa.String(1000), nullable=False),
        sa.Column("published_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("user_id", "video_id", name="uq_typed_video_user"),
    )
    op.execute(
        sa.text(
            "INSERT INTO typed_videos (user_id, video_id, title, published_at, updated_at) "
            "SELECT DISTINCT s.entered_by, v.id, v.title, v.published_at, v.updated_at FROM videos v "
            "JOIN video_snapshots s ON s.video_id = v.id WHERE v.source = :typed AND s.entered_by IS NOT NULL"
        ).bindparams(typed=MANUAL_SOURCE)
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE typed_videos ENABLE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY {POLICY} ON typed_videos USING (user_id IS NOT DISTINCT FROM {CURRENT_USER}) "
            f"WITH CHECK (user_id IS NOT DISTINCT FROM {CURRENT_USER})"
        )


def downgrade() -> None:
    op.drop_table("typed_videos")
