"""Every metric of DESIGN.md §3.3 rule 6, in plain numpy, plus the channel-resampled bootstrap.

Regression metrics take log1p(views); ``mae_log10`` reports the error in log10 units.
Classification metrics take 0/1 labels and scores or probabilities. Undefined values are NaN.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.stats import rankdata

LN10 = float(np.log(10.0))


def _arr(values: object) -> np.ndarray:
    return np.asarray(values, dtype=float)


def spearman(y: object, p: object) -> float:
    a, b = rankdata(_arr(y)), rankdata(_arr(p))
    if len(a) < 2 or a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def r2(y: object, p: object) -> float:
    a, b = _arr(y), _arr(p)
    total = float(((a - a.mean()) ** 2).sum())
    return float("nan") if total == 0 else 1.0 - float(((a - b) ** 2).sum()) / total


def mae_log10(y_log1p: object, p_log1p: object) -> float:
    """Mean absolute error of log10(1 + views): 0.3 means off by a factor of 2 on average."""
    return float(np.mean(np.abs(_arr(y_log1p) - _arr(p_log1p)))) / LN10


def auroc(labels: object, scores: object) -> float:
    """Area under the ROC curve (Mann-Whitney U with average ranks for ties)."""
    y, s = _arr(labels), _arr(scores)
    n_pos = float(y.sum())
    n_neg = float(len(y) - n_pos)
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(s)
    return float((ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def pr_auc(labels: object, scores: object) -> float:
    """Average precision: sum over score thresholds of (recall step) x (precision there)."""
    y, s = _arr(labels), _arr(scores)
    n_pos = y.sum()
    if n_pos == 0:
        return float("nan")
    order = np.argsort(-s, kind="stable")
    y, s = y[order], s[order]
    last_of_tie = np.r_[np.diff(s) != 0, True]
    tp = np.cumsum(y)[last_of_tie]
    seen = (np.arange(len(y)) + 1)[last_of_tie]
    precision = tp / seen
    recall_step = np.diff(np.r_[0.0, tp]) / n_pos
    return float((recall_step * precision).sum())


def precision_at_k(labels: object, scores: object, k: int) -> float:
    """Share of positives among the k highest scores. Rows tied at the k-th score share the places left, each
    counting by its share (the mean over every way to break the tie): a baseline that scores many rows alike got the
    value of whichever tied rows came first, so its bootstrap interval, over resampled rows, could exclude it."""
    y, s = _arr(labels), _arr(scores)
    if k <= 0 or len(y) == 0:
        return float("nan")
    k = min(k, len(y))
    s = np.where(np.isnan(s), -np.inf, s)  # an unscored row ranks last
    cut = np.sort(s)[::-1][k - 1]
    above, tied = s > cut, s == cut
    left = k - int(above.sum())
    return float((y[above].sum() + left * y[tied].mean()) / k)


def reliability_curve(labels: object, probs: object, bins: int = 10) -> list[dict[str, float]]:
    """Per equal-width probability bin: its range, mean predicted probability, observed rate, count."""
    y, p = _arr(labels), np.clip(_arr(probs), 0.0, 1.0)
    idx = np.minimum((p * bins).astype(int), bins - 1)
    out = []
    for b in range(bins):
        m = idx == b
        n = int(m.sum())
        out.append(
            {
                "lo": b / bins,
                "hi": (b + 1) / bins,
                "mean_prob": float(p[m].mean()) if n else float("nan"),
                "observed": float(y[m].mean()) if n else float("nan"),
                "count": n,
            }
        )
    return out


def ece(labels: object, probs: object, bins: int = 10) -> float:
    """Expected calibration error: count-weighted mean |observed rate - mean probability| over bins."""
    curve = reliability_curve(labels, probs, bins)
    n = sum(c["count"] for c in curve)
    if n == 0:
        return float("nan")
    return float(sum(c["count"] * abs(c["observed"] - c["mean_prob"]) for c in curve if c["count"]) / n)


def mrse(views_true: object, views_pred: object) -> float:
    """Mean relative squared error (Pinto et al. 2013): mean((pred / true - 1)^2) over videos with views."""
    t, p = _arr(views_true), _arr(views_pred)
    ok = t > 0
    return float(np.mean((p[ok] / t[ok] - 1.0) ** 2)) if ok.any() else float("nan")


def bootstrap(
    metrics: Callable[[np.ndarray], dict[str, float]],
    groups: np.ndarray,
    *,
    n_boot: int = 200,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, tuple[float, float]]:
    """Percentile intervals of each value of ``metrics(rows)`` when whole groups (channels) are resampled.

    ``metrics`` receives an index array into the evaluated rows and returns named values; a resample giving
    a non-finite value is skipped for that value. Fewer than two groups give NaN intervals.
    """
    uniques, codes = np.unique(np.asarray(groups).astype(str), return_inverse=True)
    names = list(metrics(np.arange(len(codes))))
    samples: dict[str, list[float]] = {k: [] for k in names}
    rng = np.random.default_rng(seed)
    order = np.argsort(codes, kind="stable")
    for _ in range(n_boot if len(uniques) > 1 else 0):
        counts = np.bincount(rng.integers(0, len(uniques), len(uniques)), minlength=len(uniques))
        for key, value in metrics(np.repeat(order, counts[codes[order]])).items():
            if np.isfinite(value):
                samples[key].append(value)
    alpha = (1.0 - level) / 2.0
    out = {}
    for key in names:
        lo, hi = np.quantile(samples[key], [alpha, 1.0 - alpha]) if samples[key] else (np.nan, np.nan)
        out[key] = (float(lo), float(hi))
    return out
