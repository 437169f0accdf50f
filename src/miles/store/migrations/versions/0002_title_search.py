"""Text search on video titles: FTS5 on SQLite, a GIN full-text index on PostgreSQL.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_UP = [
    # External-content FTS table kept in step with `videos` by triggers.
    "CREATE VIRTUAL TABLE videos_fts USING fts5(title, content='videos', content_rowid='rowid', "
    "tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER videos_fts_ai AFTER INSERT ON videos BEGIN "
    "INSERT INTO videos_fts(rowid, title) VALUES (new.rowid, new.title); END",
    "CREATE TRIGGER videos_fts_ad AFTER DELETE ON videos BEGIN "
    "INSERT INTO videos_fts(videos_fts, rowid, title) VALUES ('delete', old.rowid, old.title); END",
    "CREATE TRIGGER videos_fts_au AFTER UPDATE OF title ON videos BEGIN "
    "INSERT INTO videos_fts(videos_fts, rowid, title) VALUES ('delete', old.rowid, old.title); "
    "INSERT INTO videos_fts(rowid, title) VALUES (new.rowid, new.title); END",
    "INSERT INTO videos_fts(videos_fts) VALUES ('rebuild')",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS videos_fts_au",
    "DROP TRIGGER IF EXISTS videos_fts_ad",
    "DROP TRIGGER IF EXISTS videos_fts_ai",
    "DROP TABLE IF EXISTS videos_fts",
]
PG_UP = ["CREATE INDEX ix_videos_title_fts ON videos USING gin (to_tsvector('simple', title))"]
PG_DOWN = ["DROP INDEX IF EXISTS ix_videos_title_fts"]


def _run(statements: list[str]) -> None:
    for statement in statements:
        op.execute(statement)


def upgrade() -> None:
    _run(SQLITE_UP if op.get_bind().dialect.name == "sqlite" else PG_UP)


def downgrade() -> None:
    _run(SQLITE_DOWN if op.get_bind().dialect.name == "sqlite" else PG_DOWN)
