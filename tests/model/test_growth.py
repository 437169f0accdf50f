"""The ordinary uploads' growth curve (miles.model.growth) and where the early model serves it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from miles.features.labels import ViralLabeler
from miles.model.gbdt import YOUNG_FULL_H, YOUNG_UNTIL_H, GBDTModel, young_share
from miles.model.growth import KNOTS_LOG_AGE, MIN_PAIRS, GrowthCurve, rate_read
from miles.model.predict import packaged_default_dir

ORDINARY, TRENDING = "mftn_fr_tech_channels_2026", "fedelux3_trending"


def true_curve(age_h: np.ndarray) -> np.ndarray:
    """A rising curve that slows down with age (concave in log1p age), as typical views do."""
    out: np.ndarray = 3.0 * np.sqrt(np.log1p(np.asarray(age_h, dtype=float)))
    return out


def pairs(n: int, source: str, seed: int = 0, extra_growth: float = 0.0) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    t_i = np.exp(rng.uniform(np.log(0.2), np.log(200.0), n))
    t_r = t_i * np.exp(rng.uniform(0.3, 3.0, n))
    start = rng.uniform(1.0, 6.0, n)
    end = start + true_curve(t_r) - true_curve(t_i) + extra_growth + rng.normal(0.0, 0.3, n)
    x = pd.DataFrame({"age_h": t_r, "early_snapshot_age_h": t_i, "early_log_views": start,
                      "category_id": 28.0, "log_subscribers": 8.0})  # fmt: skip
    y = pd.DataFrame({"log_views": end, "source": source, "group_id": [f"{source}-{k % 60}" for k in range(n)]})
    return x, y


def fitted(x: pd.DataFrame, y: pd.DataFrame) -> GrowthCurve:
    labeler = ViralLabeler.fit(x, y["log_views"].to_numpy(dtype=float))
    curve = GrowthCurve("early").fit(x, y, labeler=labeler)
    assert isinstance(curve, GrowthCurve)
    return curve


def test_the_curve_recovers_a_rising_slowing_growth() -> None:
    curve = fitted(*pairs(3000, ORDINARY))
    ages = np.expm1(KNOTS_LOG_AGE[1:9])  # 1 h ... 7 d, where the pairs are
    got, want = curve.curve(ages) - curve.curve(ages[:1]), true_curve(ages) - true_curve(ages[:1])
    assert np.abs(got - want).max() < 0.2, (got.round(2), want.round(2))
    rises = np.asarray(curve.state["rises"])
    slopes = rises / np.diff(KNOTS_LOG_AGE)
    assert (rises >= 0).all() and (np.diff(slopes) <= 1e-9).all()  # never falls, never speeds up


def test_only_ordinary_uploads_shape_the_curve() -> None:
    """Trending videos (hits by selection) grow differently when young; they keep the references."""
    ordinary = pairs(1500, ORDINARY)
    trending = pairs(1500, TRENDING, seed=1, extra_growth=-1.5)
    alone = fitted(*ordinary)
    mixed = fitted(pd.concat([ordinary[0], trending[0]], ignore_index=True),
                   pd.concat([ordinary[1], trending[1]], ignore_index=True))  # fmt: skip
    assert np.allclose(alone.state["rises"], mixed.state["rises"])


def test_too_few_ordinary_pairs_leave_the_curve_unused() -> None:
    x, y = pairs(MIN_PAIRS - 1, ORDINARY)
    assert not fitted(x, y).active
    assert not fitted(*pairs(3000, TRENDING)).active  # leave-one-source-out without the ordinary uploads


def test_the_share_of_the_curve_falls_from_1_to_0_without_a_jump() -> None:
    share = young_share(np.array([0.1, YOUNG_FULL_H, 4.0, 5.99, YOUNG_UNTIL_H, 30.0, np.nan]))
    assert share[:2].tolist() == [1.0, 1.0] and share[4:].tolist() == [0.0, 0.0, 0.0]
    assert 1.0 > share[2] > share[3] > 0.0 and share[3] < 0.01


@pytest.fixture(scope="module")
def early_model() -> GBDTModel:
    model = GBDTModel.load(packaged_default_dir() / "early" / "model")
    assert model.young is not None and model.young.kind == "growth_curve", "the shipped early model has the curve"
    return model


def young_reading(t_i: float, views: float, t_r: float, subscribers: float = 50_000.0) -> pd.DataFrame:
    return pd.DataFrame({
        "age_h": [t_r], "early_t_i_h": [t_i], "early_snapshot_age_h": [t_i], "early_views": [views],
        "early_log_views": [np.log1p(views)], "early_inc_1": [views], "early_inc_2": [0.0], "early_inc_3": [0.0],
        "category_id": [np.nan], "log_subscribers": [np.log1p(subscribers)],
    })  # fmt: skip


def test_a_young_ordinary_reading_follows_the_curve_and_a_trending_one_the_reference(early_model: GBDTModel) -> None:
    x = young_reading(1.0, 30.0, 168.0)
    weight, ordinary = early_model._blend_parts(x)
    assert weight[0] == 0.0 and ordinary[0] == pytest.approx(early_model._young_forecast(x)[0])
    _, trending = early_model._blend_parts(x, np.array([True]))
    kind, _ = early_model.blend["0"]
    assert trending[0] == pytest.approx(early_model.references[kind].predict_log_views(x)[0])


def test_past_two_weeks_a_young_reading_is_carried_on_along_the_curve(early_model: GBDTModel) -> None:
    """No pair of readings runs from under 3 days to a month: the week's forecast grows along the curve (the
    references' extrapolation gave 5,740 views at 30 days from 150 at 5.9 h, and 778 from 150 at 6.1 h)."""
    assert early_model.young is not None
    rise = early_model.young.curve(np.array([720.0])) - early_model.young.curve(np.array([168.0]))
    for t_i in (2.0, 5.9, 6.1, 20.0):
        _, week = early_model._blend_parts(young_reading(t_i, 150.0, 168.0))
        _, month = early_model._blend_parts(young_reading(t_i, 150.0, 720.0))
        assert month[0] - week[0] == pytest.approx(rise[0]), t_i


