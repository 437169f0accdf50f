"""How an ordinary upload's views grow with age: one curve, fitted on the growth of the same videos between readings.

The early references (Szabo-Huberman, Pinto) are fitted per (t_i bucket, t_r bucket) cell. Under six hours the cells
hold two populations that never meet: the trending videos, read young and again within four days (they grow x1.5-x3,
having already been picked as hits), and the ordinary uploads, read young and again after four days or more (x5-x80).
From one early reading a cell table then draws a curve from both: 30 views at 1 h gave 73 at 1 day (a trending cell)
and 1,691 at 7 days (an ordinary one), and 60 views at 2 h gave 623 at 7 days.

``GrowthCurve`` fits one increasing curve C of age on the ordinary uploads' pairs of readings,
``log1p(v(t_r)) - log1p(v(t_i)) = C(t_r) - C(t_i)``, piecewise linear in log1p(age) between the age-bucket edges,
by least squares under the shape of a typical video's views: rising, and never faster per doubling of age than
before (concave in log age). Free segments fitted the capture schedule's gaps (x1.2 from 3 to 6 h, x1.9 from 1 to 2
days); the concave curve errs as little on channels held out (mean absolute log error 1.01 vs 0.96 for readings
under 6 h, 0.875 vs 0.886 under a day, two-fold over channels). Every reading draws the same curve, however young.
A reading younger than the young readings the curve was fitted on (the 10th percentile of those under 6 h, about
25 minutes) is read as of that age: below it the first, steepest segment would be extrapolated.
The early model serves it for ordinary uploads read under ``YOUNG_FULL_H`` hours, tapering into the 6h-1d bucket's
reference by ``YOUNG_UNTIL_H``, and carries their forecasts past two weeks along it (``GBDTModel._blend_parts``);
success-selected frames keep the references (their young growth is a hit's).

How far a young reading's forecast may be off is measured the same way: the 10th and 90th percentiles of the
curve's errors on the ordinary uploads read under six hours (x0.25 and x5 over the days after such a reading),
shrinking with the square root of the log-age gap to the horizon (none at the reading's own age). The quantile
trees learned their spread from the trending videos read that young, which grow predictably: their 80 % range held
13 of 22 young ordinary readings.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import nnls

from miles.features.labels import ViralLabeler
from miles.features.schema import AGE_EDGES_H
from miles.model.artifact import register_model_kind
from miles.model.baselines import Baseline
from miles.model.embed_features import PREDICT_SELECTION, selection_of

KNOTS_LOG_AGE = np.log1p(np.asarray(AGE_EDGES_H, dtype=float))
MIN_PAIRS = 200  # ordinary pairs of readings needed to fit the curve at all
MIN_CHANNELS = 10
YOUNGEST_AMONG_H = 6.0  # readings younger than the 10th percentile of those under 6 h are read as of it
MIN_SPREAD_PAIRS = 50  # young ordinary pairs needed to measure the curve's spread
SPREAD_QUANTILES = (0.1, 0.9)
PSEUDO_FROM_H = 168.0  # a channel's typical views are carried back to a reading's age from 7 days (pairs are many)


def _ramps(age_h: np.ndarray) -> np.ndarray:
    """Each age's position along every segment between knots (0 before it, 1 after it)."""
    la = np.log1p(np.clip(np.asarray(age_h, dtype=float), 0.0, None))[:, None]
    widths = np.diff(KNOTS_LOG_AGE)
    out: np.ndarray = np.clip((la - KNOTS_LOG_AGE[None, :-1]) / widths[None, :], 0.0, 1.0)
    return out


def _read_at(x: pd.DataFrame, youngest_h: float) -> np.ndarray:
    """The age each reading is read as: its own, or ``youngest_h`` when younger (below it the curve extrapolates)."""
    out: np.ndarray = np.maximum(x["early_snapshot_age_h"].to_numpy(dtype=float), youngest_h)
    return out


def _design(x: pd.DataFrame, youngest_h: float = 0.0) -> np.ndarray:
    """Each pair's position change along the segments; a reading younger than ``youngest_h`` is read as of it."""
    out: np.ndarray = _ramps(x["age_h"].to_numpy(dtype=float)) - _ramps(_read_at(x, youngest_h))
    return out


