"""Evaluate a model and its baselines on the same rows (DESIGN.md §3.3 rules 5-6).

Every metric comes with a 95 % interval from a bootstrap that resamples whole channels (groups),
because rows of one channel are not independent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from miles.errors import ModelNotReady
from miles.features.build import Dataset, build_dataset
from miles.features.schema import Task
from miles.model import metrics as m
from miles.model.artifact import Artifact, Predictions

K_SHARE = 0.10  # precision@k looks at the top 10 % of rows
TI_EDGES_H = (6.0, 24.0, 72.0, 168.0)
TI_LABELS = ("t_i < 6h", "6h-1d", "1-3d", "3-7d", "> 7d")
REGRESSION = ("spearman", "r2", "mae_log10")
CLASSIFICATION = ("auroc", "pr_auc", "precision_at_k", "ece")


@dataclass
class Interval:
    value: float
    lo: float
    hi: float

    def as_dict(self) -> dict[str, float | None]:
        return {k: (None if not np.isfinite(v) else round(float(v), 6)) for k, v in vars(self).items()}


@dataclass
class EvalReport:
    task: Task
    fold: str
    rows: int
    videos: int
    groups: int
    viral_rate: float
    k: int
    metrics: dict[str, dict[str, Interval]] = field(default_factory=dict)
    mrse_by_ti: dict[str, dict[str, Interval]] = field(default_factory=dict)
    reliability: dict[str, list[dict[str, float]]] = field(default_factory=dict)
    ti_counts: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "fold": self.fold,
            "rows": self.rows,
            "videos": self.videos,
            "groups": self.groups,
            "viral_rate": round(self.viral_rate, 6),
            "precision_at_k_k": self.k,
            "metrics": {n: {k: v.as_dict() for k, v in ms.items()} for n, ms in self.metrics.items()},
            "mrse_by_t_i": {n: {k: v.as_dict() for k, v in ms.items()} for n, ms in self.mrse_by_ti.items()},
            "t_i_counts": self.ti_counts,
            "reliability": self.reliability,
        }


def _point_metrics(
    rows: np.ndarray, y: np.ndarray, viral: np.ndarray, pred: Predictions, k_share: float
) -> dict[str, float]:
    out = {
        "spearman": m.spearman(y[rows], pred.log_views[rows]),
        "r2": m.r2(y[rows], pred.log_views[rows]),
        "mae_log10": m.mae_log10(y[rows], pred.log_views[rows]),
    }
    if pred.p_viral is not None:
        p, v = pred.p_viral[rows], viral[rows]
        out["auroc"] = m.auroc(v, p)
        out["pr_auc"] = m.pr_auc(v, p)
        out["precision_at_k"] = m.precision_at_k(v, p, max(1, round(k_share * len(rows))))
        out["ece"] = m.ece(v, p)
    return out


def _with_intervals(
    fn: Callable[[np.ndarray], dict[str, float]], n: int, groups: np.ndarray, n_boot: int, seed: int
) -> dict[str, Interval]:
    point = fn(np.arange(n))
    bounds = m.bootstrap(fn, groups, n_boot=n_boot, seed=seed)
    return {k: Interval(float(v), *bounds[k]) for k, v in point.items()}


def ti_buckets(t_i_h: np.ndarray) -> np.ndarray:
    return np.searchsorted(np.asarray(TI_EDGES_H), np.asarray(t_i_h, dtype=float), side="right")


def evaluate_predictions(
    *,
    task: Task,
    fold: str,
    meta: pd.DataFrame,
    log_views: np.ndarray,
    viral: np.ndarray,
    predictions: dict[str, Predictions],
    n_boot: int = 200,
    seed: int = 0,
    k_share: float = K_SHARE,
) -> EvalReport:
    n = len(log_views)
    groups = meta["group_id"].to_numpy()
    report = EvalReport(
        task=task,
        fold=fold,
        rows=n,
        videos=int(meta["video_id"].nunique()),
        groups=int(meta["group_id"].nunique()),
        viral_rate=float(np.mean(viral)) if n else float("nan"),
        k=max(1, round(k_share * n)),
    )
    views = np.expm1(log_views)
    buckets = ti_buckets(meta["t_i_h"].to_numpy()) if task == "early" else None
    for name, pred in predictions.items():
        report.metrics[name] = _with_intervals(
            partial(_point_metrics, y=log_views, viral=viral, pred=pred, k_share=k_share), n, groups, n_boot, seed
        )
        if pred.p_viral is not None:
            report.reliability[name] = m.reliability_curve(viral, pred.p_viral)
        if buckets is not None:
            report.mrse_by_ti[name] = _mrse_by_ti(views, np.expm1(pred.log_views), buckets, groups, n_boot, seed)
    if buckets is not None:
        report.ti_counts = {TI_LABELS[b]: int((buckets == b).sum()) for b in range(len(TI_LABELS))}
    return report


def _mrse_by_ti(
    views: np.ndarray, pred: np.ndarray, buckets: np.ndarray, groups: np.ndarray, n_boot: int, seed: int
) -> dict[str, Interval]:
    def fn(rows: np.ndarray) -> dict[str, float]:
        out = {"all": m.mrse(views[rows], pred[rows])}
        for b, label in enumerate(TI_LABELS):
            sel = rows[buckets[rows] == b]
            out[label] = m.mrse(views[sel], pred[sel]) if len(sel) else float("nan")
        return out

    return _with_intervals(fn, len(views), groups, n_boot, seed)


def predict_all(artifact: Artifact, x: pd.DataFrame, sources: pd.Series | None = None) -> dict[str, Predictions]:
    """The model's and every bundled baseline's predictions on the same rows (model first).

    ``sources`` lets a level-anchored model predict rows of a sampling frame it was trained on within that frame
    (trending, search); rows of any other source are predicted as ordinary uploads, as drafts are.
    """
    model = artifact.model
    framed = sources is not None and callable(getattr(model, "frame_shift", None))
    preds = {f"model ({artifact.manifest['kind']})": model.predict(x, sources) if framed else model.predict(x)}
    for kind, baseline in artifact.baselines.items():
        preds[kind] = baseline.predict(x)
    return preds


def dataset_for(artifact: Artifact, frame: pd.DataFrame, *, test_file: bool) -> Dataset:
    """Evaluation rows for ``artifact``: its own frame preparation and feature groups, checked against its features."""
    prepare = getattr(artifact.model, "prepare_frame", None)
    if callable(prepare):
        frame = prepare(frame)
    groups = (artifact.manifest.get("extra") or {}).get("groups") or None
    data = build_dataset(artifact.task, frame, mode="test-file" if test_file else "all", groups=groups)
    missing = [f for f in artifact.features if f not in data.X.columns]
    if missing:
        raise ModelNotReady(
            f"{artifact.directory}: the model needs features this Miles did not build: {', '.join(missing[:8])}"
        )
    return data


def evaluate_artifact(artifact: Artifact, data: Dataset, *, fold: str, n_boot: int = 200, seed: int = 0) -> EvalReport:
    viral = artifact.labeler.label(data.X, data.y["log_views"])
    return evaluate_predictions(
        task=artifact.task,
        fold=fold,
        meta=data.meta,
        log_views=data.y["log_views"].to_numpy(dtype=float),
        viral=viral,
        predictions=predict_all(artifact, data.X, data.meta["source"]),
        n_boot=n_boot,
        seed=seed,
    )


def plot_reliability(report: EvalReport, path: Path) -> Path:
    """Reliability curve of every model with a P(viral), as a PNG (matplotlib, Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label="perfect calibration")
    for name, curve in report.reliability.items():
        pts = [(c["mean_prob"], c["observed"]) for c in curve if c["count"] > 0]
        if pts:
            xs, ys = zip(*pts, strict=True)
            ax.plot(xs, ys, marker="o", linewidth=1.2, label=name)
    ax.set_xlabel("predicted P(viral)")
    ax.set_ylabel("observed viral rate")
    ax.set_title(f"Reliability, {report.task} task, {report.fold} ({report.rows:,} rows)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


# --- champion vs challenger ------------------------------------------------------------------------------------------

HIGHER_IS_BETTER = {"spearman": True, "r2": True, "mae_log10": False, "auroc": True, "pr_auc": True,
                    "precision_at_k": True, "ece": False}  # fmt: skip
HEADLINE = ("spearman", "mae_log10", "auroc", "ece")


def _row_keys(meta: pd.DataFrame) -> pd.Series:
    """One key per row: video, as-of and capture time as integer nanoseconds. (Not the timestamps' text: a datetime
    column formats every value with the finest precision any value in it needs, so the same row reads differently in
    two row sets.)"""
    from miles.features.context import to_ns

    stamps = [pd.Series(to_ns(meta[c]), index=meta.index).astype(str) for c in ("as_of", "captured_at")]
    return meta["video_id"].astype(str) + "@" + stamps[0] + "@" + stamps[1]


def unseen_rows(artifact: Artifact, data: Dataset) -> np.ndarray:
    """Rows ``artifact`` neither trained nor validated on (rows of a source it never saw are all unseen)."""
    from miles.features.splits import assign_folds

    if artifact.split is None:
        raise ModelNotReady(f"{artifact.directory} records no split; compare it on a file with --data FILE")
    folds = assign_folds(data.meta, artifact.split)
    return np.asarray(~(folds["train"] | folds["val"]), dtype=bool)


def compare_artifacts(
    a: Artifact, b: Artifact, data_a: Dataset, data_b: Dataset, *, n_boot: int = 200, seed: int = 0,
    names: tuple[str, str] = ("A", "B"),
) -> dict[str, Any]:  # fmt: skip
    """Two models on the same rows: both reports (with A's baselines and A's viral labels), and B - A per metric with
    a paired bootstrap interval by channel. ``data_a`` and ``data_b`` are the same rows built for each model."""
    keys_a, keys_b = _row_keys(data_a.meta), _row_keys(data_b.meta)
    position_b = pd.Series(np.arange(len(data_b)), index=keys_b.to_numpy())
    position_b = position_b[~position_b.index.duplicated()]
    shared = (keys_a.isin(position_b.index) & ~keys_a.duplicated()).to_numpy()
    if not shared.any():
        raise ModelNotReady("the two models share no evaluation rows")
    data_a = data_a.take(shared)
    order = position_b.loc[_row_keys(data_a.meta).to_numpy()].to_numpy()
    data_b = Dataset(data_b.task, *(f.iloc[order].reset_index(drop=True) for f in (data_b.X, data_b.y, data_b.meta)))
    y = data_a.y["log_views"].to_numpy(dtype=float)
    viral = a.labeler.label(data_a.X, data_a.y["log_views"])
    preds_a, preds_b = predict_all(a, data_a.X, data_a.meta["source"]), predict_all(b, data_b.X, data_b.meta["source"])
    model_a, model_b = next(iter(preds_a.values())), next(iter(preds_b.values()))
    both = {names[0]: model_a, names[1]: model_b, **dict(list(preds_a.items())[1:])}
    report = evaluate_predictions(task=a.task, fold="compare", meta=data_a.meta, log_views=y, viral=viral,
                                  predictions=both, n_boot=n_boot, seed=seed)  # fmt: skip

    def diff(rows: np.ndarray) -> dict[str, float]:
        pa = _point_metrics(rows, y, viral, model_a, K_SHARE)
        pb = _point_metrics(rows, y, viral, model_b, K_SHARE)
        return {k: pb[k] - pa[k] for k in pa if k in pb}

    delta = _with_intervals(diff, len(y), data_a.meta["group_id"].to_numpy(), n_boot, seed)
    worse = [k for k in HEADLINE if k in delta and (delta[k].hi < 0 if HIGHER_IS_BETTER[k] else delta[k].lo > 0)]
    better = [k for k in HEADLINE if k in delta and (delta[k].lo > 0 if HIGHER_IS_BETTER[k] else delta[k].hi < 0)]
    return {
        "names": list(names),
        "report": report.as_dict(),
        "difference": {k: v.as_dict() for k, v in delta.items()},
        "worse": worse,
        "better": better,
    }
