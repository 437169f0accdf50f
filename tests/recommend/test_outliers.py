"""Outlier multiples over a tiny basis: a channel that usually gets ~150 views made one upload read 283x, and a
video whose channel Miles knows nothing of read 10,927x against the ~2,000 views its niche expectation guessed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from miles.inputs import format_outlier_multiple
from miles.recommend.outliers import MIN_BASIS_VIEWS, niche_outliers

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _channel(channel: str, usual: int, hit: int) -> list[dict[str, object]]:
    """Six earlier uploads at ``usual`` views a week after publishing, then one at ``hit`` views."""
    rows = []
    for i, views in enumerate([usual] * 6 + [hit]):
        pub = T0 + timedelta(days=10 * i)
        rows.append({"video_id": f"{channel}{i}", "channel_id": channel, "title": f"{channel} video {i}",
                     "published_at": pub, "captured_at": pub + timedelta(hours=170), "views": views})  # fmt: skip
    return rows


def test_a_multiple_over_a_tiny_basis_is_flagged_and_ranked_after_the_others() -> None:
    frame = pd.DataFrame(_channel("tiny", 150, 42_000) + _channel("big", 20_000, 100_000))
    hits = frame[frame["video_id"].isin(["tiny6", "big6"])]
    ranked = niche_outliers(hits, frame, labeler=None).set_index("video_id")
    assert ranked.loc["tiny6", "multiple"] == pytest.approx(42_001 / 151)  # the arithmetic is kept, for the record
    assert ranked.loc["tiny6", "basis_views"] == pytest.approx(150) and ranked.loc["big6", "basis_views"] > 10_000
    assert bool(ranked.loc["tiny6", "tiny_base"]) and not bool(ranked.loc["tiny6", "trusted"])
    assert bool(ranked.loc["big6", "trusted"]) and not bool(ranked.loc["big6", "tiny_base"])
    assert list(ranked.index) == ["big6", "tiny6"]  # the 5x over 20,000 views leads the 280x over 150
    assert MIN_BASIS_VIEWS > 150


def test_a_multiple_beyond_what_any_basis_can_carry_is_not_shown_to_the_unit() -> None:
    assert format_outlier_multiple(10_927.31) == "over 100×"
    assert format_outlier_multiple(27.2) == "27×" and format_outlier_multiple(2.5) == "2.50×"


def test_ideas_cite_a_huge_multiple_as_over_100x() -> None:
    from miles.recommend.generate import NicheContext, OfflineGenerator

    samsung = {"video_id": "s1", "title": "Samsung AI vs apple iPhone AI", "multiple": 10_927.31, "views": 21_462_315}
    drafts = OfflineGenerator().generate(NicheContext(topic="iphone tricks", vibe="", outliers=[samsung]), n=1)
    assert "(over 100×)" in drafts[0].reasoning and "10,927" not in drafts[0].reasoning


def test_a_video_whose_channels_usual_views_are_unknown_gets_no_multiple() -> None:
    """The Japanese search data has no channel ids: Samsung's 21M views read "over 100x" against what the niche model
    guessed for any channel (1,963 views). With no upload of its own channel to compare with, there is no multiple:
    its views are shown, it is never trusted and it ranks after every video measured against its channel."""
    known = _channel("big", 20_000, 100_000)
    pub = T0 + timedelta(days=30)
    samsung = {"video_id": "samsung", "channel_id": None, "title": "Samsung AI vs apple iPhone AI test",
               "published_at": pub, "captured_at": pub + timedelta(hours=170), "views": 21_462_315,
               "channel_subscribers": None}  # fmt: skip
    frame = pd.DataFrame([*known, samsung])
    hits = frame[frame["video_id"].isin(["big6", "samsung"])]
    ranked = niche_outliers(hits, frame, labeler=None).set_index("video_id")
    row = ranked.loc["samsung"]
    assert pd.isna(row["multiple"]) and pd.isna(row["basis_views"]) and row["basis"] == "unknown"
    assert row["baseline_count"] == 0 and not bool(row["trusted"]) and not bool(row["tiny_base"])
    assert row["rank_multiple"] > 1  # the niche guess still orders the unknowns and feeds the patterns
    from miles.recommend.ideas import _outlier_out

    shown = _outlier_out({**row.to_dict(), "video_id": "samsung"})  # what Ideas and Explore show beside it
    assert shown["multiple"] is None and shown["niche_multiple"] == pytest.approx(row["rank_multiple"])
    assert list(ranked.index) == ["big6", "samsung"]
    assert ranked.loc["big6", "basis"] == "channel"
    assert ranked.loc["big6", "multiple"] == pytest.approx(100_001 / 20_001)
