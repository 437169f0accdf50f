"""The level of an ordinary upload: log views from channel size and age, anchored on ordinary uploads.

DESIGN.md §3.3 rules 7 and 9. The development sources sample videos differently (trending lists and search
rankings hold only successful videos; ``selection_of`` tells them apart), and each leaves other fields blank, so
a model fitted on their pooled views learns *which source a row resembles* and predicts that source's level.
``OrdinaryLevel`` separates the two:

- the **level**: ``log1p(views) = curve(age) + slope * (log1p(subscribers) - typical) + weight * usual``, fitted on
  the ordinary uploads only (every training row when no ordinary source is present); ``curve`` is an increasing
  function of age (isotonic over age buckets, strictly rising, interpolated in log age), ``slope`` is the pooled
  within-age-bucket slope, never negative; ``usual`` is how far the channel's earlier uploads at a comparable age
  were above or below that level (0 without enough history) and ``weight`` (0..1) how much of it carries to the next
  upload. Blank subscribers take the typical (median) count: a blank is not evidence. Younger than the youngest
  age bucket with ordinary uploads (about a day in the development data), the curve is not extrapolated from its
  first segment: it follows the growth of the same videos between readings (``young_rises``, fitted as
  ``growth.GrowthCurve`` is), so a draft's 6-hour forecast is what a video on that curve has by then. Extrapolated,
  it was 1.5x lower, and a video read at exactly that forecast was forecast half its 30-day forecast before
  publishing (the early model grows views along the same videos' growth).
- the **frame shift**: per sampling frame and age bucket, the median of (log views - level) on the training rows
  (zero for ordinary uploads). Training rows carry their frame's shift in the offset the trees start from, so the
  trees learn what moves a video *within* its source; serving asks for an ordinary upload (shift 0).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from miles.features.build import MIN_GAP_H  # readings of one video paired for its growth, as the early task pairs them
from miles.features.labels import ViralLabeler
from miles.features.schema import age_bucket
from miles.model.artifact import register_model_kind
from miles.model.baselines import MIN_CELL, Baseline
from miles.model.embed_features import PREDICT_SELECTION, selection_of
from miles.model.growth import MIN_CHANNELS, MIN_PAIRS, fit_rises, rise_to

MIN_SLOPE_PER_LOG_AGE = 0.02  # the age curve rises at least this much per unit of log1p(age)
SELECTED = "selected"  # the pooled shift of success-selected frames (trending lists, search results)
MIN_CHANNEL_UPLOADS = 3  # earlier uploads at a comparable age before the channel's record moves the level


def _log_subscribers(x: pd.DataFrame) -> np.ndarray:
    out: np.ndarray = x["log_subscribers"].to_numpy(dtype=float)
    return out


def _increasing(values: np.ndarray, weights: np.ndarray, where: np.ndarray) -> np.ndarray:
    """Isotonic (weighted) fit of ``values`` over the sorted positions ``where``, then strictly rising."""
    from sklearn.isotonic import IsotonicRegression

    fitted = IsotonicRegression(increasing=True).fit(where, values, sample_weight=weights).predict(where)
    for k in range(1, len(fitted)):
        fitted[k] = max(fitted[k], fitted[k - 1] + MIN_SLOPE_PER_LOG_AGE * (where[k] - where[k - 1]))
    return np.asarray(fitted, dtype=float)


def _curve(la: np.ndarray, knots: np.ndarray, levels: np.ndarray, young_rises: list[float] | None = None) -> np.ndarray:
    """The age curve: linear in log age between knots; before the first knot it falls back along ``young_rises``
    (the same videos' growth between readings) when fitted, else goes on with the first segment's slope (views head
    to zero at publish), at least the minimum slope either way; after the last knot it rises by the minimum slope
    (views level off)."""
    out = np.interp(la, knots, levels)
    least = levels[0] + MIN_SLOPE_PER_LOG_AGE * (la - knots[0])
    if young_rises:
        back = rise_to(young_rises, np.expm1(np.full(1, knots[0]))) - rise_to(young_rises, np.expm1(la))
        before = np.minimum(levels[0] - back, least)
    else:
        first = (levels[1] - levels[0]) / (knots[1] - knots[0]) if len(knots) > 1 else MIN_SLOPE_PER_LOG_AGE
        before = levels[0] + max(first, MIN_SLOPE_PER_LOG_AGE) * (la - knots[0])
    out = np.where(la < knots[0], before, out)
    result: np.ndarray = np.where(la > knots[-1], levels[-1] + MIN_SLOPE_PER_LOG_AGE * (la - knots[-1]), out)
    return result


@register_model_kind
class OrdinaryLevel(Baseline):
    """Channel size + age level of ordinary uploads (also reported as a baseline: ``ordinary_level``)."""

    kind = "ordinary_level"

    def fit(self, x: pd.DataFrame, y: pd.DataFrame, *, labeler: ViralLabeler) -> Baseline:
        self._frames = selection_of(y["source"]) if "source" in y else pd.Series(PREDICT_SELECTION, index=x.index)
        # which rows are one video's readings (for its growth, ``young_rises``) and which channel it is
        self._videos = y["video_id"].to_numpy() if "video_id" in y else None
        self._channels = y["group_id"].to_numpy() if "group_id" in y else self._videos
        return super().fit(x, y, labeler=labeler)

    def _fit(self, x: pd.DataFrame, log_views: np.ndarray) -> None:
        frames = self._frames.to_numpy(dtype=object)
        anchor = frames == PREDICT_SELECTION
        if anchor.sum() < MIN_CELL:
            anchor = np.ones(len(x), dtype=bool)
        subs = _log_subscribers(x)
        typical = float(np.nanmedian(subs[anchor])) if np.isfinite(subs[anchor]).any() else 0.0
        if np.isfinite(subs[anchor]).any():  # the smallest channel the size line saw (serving reads smaller as it)
            self.state["smallest_log_subscribers"] = float(np.nanmin(subs[anchor]))
        filled = np.where(np.isfinite(subs), subs, typical)
        buckets = age_bucket(x["age_h"])
        slope = self._slope(filled[anchor], log_views[anchor], buckets[anchor])
        self.state.update(slope=slope, typical_log_subscribers=typical)
        adjusted = log_views - slope * (filled - typical)
        la = np.log1p(x["age_h"].to_numpy(dtype=float))
        rows = pd.DataFrame({"b": buckets[anchor], "y": adjusted[anchor], "la": la[anchor]})
        cells = rows.groupby("b").agg(y=("y", "median"), la=("la", "mean"), n=("y", "size"))
        cells = cells.loc[cells["n"] >= MIN_CELL].sort_values("la")
        if cells.empty:
            cells = pd.DataFrame({"y": [float(np.median(adjusted))], "la": [float(np.mean(la))], "n": [len(la)]})
        curve = _increasing(cells["y"].to_numpy(float), cells["n"].to_numpy(float), cells["la"].to_numpy(float))
        self.state.update(knots_log_age=cells["la"].tolist(), knots_level=curve.tolist(), channel_weight=0.0)
        self.state["young_rises"] = self._young_rises(x["age_h"].to_numpy(dtype=float), log_views, anchor)
        self.state["channel_weight"] = self._channel_weight(x, log_views, anchor)
        residual = log_views - self._predict(x)
        self.state["frame_shift"] = self._shifts(residual, frames, buckets)

    def _young_rises(self, age_h: np.ndarray, log_views: np.ndarray, anchor: np.ndarray) -> list[float]:
        """The growth curve of the anchor rows' videos between consecutive readings at least an hour apart (as the
        early task pairs them); empty without video ids or with fewer than MIN_PAIRS pairs of MIN_CHANNELS."""
        videos, channels = getattr(self, "_videos", None), getattr(self, "_channels", None)
        if videos is None or channels is None:
            return []
        rows = pd.DataFrame({"v": videos[anchor], "c": channels[anchor], "age": age_h[anchor],
                             "y": log_views[anchor]}).sort_values(["v", "age"])  # fmt: skip
        later = rows.groupby("v")[["age", "y"]].shift(-1)
        pairs = later["age"].notna() & (later["age"] >= rows["age"] + MIN_GAP_H)
        if pairs.sum() < MIN_PAIRS or rows.loc[pairs, "c"].nunique() < MIN_CHANNELS:
            return []
        growth = (later.loc[pairs, "y"] - rows.loc[pairs, "y"]).to_numpy(dtype=float)
        rises = fit_rises(rows.loc[pairs, "age"].to_numpy(dtype=float), later.loc[pairs, "age"].to_numpy(dtype=float),
                          growth)  # fmt: skip
        return [float(r) for r in rises]

    def _channel_weight(self, x: pd.DataFrame, log_views: np.ndarray, anchor: np.ndarray) -> float:
        """How much of the channel's usual over- or under-performance carries to its next upload (0..1), by least
        squares on the anchor rows whose channel has enough earlier uploads."""
        size_age = self._size_age(x)
        usual = self._channel_usual(x, size_age)
        rows = anchor & np.isfinite(usual)
        if rows.sum() < MIN_CELL:
            return 0.0
        target = log_views[rows] - size_age[rows]
        u = usual[rows]
        weight = float(np.dot(u, target) / np.dot(u, u)) if np.dot(u, u) > 0 else 0.0
        return float(np.clip(weight, 0.0, 1.0))

    def _channel_usual(self, x: pd.DataFrame, size_age: np.ndarray) -> np.ndarray:
        """How far the channel's earlier uploads were above or below the size-and-age level: at a comparable age
        (``features.channel.usual_views``) when MIN_CHANNEL_UPLOADS of them were seen at it, else at their latest
        snapshots whatever their age (compared with the level at their median age); NaN without enough history.
        ``size_age`` is each row's size-and-age level (``_size_age``), computed once by the caller."""
        needed = {"channel_baseline_log_views", "channel_baseline_count", "channel_prior_uploads",
                  "channel_prior_median_log_views", "channel_prior_median_log_age_h"}  # fmt: skip
        if not needed <= set(x.columns):
            return np.full(len(x), np.nan)
        same_age = x["channel_baseline_log_views"].to_numpy(dtype=float) - size_age
        prior_age = x.assign(age_h=np.expm1(x["channel_prior_median_log_age_h"].to_numpy(dtype=float)))
        prior = x["channel_prior_median_log_views"].to_numpy(dtype=float) - self._size_age(prior_age)
        enough_same = np.nan_to_num(x["channel_baseline_count"].to_numpy(dtype=float)) >= MIN_CHANNEL_UPLOADS
        enough_prior = np.nan_to_num(x["channel_prior_uploads"].to_numpy(dtype=float)) >= MIN_CHANNEL_UPLOADS
        out: np.ndarray = np.where(enough_same, same_age, np.where(enough_prior, prior, np.nan))
        return out

    @staticmethod
    def _slope(subs: np.ndarray, log_views: np.ndarray, buckets: np.ndarray) -> float:
        frame = pd.DataFrame({"s": subs, "y": log_views, "b": buckets})
        centred = frame[["s", "y"]] - frame.groupby("b")[["s", "y"]].transform("mean")
        denom = float((centred["s"] ** 2).sum())
        return max(0.0, float((centred["s"] * centred["y"]).sum()) / denom) if denom > 0 else 0.0

    @staticmethod
    def _shifts(residual: np.ndarray, frames: np.ndarray, buckets: np.ndarray) -> dict[str, dict[str, float]]:
        """Per sampling frame (and age bucket), the median residual from the level; ``SELECTED`` pools every
        success-selected frame (each frame weighted equally) for a selected frame never seen in training."""
        out: dict[str, dict[str, float]] = {}
        selected = frames != PREDICT_SELECTION
        for frame in sorted(set(frames[selected])):
            sel = frames == frame
            out[str(frame)] = _frame_cells(residual[sel], buckets[sel])
        if selected.any():
            counts = pd.Series(frames[selected]).value_counts()
            weights = 1.0 / pd.Series(frames).map(counts).to_numpy(dtype=float)
            out[SELECTED] = _frame_cells(residual[selected], buckets[selected], weights[selected])
        return out

    def _predict(self, x: pd.DataFrame) -> np.ndarray:
        level = self._size_age(x)
        weight = float(self.state.get("channel_weight", 0.0))
        if weight > 0:
            level = level + weight * np.nan_to_num(self._channel_usual(x, level), nan=0.0)
        return level

    def components(self, x: pd.DataFrame) -> dict[str, np.ndarray]:
        """The parts of the level a forecast can be explained by, keyed by the feature that carries each: the channel's
        size (vs the typical channel) and its usual views; the age curve stays in the base value."""
        subs = _log_subscribers(x)
        typical = self.state["typical_log_subscribers"]
        size = self.state["slope"] * (np.where(np.isfinite(subs), subs, typical) - typical)
        out = {"log_subscribers": size}
        weight = float(self.state.get("channel_weight", 0.0))
        if weight > 0:
            usual = self._channel_usual(x, self._size_age(x))
            out["channel_baseline_log_views"] = weight * np.nan_to_num(usual, nan=0.0)
        return out

    def _size_age(self, x: pd.DataFrame) -> np.ndarray:
        subs = _log_subscribers(x)
        typical = self.state["typical_log_subscribers"]
        filled = np.where(np.isfinite(subs), subs, typical)
        la = np.log1p(x["age_h"].to_numpy(dtype=float))
        curve = _curve(la, np.asarray(self.state["knots_log_age"]), np.asarray(self.state["knots_level"]),
                       self.state.get("young_rises"))  # fmt: skip
        out: np.ndarray = curve + self.state["slope"] * (filled - typical)
        return out

    def frame_shift(self, x: pd.DataFrame, sources: pd.Series) -> np.ndarray:
        """Each row's sampling-frame shift: its own frame's when that frame was seen in training, else - for a
        success-selected frame never seen (a held-out trending or search source) - the pooled shift of the selected
        frames that were; 0 for ordinary uploads (and drafts)."""
        frames = selection_of(sources).to_numpy(dtype=object)
        buckets = age_bucket(x["age_h"]).astype(str)
        shifts = self.state.get("frame_shift", {})
        out = np.zeros(len(x))
        for frame in set(frames) - {PREDICT_SELECTION}:
            cells = shifts.get(frame) or shifts.get(SELECTED)
            if cells:
                sel = frames == frame
                out[sel] = pd.Series(buckets[sel]).map(cells).fillna(cells["all"]).to_numpy(dtype=float)
        return out


def _frame_cells(residual: np.ndarray, buckets: np.ndarray, weights: np.ndarray | None = None) -> dict[str, float]:
    """Weighted median residual overall ("all") and per age bucket with at least MIN_CELL rows."""
    w = np.ones(len(residual)) if weights is None else weights

    def median(rows: np.ndarray) -> float:
        order = np.argsort(residual[rows])
        cum = np.cumsum(w[rows][order])
        return float(residual[rows][order][np.searchsorted(cum, 0.5 * cum[-1])])

    out = {"all": median(np.ones(len(residual), dtype=bool))}
    for bucket in np.unique(buckets):
        rows = buckets == bucket
        if rows.sum() >= MIN_CELL:
            out[str(bucket)] = median(rows)
    return out
