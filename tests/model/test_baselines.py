"""The baselines: exact on the series their form assumes, and they survive save/load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.features.synth import synthetic_snapshots

from miles.errors import InvalidInput
from miles.features.build import build_dataset
from miles.features.labels import ViralLabeler
from miles.features.schema import age_bucket
from miles.model.artifact import model_class
from miles.model.baselines import BASELINES, PintoBaseline, SzaboHubermanBaseline, make_baseline

AGES = (3**0.5, 18**0.5, (24 * 48) ** 0.5, 200.0)  # t_i at age-bucket centres (1-3 h, 3-6 h, 1-2 d): no smoothing


def _early_frame(n_videos: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Pairs (t_i, t_r) over a fixed age grid; returns features, t_i index and t_r index per row."""
    rng = np.random.default_rng(seed)
    rows, ii, rr = [], [], []
    for _ in range(n_videos):
        for i in range(len(AGES)):
            for r in range(i + 1, len(AGES)):
                rows.append({"early_snapshot_age_h": AGES[i], "age_h": AGES[r], "video": rng.normal()})
                ii.append(i)
                rr.append(r)
    x = pd.DataFrame(rows)
    x["category_id"] = pd.Categorical(["22"] * len(x))
    x["log_subscribers"] = np.nan
    return x, np.array(ii), np.array(rr)


def test_szabo_huberman_reproduces_a_log_linear_series_exactly() -> None:
    x, i, r = _early_frame(40)
    shape = np.array([0.5, 1.7, 3.1, 4.0])  # log1p v(t) = a_video + shape(t)
    a = 3.0 + 2.0 * x["video"].to_numpy()
    x["early_log_views"] = a + shape[i]
    y = pd.DataFrame({"log_views": a + shape[r]})
    labeler = ViralLabeler.fit(x, y["log_views"])
    model = SzaboHubermanBaseline("early").fit(x, y, labeler=labeler)
    np.testing.assert_allclose(model.predict(x).log_views, y["log_views"], atol=1e-9)
    # beta per (t_i, t_r) bucket is exactly shape(t_r) - shape(t_i)
    b_i, b_r = age_bucket(np.array([AGES[0], AGES[1]]))
    assert model.state["beta"][0][f"{b_i}|{b_r}"] == pytest.approx(shape[1] - shape[0])


@pytest.mark.parametrize("kind", [SzaboHubermanBaseline, PintoBaseline])
def test_a_reading_either_side_of_a_bucket_edge_gets_the_same_forecast(kind: type) -> None:
    """The cells are keyed by t_i bucket; the forecast is interpolated between bucket centres, so a reading a
    minute before or after 6 h (a bucket edge) gives the same forecast, and readings between centres lie between."""
    rng = np.random.default_rng(5)
    x, i, r = _early_frame(60)
    x["early_log_views"] = 3.0 + rng.normal(size=len(x))
    for k in (1, 2, 3):
        x[f"early_inc_{k}"] = np.nan
    x["early_views"] = np.expm1(x["early_log_views"])
    y = pd.DataFrame({"log_views": x["early_log_views"] + np.array([0.4, 1.0, 2.5, 3.0])[r] - 0.3 * i})
    model = kind("early").fit(x, y, labeler=ViralLabeler.fit(x, y["log_views"]))
    at = pd.DataFrame({"early_snapshot_age_h": [5.99, 6.0, 6.01, 4.24, 8.49], "age_h": 200.0, "video": 0.0,
                       "early_log_views": 4.0, "early_views": np.expm1(4.0), "category_id": "22",
                       "log_subscribers": np.nan, **{f"early_inc_{k}": np.nan for k in (1, 2, 3)}})  # fmt: skip
    got = model.predict(at).log_views
    assert got[0] == pytest.approx(got[1], abs=0.01) and got[1] == pytest.approx(got[2], abs=0.01)
    assert min(got[3], got[4]) - 1e-9 <= got[1] <= max(got[3], got[4]) + 1e-9


def test_pinto_reproduces_a_linear_increment_model_exactly() -> None:
    rng = np.random.default_rng(2)
    x, _, _ = _early_frame(60)
    incs = rng.uniform(10, 1000, size=(len(x), 4))
    for k in (1, 2, 3):
        x[f"early_inc_{k}"] = incs[:, k - 1]
    x["early_views"] = incs.sum(axis=1)
    theta = np.array([3.0, 2.0, 1.5, 1.2])
    y = pd.DataFrame({"log_views": np.log1p(incs @ theta)})
    x["early_log_views"] = np.log1p(x["early_views"])
    model = PintoBaseline("early").fit(x, y, labeler=ViralLabeler.fit(x, y["log_views"]))
    np.testing.assert_allclose(model.predict(x).log_views, y["log_views"], rtol=1e-6)


