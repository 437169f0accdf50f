"""The guards that keep features leak-free (DESIGN.md §3.3 rules 1-2)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from tests.features.synth import synthetic_snapshots

from miles.errors import LeakageError
from miles.features.build import build_features, make_examples, prepare_snapshots, subscriber_observations
from miles.features.context import SUBSCRIBER_AFTER_DAYS, FeatureContext, to_ns
from miles.features.registry import register_group, resolve_groups, unregister_group
from miles.features.schema import Feature, FeatureGroup


def _later_snapshots(frame: pd.DataFrame, cutoff: pd.Timestamp) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split a frame at ``cutoff`` and make the later part wildly different (views x100, subscribers x10)."""
    before = frame.loc[frame["captured_at"] <= cutoff]
    after = frame.loc[frame["captured_at"] > cutoff].copy()
    after["views"] *= 100
    after["channel_subscribers"] *= 10
    return before, after


@pytest.mark.parametrize("task", ["prepublish", "early"])
def test_snapshots_after_as_of_change_no_feature(task: str) -> None:
    frame = synthetic_snapshots(n_channels=12, videos_per_channel=6)
    cutoff = frame["captured_at"].quantile(0.6)
    before, after = _later_snapshots(frame, cutoff)
    snaps_before = prepare_snapshots(before)
    examples = make_examples(task, snaps_before)  # type: ignore[arg-type]
    assert len(examples) > 100
    with_future = prepare_snapshots(pd.concat([before, after], ignore_index=True))
    x_before = build_features(task, examples, snaps_before)  # type: ignore[arg-type]
    x_future = build_features(task, examples, with_future)  # type: ignore[arg-type]
    # The subscriber count "at publish" may come from up to SUBSCRIBER_AFTER_DAYS after publishing (its declared
    # knowledge time); every other feature, and the count of every example published long enough before the
    # cutoff, must not move.
    declared = examples["published_at"] + pd.Timedelta(days=SUBSCRIBER_AFTER_DAYS)
    settled = np.maximum(to_ns(declared), to_ns(examples["as_of"])) <= to_ns(pd.Series([cutoff] * len(examples)))
    assert settled.sum() > 50
    subs = ["log_subscribers", "subscribers_staleness_d"]
    pd.testing.assert_frame_equal(x_before.drop(columns=subs), x_future.drop(columns=subs))
    pd.testing.assert_frame_equal(x_before.loc[settled, subs], x_future.loc[settled, subs])
    # ...and the later data is really there and different: features as of later times do change.
    late_examples = make_examples(task, with_future)  # type: ignore[arg-type]
    assert late_examples["as_of"].max() > cutoff


def test_subscriber_counts_after_their_declared_knowledge_time_are_refused() -> None:
    """Asking the context for a wider window than declared cannot leak: its own guard raises."""
    snaps = prepare_snapshots(synthetic_snapshots(n_channels=4, videos_per_channel=4, days=40))
    examples = make_examples("prepublish", snaps)
    ctx = FeatureContext(
        task="prepublish", examples=examples, snapshots=snaps, subscribers=subscriber_observations(snaps)
    )
    ok = ctx.subscribers_near_publish()
    pub = ctx.keys["published_at"].reindex(ok.index)
    seen = ok["subscribers_captured_at"].dropna()
    assert (seen <= pub.reindex(seen.index) + pd.Timedelta(days=SUBSCRIBER_AFTER_DAYS)).all()
    # a channel whose only subscriber count is 10 days after publish: the declared rule finds none, a wider ask
    # is refused by the guard (not silently served)
    pub = pd.Timestamp("2026-01-05T18:00:00Z")
    one = pd.DataFrame(
        {"video_id": "v", "channel_id": "c", "title": "t", "published_at": pub, "views": [5, 50],
         "captured_at": [pub + pd.Timedelta(hours=2), pub + pd.Timedelta(days=10)],
         "channel_subscribers": [None, 1000]}
    )  # fmt: skip
    snaps = prepare_snapshots(one)
    examples = make_examples("prepublish", snaps)
    subs = subscriber_observations(snaps)
    ctx = FeatureContext(task="prepublish", examples=examples, snapshots=snaps, subscribers=subs)
    assert ctx.subscribers_near_publish()["subscribers"].isna().all()
    with pytest.raises(LeakageError, match="declared"):
        ctx.subscribers_near_publish(after_days=60)


