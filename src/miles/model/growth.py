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
        rises = _solve(design[rows], growth[rows])
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
        views: np.ndarray = x["early_log_views"].to_numpy(dtype=float)
        if not self.active:  # no growth: never served (``GBDTModel.fit_blend`` takes an active curve only)
            return views
        out: np.ndarray = views + _design(x, self.state.get("youngest_h", 0.0)) @ np.asarray(self.state["rises"])
        return out

    def curve(self, age_h: np.ndarray) -> np.ndarray:
        """C(age) (0 at publishing): the rise in log1p views from publishing to ``age_h``."""
        out: np.ndarray = _ramps(age_h) @ np.asarray(self.state["rises"])
        return out
