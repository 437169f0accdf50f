"""`miles track add` as a user runs it: the API's rule for what can be tracked, and nothing stored when it refuses."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

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


def test_track_add_of_a_tracked_video_says_so_without_reading_it_again(sqlite_settings: Settings) -> None:
    """A video Miles follows already is named with its tracked id, and nothing is downloaded (no network here: a
    second read would fail)."""
    from tests.jobs.test_quality import plant, snap

    from miles.store.repos.tracked import add_tracked

    plant(sqlite_settings, [snap("AbCdEfGhIjK", 1, 40)])
    with session_scope(sqlite_settings) as session:
        row = add_tracked(session=session, user_id=None, video_id="AbCdEfGhIjK",
                          url="https://www.youtube.com/watch?v=AbCdEfGhIjK", schedule_h=[1.0, 6.0])  # fmt: skip
        tracked_id = row.id
    before = _row_counts(sqlite_settings)
    out = miles(sqlite_settings, "track", "add", "https://www.youtube.com/shorts/AbCdEfGhIjK")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(f"AbCdEfGhIjK is already tracked (id {tracked_id}): not read again")
    assert _row_counts(sqlite_settings) == before


def test_an_error_quoting_square_brackets_prints_them(sqlite_settings: Settings) -> None:
    """yt-dlp's messages start with the extractor in brackets ("[vm.tiktok] ZMhQx7AbC: Unable to download ..."): the
    error line read them as Rich markup and printed "try again later ( ZMhQx7AbC: ...". Whatever a message quotes is
    printed as it is."""
    typed = "[vm.tiktok] ZMhQx7AbC"
    out = miles(sqlite_settings, "track", "add", typed)
    assert out.returncode == 1, out.stderr
    assert f"error: URL: not a YouTube video URL or id (nor a TikTok video URL): {typed!r};" in " ".join(
        out.stderr.split()
    )


def test_track_views_enters_a_reading_and_shows_the_forecast(sqlite_settings: Settings) -> None:
    """The CLI could not enter views (the API, MCP and Track page can): every problem at once and nothing stored,
    then the reading with its forecast, as the API answers it (--json)."""
    import json

    from miles.store.repos import users
    from miles.store.repos.tracked import add_tracked

    with session_scope(sqlite_settings) as session:
        user = users.create_user(session=session, email="ana@example.com", password="correct horse battery")
        row = add_tracked(session=session, user_id=user.id, video_id="AbCdEfGhIjK",
                          url="https://www.youtube.com/watch?v=AbCdEfGhIjK", schedule_h=[1.0, 6.0])  # fmt: skip
        tracked_id = str(row.id)
    before = _row_counts(sqlite_settings)
    bad = miles(sqlite_settings, "track", "views", "--user", "ana@example.com", "--at", "2999-01-01", "--", tracked_id,
                "-5")  # fmt: skip
    said = " ".join(bad.stderr.split())
    # both problems in one line, named as this command names them (--at, not the API's read_at)
    assert bad.returncode == 1 and "VIEWS: -5 is negative" in said and "--at: 2999-01-01" in said, said
    assert _row_counts(sqlite_settings) == before
    read = (datetime.now(UTC) - timedelta(minutes=5)).isoformat(timespec="minutes")
    published = (datetime.now(UTC) - timedelta(hours=6, minutes=5)).isoformat(timespec="minutes")
    args = ["track", "views", tracked_id, "1.2k", "--user", "ana@example.com", "--at", read, "--title", "Sourdough",
            "--published-at", published, "--subscribers", "5k"]  # fmt: skip
    out = miles(sqlite_settings, *args, "--json")
    assert out.returncode == 0, out.stderr
    answer = json.loads(out.stdout)
    video = answer["video"]
    assert (video["title"], video["latest"]["views"], round(video["latest"]["age_h"])) == ("Sourdough", 1200, 6)
    assert video["forecast"]["horizons"][0]["horizon_h"] == 24.0 and video["forecast"]["horizons"][0]["p50"] > 1200
    human = miles(sqlite_settings, "track", "views", tracked_id, "1,300", "--user", "ana@example.com")
    assert human.returncode == 0, human.stderr
    assert re.match(r"Sourdough: 1,300 views at 6\.\d+ h\n +1d: [\d,]+ \(80 %: [\d,]+–[\d,]+\)", human.stdout), (
        human.stdout
    )
    assert "viral chance: " in human.stdout and "ordinary uploads" in human.stdout  # with what it means, as the page