def test_early_group_refused_in_prepublish_mode() -> None:
    with pytest.raises(LeakageError, match="early"):
        resolve_groups("prepublish", ["text", "early"])
    snaps = prepare_snapshots(synthetic_snapshots(n_channels=2, videos_per_channel=2))
    examples = make_examples("prepublish", snaps)
    with pytest.raises(LeakageError):
        build_features("prepublish", examples, snaps, groups=["early"])


def test_prepublish_examples_must_be_as_of_publish() -> None:
    snaps = prepare_snapshots(synthetic_snapshots(n_channels=2, videos_per_channel=2))
    examples = make_examples("early", snaps)
    with pytest.raises(LeakageError, match="as_of"):
        build_features("prepublish", examples, snaps)


def _leaky(ctx: FeatureContext) -> pd.DataFrame:
    ex = ctx.examples
    horizon = ex["published_at"] + pd.to_timedelta(ex["age_h"], unit="h")
    return pd.DataFrame({"leaky_views_at_horizon": ctx.views_at(horizon)}, index=ex.index)


def _honest(ctx: FeatureContext) -> pd.DataFrame:
    ex = ctx.examples
    return pd.DataFrame({"honest_views_at_as_of": ctx.views_at(ex["as_of"])}, index=ex.index)


@pytest.mark.parametrize("task", ["prepublish", "early"])
def test_a_feature_reading_views_at_the_label_horizon_is_caught(task: str) -> None:
    snaps = prepare_snapshots(synthetic_snapshots(n_channels=3, videos_per_channel=3))
    examples = make_examples(task, snaps)  # type: ignore[arg-type]
    leaky = FeatureGroup("leaky", (Feature("leaky_views_at_horizon", availability=task),), _leaky)  # type: ignore[arg-type]
    honest = FeatureGroup("honest", (Feature("honest_views_at_as_of", availability=task),), _honest)  # type: ignore[arg-type]
    register_group(leaky)
    register_group(honest)
    try:
        with pytest.raises(LeakageError, match="after its as_of"):
            build_features(task, examples, snaps, groups=["leaky"])  # type: ignore[arg-type]
        x = build_features(task, examples, snaps, groups=["honest"])  # type: ignore[arg-type]
        if task == "early":  # views known at t_i equal the early feature
            early = build_features("early", examples, snaps, groups=["early"])
            np.testing.assert_allclose(x["honest_views_at_as_of"], early["early_views"])
    finally:
        unregister_group("leaky")
        unregister_group("honest")


def test_context_accessors_never_return_rows_after_as_of() -> None:
    snaps = prepare_snapshots(synthetic_snapshots(n_channels=6, videos_per_channel=5))
    examples = make_examples("early", snaps)
    ctx = FeatureContext(
        task="early", examples=examples, snapshots=snaps, subscribers=snaps.iloc[0:0].assign(subscribers=[])
    )
    as_of = ctx.keys["as_of"]
    hist = ctx.video_history()
    assert (hist["captured_at"].to_numpy() <= as_of.reindex(hist["key"]).to_numpy()).all()
    uploads = ctx.earlier_uploads()
    assert len(uploads) > 0
    assert (uploads["captured_at"].to_numpy() <= as_of.reindex(uploads["key"]).to_numpy()).all()
    pub = ctx.keys["published_at"].reindex(uploads["key"]).to_numpy()
    assert (uploads["upload_published_at"].to_numpy() < pub).all()
