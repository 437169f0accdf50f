"""The single definition of the labels (DESIGN.md §3.2).

- ``log_views = log1p(views)`` at a known age.
- ``viral``: the age-adjusted residual - log views minus the expected log views of a typical video of
  the same category and channel size at the same age - is in the top 20 % of the training fold. The
  expectation model (additive medians by age bucket and category, plus a never-falling line in log subscribers) and
  the threshold are fitted on the training fold only; :class:`ViralLabeler` holds them and round-trips through JSON.
- ``outlier_multiple``: exp(log views - the channel's median log views at the same age bucket over its
  strictly earlier uploads, from snapshots captured by the labelled snapshot's time); NaN without history.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd

from miles.errors import InvalidInput
from miles.features.channel import outlier_multiple, usual_views
from miles.features.context import FeatureContext
from miles.features.schema import AGE_EDGES_H, FEATURE_VERSION, age_bucket, subscriber_bucket

VIRAL_TOP_SHARE = 0.20
# The one definition in words, shown wherever a viral chance is (API, pages, CLI, MCP, model card).
VIRAL_DEFINITION = (
    "the chance this video ends up with more views than 4 in 5 ordinary uploads from channels of its size and "
    "category at the same age (top 20 % of the training fold's ordinary uploads, age-adjusted)"
)
MIN_CELL = 20


def outlier_multiples(snaps: pd.DataFrame) -> np.ndarray:
    """Outlier multiple of every snapshot of a prepared snapshot frame: views relative to the channel's usual
    views at that age as of that capture (:func:`miles.features.channel.usual_views`); NaN without history."""
    multiples: np.ndarray = outlier_baselines(snaps)["multiple"].to_numpy(dtype=float)
    return multiples


def outlier_baselines(snaps: pd.DataFrame) -> pd.DataFrame:
    """:func:`outlier_multiples` with what stands behind each: ``multiple`` and ``baseline_count`` (how many of the
    channel's earlier uploads were in the same age bucket; 0 without history), one row per snapshot."""
    examples = snaps.assign(as_of=snaps["captured_at"], key=np.arange(len(snaps)))
    ctx = FeatureContext(task="early", examples=examples, snapshots=snaps)
    usual = usual_views(ctx.earlier_uploads(), examples, examples["age_h"])
    multiple = outlier_multiple(snaps["views"].to_numpy(dtype=float), usual["channel_baseline_log_views"].to_numpy())
    return pd.DataFrame(
        {"multiple": multiple, "baseline_count": usual["channel_baseline_count"].to_numpy(dtype=int)},
        index=snaps.index,
    )


def _cells(x: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "age": age_bucket(x["age_h"]).astype(str),
            "category": x["category_id"].astype("string").fillna("?").astype(str),
        },
        index=x.index,
    )


def _rising_in_age(medians: pd.Series, counts: pd.Series) -> pd.Series:
    """The age effect per age bucket as a never-falling step in age (a video's views only grow), for every bucket:
    an isotonic fit over the buckets with MIN_CELL rows (weighted by rows), and each other bucket takes its older
    neighbour's value (the youngest known one below it). Bucket medians of a few hundred uploads fell and rose with
    which videos happened to be captured at which age; and a bucket without rows got 0 - a 1-day-old video was
    then expected to have the views of a typical *old* one, and an early video's viral chance was near zero."""
    from sklearn.isotonic import IsotonicRegression

    order = medians.index.astype(int)
    known = (counts >= MIN_CELL).to_numpy()
    if not known.any():
        return pd.Series(0.0, index=[str(b) for b in range(len(AGE_EDGES_H))])
    where = order.to_numpy()[known]
    fitted = IsotonicRegression(increasing=True).fit(
        where, medians.to_numpy(dtype=float)[known], sample_weight=counts.to_numpy(dtype=float)[known]
    )
    buckets = np.arange(len(AGE_EDGES_H))
    values = fitted.predict(np.clip(buckets, where.min(), where.max()))  # flat beyond the known buckets
    return pd.Series(values, index=[str(b) for b in buckets])


