"""Live YouTube through real yt-dlp (``pytest -m network``; skipped by default, needs internet)."""

from __future__ import annotations

import pytest

from miles.collect.base import Politeness
from miles.collect.ytdlp import YouTubeSearch, YouTubeVideo

pytestmark = pytest.mark.network


def test_live_search_returns_shorts_with_required_fields() -> None:
    source = YouTubeSearch(politeness=Politeness(delay_s=1.0, retries=2))
    listing = source.list_entries("cooking shorts", limit=3)
    assert listing.entries, "YouTube search returned nothing"
    result = source.extract(listing.entries[0])
    assert result.record is not None, result.failure
    assert result.record["views"] >= 0 and result.record["duration_s"] <= 180


def test_live_single_video() -> None:
    source = YouTubeVideo(politeness=Politeness(delay_s=1.0, retries=2))
    entry = source.list_entries("https://www.youtube.com/watch?v=jNQXAC9IVRw").entries[0]  # "Me at the zoo"
    result = source.extract(entry)
    assert result.record is not None, result.failure
    assert result.record["channel_id"] and result.record["published_at"].year == 2005
