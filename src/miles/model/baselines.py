"""The simple baselines every number is reported beside (DESIGN.md §3.3 rule 5), behind the Model interface.

- ``age``: mean log views per age bucket.
- ``channel_size_age``: mean per (subscriber bucket, age bucket), falling back to age.
- ``category``: mean per (YouTube category, age bucket) - the niche mean - falling back to age.
- ``szabo_huberman`` (early): log v(t_r) = log v(t_i) + beta(t_i, t_r), beta the training mean per
  (t_i bucket, t_r bucket), falling back to the pooled log-ratio bucket of t_r/t_i, then to all rows.
- ``pinto`` (early): v(t_r) = theta(t_i, t_r) . (views gained in the last three intervals, views before),
  fitted per bucket pair by least squares on relative error (Pinto et al. 2013), same fall-backs.
P(viral) of every baseline is an isotonic map, fitted on the training rows, from its predicted
age-adjusted residual (prediction minus the labeler's expectation) to the observed viral rate.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.isotonic import IsotonicRegression

from miles.errors import InvalidInput
from miles.features.build import Dataset, fingerprint
from miles.features.labels import ViralLabeler
from miles.features.schema import AGE_EDGES_H, Task, age_bucket, subscriber_bucket
from miles.features.splits import SplitSpec, assign_folds
from miles.model.artifact import Predictions, register_model_kind, save_artifact

MIN_CELL = 20
Levels = list[list[np.ndarray]]


def _keys(parts: list[np.ndarray]) -> np.ndarray:
    out = np.asarray(parts[0]).astype(str)
    for part in parts[1:]:
        out = np.char.add(np.char.add(out, "|"), np.asarray(part).astype(str))
    return out


def _half_octaves(t_i: np.ndarray, t_r: np.ndarray) -> np.ndarray:
    """(1 + t_r) / (1 + t_i) in half-octaves (a blank t_i is publish)."""
    out: np.ndarray = 2.0 * np.log2((1.0 + t_r) / (1.0 + np.nan_to_num(t_i, nan=0.0)))
    return out


def _ratio_bucket(t_i: np.ndarray, t_r: np.ndarray) -> np.ndarray:
    """Half-octave bucket of (1 + t_r) / (1 + t_i)."""
    out: np.ndarray = np.round(_half_octaves(t_i, t_r)).astype(np.int64)
    return out


def _ratio_between(x: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The two ratio buckets whose centres bracket each row's (1 + t_r) / (1 + t_i) in half-octaves, and how far
    towards the upper one it lies (0..1): cells by ratio are read between their centres, so the same views read a
    little later do not step from one bucket's growth to the next (the 30-day forecast fell 7-15 % at each edge)."""
    exact = _half_octaves(x["early_snapshot_age_h"].to_numpy(dtype=float), x["age_h"].to_numpy(dtype=float))
    lower = np.floor(exact)
    return lower.astype(np.int64), lower.astype(np.int64) + 1, exact - lower


def _between(values: Callable[[np.ndarray], np.ndarray], x: pd.DataFrame) -> np.ndarray:
    """``values`` (by ratio bucket; NaN where the bucket was not fitted) read between the two bracketing buckets."""
    lower, upper, frac = _ratio_between(x)
    low, high = values(lower), values(upper)
    mixed = (1.0 - frac) * low + frac * high
    out: np.ndarray = np.where(np.isfinite(mixed), mixed, np.where(np.isfinite(low), low, high))  # or the one fitted
    return out


def _ages(x: pd.DataFrame) -> np.ndarray:
    return age_bucket(x["age_h"])


