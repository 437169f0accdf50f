"""Why a tracked video's last poll failed, as the collector names it (``tracked_videos.last_error_reason``: ``network``,
``timeout``, ``http_429``, ...): the Track page says it in words, and keeps the site's own message (``last_error``)
as the detail. It showed that message alone, a Python exception a creator could not read.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tracked_videos") as batch:
        batch.add_column(sa.Column("last_error_reason", sa.String(40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tracked_videos") as batch:
        batch.drop_column("last_error_reason")
