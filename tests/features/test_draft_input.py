"""The typed draft every surface hands the predictor: one converter per surface, no aliased keys."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from miles.errors import InvalidInput
from miles.features.draft import DraftInput

PUBLISH = datetime(2026, 3, 1, 12, tzinfo=UTC)
NAIVE_PUBLISH = datetime(2026, 3, 1, 12)  # SQLite hands back naive UTC


def test_a_mapping_names_its_given_fields_and_refuses_unknown_ones() -> None:
    item = DraftInput.from_mapping({"title": "Egg trick", "duration_s": "20", "tags": "a|b", "description": ""})
    assert item.draft.duration_s == 20.0 and item.draft.tags == ["a", "b"] and item.draft.description is None
    assert item.given == {"title", "duration_s", "tags"}  # the publish time defaulted to now: not given
    dated = DraftInput.from_mapping({"title": "Egg trick", "publish_at": PUBLISH.isoformat()})
    assert dated.draft.publish_at == PUBLISH and "publish_at" in dated.given
    with pytest.raises(InvalidInput, match=r"draft 3: unknown field\(s\) mode, published_at; a draft takes "):
        DraftInput.from_mapping({"title": "x", "published_at": PUBLISH, "mode": "early"}, 3)
    with pytest.raises(InvalidInput, match="thumbnail must be image bytes"):
        DraftInput.from_mapping({"title": "x", "thumbnail": "cat.png"})
    with pytest.raises(InvalidInput, match="same age_h"):
        DraftInput.from_mapping({"title": "x", "early_views": [(1, 10), (1.0, 12)]})
    with pytest.raises(InvalidInput, match="same age_h"):
        DraftInput.from_mapping({"title": "x", "early_views": [(1, 10), (1.0, 10)]})
    with pytest.raises(InvalidInput, match="early views fall from 50 at 1 h to 20 at 6 h; views only grow"):
        DraftInput.from_mapping({"title": "x", "early_views": [(6, 20), (1, 50)]})  # any order: sorted by age first
    assert DraftInput.from_mapping({"title": "x", "early_views": [(6, 50), (1, 50)]}).draft.early_views == [
        (1.0, 50.0), (6.0, 50.0)
    ]  # fmt: skip
    with pytest.raises(InvalidInput, match="is 301 characters; a title is at most 300 characters"):
        DraftInput.from_mapping({"title": "x" * 301})


@dataclass
class Video:
    title: str = "Knife skills in 20 s"
    published_at: datetime = NAIVE_PUBLISH
    description: str | None = ""
    tags: Any = field(default_factory=lambda: ["knife", ""])
    duration_s: float | None = 20.0
    category_id: int | None = 26
    channel_id: str | None = "UCchefmiles0000000000000"
    country: str | None = "FR"


@dataclass
class Snap:
    captured_at: datetime
    views: int
    channel_subscribers: int | None


def test_a_stored_video_reads_its_snapshots_as_early_views() -> None:
    snaps = [Snap(PUBLISH - timedelta(hours=1), 0, 10), Snap(PUBLISH + timedelta(hours=2), 50, 48_000),
             Snap(PUBLISH + timedelta(hours=6), 400, None)]  # fmt: skip
    item = DraftInput.from_stored(Video(), snaps)
    d = item.draft
    assert d.publish_at == PUBLISH and d.early_views == [(2.0, 50.0), (6.0, 400.0)]
    assert d.channel_subscribers == 48_000.0 and d.tags == ["knife"] and d.description is None and d.country == "FR"
    assert item.given == {"title", "tags", "duration_s", "category_id", "publish_at", "channel_subscribers",
                          "early_views"}  # fmt: skip
    fresh = DraftInput.from_stored(Video(), [])
    assert fresh.draft.early_views == [] and fresh.draft.channel_subscribers is None
