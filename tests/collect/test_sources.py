"""Every source's EXAMPLES replayed offline from tests/fixtures/ytdlp (STYLE.md habit 1), plus URL matching."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest
from tests.collect.fakeydl import fake_factory

from miles.collect.base import Politeness, SourceError
from miles.collect.registry import SOURCES, source_class
from miles.collect.ytdlp import GenericPage, YouTubeChannel, YouTubeSearch, YouTubeVideo, YtDlpSource

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
EXAMPLES = [(cls, i, ex) for cls in SOURCES for i, ex in enumerate(cls.EXAMPLES)]


def test_every_source_has_examples() -> None:
    assert all(cls.EXAMPLES for cls in SOURCES)


@pytest.mark.parametrize(("cls", "index", "example"), EXAMPLES, ids=[f"{c.name}-{i}" for c, i, _ in EXAMPLES])
def test_source_examples_replay(cls: type[YtDlpSource], index: int, example: object) -> None:
    from miles.collect.base import Example

    assert isinstance(example, Example)
    assert source_class(example.target) is cls
    calls: list[str] = []
    source = cls(politeness=Politeness(delay_s=0, retries=0), ydl_factory=fake_factory(example.responses, calls))
    listing = source.list_entries(example.target, limit=example.options.get("limit"))
    assert len(listing.entries) == example.expect["found"]
    results = [source.extract(entry, now=NOW) for entry in listing.entries]
    records = [r.record for r in results if r.record is not None]
    assert [r["video_id"] for r in records] == example.expect["video_ids"]
    failed = Counter(r.failure.reason for r in results if r.failure is not None)
    assert dict(failed) == example.expect["failed"]
    skipped = Counter(listing.skipped) + Counter(r.skipped for r in results if r.skipped)
    assert dict(skipped) == example.expect.get("skipped", {})
    for key, value in example.expect["first"].items():
        assert records[0][key] == value, key
    assert set(calls) <= set(example.responses), "the source asked for a URL the example does not record"
    for record in records:
        assert record["source"] == f"ytdlp:{cls.name}"
        assert record["captured_at"] >= record["published_at"]


def test_mapping_details_from_fixtures() -> None:
    calls: list[str] = []
    ex = YouTubeChannel.EXAMPLES[0]
    source = YouTubeChannel(ydl_factory=fake_factory(ex.responses, calls))
    entries = {e.video_id: e for e in source.list_entries(ex.target).entries}
    exact = source.extract(entries["cHeF0000001"], now=NOW).record
    date_only = source.extract(entries["cHeF0000002"], now=NOW).record
    assert exact is not None and date_only is not None
    assert exact["published_at"] == datetime.fromtimestamp(1767323045, UTC)
    assert exact["published_at_is_date_only"] is False
    assert exact["thumbnail_url"] == "https://i.ytimg.com/vi/cHeF0000001/hq720.jpg"  # best preference wins
    assert exact["tags"] == "pasta|garlic|recipe" and exact["category_name"] == "Howto & Style"
    assert date_only["published_at"] == datetime(2025, 12, 30, tzinfo=UTC)
    assert date_only["published_at_is_date_only"] is True
    assert date_only["channel_subscribers"] is None  # optional field missing -> null
    # captured time is the info dict's epoch (when yt-dlp fetched it), not the wall clock
    assert exact["captured_at"] == datetime.fromtimestamp(1767400000, UTC)


@pytest.mark.parametrize(
    ("target", "cls"),
    [
        ("https://www.youtube.com/shorts/pAsTa000001", YouTubeVideo),
        ("https://youtu.be/pAsTa000001?si=x", YouTubeVideo),
        ("https://www.youtube.com/watch?app=desktop&v=pAsTa000001", YouTubeVideo),
        ("https://www.youtube.com/@chefmiles", YouTubeChannel),
        ("https://www.youtube.com/@chefmiles/shorts", YouTubeChannel),
        ("https://www.youtube.com/channel/UCchefmiles0000000000000", YouTubeChannel),
        ("easy pasta", YouTubeSearch),
        ("https://vimeo.com/12345", GenericPage),
    ],
)
def test_source_matching(target: str, cls: type[YtDlpSource]) -> None:
    assert source_class(target) is cls


def test_channel_tab_in_url_limits_the_listing() -> None:
    calls: list[str] = []
    ex = YouTubeChannel.EXAMPLES[0]
    source = YouTubeChannel(ydl_factory=fake_factory(ex.responses, calls))
    assert [e.video_id for e in source.list_entries("https://www.youtube.com/@chefmiles/shorts").entries] == [
        "cHeF0000001",
        "cHeF0000002",
    ]
    assert calls == ["https://www.youtube.com/@chefmiles/shorts"]


def test_listing_failure_raises_source_error_with_reason() -> None:
    source = YouTubeSearch(ydl_factory=fake_factory({}))
    with pytest.raises(SourceError) as info:
        source.list_entries("nothing recorded", limit=2)
    assert info.value.failure.reason == "unavailable" and not info.value.failure.transient
