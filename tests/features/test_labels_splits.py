"""Labels (DESIGN.md §3.2) and honest splits (§3.3 rules 3-4)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.features.synth import synthetic_snapshots

from miles.collect.files import read_file
from miles.features.build import build_dataset, prepare_snapshots
from miles.features.labels import ViralLabeler
from miles.features.splits import SplitSpec, assign_folds
from miles.model.baselines import ChannelSizeAgeBaseline
from miles.model.metrics import auroc


@pytest.fixture(scope="module")
def dataset():  # type: ignore[no-untyped-def]
    frames = [synthetic_snapshots(n_channels=60, videos_per_channel=8, seed=s, source=f"src{s}") for s in (1, 2)]
    return build_dataset("prepublish", pd.concat(frames, ignore_index=True))


def test_viral_is_the_top_fifth_of_training_residuals_and_round_trips(dataset, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    labeler = ViralLabeler.fit(dataset.X, dataset.y["log_views"])
    viral = labeler.label(dataset.X, dataset.y["log_views"])
    assert viral.mean() == pytest.approx(0.2, abs=0.01)
    labeler.save(tmp_path / "labels.json")
    again = ViralLabeler.load(tmp_path / "labels.json")
    np.testing.assert_array_equal(again.label(dataset.X, dataset.y["log_views"]), viral)
    # the expectation is age-adjusted: older rows of the same video are not all "viral"
    assert set(labeler.age) and labeler.threshold > 0


def test_the_size_yardstick_is_smooth_and_never_falls(dataset) -> None:  # type: ignore[no-untyped-def]
    """One more subscriber never flips the label: the expectation moves with channel size along a line, with no step
    at a size-bucket edge; a blank count has its own typical effect; older labels (a median per bucket) still load."""
    labeler = ViralLabeler.fit(dataset.X, dataset.y["log_views"])
    counts = np.array([10, 999, 1_001, 9_999, 10_001, 99_999, 100_001, 1_000_000, 10_000_000], dtype=float)
    rows = pd.DataFrame({"age_h": 24.0, "category_id": 28, "log_subscribers": np.log1p(counts)})
    expected = labeler.expected(rows)
    assert labeler.size_slope is not None and labeler.size_slope > 0  # bigger synthetic channels get more views
    assert (np.diff(expected) > 0).all()
    assert np.diff(expected)[[1, 3, 5]] == pytest.approx(0.0, abs=0.01)  # across 1k, 10k and 100k: no step
    blank = labeler.expected(rows.assign(log_subscribers=np.nan))
    assert blank - expected == pytest.approx(labeler.size_unknown - labeler._size_effect(rows))
    older = ViralLabeler.from_json({k: v for k, v in labeler.to_json().items()
                                    if not k.startswith("size_")} | {"size": {"2": -1.0, "3": 1.0}})  # fmt: skip
    step = older.expected(rows)[[3, 4]] - labeler.expected(rows)[[3, 4]] + labeler._size_effect(rows)[[3, 4]]
    assert step == pytest.approx([-1.0, 1.0])


def test_the_age_yardstick_never_falls_and_covers_every_age() -> None:
    """A typical video's expected views never fall as it ages, and an age bucket without training rows takes its
    neighbour's value (it got 0: a 1-day-old video was expected to have the views of a typical old one, so an early
    video's viral chance was near zero)."""
    rng = np.random.default_rng(3)
    ages = np.repeat([30.0, 60.0, 120.0, 200.0, 400.0], 60)  # buckets 5-9 only: nothing younger than a day
    level = {30.0: 5.0, 60.0: 4.0, 120.0: 6.0, 200.0: 6.5, 400.0: 6.0}  # a dip and a fall, as captured samples give
    x = pd.DataFrame({"age_h": ages, "category_id": 28, "log_subscribers": np.log1p(5_000.0)})
    y = np.array([level[a] for a in ages]) + rng.normal(0, 0.1, len(ages))
    labeler = ViralLabeler.fit(x, y)
    grid = pd.DataFrame({"age_h": [0.5, 2.0, 8.0, 20.0, 30.0, 60.0, 120.0, 200.0, 400.0, 1000.0, 5000.0, 10000.0],
                         "category_id": 28, "log_subscribers": np.log1p(5_000.0)})  # fmt: skip
    expected = labeler.expected(grid)
    assert (np.diff(expected) >= -1e-9).all(), expected
    assert expected[0] == pytest.approx(expected[4]) and expected[-1] == pytest.approx(expected[-4])  # flat beyond
    assert expected[4] == pytest.approx(expected[5]) and expected[4] < expected[6]  # the dip pooled with its elder


