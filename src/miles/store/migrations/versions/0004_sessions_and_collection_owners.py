"""Session versions and collection owners.

``users.session_version`` is copied into every signed session cookie; logging out or changing the password
bumps it, so every cookie issued before no longer names a live session. ``job_runs.user_id`` and
``job_runs.requester`` record who queued a collection request: its status is shown only to that user (or to an
anonymous caller holding the owner token), and the number of requests waiting per requester is capped.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("session_version", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("job_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("user_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("requester", sa.String(length=80), nullable=True))
        batch_op.create_foreign_key("fk_job_runs_user", "users", ["user_id"], ["id"], ondelete="CASCADE")
        batch_op.create_index("ix_job_runs_job_status", ["job", "status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("job_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_job_runs_job_status")
        batch_op.drop_constraint("fk_job_runs_user", type_="foreignkey")
        batch_op.drop_column("requester")
        batch_op.drop_column("user_id")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("session_version")