def test_an_interval_rarely_seen_in_a_cell_counts_as_the_latest_one() -> None:
    """Pinto's weight for views gained in an interval that has views in a handful of a cell's rows is noise (19.5 in
    one cell of an earlier default model; 0 drops the views, 1 stops them growing): those views count as the
    latest interval's, so a video stuck at its views is forecast as the same views read once."""
    from miles.model.baselines import _merged, _pooled_theta

    rng = np.random.default_rng(3)
    design = np.column_stack([rng.uniform(100, 1000, 300), rng.uniform(100, 1000, 300), np.zeros(300), np.zeros(300)])
    design[:5, 2] = rng.uniform(1, 10, 5)  # five rows with a few views in the third interval
    views = design @ np.array([1.5, 1.2, 1.0, 1.0]) * rng.lognormal(0.0, 0.05, 300)
    views[:5] += 300.0  # ... and those rows happen to do well: alone, the third weight would be huge
    cell = _pooled_theta(design, views)
    theta, into = np.asarray(cell["theta"]), list(cell["into"])
    assert into == [0, 1, 0, 0], into
    assert theta[0] == pytest.approx(1.5, rel=0.1) and theta[1] == pytest.approx(1.2, rel=0.1), theta
    row = np.array([[50.0, 100.0, 2000.0, 800.0]])  # read more often than the cell ever was
    assert (_merged(row, into) @ theta)[0] == pytest.approx(2850 * theta[0] + 100 * theta[1])
    stuck, once = np.array([[0.0, 0.0, 1000.0, 0.0]]), np.array([[1000.0, 0.0, 0.0, 0.0]])
    assert (_merged(stuck, into) @ theta)[0] == pytest.approx((_merged(once, into) @ theta)[0])


def test_readings_minutes_apart_do_not_stop_a_forecast_growing() -> None:
    """3,200 views at 17 h read four times in the last hour were forecast the same 3,989 at 24 h and at 7 days: the
    7-day cell had seen single readings only, so every view before the last minute's 100 kept weight 1."""
    x, _, _ = _early_frame(200)
    rng = np.random.default_rng(4)
    x["early_views"] = rng.uniform(500, 5000, len(x))
    x["early_inc_1"] = x["early_views"]  # one reading per row: the publish moment to t_i
    for k in (2, 3):
        x[f"early_inc_{k}"] = np.nan
    x["early_log_views"] = np.log1p(x["early_views"])
    y = pd.DataFrame({"log_views": np.log1p(x["early_views"] * 2.0)})
    model = PintoBaseline("early").fit(x, y, labeler=ViralLabeler.fit(x, y["log_views"]))
    often = x.iloc[[0]].assign(early_views=3200.0, early_log_views=np.log1p(3200.0), early_inc_1=100.0,
                               early_inc_2=100.0, early_inc_3=200.0)  # fmt: skip
    once = often.assign(early_inc_1=3200.0, early_inc_2=np.nan, early_inc_3=np.nan)
    assert np.expm1(model.predict(often).log_views[0]) == pytest.approx(np.expm1(model.predict(once).log_views[0]))
    assert np.expm1(model.predict(often).log_views[0]) == pytest.approx(6400.0, rel=0.01)


@pytest.fixture(scope="module")
def early_data():  # type: ignore[no-untyped-def]
    return build_dataset("early", synthetic_snapshots(n_channels=30, videos_per_channel=6, seed=5))


@pytest.mark.parametrize("kind", BASELINES["early"])
def test_every_baseline_round_trips_and_beats_nothing_for_free(kind: str, early_data, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    x, y = early_data.X, early_data.y
    labeler = ViralLabeler.fit(x, y["log_views"])
    model = make_baseline(kind, "early").fit(x, y.assign(viral=labeler.label(x, y["log_views"])), labeler=labeler)
    pred = model.predict(x)
    assert np.isfinite(pred.log_views).all()
    assert pred.p_viral is not None and ((pred.p_viral >= 0) & (pred.p_viral <= 1)).all()
    model.save(tmp_path / kind)
    again = model_class(kind).load(tmp_path / kind)
    np.testing.assert_array_equal(again.predict(x).log_views, pred.log_views)
    np.testing.assert_array_equal(again.predict(x).p_viral, pred.p_viral)


def test_early_signal_baselines_beat_the_age_baseline(early_data) -> None:  # type: ignore[no-untyped-def]
    x, y = early_data.X, early_data.y
    labeler = ViralLabeler.fit(x, y["log_views"])
    errors = {}
    for kind in ("age", "szabo_huberman", "pinto"):
        model = make_baseline(kind, "early").fit(x, y, labeler=labeler)
        errors[kind] = float(np.mean(np.abs(model.predict(x).log_views - y["log_views"])))
    assert errors["szabo_huberman"] < 0.5 * errors["age"]
    assert errors["pinto"] < 0.5 * errors["age"]


def test_early_baselines_refuse_the_prepublish_task() -> None:
    with pytest.raises(InvalidInput, match="prepublish"):
        SzaboHubermanBaseline("prepublish")
    with pytest.raises(InvalidInput, match="not fitted"):
        make_baseline("age", "prepublish").predict(pd.DataFrame({"age_h": [1.0]}))
