"""The migrations build the schema the code declares: a table, column or index added to ``tables.py`` without a
migration (or the other way round) fails here, on SQLite and on PostgreSQL."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from miles.config import Settings
from miles.store.db import get_engine
from miles.store.tables import Base


def _declared(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    # full-text search (SQLite's FTS5 tables, PostgreSQL's expression index) is the migrations' own, not in tables.py
    return not (reflected and compare_to is None and name is not None and "fts" in name)


def test_the_migrated_schema_matches_the_declared_tables(db_settings: Settings) -> None:
    with get_engine(db_settings).connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": _declared})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_the_ideas_cache_keys_newest_video_query_has_an_index(db_settings: Settings) -> None:
    from sqlalchemy import inspect

    indexes = inspect(get_engine(db_settings)).get_indexes("videos")
    assert any(ix["column_names"] == ["platform", "created_at"] for ix in indexes)