def _solve(design: np.ndarray, growth: np.ndarray) -> np.ndarray:
    """Each segment's rise: least squares under the shape every typical video's views follow - rising, and never
    faster per doubling of age than before (slopes per unit log age non-negative and non-increasing: slope k is the
    sum of non-negative steps j >= k)."""
    widths = np.diff(KNOTS_LOG_AGE)
    to_rises = np.diag(widths) @ np.triu(np.ones((len(widths), len(widths))))
    steps, _ = nnls(design @ to_rises, growth)
    out: np.ndarray = to_rises @ steps
    return out


def fit_rises(read_h: np.ndarray, at_h: np.ndarray, growth: np.ndarray) -> np.ndarray:
    """The curve's rise per segment from pairs of readings of the same videos: ``growth`` (log1p views at ``at_h``
    minus at ``read_h``) by least squares under the typical video's shape (``_solve``)."""
    return _solve(_ramps(at_h) - _ramps(read_h), growth)


def rise_to(rises: np.ndarray | list[float], age_h: np.ndarray) -> np.ndarray:
    """C(age) of a curve's ``rises`` (0 at publishing): the rise in log1p views from publishing to ``age_h``."""
    out: np.ndarray = _ramps(age_h) @ np.asarray(rises, dtype=float)
    return out


def rate_read(views: np.ndarray, usual: np.ndarray, spread: float) -> np.ndarray:
    """The most likely level of views behind each count: a Poisson count ``views`` of a level whose log is normal
    around log(``usual``) with standard deviation ``spread`` (the posterior mode, found by bisection in log level).
    Many views stand for about themselves; a count of a few is pulled towards the usual level."""
    v = np.asarray(views, dtype=float)
    prior = np.log(np.clip(np.asarray(usual, dtype=float), 1e-9, None))
    lo, hi = np.minimum(prior, np.log1p(v)) - 1.0, np.maximum(prior, np.log1p(v)) + 1.0
    for _ in range(60):  # the slope v - e^u - (u - prior) / spread^2 falls in u: one root between lo and hi
        mid = (lo + hi) / 2.0
        rising = v - np.exp(mid) - (mid - prior) / spread**2 > 0
        lo, hi = np.where(rising, mid, lo), np.where(rising, hi, mid)
    out: np.ndarray = np.exp((lo + hi) / 2.0)
    return out