def test_a_batch_is_forecast_row_by_row(early_model: GBDTModel) -> None:
    """Rows carried along the curve get their own forecasts back, whatever else is in the batch and its index."""
    rows = [young_reading(t, v, r) for t, v, r in ((1.0, 30.0, 720.0), (40.0, 900.0, 24.0 * 20), (0.5, 5.0, 168.0),
                                                   (100.0, 5000.0, 720.0), (20.0, 300.0, 720.0))]  # fmt: skip
    batch = pd.concat(rows, ignore_index=True).set_axis([7, 7, 3, 0, 5])
    _, together = early_model._blend_parts(batch)
    alone = [early_model._blend_parts(r)[1][0] for r in rows]
    assert together == pytest.approx(alone)


@pytest.mark.parametrize("edge_h", [YOUNG_FULL_H, YOUNG_UNTIL_H, 24.0, 72.0])
def test_no_jump_where_one_forecast_hands_over_to_another(early_model: GBDTModel, edge_h: float) -> None:
    """The same views read a minute either side of 3 h, 6 h, 1 day or 3 days give nearly the same forecast at every
    later age (the 6 h hand-over from S-H to Pinto gave 1,189 and 947 at 7 days, the 3-day end of the carry-on 3,317
    and 4,039 at 30 days)."""
    for t_r in (edge_h * 4, 168.0, 400.0, 720.0):
        for views in (30.0, 3000.0):
            _, before = early_model._blend_parts(young_reading(edge_h - 0.02, views, t_r))
            _, after = early_model._blend_parts(young_reading(edge_h + 0.02, views, t_r))
            assert abs(before[0] - after[0]) < 0.03, (edge_h, t_r, views, np.expm1([before[0], after[0]]))


def test_a_reading_younger_than_the_data_is_read_as_of_the_youngest_ones(early_model: GBDTModel) -> None:
    """Below the youngest readings the curve's first (steepest) segment was extrapolated: 1 view at 3 minutes was
    forecast 958 at 7 days."""
    assert early_model.young is not None
    youngest = early_model.young.state["youngest_h"]
    assert 0.05 < youngest < 1.0
    _, tiny = early_model._blend_parts(young_reading(0.05, 1.0, 168.0))
    _, at_youngest = early_model._blend_parts(young_reading(youngest, 1.0, 168.0))
    assert tiny[0] == pytest.approx(at_youngest[0]) and np.expm1(tiny[0]) < 300


