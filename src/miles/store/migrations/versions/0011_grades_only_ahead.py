"""Grades of horizons already past when the forecast was made are removed (the grade job no longer makes them).

A draft scored after its video went out was graded at the horizons its note says cannot be graded (1 h, for a draft
scored an hour after publishing, by a capture a minute later), and those grades counted in the live accuracy.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def upgrade() -> None:
    query = sa.text(
        "SELECT g.id, g.horizon_h, p.created_at, v.published_at FROM prediction_grades g "
        "JOIN predictions p ON p.id = g.prediction_id JOIN videos v ON v.id = g.video_id"
    ).columns(
        sa.column("id"), sa.column("horizon_h", sa.Float), sa.column("created_at", sa.DateTime),
        sa.column("published_at", sa.DateTime),
    )  # fmt: skip
    rows = op.get_bind().execute(query)
    passed = [gid for gid, horizon_h, created, published in rows
              if (_utc(created) - _utc(published)).total_seconds() / 3600.0 >= horizon_h]  # fmt: skip
    for start in range(0, len(passed), 500):
        op.get_bind().execute(
            sa.text("DELETE FROM prediction_grades WHERE id IN :ids").bindparams(sa.bindparam("ids", expanding=True)),
            {"ids": passed[start : start + 500]},
        )


def downgrade() -> None:
    """Nothing to restore: the removed grades were not grades of a forecast."""