@dataclass
class ViralLabeler:
    """Expectation model + threshold, fitted on the training fold only."""

    age: dict[str, float] = field(default_factory=dict)
    category: dict[str, float] = field(default_factory=dict)
    size: dict[str, float] = field(default_factory=dict)  # labels of older artifacts: one median per size bucket
    size_slope: float | None = None  # log views per unit of log1p(subscribers) around ``size_centre``
    size_centre: float = 0.0
    size_known: float = 0.0  # effect at ``size_centre``
    size_unknown: float = 0.0  # effect of a blank subscriber count
    global_median: float = 0.0
    threshold: float = 0.0
    top_share: float = VIRAL_TOP_SHARE
    n_train: int = 0
    feature_version: str = FEATURE_VERSION

    @classmethod
    def fit(
        cls, x: pd.DataFrame, log_views: pd.Series | np.ndarray, top_share: float = VIRAL_TOP_SHARE
    ) -> ViralLabeler:
        y = pd.Series(np.asarray(log_views, dtype=float), index=x.index)
        if len(y) < MIN_CELL:
            raise InvalidInput(f"need at least {MIN_CELL} training rows to fit the viral label, got {len(y)}")
        cells = _cells(x)
        lab = cls(global_median=float(y.median()), top_share=top_share, n_train=len(y))
        resid = y - lab.global_median
        for name in ("age", "category"):  # one pass of additive median back-fitting
            grouped = resid.groupby(cells[name])
            effect = grouped.median().where(grouped.size() >= MIN_CELL, 0.0)
            if name == "age":
                effect = _rising_in_age(grouped.median(), grouped.size())
            setattr(lab, name, {str(k): float(v) for k, v in effect.items()})
            resid = resid - cells[name].map(effect).fillna(0.0)
        lab._fit_size(x["log_subscribers"].to_numpy(dtype=float), resid.to_numpy(dtype=float))
        resid = resid - lab._size_effect(x)
        lab.threshold = float(np.quantile(resid, 1.0 - top_share))
        return lab

    def _fit_size(self, log_subscribers: np.ndarray, resid: np.ndarray) -> None:
        """Channel size as a straight line in log subscribers (never falling), not a median per size bucket: with
        a few hundred ordinary uploads the bucket medians jumped by 2-3 log units at each bucket edge, so a channel
        one subscriber past an edge got a far lower (or higher) viral chance than one just below it."""
        known = np.isfinite(log_subscribers)
        if (~known).sum() >= MIN_CELL:
            self.size_unknown = float(np.median(resid[~known]))
        if known.sum() < MIN_CELL:
            self.size_slope = 0.0
            return
        ls, r = log_subscribers[known], resid[known]
        self.size_centre = float(np.median(ls))
        spread = float(np.sum((ls - ls.mean()) ** 2))
        slope = float(np.sum((ls - ls.mean()) * (r - r.mean())) / spread) if spread > 0 else 0.0
        self.size_slope = max(slope, 0.0)
        self.size_known = float(np.median(r - self.size_slope * (ls - self.size_centre)))

    def _size_effect(self, x: pd.DataFrame) -> np.ndarray:
        if self.size_slope is None:  # an older artifact's labels
            cells = subscriber_bucket(x["log_subscribers"]).astype(str)
            by_cell: np.ndarray = pd.Series(cells).map(self.size).fillna(0.0).to_numpy(dtype=float)
            return by_cell
        ls = x["log_subscribers"].to_numpy(dtype=float)
        line = self.size_known + self.size_slope * (ls - self.size_centre)
        out: np.ndarray = np.where(np.isfinite(ls), line, self.size_unknown)
        return out

    def expected(self, x: pd.DataFrame) -> np.ndarray:
        cells = _cells(x)
        total = np.full(len(x), self.global_median)
        for name in ("age", "category"):
            total += cells[name].map(getattr(self, name)).fillna(0.0).to_numpy(dtype=float)
        out: np.ndarray = total + self._size_effect(x)
        return out

    @property
    def spread(self) -> float:
        """The standard deviation of log views around ``expected`` implied by the threshold (normal residuals):
        ``threshold`` is their (1 - top_share) quantile."""
        z = float(NormalDist().inv_cdf(1.0 - self.top_share))
        return max(self.threshold / z, 0.1) if z > 0 else 1.0

    def residual(self, x: pd.DataFrame, log_views: pd.Series | np.ndarray) -> np.ndarray:
        out: np.ndarray = np.asarray(log_views, dtype=float) - self.expected(x)
        return out

    def label(self, x: pd.DataFrame, log_views: pd.Series | np.ndarray) -> np.ndarray:
        """1.0 where the age-adjusted residual reaches the training threshold, else 0.0."""
        out: np.ndarray = (self.residual(x, log_views) >= self.threshold).astype(float)
        return out

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ViralLabeler:
        return cls(**data)

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_json(), indent=2, sort_keys=True), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> ViralLabeler:
        try:
            return cls.from_json(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError) as exc:
            raise InvalidInput(f"{path}: not a viral label file ({exc})") from exc