def test_the_spread_of_young_readings_is_measured_and_shrinks_towards_the_reading() -> None:
    """Pairs read under 6 h with errors of sd 0.3 per unit root log-age gap: the 80 % range found is about +-1.28 sd
    at a unit gap, narrower nearer the reading, and none at the reading's own age."""
    x, y = pairs(3000, ORDINARY)
    gap = np.log1p(x["age_h"]) - np.log1p(x["early_snapshot_age_h"])
    y["log_views"] = y["log_views"] + np.random.default_rng(5).normal(0.0, 0.3, len(x)) * np.sqrt(gap) * 3
    curve = fitted(x, y)
    spread = curve.state["spread"]
    assert spread["lo"] < 0 < spread["hi"] and spread["pairs"] >= 50
    probe = pd.DataFrame({"age_h": [1.0, 6.0, 48.0, 720.0], "early_snapshot_age_h": 1.0, "early_log_views": 3.0})
    lo, hi = curve.spread(probe)
    assert lo[0] == hi[0] == 0.0 and (np.diff(hi) > 0).all() and (np.diff(lo) < 0).all()


def test_too_few_young_pairs_leave_the_spread_unmeasured() -> None:
    x, y = pairs(3000, ORDINARY)
    old = x["early_snapshot_age_h"] >= 6.0
    curve = fitted(x.loc[old].reset_index(drop=True), y.loc[old].reset_index(drop=True))
    assert curve.active and "spread" not in curve.state and curve.spread(x.head(3)) is None


def test_an_empty_young_reading_of_a_tiny_channel_is_forecast_its_typical_views(early_model: GBDTModel) -> None:
    """The curve grows log1p(views): 0 views at 30 minutes became 84 at 7 days for any channel - for a
    30-subscriber channel (typically a handful of views at 7 days) a 91 % viral chance. A reading of a channel whose
    typical views at that age are under one grows from those instead of from one view."""
    assert early_model.young is not None and early_model.viral_labeler is not None
    tiny = young_reading(0.5, 0.0, 168.0, subscribers=30.0)
    typical = np.expm1(early_model.viral_labeler.expected(tiny)[0])
    _, forecast = early_model._blend_parts(tiny)
    assert typical < 20 and np.expm1(forecast[0]) < 2 * typical + 2, (typical, np.expm1(forecast[0]))
    # a tiny channel's reading well above its usual still grows about as the curve says (40 views read as ~37)
    _, busy = early_model._blend_parts(young_reading(0.5, 40.0, 168.0, subscribers=30.0))
    assert busy[0] == pytest.approx(early_model.young.predict_log_views(young_reading(0.5, 40.0, 168.0))[0], abs=0.1)


@pytest.mark.parametrize("subscribers", [30.0, 2_000.0, 500_000.0])
def test_many_views_stand_for_themselves(early_model: GBDTModel, subscribers: float) -> None:
    """A reading of hundreds of views is grown as the curve was fitted, whatever the channel's usual views."""
    x = young_reading(1.0, 300.0, 168.0, subscribers=subscribers)
    _, forecast = early_model._blend_parts(x)
    assert forecast[0] == pytest.approx(early_model.young.predict_log_views(x)[0], abs=0.03)


def test_a_count_of_a_few_views_is_pulled_towards_the_usual_level() -> None:
    views = np.array([0.0, 1.0, 3.0, 10.0, 100.0, 1000.0])
    for usual in (0.05, 1.0, 50.0):
        level = rate_read(views, np.full(len(views), usual), 1.7)
        assert np.all(np.diff(level) > 0), (usual, level)  # more views, a higher level
        assert level[-1] == pytest.approx(1000.0, rel=0.01) and level[-2] == pytest.approx(100.0, rel=0.05)
        between = (level[:3] - views[:3]) * (usual - views[:3]) >= 0  # towards the usual level, never past it
        assert between.all() and np.all(np.abs(level[:3] - views[:3]) <= np.abs(usual - views[:3]) + 1e-9), level


@pytest.mark.parametrize("subscribers", [0.0, 30.0, 300.0, 50_000.0])
def test_more_views_or_a_later_horizon_never_forecast_less_from_a_young_reading(
    early_model: GBDTModel, subscribers: float
) -> None:
    def forecast(t_i: float, views: float, t_r: float) -> float:
        return float(early_model._blend_parts(young_reading(t_i, views, t_r, subscribers))[1][0])

    for t_i in (0.5, 1.0, 2.5):
        by_views = [forecast(t_i, v, 168.0) for v in (0, 1, 3, 10, 40)]
        by_age = [forecast(t_i, 2.0, r) for r in (6, 24, 168, 720)]
        assert np.all(np.diff(by_views) > 0) and np.all(np.diff(by_age) > 0), (t_i, by_views, by_age)
