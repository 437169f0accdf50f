"""The niche search finds a topic word's singular and plural alike, on SQLite (FTS5) and PostgreSQL (tsvector)."""

from __future__ import annotations

from datetime import UTC, datetime

from miles.config import Settings
from miles.store.db import session_scope
from miles.store.repos.niche import search_video_ids, searched_form
from miles.store.tables import Video

TITLES = {
    "wo1": "My 10 minute home workout",
    "wo2": "Three workouts you can do anywhere",
    "wo3": "Workouts for busy parents",
    "cak": "Rating my cake collection",
}


def test_a_topic_word_finds_its_singular_and_its_plural(db_settings: Settings) -> None:
    """'home workouts' found 2 videos and 'home workout' 22 in a creator's store: each missed the other's titles."""
    with session_scope(db_settings) as session:
        published = datetime(2026, 11, 1, tzinfo=UTC)
        session.add_all(Video(id=vid, title=title, published_at=published) for vid, title in TITLES.items())
    with session_scope(db_settings) as session:
        plural = set(search_video_ids(session=session, topic="workouts"))
        singular = set(search_video_ids(session=session, topic="workout"))
    assert plural == singular == {"wo1", "wo2", "wo3"}
    assert searched_form("glass") == ("glass", True) and searched_form("pc") == ("pc", False)
