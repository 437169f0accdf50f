"""The early blend (DESIGN.md §3.3 rule 10): the model gets weight only where its gain holds in two sources; thin
t_i buckets are judged out of sample; Pinto is the default reference."""

from __future__ import annotations

import numpy as np
import pandas as pd

from miles.model.gbdt import BLEND_MIN_ROWS, HeldOutForecasts, _BlendJudge, _thin_buckets


class _Fixed:
    """A reference whose forecast is a given column of the frame (log1p views)."""

    def __init__(self, column: str) -> None:
        self.column = column

    def predict_log_views(self, x: pd.DataFrame) -> np.ndarray:
        return x[self.column].to_numpy(dtype=float)


def _rows(n: int, seed: int, *, model_noise: float, pinto_noise: float, sh_noise: float) -> tuple:
    rng = np.random.default_rng(seed)
    truth = rng.uniform(3, 8, n)
    x = pd.DataFrame({"early_t_i_h": np.full(n, 48.0),  # one bucket (1-3 d)
                      "pinto": truth + rng.normal(0, pinto_noise, n),
                      "sh": truth + rng.normal(0, sh_noise, n)})  # fmt: skip
    return x, truth, truth + rng.normal(0, model_noise, n)


REFS = {"pinto": _Fixed("pinto"), "szabo_huberman": _Fixed("sh")}


def test_a_gain_in_one_source_only_gives_the_model_no_weight() -> None:
    x, y, centre = _rows(200, 1, model_noise=0.01, pinto_noise=0.3, sh_noise=0.3)
    judge = _BlendJudge(x, y, REFS, pd.Series(["a"] * 200), centre)
    assert judge.best(np.ones(200, dtype=bool))[1] == 0.0


def test_a_gain_in_two_sources_gives_the_model_weight() -> None:
    x, y, centre = _rows(200, 2, model_noise=0.01, pinto_noise=0.3, sh_noise=0.3)
    judge = _BlendJudge(x, y, REFS, pd.Series(["a"] * 100 + ["b"] * 100), centre)
    assert judge.best(np.ones(200, dtype=bool))[1] > 0.0


def test_pinto_is_the_default_unless_szabo_huberman_wins_in_every_source() -> None:
    x, y, centre = _rows(200, 3, model_noise=1.0, pinto_noise=0.2, sh_noise=0.2)
    x.loc[:99, "sh"] = y[:100] + 0.01  # S-H better in source a only
    x.loc[100:, "sh"] = y[100:] + 0.4
    judge = _BlendJudge(x, y, REFS, pd.Series(["a"] * 100 + ["b"] * 100), centre)
    assert judge.best(np.ones(200, dtype=bool)) == ("pinto", 0.0)
    x["sh"] = y + 0.01  # better in both
    judge = _BlendJudge(x, y, REFS, pd.Series(["a"] * 100 + ["b"] * 100), centre)
    assert judge.best(np.ones(200, dtype=bool)) == ("szabo_huberman", 0.0)


def test_a_thin_bucket_takes_the_better_reference_out_of_sample() -> None:
    n = BLEND_MIN_ROWS + 10
    y = np.linspace(3, 8, n)
    rows = HeldOutForecasts(np.full(n, 200.0), y, {"pinto": y + 0.5, "szabo_huberman": y + 0.05})
    assert _thin_buckets(rows, done=set()) == {"4": ("szabo_huberman", 0.0)}
    assert _thin_buckets(rows, done={"4"}) == {}
    few = HeldOutForecasts(np.full(5, 200.0), y[:5], {"pinto": y[:5], "szabo_huberman": y[:5]})
    assert _thin_buckets(few, done=set()) == {}


def test_the_interval_is_recalibrated_around_the_blended_centre() -> None:
    """Where the blend serves a reference instead of the trees, the p10-p90 interval must cover the reference's own
    errors (conformal scale fitted around the centre served, not the trees' centre)."""
    from miles.model.gbdt import FitData, GBDTConfig, GBDTModel

    def fold(n: int, seed: int) -> FitData:
        rng = np.random.default_rng(seed)
        age, subs, noise = rng.uniform(0.5, 500, n), rng.uniform(2, 14, n), rng.normal(size=n)
        x = pd.DataFrame({"early_t_i_h": np.full(n, 48.0), "log_age_h": np.log1p(age), "log_subscribers": subs,
                          "noise": noise})  # fmt: skip
        y = 2 + 0.8 * np.log1p(age) + 0.5 * subs + rng.normal(scale=0.5, size=n)
        return FitData(x, y, (rng.random(n) < 0.2).astype(float))

    class _Noisy:  # the right curve plus an error the trees do not make (a worse reference)
        def predict_log_views(self, x: pd.DataFrame) -> np.ndarray:
            return (2 + 0.8 * x["log_age_h"] + 0.5 * x["log_subscribers"] + 1.2 * x["noise"]).to_numpy(dtype=float)

    model = GBDTModel.fit_folds(fold(3000, 31), fold(1500, 32), GBDTConfig(max_rounds=150, num_threads=1))
    valid, test = fold(1500, 33), fold(3000, 34)
    model.fit_blend(valid.x, valid.log_views, {"pinto": _Noisy()}, pd.Series(["a"] * len(valid.x)))
    assert model.blend["*"] == ("pinto", 0.0)  # one source: no evidence the trees' gain carries
    q = model.predict_quantiles(test.x)
    np.testing.assert_allclose(q[:, 1], _Noisy().predict_log_views(test.x))
    coverage = np.mean((test.log_views >= q[:, 0]) & (test.log_views <= q[:, -1]))
    assert 0.74 < coverage < 0.86
    contrib = model.contributions(test.x[:50])  # the reference serves the forecast: no feature is a trees' reason
    np.testing.assert_allclose(contrib[:, :-1], 0.0)
    np.testing.assert_allclose(contrib.sum(axis=1), q[:50, 1])