class Baseline:
    kind: ClassVar[str] = ""
    tasks: ClassVar[tuple[Task, ...]] = ("prepublish", "early")

    def __init__(self, task: Task = "prepublish") -> None:
        if task not in self.tasks:
            raise InvalidInput(f"baseline {self.kind!r} does not apply to the {task} task")
        self.task: Task = task
        self.state: dict[str, Any] = {}
        self.labeler: ViralLabeler | None = None
        self.calibration: tuple[list[float], list[float]] = ([0.0], [0.0])

    # subclasses implement these two
    def _fit(self, x: pd.DataFrame, log_views: np.ndarray) -> None:
        raise NotImplementedError

    def _predict(self, x: pd.DataFrame) -> np.ndarray:
        raise NotImplementedError

    def fit(self, x: pd.DataFrame, y: pd.DataFrame, *, labeler: ViralLabeler) -> Baseline:
        if len(x) == 0:
            raise InvalidInput(f"cannot fit baseline {self.kind!r} on zero rows")
        log_views = y["log_views"].to_numpy(dtype=float)
        self.state = {"global": float(np.mean(log_views))}
        self._fit(x, log_views)
        self.labeler = labeler
        residual = self._predict(x) - labeler.expected(x)
        viral = y["viral"].to_numpy(dtype=float) if "viral" in y else labeler.label(x, log_views)
        ok = np.isfinite(residual)
        iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(residual[ok], viral[ok])
        self.calibration = ([float(v) for v in iso.X_thresholds_], [float(v) for v in iso.y_thresholds_])
        return self

    def predict_log_views(self, x: pd.DataFrame) -> np.ndarray:
        """Predicted log1p(views) for every row (the training mean where no cell applies)."""
        if "global" not in self.state:
            raise InvalidInput(f"baseline {self.kind!r} is not fitted")
        log_views = self._predict(x)
        out: np.ndarray = np.where(np.isfinite(log_views), log_views, self.state["global"])
        return out

    def predict(self, x: pd.DataFrame) -> Predictions:
        if self.labeler is None:
            raise InvalidInput(f"baseline {self.kind!r} is not fitted")
        log_views = self.predict_log_views(x)
        residual = log_views - self.labeler.expected(x)
        xs, ys = self.calibration
        return Predictions(log_views=log_views, p_viral=np.interp(residual, xs, ys))

    def save(self, directory: Path) -> None:
        if self.labeler is None:
            raise InvalidInput(f"baseline {self.kind!r} is not fitted; nothing to save")
        directory.mkdir(parents=True, exist_ok=True)
        data = {
            "kind": self.kind,
            "task": self.task,
            "state": self.state,
            "labeler": self.labeler.to_json(),
            "calibration": self.calibration,
        }
        (directory / "state.json").write_text(json.dumps(data), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> Baseline:
        path = directory / "state.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InvalidInput(f"{path}: cannot read baseline state ({exc})") from exc
        if data.get("kind") != cls.kind:
            raise InvalidInput(f"{path}: holds a {data.get('kind')!r} baseline, not {cls.kind!r}")
        model = cls(data["task"])
        model.state = data["state"]
        model.labeler = ViralLabeler.from_json(data["labeler"])
        xs, ys = data["calibration"]
        model.calibration = (list(xs), list(ys))
        return model

    # shared helpers: hierarchical cell means
    def _fit_levels(self, name: str, levels: Levels, target: np.ndarray) -> None:
        tables = []
        for parts in levels:
            frame = pd.DataFrame({"k": _keys(parts), "v": target}).dropna()
            stats = frame.groupby("k")["v"].agg(["mean", "size"])
            tables.append({str(k): float(m) for k, m in stats.loc[stats["size"] >= MIN_CELL, "mean"].items()})
        self.state[name] = tables

    def _predict_levels(self, name: str, levels: Levels, n: int) -> np.ndarray:
        out = np.full(n, np.nan)
        for parts, table in zip(levels, self.state[name], strict=False):  # callers may stop before the last level
            todo = np.isnan(out)
            if not todo.any():
                break
            out[todo] = pd.Series(_keys(parts)[todo]).map(table).to_numpy(dtype=float)
        return out


@register_model_kind
class AgeBaseline(Baseline):
    kind = "age"

    def _fit(self, x: pd.DataFrame, log_views: np.ndarray) -> None:
        self._fit_levels("cells", [[_ages(x)]], log_views)

    def _predict(self, x: pd.DataFrame) -> np.ndarray:
        return self._predict_levels("cells", [[_ages(x)]], len(x))


class _CellBaseline(Baseline):
    column: ClassVar[str] = ""

    def _cell(self, x: pd.DataFrame) -> np.ndarray:
        raise NotImplementedError

    def _levels(self, x: pd.DataFrame) -> Levels:
        return [[self._cell(x), _ages(x)], [_ages(x)]]

    def _fit(self, x: pd.DataFrame, log_views: np.ndarray) -> None:
        self._fit_levels("cells", self._levels(x), log_views)

    def _predict(self, x: pd.DataFrame) -> np.ndarray:
        return self._predict_levels("cells", self._levels(x), len(x))


@register_model_kind
class ChannelSizeAgeBaseline(_CellBaseline):
    kind = "channel_size_age"

    def _cell(self, x: pd.DataFrame) -> np.ndarray:
        return subscriber_bucket(x["log_subscribers"])


@register_model_kind
class CategoryBaseline(_CellBaseline):
    kind = "category"

    def _cell(self, x: pd.DataFrame) -> np.ndarray:
        out: np.ndarray = x["category_id"].astype("string").fillna("?").to_numpy(dtype=str)
        return out


# Smoothed across the t_i buckets of the first two days (edges 1 h ... 24 h), where a reading's age moves fast and
# the cells are well filled; older cells (days to weeks) differ in kind (trending captures vs ordinary uploads) and
# mixing them cost accuracy at t_i > 7 d in the leave-one-source-out table (0.0028 -> 0.0059 on held-out trending).
SMOOTH_UP_TO_BUCKET = 5
# beyond it, up to 7 days, neighbouring buckets are mixed only within this distance (in log age) of the edge between
# them: the forecast is continuous at 48 h and 96 h (47.9 h and 48.0 h gave 7-day forecasts 26 % apart) with little
# mixing. Not at 7 days: mixing there doubled the held-out trending videos' mRSE past 7 d (0.0028 -> 0.0052).
EDGE_BAND_LOG_AGE = 0.25
EDGE_BAND_UP_TO_BUCKET = 7
# log-age centre of each age bucket (the first, 0-1 h, centred at 30 minutes)
_BUCKET_CENTRES = np.sqrt(np.maximum(np.asarray(AGE_EDGES_H[:-1]), 0.25) * np.asarray(AGE_EDGES_H[1:]))


def _neighbour_weight(log_t: np.ndarray, bucket: np.ndarray, toward: np.ndarray) -> np.ndarray:
    """How much of the neighbour bucket ``toward`` a reading at log age ``log_t`` in ``bucket`` takes: linear in log
    age between the two buckets' centres while both are young (up to SMOOTH_UP_TO_BUCKET), else (up to
    EDGE_BAND_UP_TO_BUCKET) from 0.5 at the edge between them down to 0 at EDGE_BAND_LOG_AGE from it. Either way the
    two sides agree at the edge."""
    centre, other = np.log(_BUCKET_CENTRES[bucket]), np.log(_BUCKET_CENTRES[toward])
    across_centres = np.abs(log_t - centre) / np.abs(other - centre)
    later = np.maximum(bucket, toward)
    near_edge = 0.5 - np.abs(log_t - np.log(np.asarray(AGE_EDGES_H)[later])) / (2.0 * EDGE_BAND_LOG_AGE)
    near_edge = np.where(later <= EDGE_BAND_UP_TO_BUCKET, near_edge, 0.0)
    out: np.ndarray = np.clip(np.where(later <= SMOOTH_UP_TO_BUCKET, across_centres, near_edge), 0.0, 1.0)
    return out


def smooth_in_t_i(x: pd.DataFrame, by_cell: Callable[[pd.DataFrame, np.ndarray | None], np.ndarray]) -> np.ndarray:
    """``by_cell`` (log views from cells keyed by the t_i age bucket; the bucket can be given), mixed with the
    neighbouring bucket's cells by where the reading's age lies (``_neighbour_weight``): a reading a minute either
    side of a bucket edge gets the same forecast (from cells alone, 177 views at 5.9 h forecast 1,105 at 7 d and 180
    at 6.0 h 659). Each row is also predicted from the bucket on the near side of its own bucket's centre."""
    t_i = x["early_snapshot_age_h"].to_numpy(dtype=float)
    own = by_cell(x, None)
    known = np.isfinite(t_i) & (t_i > 0)
    bucket = np.clip(age_bucket(np.where(known, t_i, 1.0)), 0, len(_BUCKET_CENTRES) - 1)
    toward = np.where(t_i >= _BUCKET_CENTRES[bucket], bucket + 1, bucket - 1)
    usable = known & (toward >= 0) & (toward < len(_BUCKET_CENTRES))
    if not usable.any():
        return own
    toward = np.where(usable, toward, bucket)
    weight = np.zeros(len(x))
    weight[usable] = _neighbour_weight(np.log(t_i[usable]), bucket[usable], toward[usable])
    neighbour = by_cell(x, toward)
    mix = np.where(np.isfinite(neighbour), weight, 0.0)
    out: np.ndarray = (1.0 - mix) * own + mix * np.where(np.isfinite(neighbour), neighbour, own)
    return out


def _early_levels(x: pd.DataFrame, t_i_bucket: np.ndarray | None = None) -> Levels:
    """Cell keys, finest first: (t_i bucket, t_r bucket), the t_r / t_i ratio, everything (``t_i_bucket`` in place
    of each row's own t_i bucket, for ``smooth_in_t_i``; the ratio keeps the row's own ages)."""
    t_i = x["early_snapshot_age_h"].to_numpy(dtype=float)
    t_r = x["age_h"].to_numpy(dtype=float)
    first = age_bucket(t_i) if t_i_bucket is None else t_i_bucket
    return [[first, age_bucket(t_r)], [_ratio_bucket(t_i, t_r)], [np.zeros(len(x), dtype=int)]]


@register_model_kind
class SzaboHubermanBaseline(Baseline):
    kind = "szabo_huberman"
    tasks = ("early",)

    def _fit(self, x: pd.DataFrame, log_views: np.ndarray) -> None:
        self._fit_levels("beta", _early_levels(x), log_views - x["early_log_views"].to_numpy(dtype=float))
        self._fit_levels("age", [[_ages(x)]], log_views)

    def _nearest_ratio(self, ratio: np.ndarray) -> np.ndarray:
        """beta of the nearest fitted (t_r / t_i) ratio bucket, for pairs whose own buckets were never fitted."""
        table = self.state["beta"][1]
        if not table:
            return np.full(len(ratio), self.state["beta"][2].get("0", np.nan))
        known = np.array(sorted(int(k) for k in table))
        nearest = known[np.abs(ratio[:, None] - known[None, :]).argmin(axis=1)]
        return np.array([table[str(k)] for k in nearest], dtype=float)

    def _predict(self, x: pd.DataFrame) -> np.ndarray:
        return smooth_in_t_i(x, self._predict_cells)

    def _predict_cells(self, x: pd.DataFrame, t_i_bucket: np.ndarray | None = None) -> np.ndarray:
        levels = _early_levels(x, t_i_bucket)
        beta = self._predict_levels("beta", levels[:1], len(x))
        by_ratio = _between(lambda k: pd.Series(k.astype(str)).map(self.state["beta"][1]).to_numpy(dtype=float), x)
        beta = np.where(np.isfinite(beta), beta, by_ratio)
        beta = np.where(np.isfinite(beta), beta, self._nearest_ratio(levels[1][0]))
        pred = x["early_log_views"].to_numpy(dtype=float) + beta
        return np.where(np.isfinite(pred), pred, self._predict_levels("age", [[_ages(x)]], len(x)))


def _pinto_design(x: pd.DataFrame) -> np.ndarray:
    incs = np.column_stack([np.nan_to_num(x[f"early_inc_{k}"].to_numpy(dtype=float)) for k in (1, 2, 3)])
    total = x["early_views"].to_numpy(dtype=float)
    return np.column_stack([incs, total - incs.sum(axis=1)])


@register_model_kind
class PintoBaseline(Baseline):
    kind = "pinto"
    tasks = ("early",)

    def _fit(self, x: pd.DataFrame, log_views: np.ndarray) -> None:
        design, views = _pinto_design(x), np.expm1(log_views)
        tables = []
        for parts in _early_levels(x):
            keys, table = _keys(parts), {}
            usable = (views > 0) & np.isfinite(design).all(axis=1)
            for key in np.unique(keys[usable]):
                rows = usable & (keys == key)
                if rows.sum() >= MIN_CELL:
                    table[str(key)] = _pooled_theta(design[rows], views[rows])
            tables.append(table)
        self.state["theta"] = tables
        self._fit_levels("age", [[_ages(x)]], log_views)

    def _predict(self, x: pd.DataFrame) -> np.ndarray:
        return smooth_in_t_i(x, self._predict_cells)

    def _predict_cells(self, x: pd.DataFrame, t_i_bucket: np.ndarray | None = None) -> np.ndarray:
        design = _pinto_design(x)
        cells, by_ratio, overall = self.state["theta"]

        def apply(keys: np.ndarray, table: dict[str, Any], out: np.ndarray) -> np.ndarray:
            for key, cell in table.items():
                rows = np.isnan(out) & (keys == key)
                if rows.any():
                    theta, into = _cell(cell, design.shape[1])
                    out[rows] = _merged(design[rows], into) @ np.asarray(theta)
            return out

        levels = _early_levels(x, t_i_bucket)
        out = apply(_keys(levels[0]), cells, np.full(len(x), np.nan))
        ratio = _between(lambda k: apply(k.astype(str), by_ratio, np.full(len(x), np.nan)), x)
        out = apply(_keys(levels[2]), overall, np.where(np.isfinite(out), out, ratio))
        views = np.maximum(out, x["early_views"].to_numpy(dtype=float))
        pred = np.log1p(np.clip(views, 0.0, None))
        return np.where(np.isfinite(pred), pred, self._predict_levels("age", [[_ages(x)]], len(x)))


def _pooled_theta(design: np.ndarray, views: np.ndarray) -> dict[str, list[float] | list[int]]:
    """One cell's weights, and where each interval's views count (``into``): the views of an interval with views in
    fewer than MIN_CELL of the cell's rows count as the latest interval's, so a cell reads a video read more often
    than any it was fitted on by its latest interval and the ones it knows. Fitted alone, such a weight is noise
    (views gained in the first day of videos read at 2-4 days weighed 19.5 in one cell, 10 rows of 729 had any, and
    a video stuck at 1,000 views from day 1 to day 3 was forecast 19,523 at 7 days); kept at weight 1, those views
    never grew: 3,000 views at 17 h read hourly since 14 h were forecast 3,747 at 24 h and at 7 days alike (the
    7-day cells had seen two readings at most, so the growth came from the last hour's 200 views alone). Counted in
    the later interval before them instead, a stuck video outgrew the same views read once where that interval
    weighs more (2,051 vs 1,789 at 24 h)."""
    supported = (design > 0).sum(axis=0) >= MIN_CELL
    supported[0] = True
    into = [j if supported[j] else 0 for j in range(design.shape[1])]
    theta = np.ones(design.shape[1])
    theta[supported] = _relative_lstsq(_merged(design, into)[:, supported], views)
    return {"theta": [float(v) for v in theta], "into": into}


def _merged(design: np.ndarray, into: list[int]) -> np.ndarray:
    """``design`` with each interval's views added to the interval ``into`` names (itself when the cell saw it)."""
    out = np.zeros_like(design)
    for j, i in enumerate(into):
        out[:, i] += design[:, j]
    return out


def _cell(cell: Any, width: int) -> tuple[list[float], list[int]]:
    """(theta, into) of a stored cell; an artifact of FEATURE_VERSION 3's first bundles stored theta alone (every
    interval counted where it was, an unseen one at weight 1)."""
    if isinstance(cell, dict):
        return list(cell["theta"]), [int(i) for i in cell["into"]]
    return list(cell), list(range(width))


def _relative_lstsq(design: np.ndarray, views: np.ndarray, ridge: float = 1e-6) -> list[float]:
    """theta minimising sum((design @ theta / views - 1)^2) (+ a tiny ridge for empty columns)."""
    a = design / views[:, None]
    lhs = a.T @ a + ridge * np.eye(a.shape[1])
    return [float(v) for v in np.linalg.solve(lhs, a.T @ np.ones(len(views)))]


BASELINES: dict[Task, tuple[str, ...]] = {
    "prepublish": ("age", "channel_size_age", "category"),
    "early": ("age", "channel_size_age", "category", "szabo_huberman", "pinto"),
}
DEFAULT_KIND: dict[Task, str] = {"prepublish": "channel_size_age", "early": "szabo_huberman"}


def make_baseline(kind: str, task: Task) -> Baseline:
    from miles.model.artifact import model_class

    cls = model_class(kind)
    if not issubclass(cls, Baseline):
        raise InvalidInput(f"{kind!r} is not a baseline; choose one of {', '.join(BASELINES[task])}")
    baseline: Baseline = cls(task)
    return baseline


def fit_baseline_artifact(kind: str, data: Dataset, out: Path, *, spec: SplitSpec | None = None) -> Path:
    """Fit baseline ``kind`` (and every other baseline of the task) on the headline training fold; save it."""
    spec = (spec or SplitSpec()).fit(data.meta)
    folds = assign_folds(data.meta, spec)
    train = data.take(folds["train"])
    if len(train) < MIN_CELL:
        raise InvalidInput(f"only {len(train)} training rows after the split; need at least {MIN_CELL}")
    labeler = ViralLabeler.fit(train.X, train.y["log_views"])
    y = train.y.assign(viral=labeler.label(train.X, train.y["log_views"]), video_id=train.meta["video_id"].to_numpy(),
                       group_id=train.meta["group_id"].to_numpy())  # fmt: skip
    model = make_baseline(kind, data.task).fit(train.X, y, labeler=labeler)
    others = {
        k: make_baseline(k, data.task).fit(train.X, y, labeler=labeler) for k in BASELINES[data.task] if k != kind
    }
    training = {
        "rows": len(train),
        "videos": int(train.meta["video_id"].nunique()),
        "groups": int(train.meta["group_id"].nunique()),
        "sources": {
            str(src): {"rows": len(part), "first_publish": str(part.min()), "last_publish": str(part.max())}
            for src, part in train.meta.groupby("source")["published_at"]
        },
        "fingerprint": fingerprint(train.meta),
        "fold_rows": {name: int(mask.sum()) for name, mask in folds.items()},
        "viral_threshold": labeler.threshold,
    }
    return save_artifact(
        out, model=model, labeler=labeler, features=list(data.X.columns), split=spec, baselines=others,
        training=training,
    )  # fmt: skip
