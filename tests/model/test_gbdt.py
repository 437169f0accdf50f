"""LightGBM learner: quantiles, monotone age curve, calibrated viral probability, save/load round trip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from miles.errors import InvalidInput
from miles.model.gbdt import SIZE_UNKNOWN, Calibrator, FitData, FloatArray, GBDTConfig, GBDTModel


def _fold(n: int, seed: int) -> FitData:
    rng = np.random.default_rng(seed)
    age = rng.uniform(0.5, 500, n)
    subs = rng.uniform(2, 14, n)
    noise = rng.normal(size=n)
    x = pd.DataFrame({"age_h": age, "log_age_h": np.log1p(age), "log_subscribers": subs, "noise": noise,
                      "category_id": pd.Categorical(rng.choice(["1", "2"], n), categories=["1", "2"])})  # fmt: skip
    y = 2 + 0.8 * np.log1p(age) + 0.5 * subs + rng.normal(scale=0.7, size=n)
    viral = (y - (2 + 0.8 * np.log1p(age) + 0.5 * subs) > 0.6).astype(float)
    return FitData(x, y, viral)


@pytest.fixture(scope="module")
def fitted() -> GBDTModel:
    return GBDTModel.fit_folds(_fold(3000, 1), _fold(800, 2), GBDTConfig(max_rounds=150, num_threads=1))


def test_quantiles_ordered_and_cover(fitted: GBDTModel) -> None:
    test = _fold(1000, 3)
    q = fitted.predict_quantiles(test.x)
    assert (np.diff(q, axis=1) >= 0).all()
    coverage = np.mean((test.log_views >= q[:, 0]) & (test.log_views <= q[:, 2]))
    assert 0.6 < coverage < 0.95
    assert np.mean(np.abs(q[:, 1] - test.log_views)) < 0.8


def test_monotone_in_age(fitted: GBDTModel) -> None:
    ages = np.array([1.0, 6.0, 24.0, 168.0, 720.0])
    x = pd.DataFrame({"age_h": ages, "log_age_h": np.log1p(ages), "log_subscribers": 8.0, "noise": 0.0,
                      "category_id": pd.Categorical(["1"] * 5, categories=["1", "2"])})  # fmt: skip
    assert (np.diff(fitted.predict_quantiles(x)[:, 1]) >= 0).all()


def test_viral_probability_is_calibrated_probability(fitted: GBDTModel) -> None:
    test = _fold(1000, 4)
    p = fitted.predict_viral(test.x)
    assert ((p >= 0) & (p <= 1)).all()
    assert abs(p.mean() - test.viral.mean()) < 0.08
    assert np.mean(p[test.viral == 1]) > np.mean(p[test.viral == 0])


def test_contributions_sum_to_prediction(fitted: GBDTModel) -> None:
    test = _fold(20, 5)
    contrib = fitted.contributions(test.x)
    np.testing.assert_allclose(contrib.sum(axis=1), fitted.predict_quantiles(test.x)[:, 1], rtol=1e-6, atol=1e-6)


def test_save_load_identical(fitted: GBDTModel, tmp_path: Path) -> None:
    fitted.save(tmp_path)
    again = GBDTModel.load(tmp_path)
    test = _fold(200, 6)
    np.testing.assert_array_equal(fitted.predict_quantiles(test.x), again.predict_quantiles(test.x))
    np.testing.assert_array_equal(fitted.predict_viral(test.x), again.predict_viral(test.x))


def test_missing_feature_column_is_refused(fitted: GBDTModel) -> None:
    with pytest.raises(InvalidInput, match="noise"):
        fitted.predict_quantiles(_fold(5, 7).x.drop(columns="noise"))


def test_calibrator_needs_two_classes() -> None:
    with pytest.raises(InvalidInput, match="single class"):
        Calibrator.fit(np.array([0.1, 0.2]), np.array([1.0, 1.0]))


def test_conformal_scaling_restores_nominal_coverage() -> None:
    """Quantile boosters trained on low-noise rows are too narrow on noisier ones; the validation fold fixes it."""

    def noisy(n: int, seed: int, scale: float) -> FitData:
        fold = _fold(n, seed)
        extra = np.random.default_rng(seed + 100).normal(scale=scale, size=n)
        return FitData(fold.x, fold.log_views + extra, fold.viral)

    model = GBDTModel.fit_folds(_fold(3000, 11), noisy(1500, 12, 1.0), GBDTConfig(max_rounds=150, num_threads=1))
    assert model.interval_scale[0] > 1.2 and model.interval_scale[1] > 1.2
    test = noisy(3000, 13, 1.0)
    q = model.predict_quantiles(test.x)
    coverage = np.mean((test.log_views >= q[:, 0]) & (test.log_views <= q[:, 2]))
    assert 0.75 < coverage < 0.86
    raw = model._raw_quantiles(test.x)
    assert np.mean((test.log_views >= raw[:, 0]) & (test.log_views <= raw[:, 2])) < 0.7
    np.testing.assert_allclose(q[:, 1], raw[:, 1])  # the centre does not move


def test_ordinary_uploads_get_a_range_calibrated_on_theirs_alone(tmp_path: Path) -> None:
    """A validation fold whose selected-frame rows are noisier than its ordinary uploads: one scale for every row
    made the ordinary range too wide (a draft's p10 near 0 views); their own scale restores 80 % for them, and
    rows of a selected frame keep the scale over every row."""

    def with_noise(fold: FitData, scale: float, seed: int) -> FitData:
        extra = np.random.default_rng(seed).normal(scale=scale, size=len(fold.log_views))
        return FitData(fold.x, fold.log_views + extra, fold.viral)

    model = GBDTModel.fit_folds(_fold(3000, 31), _fold(800, 32), GBDTConfig(max_rounds=150, num_threads=1))
    ordinary, trending = _fold(600, 33), with_noise(_fold(1500, 34), 2.0, 35)
    valid = pd.concat([ordinary.x, trending.x], ignore_index=True)
    sources = pd.Series(["mftn_fr_tech_channels_2026"] * 600 + ["fedelux3_trending"] * 1500)
    model.interval_scale = model.conformal_scale(valid, np.r_[ordinary.log_views, trending.log_views])
    model.fit_ordinary_interval(valid, np.r_[ordinary.log_views, trending.log_views], sources)
    assert model.ordinary_interval_scale is not None and model.ordinary_interval_scale[0] < model.interval_scale[0]
    test = _fold(3000, 36)

    def coverage(selected: np.ndarray | None) -> float:
        q = model.score(model.inputs(test.x), test.x, None, selected)[0]
        return float(np.mean((test.log_views >= q[:, 0]) & (test.log_views <= q[:, 2])))

    assert 0.74 < coverage(None) < 0.86  # drafts: ordinary uploads
    assert coverage(np.ones(len(test.log_views), dtype=bool)) > 0.95  # a selected frame keeps the wide range
    model.save(tmp_path)
    assert GBDTModel.load(tmp_path).ordinary_interval_scale == model.ordinary_interval_scale
    few = slice(450, 750)  # 150 ordinary uploads: under ORDINARY_INTERVAL_ROWS, so the one scale serves them too
    y = np.r_[ordinary.log_views, trending.log_views]
    model.fit_ordinary_interval(valid.iloc[few], y[few], sources.iloc[few].reset_index(drop=True))
    assert model.ordinary_interval_scale is None


def _coverage_apart(model: GBDTModel, x: pd.DataFrame, y: FloatArray, rows: np.ndarray) -> tuple[float, float]:
    """The p10-p90 range's coverage of ``rows`` and of the other rows."""
    q = model.score(model.inputs(x), x)[0]
    inside = (y >= q[:, 0]) & (y <= q[:, 2])
    return float(inside[rows].mean()), float(inside[~rows].mean())


def test_early_range_is_calibrated_per_reading_age(tmp_path: Path) -> None:
    """Readings of 3-7 days noisier than younger ones: one pair of factors for every age left the old readings'
    range too narrow (and the young ones' too wide); factors per t_i bucket, read between the buckets' median t_i,
    give each age about 80 %, and round-trip through save/load."""
    model = GBDTModel.fit_folds(_fold(3000, 41), _fold(800, 42), GBDTConfig(max_rounds=150, num_threads=1))

    def early(fold: FitData, seed: int) -> tuple[pd.DataFrame, FloatArray]:
        rng = np.random.default_rng(seed)
        t_i = np.where(rng.random(len(fold.log_views)) < 0.5, rng.uniform(7, 23, len(fold.log_views)),
                       rng.uniform(80, 160, len(fold.log_views)))  # fmt: skip
        noise = rng.normal(scale=np.where(t_i > 72, 2.0, 0.1))
        return fold.x.assign(early_t_i_h=t_i), fold.log_views + noise

    valid, y_valid = early(_fold(2000, 43), 44)
    test, y_test = early(_fold(3000, 45), 46)
    model.interval_scale = model.conformal_scale(valid, y_valid)

    def coverage_by_age() -> tuple[float, float]:
        return _coverage_apart(model, test, y_test, test["early_t_i_h"].to_numpy() <= 72)

    young, old = coverage_by_age()
    assert young > 0.95 and old < 0.7  # one pair of factors: too wide young, too narrow old
    model.fit_age_scales(valid, y_valid, None)
    assert model.age_interval_scale is not None and len(model.age_interval_scale) == 2
    young, old = coverage_by_age()
    assert 0.72 < young < 0.88 and 0.72 < old < 0.88
    model.save(tmp_path)
    assert GBDTModel.load(tmp_path).age_interval_scale == model.age_interval_scale
    model.fit_age_scales(valid.iloc[:150], y_valid[:150], None)  # under AGE_SCALE_ROWS in each bucket
    assert model.age_interval_scale is None


def test_ordinary_range_is_calibrated_per_channel_size(tmp_path: Path) -> None:
    """Small channels' views noisier than large ones': one pair of factors for every size left small channels' range
    too narrow and large ones' too wide; per size band (subscriber_bucket), read between the bands' median sizes,
    each size gets about 80 %. A row of unknown size keeps the pooled factors."""
    model = GBDTModel.fit_folds(_fold(3000, 51), _fold(800, 52), GBDTConfig(max_rounds=150, num_threads=1))

    def noisy(fold: FitData, seed: int) -> tuple[pd.DataFrame, FloatArray]:
        subs = fold.x["log_subscribers"].to_numpy()
        noise = np.random.default_rng(seed).normal(scale=np.where(subs < np.log1p(1_000), 2.0, 0.1))
        return fold.x, fold.log_views + noise

    valid, y_valid = noisy(_fold(3000, 53), 54)
    test, y_test = noisy(_fold(3000, 55), 56)
    model.ordinary_interval_scale = model.conformal_scale(valid, y_valid)

    def coverage_by_size() -> tuple[float, float]:
        return _coverage_apart(model, test, y_test, test["log_subscribers"].to_numpy() < np.log1p(1_000))

    small, large = coverage_by_size()
    assert small < 0.7 and large > 0.95
    model.fit_size_scales(valid, y_valid)
    assert model.ordinary_size_scale is not None and len(model.ordinary_size_scale) >= 2
    small, large = coverage_by_size()
    assert 0.7 < small < 0.9 and 0.7 < large < 0.92
    unknown = test.iloc[:5].assign(log_subscribers=np.nan)
    pooled = model.score(model.inputs(unknown), unknown)[0]
    model.ordinary_size_scale = None
    np.testing.assert_allclose(pooled, model.score(model.inputs(unknown), unknown)[0])
    # validation rows of unknown size, far noisier: their own factors, served to a draft whose size was blank (filled
    # with a typical size and marked), which had the narrow range of the size filled in
    blank = valid.copy()
    blank.loc[:299, "log_subscribers"] = np.nan
    y_blank = y_valid + np.r_[np.random.default_rng(57).normal(scale=3.0, size=300), np.zeros(len(valid) - 300)]
    model.fit_size_scales(blank, y_blank)
    assert model.unknown_size_scale is not None and model.unknown_size_scale[0] > model.ordinary_interval_scale[0]
    typical, marked = test.iloc[:5], test.iloc[:5].assign(**{SIZE_UNKNOWN: True})
    width = [np.ptp(model.score(model.inputs(f), f)[0][:, [0, 2]], axis=1) for f in (typical, marked)]
    assert (width[1] > width[0]).all()
    model.save(tmp_path)
    again = GBDTModel.load(tmp_path)
    assert again.ordinary_size_scale == model.ordinary_size_scale
    assert again.unknown_size_scale == model.unknown_size_scale


def test_offset_model_residual_fit_round_trips(tmp_path: Path) -> None:
    """With an offset baseline the trees learn only its residual; saved and loaded, predictions are identical."""
    from miles.features.labels import ViralLabeler
    from miles.model.baselines import SzaboHubermanBaseline

    def early(n: int, seed: int) -> FitData:
        rng = np.random.default_rng(seed)
        t_i = rng.choice([1.0, 3.0, 6.0, 24.0], n)
        t_r = t_i * rng.choice([2.0, 4.0, 8.0], n)
        v_i = rng.uniform(2, 12, n)
        x = pd.DataFrame({"age_h": t_r, "early_log_views": v_i, "early_snapshot_age_h": t_i,
                          "early_views": np.expm1(v_i), "log_age_h": np.log1p(t_r), "log_subscribers": np.nan,
                          "category_id": pd.Categorical(["1"] * n, categories=["1", "2"])})  # fmt: skip
        y = v_i + 0.5 * np.log(t_r / t_i) + 0.2 * (v_i > 7) + rng.normal(scale=0.1, size=n)
        return FitData(x, y, (rng.random(n) < 0.2).astype(float))

    train, valid = early(3000, 21), early(800, 22)
    labeler = ViralLabeler.fit(train.x, pd.Series(train.log_views))
    sh = SzaboHubermanBaseline("early").fit(train.x, pd.DataFrame({"log_views": train.log_views,
                                            "viral": train.viral}), labeler=labeler)  # fmt: skip
    model = GBDTModel.fit_folds(train, valid, GBDTConfig(max_rounds=150, num_threads=1), task="early",
                                offset_model=sh)  # fmt: skip
    test = early(1000, 23)
    err_model = np.mean(np.abs(model.predict_quantiles(test.x)[:, 1] - test.log_views))
    err_sh = np.mean(np.abs(sh.predict_log_views(test.x) - test.log_views))
    assert err_model < 0.8 * err_sh  # the trees learned the (v_i > 7) correction S-H cannot express
    contrib = model.contributions(test.x[:20])
    np.testing.assert_allclose(contrib.sum(axis=1), model.predict_quantiles(test.x[:20])[:, 1], atol=1e-6)
    model.save(tmp_path)
    again = GBDTModel.load(tmp_path)
    assert again.offset_model is not None and again.interval_scale == model.interval_scale
    np.testing.assert_array_equal(model.predict_quantiles(test.x), again.predict_quantiles(test.x))