@register_model_kind
class GrowthCurve(Baseline):
    """The ordinary uploads' growth curve through the latest early reading (an early reference for young readings)."""

    kind = "growth_curve"
    tasks = ("early",)

    def fit(self, x: pd.DataFrame, y: pd.DataFrame, *, labeler: ViralLabeler) -> Baseline:
        frames = selection_of(y["source"]) if "source" in y else pd.Series(PREDICT_SELECTION, index=x.index)
        self._ordinary = (frames == PREDICT_SELECTION).to_numpy()
        self._groups = y["group_id"].to_numpy() if "group_id" in y else np.arange(len(x))
        return super().fit(x, y, labeler=labeler)

    @property
    def active(self) -> bool:
        """Whether the training rows held enough ordinary uploads to fit the curve."""
        return bool(self.state.get("rises"))

    def _fit(self, x: pd.DataFrame, log_views: np.ndarray) -> None:
        growth = log_views - x["early_log_views"].to_numpy(dtype=float)
        design = _design(x)
        rows = self._ordinary & np.isfinite(growth) & np.isfinite(design).all(axis=1)
        self.state["rises"] = []
        if rows.sum() < MIN_PAIRS or len(np.unique(np.asarray(self._groups)[rows])) < MIN_CHANNELS:
            return
        # below the youngest readings the curve is an extrapolation of its first segment (its steepest): 1 view at
        # 3 minutes was forecast 958 at 7 days and a 89 % viral chance; such a reading is read as of this age
        read = x["early_snapshot_age_h"].to_numpy(dtype=float)[rows]
        young = read[read < YOUNGEST_AMONG_H]
        youngest = float(np.quantile(young, 0.1)) if len(young) else 0.0
        rises = _solve(design[rows], growth[rows])  # as fit_rises, on the design already built
        self.state.update(rises=rises.tolist(), pairs=int(rows.sum()), youngest_h=youngest)
        self._fit_spread(x.loc[rows], growth[rows] - design[rows] @ rises)

    def _fit_spread(self, x: pd.DataFrame, errors: np.ndarray) -> None:
        """The 10th and 90th percentiles of the curve's errors on pairs read under YOUNGEST_AMONG_H hours, per unit
        square root of their log-age gap (see the module docstring); none with fewer than MIN_SPREAD_PAIRS."""
        young = x["early_snapshot_age_h"].to_numpy(dtype=float) < YOUNGEST_AMONG_H
        if young.sum() < MIN_SPREAD_PAIRS:
            return
        per_root_gap = errors[young] / np.sqrt(np.clip(self._gap(x.loc[young]), 1e-3, None))
        lo, hi = np.quantile(per_root_gap, SPREAD_QUANTILES)
        self.state["spread"] = {"lo": float(min(lo, 0.0)), "hi": float(max(hi, 0.0)), "pairs": int(young.sum())}

    def _gap(self, x: pd.DataFrame) -> np.ndarray:
        """log1p of the horizon's age minus log1p of the reading's (as the curve reads it: no younger than
        ``youngest_h``)."""
        read_at = _read_at(x, self.state.get("youngest_h", 0.0))
        out: np.ndarray = np.clip(np.log1p(x["age_h"].to_numpy(dtype=float)) - np.log1p(read_at), 0.0, None)
        return out

    def spread(self, x: pd.DataFrame) -> tuple[np.ndarray, np.ndarray] | None:
        """(p10, p90) offsets from the curve's forecast, in log1p views, or None when it was not measured."""
        measured = self.state.get("spread")
        if not measured:
            return None
        root = np.sqrt(self._gap(x))
        return measured["lo"] * root, measured["hi"] * root

    def _predict(self, x: pd.DataFrame) -> np.ndarray:
        return self.forecast(x)

    def forecast(self, x: pd.DataFrame, typical_log_views: np.ndarray | None = None, spread: float = 1.0) -> np.ndarray:
        """log1p views at each row's age. Without ``typical_log_views`` the curve as fitted: log1p(views) + rise.

        The curve grows log1p(views), so it reads 0 views as 1 and a count of a few views as exact: 0 views at 30
        minutes became 84 at 7 days whatever the channel, and 1 view (often the creator's own) at 30 minutes 85 - for
        a 30-subscriber channel (typically a handful of views at 7 days) a 91 % viral chance. Given the channel's
        typical views (``typical_log_views``, log1p at PSEUDO_FROM_H, from the viral yardstick by channel size and
        category; ``spread``, the yardstick's standard deviation in log views), a reading's count is read as what it
        is - a Poisson count of the video's views so far, whose usual level is the typical views carried back along
        the curve to the reading's age (``rate_read``) - and a channel whose typical views by then are under one
        view grows from those instead of from one view. A count well above the channel's usual still grows as the
        curve says; on the young readings the curve was fitted on, the forecasts' errors are unchanged (mean
        absolute log error 0.93 either way; 0.59 vs 0.63 on the test fold's 22)."""
        log_views: np.ndarray = x["early_log_views"].to_numpy(dtype=float)
        if not self.active:  # no growth: never served (``GBDTModel.fit_blend`` takes an active curve only)
            return log_views
        rise = _design(x, self.state.get("youngest_h", 0.0)) @ np.asarray(self.state["rises"])
        if typical_log_views is None:
            out: np.ndarray = log_views + rise
            return out
        usual = self._usual_at_reading(x, typical_log_views)
        pseudo = np.clip(usual, 0.0, 1.0)
        grown = (rate_read(np.expm1(log_views), usual, spread) + pseudo) * np.exp(rise) - pseudo
        out = np.log1p(np.maximum(grown, 0.0))
        return out

    def _usual_at_reading(self, x: pd.DataFrame, typical_log_views: np.ndarray) -> np.ndarray:
        """The channel's typical views at PSEUDO_FROM_H carried back along the curve to each reading's age."""
        read_at = _read_at(x, self.state.get("youngest_h", 0.0))
        back = self.curve(np.full(len(x), PSEUDO_FROM_H)) - self.curve(read_at)
        out: np.ndarray = np.expm1(np.asarray(typical_log_views, dtype=float)) * np.exp(-back)
        return out

    def curve(self, age_h: np.ndarray) -> np.ndarray:
        """C(age) (0 at publishing): the rise in log1p views from publishing to ``age_h``."""
        return rise_to(self.state["rises"], age_h)
