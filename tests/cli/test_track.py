"""`miles track add` as a user runs it: the API's rule for what can be tracked, and nothing stored when it refuses."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from tests.cli.test_cli_foundation import miles

from miles.config import Settings
from miles.serve.services.tracked import VIDEO_URLS_TAKEN
from miles.store.db import session_scope
from miles.store.tables import Base


def _row_counts(settings: Settings) -> dict[str, int]:
    with session_scope(settings) as session:
        return {t.name: session.scalar(select(func.count()).select_from(t)) or 0 for t in Base.metadata.sorted_tables}


@pytest.mark.parametrize("url", ["https://vimeo.com/123", "https://www.youtube.com/@somechannel"])
def test_track_add_refuses_what_the_api_refuses_in_its_words_and_stores_nothing(
    sqlite_settings: Settings, url: str
) -> None:
    """The CLI handed any link to yt-dlp (a vimeo video, a whole channel) where the API and MCP refuse it."""
    before = _row_counts(sqlite_settings)
    out = miles(sqlite_settings, "track", "add", url)
    assert out.returncode == 1, out.stderr
    problem = f"URL: not a YouTube video URL or id (nor a TikTok video URL): {url!r}; {VIDEO_URLS_TAKEN}"
    assert " ".join(out.stderr.split()) == f"error: {problem}"
    assert _row_counts(sqlite_settings) == before
