"""Each feature group's per-row form (drafts) equals its vectorised form (training), on synthetic drafts.

Nothing here needs ``../shared/data``, so it cannot skip. Drafts vary every input the groups read: missing
fields, every script, countries with and without a time zone (and lower case), publish times around midnight,
weekends and DST changes, durations at the Shorts limits, known and unknown categories, early views of depth 1
to 6 (also falling views), several drafts of one channel, and an ``extra`` group. The per-row path
(``draft_matrix``, which must not call ``build_features``) and the reference path (``reference_features``:
``build_features`` through the guarded context) must give identical matrices, NaN for NaN.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from miles.features import draft as draft_module
from miles.features import text, timing
from miles.features.build import build_features
from miles.features.context import FeatureContext
from miles.features.draft import Draft, draft_matrix, reference_features
from miles.features.registry import DEFAULT_GROUPS, register_group, resolve_groups, unregister_group
from miles.features.schema import Feature, FeatureGroup, Task

from .synth import WORDS

TITLES = (
    "How I fixed my slow laptop in 5 minutes",  # latin, number
    "WOW!!! this is CRAZY 🔥🔥 #shorts",  # caps, emoji, hashtag
    "ラーメンの作り方 #料理",  # kana
    "拉面怎么做？",  # han, full-width question mark
    "라면 끓이는 법！",  # hangul, full-width exclamation
    "Как приготовить рамен",  # cyrillic
    "كيف تطبخ الرامن",  # arabic
    "रामेन कैसे बनाएं",  # devanagari
    "วิธีทำราเมง",  # thai
    "Καλημέρα κόσμε",  # other letters (Greek)
    "123 !!! ???",  # no letters
    "🔥🔥🔥",  # emoji only
    "東京で食べるラーメン",  # han with kana: Japanese
    "北京烤鸭和上海の小笼包",  # mostly han, one kana: still Japanese
    "Café crème à Paris — l'été",  # latin with accents
    "  spaced   out   title  ",
    "©️ 2026 ® test‼",  # emoji hints that are not all emoji
)
DESCRIPTIONS = (None, "", "a b #x", "#shorts only", "long text with #tag and #two tags\nnew line")
TAGS: tuple[list[str], ...] = ([], ["a"], ["shorts"], ["a", "b", "c"], ["#x"])
COUNTRIES = (None, "US", "JP", "IN", "FR", "fr", "AU", "NP", "ZZ", "BR", "NZ")
DURATIONS = (None, 0.0, 15.0, 59.5, 60.0, 61.0, 180.0, 181.0, 3600.0)
CATEGORIES = (None, 1, 10, 22, 28, 44, 45, 99)
SUBSCRIBERS = (None, 0.0, 1.0, 110.0, 7600.0, 12_345.5, 3e6)
CHANNELS = (None, "chan-a", "chan-b", "chan-a", None, "chan-c")
PUBLISH = (
    datetime(2026, 3, 8, 6, 59, 30, tzinfo=UTC),  # US DST change
    datetime(2026, 3, 29, 0, 30, tzinfo=UTC),  # EU DST change
    datetime(2025, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),  # new year, last microsecond
    datetime(2026, 1, 3, 12, 0, tzinfo=UTC),  # Saturday
    datetime(2026, 1, 4, 23, 15, tzinfo=UTC),  # Sunday in UTC, Monday in Asia
    datetime(2026, 6, 15, 18, 45, 12, 345_678, tzinfo=UTC),
)
HORIZONS = (0.5, 1.0, 3.3, 6.0, 24.0, 48.0, 168.0, 720.0, 2000.0)


def _early_views(rng: np.random.Generator, depth: int) -> list[tuple[float, float]]:
    ages = np.sort(rng.choice(np.array([0.0001, 0.017, 0.25, 0.5, 1.0, 1 / 3, 2.7, 6.0, 23.99, 100.0]), depth, False))
    views = np.cumsum(rng.integers(0, 500, size=depth)).astype(float)
    if depth >= 3 and rng.random() < 0.3:
        views[-1] = views[-2] - 5  # a count that went backwards
    return [(float(a), float(max(v, 0.0))) for a, v in zip(ages, views, strict=True)]


def synthetic_drafts(n: int, seed: int) -> list[Draft]:
    rng = np.random.default_rng(seed)
    drafts = []
    for k in range(n):
        words = " ".join(rng.choice(WORDS, size=int(rng.integers(1, 6))))
        title = TITLES[k % len(TITLES)] if k < len(TITLES) or k % 2 else words
        drafts.append(
            Draft(
                title=title,
                publish_at=PUBLISH[k % len(PUBLISH)] + timedelta(minutes=int(rng.integers(0, 3)) * 17 * (k % 3)),
                description=DESCRIPTIONS[int(rng.integers(len(DESCRIPTIONS)))],
                tags=list(TAGS[int(rng.integers(len(TAGS)))]),
                duration_s=DURATIONS[k % len(DURATIONS)],
                category_id=CATEGORIES[int(rng.integers(len(CATEGORIES)))],
                channel_subscribers=SUBSCRIBERS[int(rng.integers(len(SUBSCRIBERS)))],
                country=COUNTRIES[k % len(COUNTRIES)],
                channel_id=CHANNELS[k % len(CHANNELS)],
                early_views=_early_views(rng, 1 + k % 6),
            )
        )
    return drafts


def _no_reference(*args: object, **kwargs: object) -> pd.DataFrame:
    raise AssertionError("the per-row path called build_features")


@pytest.mark.parametrize("task", ["prepublish", "early"])
def test_per_row_path_equals_reference_path(task: Task, extra_group: str, monkeypatch: pytest.MonkeyPatch) -> None:
    drafts = synthetic_drafts(90, seed=11 if task == "early" else 12)
    rng = np.random.default_rng(5)
    extra = pd.DataFrame({"extra_a": rng.normal(size=len(drafts)), "extra_b": rng.normal(size=len(drafts))})
    extra.loc[::3, "extra_b"] = np.nan
    groups = [*DEFAULT_GROUPS[task], extra_group]
    ref, rows = reference_features(drafts, task=task, horizons_h=HORIZONS, groups=groups, extra=extra)
    monkeypatch.setattr(draft_module, "build_features", _no_reference)
    fast = draft_matrix(drafts, task=task, horizons_h=HORIZONS, groups=groups, extra=extra)
    pd.testing.assert_frame_equal(fast.to_frame(), ref.reset_index(drop=True), check_exact=True)
    pd.testing.assert_frame_equal(fast.rows(), rows, check_dtype=False)
    # The drafts exercised what they were meant to.
    assert len(ref) > 300
    assert ref["script"].nunique() == len(text.SCRIPTS)
    assert ref["publish_hour_local"].isna().any() and ref["publish_hour_local"].notna().any()
    assert ref["category_id"].isna().any() and ref["category_id"].nunique() >= 5
    assert ref["log_subscribers"].isna().any() and ref["channel_baseline_count"].isna().any()
    assert ref["description_chars"].isna().any() and (ref["description_chars"] == 0).any()
    assert ref["title_emoji_count"].max() >= 3 and ref["has_shorts_tag"].max() == 1.0
    if task == "early":
        assert ref["early_n_snapshots"].nunique() == 6 and (ref["early_inc_1"] < 0).any()
        assert ref["early_inc_3"].notna().any() and ref["early_inc_3"].isna().any()


def test_every_builtin_group_has_a_per_row_form() -> None:
    """Drafts without channel history never need ``build_features`` for the built-in groups."""
    assert all(g.per_row is not None for g in resolve_groups("early"))


def _title_words(ctx: FeatureContext) -> pd.DataFrame:
    words = ctx.videos["title"].str.split().str.len().astype(float)
    return ctx.expand_videos(pd.DataFrame({"synth_words": words}))


def test_a_group_without_a_per_row_form_falls_back_to_the_reference_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """A group with neither a per-row form nor ``extra`` columns: the whole matrix comes from build_features."""
    register_group(FeatureGroup("synth_words", (Feature("synth_words"),), _title_words), replace=True)
    try:
        drafts = synthetic_drafts(8, seed=3)
        groups = ["text", "synth_words"]
        ref, _ = reference_features(drafts, task="prepublish", groups=groups)
        calls: list[int] = []

        def spy(*args: object, **kwargs: object) -> pd.DataFrame:
            calls.append(1)
            return build_features(*args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(draft_module, "build_features", spy)
        fast = draft_matrix(drafts, task="prepublish", groups=groups).to_frame()
    finally:
        unregister_group("synth_words")
    assert calls
    pd.testing.assert_frame_equal(fast, ref.reset_index(drop=True), check_exact=True)


def test_text_row_equals_text_stats() -> None:
    titles = [*TITLES, *(" ".join(WORDS[i : i + 4]) for i in range(len(WORDS)))]
    descs = [DESCRIPTIONS[i % len(DESCRIPTIONS)] for i in range(len(titles))]
    tags = ["|".join(TAGS[i % len(TAGS)]) or None for i in range(len(titles))]
    ref = text.text_stats(pd.Series(titles), pd.Series(descs, dtype=object), pd.Series(tags, dtype=object))
    rows = pd.DataFrame([text.row(t, d, g) for t, d, g in zip(titles, descs, tags, strict=True)], columns=ref.columns)
    numeric = ref.columns.drop("script")
    pd.testing.assert_frame_equal(rows[numeric], ref[numeric], check_exact=True, check_dtype=False)
    assert rows["script"].fillna("-").tolist() == ref["script"].astype(object).fillna("-").tolist()


def test_timing_row_equals_local_times() -> None:
    pubs = [p + timedelta(hours=h) for p in PUBLISH for h in (0, 5, 13)]
    countries = [COUNTRIES[i % len(COUNTRIES)] for i in range(len(pubs))]
    stamps = pd.Series(pd.to_datetime(pubs, utc=True))
    ref = timing.local_times(stamps, pd.Series(countries, dtype=object))
    rows = np.array([timing.timing_row(p, c)[3:] for p, c in zip(pubs, countries, strict=True)])
    np.testing.assert_array_equal(rows, ref.to_numpy(dtype=float))