def test_outlier_multiple_needs_channel_history(dataset) -> None:  # type: ignore[no-untyped-def]
    outlier = dataset.y["outlier_multiple"]
    assert outlier.notna().any() and outlier.isna().any()
    assert (outlier.dropna() > 0).all()


def test_shuffled_labels_give_chance_auroc(dataset) -> None:  # type: ignore[no-untyped-def]
    """Viral labels permuted across rows (train and test): no feature can carry them, so AUROC ~ 0.5."""
    rng = np.random.default_rng(7)
    x, log_views = dataset.X, dataset.y["log_views"]
    assert len(x) > 3000
    train = np.zeros(len(x), dtype=bool)
    train[rng.choice(len(x), len(x) // 2, replace=False)] = True
    labeler = ViralLabeler.fit(x[train], log_views[train])
    shuffled = rng.permutation(labeler.label(x, log_views))
    fit_y = dataset.y[train].assign(viral=shuffled[train])
    model = ChannelSizeAgeBaseline("prepublish").fit(x[train], fit_y, labeler=labeler)
    p = model.predict(x[~train]).p_viral
    assert p is not None
    assert auroc(shuffled[~train], p) == pytest.approx(0.5, abs=0.05)
    # the same pipeline with the real labels does find signal (channel size drives views here)
    real = labeler.label(x, log_views)
    honest = ChannelSizeAgeBaseline("prepublish").fit(
        x[train], dataset.y[train].assign(viral=real[train]), labeler=labeler
    )
    assert honest.predict(x[~train]).log_views is not None


def _check_folds(meta: pd.DataFrame, folds: dict[str, np.ndarray]) -> None:
    groups = {k: set(meta.loc[m, "group_id"]) for k, m in folds.items()}
    assert groups["train"] and groups["test"]
    assert not groups["train"] & groups["test"]
    assert not groups["train"] & groups["val"]
    assert not groups["val"] & groups["test"]
    assert groups["warm_test"] <= groups["train"]
    assert groups["fit"] <= groups["train"]
    for source in meta["source"].unique():
        in_source = (meta["source"] == source).to_numpy()
        train_pub = meta.loc[folds["train"] & in_source, "published_at"]
        for late in ("test", "warm_test"):
            late_pub = meta.loc[folds[late] & in_source, "published_at"]
            if len(train_pub) and len(late_pub):
                assert train_pub.max() < late_pub.min(), (source, late)
        val_pub = meta.loc[folds["val"] & in_source, "published_at"]
        fit_pub = meta.loc[folds["fit"] & in_source, "published_at"]
        if len(val_pub) and len(fit_pub):
            assert fit_pub.max() < val_pub.min()
    train_videos = set(meta.loc[folds["train"], "video_id"])
    for name in ("val", "test", "warm_test"):  # no evaluated video is ever trained on
        assert not train_videos & set(meta.loc[folds[name], "video_id"]), name


def test_split_is_grouped_and_forward_in_time(dataset) -> None:  # type: ignore[no-untyped-def]
    spec = SplitSpec().fit(dataset.meta)
    assert set(spec.cuts) == {"src1", "src2"}
    _check_folds(dataset.meta, assign_folds(dataset.meta, spec))
    again = SplitSpec.from_json(spec.to_json())
    for name, mask in assign_folds(dataset.meta, again).items():
        np.testing.assert_array_equal(mask, assign_folds(dataset.meta, spec)[name])


def test_split_on_the_development_data(shared_data: Path) -> None:
    frames = [read_file(p).frame for p in sorted(shared_data.rglob("*.parquet"))]
    snaps = prepare_snapshots(pd.concat(frames, ignore_index=True))
    meta = snaps[["video_id", "group_id", "channel_id", "source", "published_at"]]
    folds = assign_folds(meta, SplitSpec().fit(meta))
    _check_folds(meta, folds)
    for source in meta["source"].unique():  # each source contributes to both sides (per-source time cut)
        in_source = (meta["source"] == source).to_numpy()
        assert (folds["train"] & in_source).any() and (folds["test"] & in_source).any()
