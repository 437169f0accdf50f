"""Feature values against hand-computed examples and brute-force oracles of the documented rules."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
from tests.features.synth import synthetic_snapshots

from miles.errors import InvalidInput
from miles.features.build import build_dataset, build_features, make_examples, prepare_snapshots
from miles.features.draft import Draft, draft_features
from miles.features.registry import feature_names, register_group
from miles.features.schema import FeatureGroup, age_bucket
from miles.features.text import text_stats
from miles.features.timing import local_times

T0 = pd.Timestamp("2026-01-05T18:00:00Z")  # a Monday in winter


def test_text_statistics_by_hand() -> None:
    title = pd.Series(["WOW 3 Tips?! 😀🔥 #shorts", "ラーメンの作り方", "Привет мир"])
    stats = text_stats(title, pd.Series(["a b #x", None, ""]), pd.Series(["t1|t2", None, None]))
    first = stats.iloc[0]
    assert first["title_chars"] == len(title[0])
    assert first["title_words"] == 5
    assert (first["title_has_number"], first["title_has_question"], first["title_has_exclamation"]) == (1, 1, 1)
    assert first["title_emoji_count"] == 2
    assert first["title_caps_ratio"] == pytest.approx(4 / 13)  # W O W T of 13 cased letters
    assert first["title_hashtags"] == 1 and first["has_shorts_tag"] == 1
    assert first["description_words"] == 3 and first["description_hashtags"] == 1 and first["tags_count"] == 2
    assert list(stats["script"]) == ["latin", "kana", "cyrillic"]
    assert np.isnan(stats.iloc[1]["description_chars"]) and np.isnan(stats.iloc[1]["tags_count"])


def test_local_time_uses_the_country_zone() -> None:
    pub = pd.Series([T0, T0, T0])
    out = local_times(pub, pd.Series(["FR", "JP", None]))
    assert out["publish_hour_local"].tolist()[:2] == [19.0, 3.0]
    assert out["publish_weekday_local"].tolist()[:2] == [0.0, 1.0]  # Tokyo is already Tuesday
    assert np.isnan(out["publish_hour_local"].iloc[2])


def _video(vid: str, channel: str | None, pub: pd.Timestamp, points: list[tuple[float, int, int | None]]) -> list[dict]:
    return [
        {
            "video_id": vid,
            "channel_id": channel,
            "title": f"video {vid}",
            "published_at": pub,
            "captured_at": pub + pd.Timedelta(hours=age),
            "views": views,
            "channel_subscribers": subs,
            "source": "hand",
        }
        for age, views, subs in points
    ]


def test_early_signal_by_hand() -> None:
    frame = pd.DataFrame(_video("a", "c", T0, [(1, 10, None), (3, 40, None), (6, 100, None), (30, 500, None)]))
    snaps = prepare_snapshots(frame)
    examples = make_examples("early", snaps)
    x = build_features("early", examples, snaps, groups=["early"])
    row = x.loc[(examples["t_i_h"] == 6) & (examples["age_h"] == 30)].iloc[0]
    assert row["early_views"] == 100 and row["early_snapshot_age_h"] == pytest.approx(6)
    assert (row["early_inc_1"], row["early_inc_2"], row["early_inc_3"]) == (60, 30, 10)  # last one from publish
    assert row["early_dt_1_h"] == pytest.approx(3) and row["early_dt_3_h"] == pytest.approx(1)
    assert row["early_n_snapshots"] == 3
    assert row["early_log_views_per_hour"] == pytest.approx(np.log1p(100 / 6))
    row = x.loc[(examples["t_i_h"] == 1) & (examples["age_h"] == 6)].iloc[0]
    assert row["early_inc_1"] == 10 and np.isnan(row["early_inc_2"])


def test_subscriber_rule_matches_brute_force() -> None:
    """log_subscribers = the observation nearest to publish in [publish - 30 d, max(as_of, publish + 7 d)]."""
    frame = synthetic_snapshots(n_channels=10, videos_per_channel=6, seed=3)
    snaps = prepare_snapshots(frame)
    after_publish = 0
    for task in ("prepublish", "early"):
        examples = make_examples(task, snaps)  # type: ignore[arg-type]
        x = build_features(task, examples, snaps, groups=["channel"])  # type: ignore[arg-type]
        for i in np.random.default_rng(0).choice(len(examples), 150, replace=False):
            ex = examples.iloc[i]
            limit = max(ex["as_of"], ex["published_at"] + pd.Timedelta(days=7))
            seen = snaps.loc[
                (snaps["group_id"] == ex["group_id"])
                & (snaps["captured_at"] <= limit)
                & (snaps["captured_at"] >= ex["published_at"] - pd.Timedelta(days=30))
            ]
            if len(seen):
                dist = (seen["captured_at"] - ex["published_at"]).abs()
                best = seen.loc[dist == dist.min()].sort_values("captured_at").iloc[0]
                expected = np.log1p(best["channel_subscribers"])
                offset = abs((best["captured_at"] - ex["published_at"]).total_seconds()) / 86400
                np.testing.assert_allclose(x["subscribers_staleness_d"].iloc[i], offset)
                after_publish += best["captured_at"] > ex["published_at"]
            else:
                expected = np.nan
            np.testing.assert_allclose(x["log_subscribers"].iloc[i], expected)
    assert after_publish > 0  # the rule really reaches past publish


def test_subscribers_beyond_the_declared_window_are_never_used() -> None:
    frame = pd.DataFrame(
        _video("a", "c", T0, [(1, 10, None), (30, 40, None), (24 * 8, 100, 5000), (24 * 60, 900, 9000)])
    )
    snaps = prepare_snapshots(frame)
    x = build_features("prepublish", make_examples("prepublish", snaps), snaps, groups=["channel"])
    assert x["log_subscribers"].isna().all()  # 8 d and 60 d after publish: outside [-30 d, +7 d]
    early = make_examples("early", snaps)
    xe = build_features("early", early, snaps, groups=["channel"])
    known = early["t_i_h"].to_numpy() >= 24 * 8  # by then the 8-day count is known at as_of
    np.testing.assert_allclose(xe.loc[known, "log_subscribers"], np.log1p(5000))
    assert xe.loc[~known, "log_subscribers"].isna().all()


def test_channel_baseline_matches_brute_force() -> None:
    frame = synthetic_snapshots(n_channels=5, videos_per_channel=12, seed=4, days=20)
    snaps = prepare_snapshots(frame)
    examples = make_examples("early", snaps)
    x = build_features("early", examples, snaps, groups=["channel"])
    checked = 0
    for i in np.random.default_rng(1).choice(len(examples), 200, replace=False):
        ex = examples.iloc[i]
        older = snaps.loc[
            (snaps["channel_id"] == ex["channel_id"])
            & (snaps["published_at"] < ex["published_at"])
            & (snaps["captured_at"] <= ex["as_of"])
            & (age_bucket(snaps["age_h"]) == age_bucket(np.array([ex["age_h"]]))[0])
        ]
        latest = older.sort_values("captured_at").drop_duplicates("video_id", keep="last")
        expected = np.median(np.log1p(latest["views"])) if len(latest) else np.nan
        np.testing.assert_allclose(x["channel_baseline_log_views"].iloc[i], expected)
        assert x["channel_baseline_count"].iloc[i] == len(latest)
        checked += len(latest) > 0
    assert checked > 10


def test_draft_rows_equal_training_rows_for_the_same_video() -> None:
    frame = pd.DataFrame(_video("v", None, T0, [(2, 50, 900), (5, 120, 900), (48, 900, 950)]))
    frame["title"] = "Best RAMEN hack?! #shorts"
    frame["duration_s"], frame["category_id"], frame["country"] = 42.0, 26, "FR"
    data = build_dataset("early", frame)
    row = data.X.loc[(data.meta["t_i_h"].round(3) == 5) & (data.meta["age_h"].round(3) == 48)]
    draft = Draft(
        title="Best RAMEN hack?! #shorts",
        publish_at=datetime(2026, 1, 5, 18, tzinfo=UTC),
        duration_s=42.0,
        category_id=26,
        country="FR",
        early_views=[(2, 50), (5, 120)],
    )
    x, rows = draft_features([draft], task="early", horizons_h=[48.0])
    assert list(x.columns) == feature_names("early") == list(data.X.columns)
    same = [c for c in x.columns if not c.startswith(("log_subscribers", "subscribers_"))]
    pd.testing.assert_frame_equal(x[same].reset_index(drop=True), row[same].reset_index(drop=True))
    assert rows.loc[0, "t_i_h"] == 5.0


def test_draft_subscribers_are_used_and_prepublish_needs_no_views() -> None:
    draft = Draft(title="hello", publish_at=datetime(2026, 1, 5, tzinfo=UTC), channel_subscribers=1000)
    x, _ = draft_features([draft], task="prepublish", horizons_h=[1, 24])
    assert len(x) == 2 and x["log_subscribers"].iloc[0] == pytest.approx(np.log1p(1000))
    with pytest.raises(InvalidInput, match="early"):
        draft_features([draft], task="early")


def test_registering_a_clashing_feature_is_refused() -> None:
    clash = FeatureGroup("dup", (), lambda ctx: pd.DataFrame(index=ctx.examples.index))
    object.__setattr__(clash, "names", ("title_chars",))
    with pytest.raises(InvalidInput, match="title_chars"):
        register_group(clash)
