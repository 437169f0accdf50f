"""LightGBM learner: quantile regressors of log views (p10/p50/p90) and a calibrated viral classifier.

Early stopping uses the validation fold only (DESIGN.md §3.3 rule 4); the classifier's probabilities are
calibrated by isotonic regression fitted on that same validation fold. Views never fall with age, so the
age inputs get a monotone (non-decreasing) constraint, as does channel size: the model extrapolates
along a monotone age curve instead of a step function learned from trending videos.

Two refinements (model-quality pass):
- **Offset model** (early task): the centre is fitted on the residual of a fitted baseline - Szabo-Huberman,
  ``log v(t_r) = log v(t_i) + beta(t_i, t_r)`` with beta fitted on the training fold - passed to LightGBM as
  ``init_score``, so the trees start from the strong baseline and only learn corrections to it. The baseline is
  saved inside the model directory and added back at prediction time.
- **Conformal interval scaling**: the p10/p90 offsets from the centre are multiplied by one factor per side
  chosen on the validation fold so that the p10-p90 interval covers the nominal share there (split-conformal,
  with the finite-sample correction), because raw quantile boosters are over-confident on unseen channels.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.special import ndtr

from miles.errors import InvalidInput, ModelNotReady
from miles.features.build import MIN_GAP_H
from miles.features.early import reaged
from miles.features.labels import ViralLabeler
from miles.features.schema import Task, subscriber_bucket
from miles.features.splits import group_position
from miles.model.artifact import Predictions, register_model_kind
from miles.model.baselines import Baseline
from miles.model.embed_features import (
    PREDICT_SELECTION,
    THUMB_EMBEDDING,
    TextEmbedder,
    TitleProjector,
    attach_thumbnail_components,
    selection_of,
)
from miles.model.growth import PSEUDO_FROM_H, GrowthCurve

if TYPE_CHECKING:  # the encoders load onnxruntime; prepare_frame imports them when it needs them
    from miles.model.encoders import EmbeddingCache

FloatArray = NDArray[np.float64]
ScalePoint = tuple[float, float, float]  # (where on its axis, low-side factor, high-side factor)
BoolArray = NDArray[np.bool_]
QUANTILES: tuple[float, ...] = (0.1, 0.5, 0.9)
BLEND_WEIGHTS: tuple[float, ...] = (1.0, 0.75, 0.5, 0.25, 0.0)
BLEND_MIN_ROWS = 30
BLEND_MARGIN = 0.25
ORDINARY_INTERVAL_ROWS = 200  # validation rows of ordinary uploads needed to calibrate their own interval
AGE_SCALE_ROWS = 100  # validation rows a t_i bucket needs for interval factors of its own (early task)
SIZE_SCALE_ROWS = 60  # validation ordinary uploads a channel-size band needs for factors of its own (prepublish)
# a frame's column marking rows whose channel size was blank and is read as a typical one (``log_subscribers`` filled
# in at serving): their range is that of the rows of unknown size, not of the size filled in
SIZE_UNKNOWN = "channel_size_unknown"
# P(viral) stays inside [1 %, 99 %]: a rate calibrated on a few thousand validation rows never supports certainty,
# and "100 %" reads as a promise (the isotonic map's end steps are exactly 0 and 1)
CHANCE_FLOOR = 0.01
Z_P90 = 1.2815515655446004  # the standard normal's 90th percentile
# An ordinary upload read this young is forecast from its own growth curve (``miles.model.growth``), fully under
# YOUNG_FULL_H hours, mixed (in log t_i) into the 6h-1d bucket's reference until YOUNG_UNTIL_H, where that serves
YOUNG_FULL_H, YOUNG_UNTIL_H = 3.0, 6.0
# Almost no pair of readings in the development data runs from a reading under 3 days old to past two weeks (the
# references extrapolate there), so an ordinary upload read that young is forecast at EXTEND_FROM_H (7 days, where
# the pairs are many) and carried on along the growth curve: fully from EXTEND_FULL_R_H on and for readings under
# EXTEND_FULL_T_I_H, each mixed in log age into the references' own forecast by EXTEND_PAST_H and by
# EXTEND_BELOW_T_I_H (no jump where either ends)
EXTEND_FROM_H, EXTEND_PAST_H, EXTEND_FULL_R_H = 168.0, 336.0, 720.0
EXTEND_FULL_T_I_H, EXTEND_BELOW_T_I_H = 24.0, 72.0
MONOTONE_UP: tuple[str, ...] = ("age_h", "log_age_h", "log_subscribers", "early_log_views", "early_views")
INTERVAL_BLIND: tuple[str, ...] = ("log_subscribers",)
# log-age steps an early reading's p10/p90 offsets are averaged over, weighted by a triangle (no edge that steps)
SPREAD_REAGE = np.linspace(-0.5, 0.5, 41)
SPREAD_WEIGHTS = (0.5 + 1e-3 - np.abs(SPREAD_REAGE)) / (0.5 + 1e-3 - np.abs(SPREAD_REAGE)).sum()


@dataclass
class GBDTConfig:
    """Hyper-parameters of every booster; saved in the artifact and rebuilt from it."""

    learning_rate: float = 0.06
    num_leaves: int = 31
    min_child_samples: int = 40
    feature_fraction: float = 0.8
    bagging_fraction: float = 0.8
    lambda_l2: float = 1.0
    max_rounds: int = 600
    early_stopping_rounds: int = 40
    quantiles: tuple[float, ...] = QUANTILES
    monotone_up: tuple[str, ...] = MONOTONE_UP
    # Inputs the p10/p90 boosters never split on: their offset from the centre then cannot shrink as channel size
    # grows, so a bigger channel never gets a lower p10 or p90 (LightGBM refuses monotone constraints for quantile
    # objectives); the width comes from the other inputs, its size-dependence from the monotone centre.
    interval_blind: tuple[str, ...] = INTERVAL_BLIND
    # "l2": the centre minimises squared error of log views; "relative": mean relative squared error of views,
    # (v_hat / v - 1)^2 - the early task's metric (mRSE), which punishes over-prediction far more than L2 in logs
    centre_objective: str = "l2"
    num_threads: int = 2
    seed: int = 7

    def params(self, features: list[str], objective: str, **extra: Any) -> dict[str, Any]:
        # Views never fall with age or channel size: only the log-views centre gets monotone constraints
        # (LightGBM refuses them for quantile objectives; the viral residual is not monotone in either).
        monotone = (
            {"monotone_constraints": [1 if f in self.monotone_up else 0 for f in features],
             "monotone_constraints_method": "advanced"}
            if objective in ("regression", "relative") else {}
        )  # fmt: skip
        custom = {"objective": relative_objective, "metric": "None"} if objective == "relative" else {}
        return {
            "objective": objective,
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_child_samples": self.min_child_samples,
            "feature_fraction": self.feature_fraction,
            "bagging_fraction": self.bagging_fraction,
            "bagging_freq": 1,
            "lambda_l2": self.lambda_l2,
            **monotone,
            "num_threads": self.num_threads,
            "seed": self.seed,
            "deterministic": True,
            "verbosity": -1,
            **extra,
            **custom,
        }


@dataclass
class Calibrator:
    """Isotonic map from raw classifier scores to probabilities, linear between the centres of its steps (centred
    isotonic regression): the steps' own ends made the chance jump (37 % at 40 views in the first hour, 89 % at
    42) where the forecast moved by a few per cent."""

    x: list[float] = field(default_factory=list)
    y: list[float] = field(default_factory=list)

    @classmethod
    def fit(cls, scores: FloatArray, labels: FloatArray) -> Calibrator:
        from sklearn.isotonic import IsotonicRegression

        if len(np.unique(labels)) < 2:
            raise InvalidInput("cannot calibrate the viral classifier: the validation fold has a single class")
        iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(scores, labels)
        order = np.argsort(scores, kind="stable")
        at, fitted = np.asarray(scores, dtype=float)[order], iso.predict(np.asarray(scores, dtype=float)[order])
        starts = np.r_[0, np.flatnonzero(np.diff(fitted) != 0.0) + 1]
        centres = np.add.reduceat(at, starts) / np.diff(np.r_[starts, len(at)])
        return cls(x=[float(v) for v in centres], y=[float(v) for v in fitted[starts]])

    def __call__(self, scores: FloatArray) -> FloatArray:
        if not self.x:
            return np.asarray(scores, dtype=float)
        return np.interp(scores, self.x, self.y)


@dataclass
class FitData:
    """One fold: features, log-views target, viral label and sample weights (same row order)."""

    x: pd.DataFrame
    log_views: FloatArray
    viral: FloatArray
    weight: FloatArray | None = None
    offset: FloatArray | None = None  # the offset model's log views (init score of the centre), if any


@register_model_kind
class GBDTModel:
    """Three quantile boosters + a viral booster + its calibrator, over a fixed feature list.

    Implements the artifact ``Model`` interface (kind ``lightgbm``); ``projector`` is the title PCA the
    features were built with (None when the model does not use title embeddings).
    """

    kind = "lightgbm"

    def __init__(
        self,
        features: list[str],
        quantile_boosters: dict[float, lgb.Booster],
        viral_booster: lgb.Booster | None,
        calibrator: Calibrator,
        config: GBDTConfig,
        *,
        task: Task = "prepublish",
        projector: TitleProjector | None = None,
        offset_model: Baseline | None = None,
        interval_scale: tuple[float, float] = (1.0, 1.0),
    ) -> None:
        self.task: Task = task
        self.projector = projector
        self.thumb_projector: TitleProjector | None = None  # the thumbnail-embedding PCA (thumbnail_pca.npz), if used
        self.offset_model = offset_model
        # early task: per t_i bucket, the reference baseline and the model's weight in the blend (``fit_blend``)
        self.references: dict[str, Baseline] = {}
        self.blend: dict[str, tuple[str, float]] = {}
        self.young: GrowthCurve | None = None  # the growth curve served to young readings of ordinary uploads
        self.interval_scale = interval_scale
        # prepublish: the same for ordinary uploads alone (drafts), when the validation fold had enough of them.
        # Calibrated over every source, the range held 97 % of ordinary uploads on the test fold (p10 of a 50k-
        # subscriber channel's draft at 30 days: 10 views against a p50 of 3,876). Not for the early task: there it
        # moved the test fold's ordinary uploads from 79 % to 87 %, away from 80 % (docs/evaluation.md item 19)
        self.ordinary_interval_scale: tuple[float, float] | None = None
        # early: (t_i hours, low factor, high factor) per t_i bucket, read between them in log t_i
        # (``fit_age_scales``); None: ``interval_scale`` at every age
        self.age_interval_scale: list[ScalePoint] | None = None
        # prepublish: (log1p subscribers, low factor, high factor) per channel-size band of ordinary uploads, read
        # between them (``fit_size_scales``); a row of unknown size takes ``unknown_size_scale`` when calibrated,
        # else ``ordinary_interval_scale``
        self.ordinary_size_scale: list[ScalePoint] | None = None
        self.unknown_size_scale: tuple[float, float] | None = None  # the same for ordinary uploads of unknown size
        self.text_encoder: TextEmbedder | None = None  # loaded on first use by prepare_frame
        # where prepare_frame's encoder keeps title embeddings (the store's table when a job sets it: a retrain
        # evaluates the champion once per task and per comparison, and re-embedded every title each time)
        self.embedding_cache: EmbeddingCache | None = None
        self.features = features
        self.quantile_boosters = quantile_boosters
        self.viral_booster = viral_booster
        # P(viral) from the views forecast itself: a calibrated map of (p50 - the labeler's expectation), so a
        # higher forecast for the same channel size, category and age never gets a lower viral chance
        self.viral_labeler: ViralLabeler | None = None
        # a blank input is read as this typical value at training and serving alike (DESIGN.md §3.3 rule 9)
        self.blank_values: dict[str, float] = {}
        # share of the trees' correction to the offset that is applied: chosen by cross-source validation
        # (``miles.model.train.transfer_weight``), because what the trees learn in one source may not carry to another
        self.tree_weight = 1.0
        self.transfer: dict[str, Any] = {}  # the cross-source validation table behind ``tree_weight``
        self.calibrator = calibrator
        self.config = config

    # --- training ----------------------------------------------------------------------------------

    @classmethod
    def fit_folds(
        cls,
        train: FitData,
        valid: FitData,
        config: GBDTConfig | None = None,
        *,
        task: Task = "prepublish",
        offset_model: Baseline | None = None,
        labeler: ViralLabeler | None = None,
        tree_features: list[str] | None = None,
        tree_weight: float = 1.0,
    ) -> GBDTModel:
        """Fit on ``train``; early stopping, probability calibration and interval scaling on ``valid`` only.

        With ``offset_model`` (already fitted on the training fold) the centre learns the residual of its
        log-views prediction; ``FitData.offset`` is filled from it when absent. ``tree_features`` (default: every
        column) are the columns the boosters see; the offset model and the labeler read the whole frame.
        """
        cfg = config or GBDTConfig()
        features = list(tree_features) if tree_features is not None else list(train.x.columns)
        if list(valid.x.columns) != list(train.x.columns) or not set(features) <= set(train.x.columns):
            raise InvalidInput("training and validation folds have different feature columns")
        if offset_model is not None:
            for part in (train, valid):
                if part.offset is None:
                    part.offset = offset_model.predict_log_views(part.x)
        # The centre is an L2 regression of log views (monotone in age and channel size); LightGBM refuses
        # monotone constraints for quantile objectives, so p10/p90 are quantile boosters of the offset from it.
        base = None
        if offset_model is not None and train.offset is not None and valid.offset is not None:
            base = (train.offset, valid.offset)
        objective = "relative" if cfg.centre_objective == "relative" else "regression"
        centre = _train(cfg, features, train, valid, train.log_views, valid.log_views, objective, init=base)
        boosters = {0.5: centre}
        init = (
            _raw(centre, train.x[features]) + _zero(train.offset),
            _raw(centre, valid.x[features]) + _zero(valid.offset),
        )
        q_train, q_valid = _blinded(train, cfg.interval_blind), _blinded(valid, cfg.interval_blind)
        for q in cfg.quantiles:
            if q != 0.5:
                boosters[q] = _train(cfg, features, q_train, q_valid, train.log_views, valid.log_views, "quantile",
                                     init=init, alpha=q)  # fmt: skip
        viral = None if labeler is not None else _train(cfg, features, train, valid, train.viral, valid.viral, "binary")
        model = cls(features, boosters, viral, Calibrator(), cfg, task=task, offset_model=offset_model)
        model.viral_labeler = labeler
        model.tree_weight = tree_weight
        shift = None if valid.offset is None or offset_model is None else valid.offset - model._offset(valid.x)
        model.fit_viral(valid.x, valid.log_views, valid.viral, shift)
        # in the frame's level: subtracting the shift from the outcome is adding it to every quantile
        model.interval_scale = model.conformal_scale(valid.x, valid.log_views - _zero(shift))
        return model

    def conformal_scale(
        self, x: pd.DataFrame, log_views: FloatArray, selected: BoolArray | None = None
    ) -> tuple[float, float]:
        """Factors (low side, high side) that make the outer quantiles cover their nominal share on ``x``.

        Each side is calibrated on its own (split-conformal on the scaled residual beyond the centre), so an
        interval that is too narrow below but fine above is widened only below.
        """
        raw = self._around_served_centre(self._raw_quantiles(x), x, selected)  # where ``score`` places the interval
        centre, low, high = raw[:, self._mid], raw[:, 0], raw[:, -1]
        q_lo, q_hi = self.config.quantiles[0], self.config.quantiles[-1]
        y = np.asarray(log_views, dtype=float)
        below = (centre - y) / np.maximum(centre - low, 1e-6)
        above = (y - centre) / np.maximum(high - centre, 1e-6)
        n = len(y)
        if n < 20:
            return (1.0, 1.0)

        def level(share: float, score: FloatArray) -> float:
            rank = min(1.0, np.ceil((n + 1) * share) / n)
            return float(max(np.quantile(score, rank, method="higher"), 1e-3))

        # P(y < centre - s*(centre-low)) should be q_lo: the (1 - q_lo) quantile of the scaled shortfall
        return (level(1.0 - q_lo, below), level(q_hi, above))

    def fit(self, x: pd.DataFrame, y: pd.DataFrame, *, labeler: ViralLabeler) -> GBDTModel:
        """The artifact interface: refit on ``x``, holding out 15 % of its channels for early stopping."""
        groups = y["group_id"] if "group_id" in y else pd.Series(np.arange(len(x)).astype(str))
        hold = (group_position(groups, "miles-gbdt-valid") < 0.15).to_numpy()
        log_views = y["log_views"].to_numpy(dtype=float)
        viral = labeler.label(x, log_views)
        part = [FitData(x.loc[m].reset_index(drop=True), log_views[m], viral[m]) for m in (~hold, hold)]
        fitted = GBDTModel.fit_folds(part[0], part[1], self.config, task=self.task)
        fitted.projector = self.projector
        fitted.thumb_projector = self.thumb_projector
        return fitted

    def predict(self, x: pd.DataFrame, sources: pd.Series | None = None) -> Predictions:
        """Predictions for ordinary uploads; with ``sources``, rows of a sampling frame seen in training (trending,
        search) are predicted within that frame (the in-source evaluation; frames never seen get no shift)."""
        quantiles, viral = self.score(self.inputs(x), x, self.frame_shift(x, sources), selected_frames(sources))
        return Predictions(log_views=quantiles[:, self._mid], p_viral=viral)

    def frame_shift(self, x: pd.DataFrame, sources: pd.Series | None) -> FloatArray:
        """log-views shift of each row's sampling frame (0 without sources or without a level offset)."""
        shift = getattr(self.offset_model, "frame_shift", None)
        if sources is None or shift is None:
            return np.zeros(len(x))
        out: FloatArray = shift(x, sources)
        return out

    # --- prediction --------------------------------------------------------------------------------

    def _check(self, x: pd.DataFrame) -> pd.DataFrame:
        missing = [f for f in self.features if f not in x.columns]
        if missing:
            raise InvalidInput(f"feature frame lacks model feature(s): {', '.join(missing)}")
        return x[self.features]

    @property
    def same_video_rises(self) -> list[float] | None:
        """The growth curve of the same videos between readings (``growth.fit_rises``) this model carries: the early
        task's young-reading curve, or the prepublish level's; None when neither was fitted."""
        if self.young is not None and self.young.active:
            return list(self.young.state["rises"])
        rises = getattr(self.offset_model, "state", {}).get("young_rises")
        return list(rises) if rises else None

    @property
    def _mid(self) -> int:
        return len(self.config.quantiles) // 2

    def _offset(self, x: pd.DataFrame) -> FloatArray:
        return np.zeros(len(x)) if self.offset_model is None else self.offset_model.predict_log_views(x)

    # The one scoring core (training, evaluation and serving): boosters called on a float matrix in model feature
    # order whose categorical columns hold the booster's own category codes. ``inputs`` builds it from a frame,
    # ``matrix_inputs`` from a float matrix coded by the features' declared categories (a draft matrix).

    def _booster_categories(self) -> list[list[str]]:
        return [list(c) for c in (self.quantile_boosters[0.5].pandas_categorical or [])]

    def inputs(self, x: pd.DataFrame) -> FloatArray:
        """The boosters' input matrix for a feature frame (categories coded as LightGBM's pandas path codes them)."""
        x = self._check(x)
        out = np.empty((len(x), len(self.features)), dtype=np.float64)
        cats = iter(self._booster_categories())
        for j, name in enumerate(self.features):
            col = x[name]
            if isinstance(col.dtype, pd.CategoricalDtype):
                codes = pd.Categorical(col.astype(object), categories=next(cats, [])).codes
                out[:, j] = np.where(codes < 0, np.nan, codes)
            else:
                out[:, j] = col.to_numpy(dtype=np.float64)
        return self._fill_blanks(out)

    def matrix_inputs(
        self, values: FloatArray, columns: list[str], categories: dict[str, tuple[str, ...]]
    ) -> FloatArray:
        """The boosters' input matrix from ``values`` (columns named ``columns``; a categorical column holds the index
        of its value in ``categories[name]``, NaN when missing)."""
        position = {name: j for j, name in enumerate(columns)}
        missing = [f for f in self.features if f not in position]
        if missing:
            raise InvalidInput(f"feature matrix lacks model feature(s): {', '.join(missing)}")
        out = values[:, [position[f] for f in self.features]]
        cats = iter(self._booster_categories())
        for j, name in enumerate(self.features):
            if name not in categories:
                continue
            where = {c: float(i) for i, c in enumerate(next(cats, []))}
            remap = np.array([where.get(c, np.nan) for c in categories[name]], dtype=float)
            col = out[:, j]
            ok = ~np.isnan(col)
            col[ok] = remap[col[ok].astype(np.int64)]
        return self._fill_blanks(out)

    def _fill_blanks(self, out: FloatArray) -> FloatArray:
        for name, value in self.blank_values.items():
            if name in self.features:
                col = out[:, self.features.index(name)]
                col[np.isnan(col)] = value
        return out

    def score(
        self, inputs: FloatArray, x: pd.DataFrame, shift: FloatArray | None = None, selected: BoolArray | None = None
    ) -> tuple[FloatArray, FloatArray]:
        """(quantiles of log1p views, P(viral)) from the boosters' ``inputs`` and the frame ``x`` (for the offset);
        ``shift`` moves each row's level (a sampling frame's shift, see ``frame_shift``; none for drafts);
        ``selected`` marks rows of a success-selected frame (``selected_frames``; none for drafts)."""
        threads = self._threads(inputs)
        raw = self._raw_sorted(inputs, x, shift, threads)
        mid = raw[:, [self._mid]]
        scale = self._ends_follow_size(self._scales(x, selected), raw - mid, x, selected)
        quantiles: FloatArray = mid + (raw - mid) * scale + np.where(scale == 0.0, raw - mid, 0.0)
        quantiles = self._around_served_centre(quantiles, x, selected)
        quantiles = self._young_spread(quantiles, x, selected)
        chance = self.calibrator(self._viral_score(inputs, x, quantiles, threads))
        chance = self._young_chance(chance, quantiles, x, selected)
        return quantiles, np.clip(chance, CHANCE_FLOOR, 1.0 - CHANCE_FLOOR)

    def _scales(self, x: pd.DataFrame, selected: BoolArray | None) -> FloatArray:
        """(rows, quantiles) factors of each quantile's distance from the centre: ``ordinary_interval_scale`` for
        ordinary uploads when calibrated, ``age_interval_scale`` read at each row's t_i when calibrated,
        ``interval_scale`` otherwise (0 for the centre itself)."""
        below = np.array([q < 0.5 for q in self.config.quantiles])
        above = np.array([q > 0.5 for q in self.config.quantiles])

        def per_quantile(lo: FloatArray | float, hi: FloatArray | float) -> FloatArray:
            lo_col, hi_col = np.reshape(lo, (-1, 1)), np.reshape(hi, (-1, 1))
            return np.broadcast_to(below * lo_col + above * hi_col, (len(x), len(self.config.quantiles))).copy()

        if self.age_interval_scale:
            hours = x["early_t_i_h"].to_numpy(dtype=float)
            out = per_quantile(*_read_between(self.age_interval_scale, np.log1p(hours), np.log1p))
        else:
            out = per_quantile(*self.interval_scale)
        if self.ordinary_interval_scale is not None:
            ordinary = _ordinary(len(x), selected)
            out[ordinary] = per_quantile(*self.ordinary_interval_scale)[0]
            size, unknown = _channel_size(x)
            if self.ordinary_size_scale:
                sized = ordinary & ~unknown
                out[sized] = per_quantile(*_read_between(self.ordinary_size_scale, np.nan_to_num(size)))[sized]
            if self.unknown_size_scale is not None:
                out[ordinary & unknown] = per_quantile(*self.unknown_size_scale)[0]
        return out

    def _ends_follow_size(
        self, scale: FloatArray, spread: FloatArray, x: pd.DataFrame, selected: BoolArray | None
    ) -> FloatArray:
        """``scale`` widened where a size band's factors would make a bigger channel's p90 (or a smaller one's p10)
        fall past the centre's own rise: the factors are read between bands' median sizes, and a band's high-side
        factor well below the one before it outran the centre (p90 fell 1 % from 82,602 subscribers on). Each end
        is kept at least where each band's end, carried along the centre's rise with size (the level's slope in
        log subscribers, never less), puts it: for p90 every smaller band's, for p10 every bigger one's. Only
        widens, so the calibrated coverage can only rise. Without a level (no known rise with size) it is left as
        calibrated: holding every end flat across sizes widened a synthetic model's range from 80 % to 87 %."""
        slope = float(getattr(self.offset_model, "state", {}).get("slope", 0.0))
        if not self.ordinary_size_scale or self.ordinary_interval_scale is None or slope <= 0.0:
            return scale
        size, unknown = _channel_size(x)
        rows = np.flatnonzero(_ordinary(len(x), selected) & ~unknown)
        if not len(rows):
            return scale
        keys, low, high = _scale_columns(self.ordinary_size_scale)
        at = np.nan_to_num(size[rows])[:, None]
        out = scale.copy()
        for j, q in enumerate(self.config.quantiles):
            if q == 0.5:
                continue
            far = np.maximum(np.abs(spread[rows, j]), 1e-9)[:, None]  # this end's distance from the centre
            ahead = keys[None, :] <= at if q > 0.5 else keys[None, :] >= at  # the bands whose end it must keep
            ends = (high if q > 0.5 else low)[None, :] - slope * np.abs(at - keys[None, :]) / far
            kept = np.where(ahead, ends, -np.inf).max(axis=1)
            out[rows, j] = np.maximum(out[rows, j], kept)
        return out

    def fit_age_scales(self, x: pd.DataFrame, log_views: FloatArray, selected: BoolArray | None) -> None:
        """``age_interval_scale``: the conformal factors of each t_i bucket with AGE_SCALE_ROWS validation rows, at
        its rows' median t_i. One pair for every age held the validation fold's readings of 3-7 days below p10 22 %
        of the time and those of 6 h-1 d above p90 26 % (10 % each is the aim), and the test fold's trending
        videos read at 3-7 days below p10 56 % of the time (docs/evaluation.md item 22)."""
        from miles.model.evaluate import ti_buckets

        t_i = x["early_t_i_h"].to_numpy(dtype=float)
        self.age_interval_scale = self._scale_points(x, log_views, selected, t_i, ti_buckets(t_i), AGE_SCALE_ROWS)

    def fit_size_scales(self, x: pd.DataFrame, log_views: FloatArray) -> None:
        """``ordinary_size_scale``: the conformal factors of each channel-size band with SIZE_SCALE_ROWS of the
        validation fold's ordinary uploads ``x`` of known size (not NaN nor marked SIZE_UNKNOWN: a blank filled in
        with the typical size), at its rows' median size; ``unknown_size_scale`` on the others. One pair for every size
        widened the range by the noisiest ones: on the validation fold it held 87-90 % of channels of 10k-1M
        subscribers and under 70 % of those of unknown size, and a 7,600-subscriber draft's range ran x10 below and
        x14 above its median beside a sentence saying 8 of 10 such videos were within x5.8 (item 23)."""
        size, blank = _channel_size(x)
        y = np.asarray(log_views, dtype=float)
        known, unknown = np.flatnonzero(~blank), np.flatnonzero(blank)
        self.ordinary_size_scale = self._scale_points(
            x.iloc[known], y[known], np.zeros(len(known), dtype=bool), size[known], subscriber_bucket(size[known]),
            SIZE_SCALE_ROWS,
        )  # fmt: skip
        self.unknown_size_scale = None
        if len(unknown) >= SIZE_SCALE_ROWS:
            self.unknown_size_scale = self.conformal_scale(x.iloc[unknown], y[unknown], np.zeros(len(unknown), bool))

    def _scale_points(
        self, x: pd.DataFrame, log_views: FloatArray, selected: BoolArray | None, key: FloatArray,
        buckets: np.ndarray, min_rows: int,
    ) -> list[ScalePoint] | None:  # fmt: skip
        """(median ``key``, low factor, high factor) of each bucket with ``min_rows`` rows (``conformal_scale`` on
        its rows); None unless two buckets have them (one alone is the pooled factor again)."""
        y = np.asarray(log_views, dtype=float)
        points = []
        for bucket in np.unique(buckets):
            rows = np.flatnonzero(buckets == bucket)
            if len(rows) >= min_rows:
                part = None if selected is None else selected[rows]
                points.append((float(np.median(key[rows])), *self.conformal_scale(x.iloc[rows], y[rows], part)))
        return points if len(points) >= 2 else None

    def fit_ordinary_interval(self, x: pd.DataFrame, log_views: FloatArray, sources: pd.Series) -> None:
        """``ordinary_interval_scale`` on the validation fold ``x``'s ordinary uploads, when there are
        ORDINARY_INTERVAL_ROWS of them among rows of other frames (``interval_scale`` stays the one over every row)."""
        self.ordinary_interval_scale = self.ordinary_size_scale = self.unknown_size_scale = None
        selected = selected_frames(sources)
        ordinary = np.flatnonzero(_ordinary(len(x), selected))
        if selected is None or len(ordinary) < ORDINARY_INTERVAL_ROWS:
            return
        own_frame = np.asarray(log_views, dtype=float) - self.frame_shift(x, sources)  # as ``fit_folds`` calibrates
        self.ordinary_interval_scale = self.conformal_scale(
            x.iloc[ordinary], own_frame[ordinary], np.zeros(len(ordinary), dtype=bool)
        )
        self.fit_size_scales(x.iloc[ordinary], own_frame[ordinary])

    def _young_chance(self, chance: FloatArray, quantiles: FloatArray, x: pd.DataFrame, selected: BoolArray | None
                      ) -> FloatArray:  # fmt: skip
        """Where the growth curve serves, the viral chance is read off its range: the share of the forecast's
        distribution (normal in log views on either side of p50, through p10 and p90) above the viral line. The
        calibration maps a forecast's distance from the line to a chance as it is for the validation fold's
        readings, nearly all older than a day, whose forecasts rarely miss by 2x; a reading within hours misses by
        x0.25-x5, so a forecast 3x its channel's usual views at 30 minutes was called 91 % viral."""
        if self.young is None or self.viral_labeler is None or len(self.config.quantiles) != 3 or not len(x):
            return chance
        share = self._young_share(x, selected)
        if not share.any():
            return chance
        lo, mid, hi = quantiles[:, 0], quantiles[:, self._mid], quantiles[:, 2]
        line = self.viral_labeler.expected(x) + self.viral_labeler.threshold
        width = np.where(line >= mid, hi - mid, mid - lo) / Z_P90
        above = ndtr((mid - line) / np.clip(width, 1e-6, None))
        out: FloatArray = (1.0 - share) * chance + share * above
        return out

    def _threads(self, inputs: FloatArray) -> int:
        return 1 if len(inputs) < 20_000 else self.config.num_threads  # OpenMP start-up dominates small calls

    def _raw_sorted(self, inputs: FloatArray, x: pd.DataFrame, shift: FloatArray | None, threads: int) -> FloatArray:
        """Centre plus each quantile booster's offset from it, sorted so quantiles never cross (before scaling)."""
        centre = self.tree_weight * _raw(self.quantile_boosters[0.5], inputs, threads) + self._offset(x)
        if shift is not None:
            centre = centre + shift
        reaged_inputs = self._reaged_inputs(inputs)
        cols = [centre if q == 0.5 else centre + self._spread(self.quantile_boosters[q], inputs, reaged_inputs, threads)
                for q in self.config.quantiles]  # fmt: skip
        return np.sort(np.column_stack(cols), axis=1)

    def _reaged_inputs(self, inputs: FloatArray) -> FloatArray | None:
        """For early views, ``inputs`` stacked once per SPREAD_REAGE step with the same views read at that many times
        their ages (``reaged``; never within MIN_GAP_H of the horizon); None for prepublish inputs."""
        if not {"early_t_i_h", "age_h"} <= set(self.features) or not len(inputs):
            return None
        t_i, horizon = inputs[:, self.features.index("early_t_i_h")], inputs[:, self.features.index("age_h")]
        known = np.isfinite(t_i) & (t_i > 0)
        ceiling = np.where(known, (horizon - MIN_GAP_H) / np.where(known, t_i, 1.0), 1.0)
        factor = np.exp(SPREAD_REAGE)[:, None] * np.ones(len(inputs))[None, :]
        factor = np.where(known, np.minimum(factor, np.maximum(ceiling, 1.0)), 1.0).ravel()
        moved = np.tile(inputs, (len(SPREAD_REAGE), 1))
        for name, values in reaged({n: moved[:, j] for j, n in enumerate(self.features)}, factor).items():
            moved[:, self.features.index(name)] = values
        return moved

    def _spread(self, booster: lgb.Booster, inputs: FloatArray, reaged_inputs: FloatArray | None, threads: int
                ) -> FloatArray:  # fmt: skip
        """A quantile booster's offset from the centre; for early views, its triangle-weighted mean over the same views
        read at ages around their own (``_reaged_inputs``). The quantile trees step in t_i: 300 views read at 21.8 h
        got a 7-day p90 offset of x4.1, at 22.7 h x2.0."""
        if reaged_inputs is None:
            return _raw(booster, inputs, threads)
        spreads = _raw(booster, reaged_inputs, threads).reshape(len(SPREAD_REAGE), len(inputs))
        out: FloatArray = SPREAD_WEIGHTS @ spreads
        return out

    def _viral_score(self, inputs: FloatArray, x: pd.DataFrame, quantiles: FloatArray, threads: int) -> FloatArray:
        if self.viral_labeler is not None:
            out: FloatArray = quantiles[:, self._mid] - self.viral_labeler.expected(x)
            return out
        if self.viral_booster is None:
            raise ModelNotReady("the model has neither a viral labeler nor a viral booster")
        return _raw(self.viral_booster, inputs, threads)

    def fit_viral(
        self,
        x: pd.DataFrame,
        log_views: FloatArray,
        viral: FloatArray | None = None,
        shift: FloatArray | None = None,
        selected: BoolArray | None = None,
    ) -> None:
        """Calibrate P(viral) on ``x`` (the validation fold): isotonic from the raw score to the observed rate."""
        if viral is None:
            if self.viral_labeler is None:
                raise InvalidInput("viral labels are needed to calibrate a model without a labeler")
            viral = self.viral_labeler.label(x, log_views)
        self.calibrator = Calibrator()
        inputs = self.inputs(x)
        quantiles, _ = self.score(inputs, x, shift, selected)
        self.calibrator = Calibrator.fit(self._viral_score(inputs, x, quantiles, 0), viral)

    # --- never worse than the baselines it builds on (DESIGN.md §3.3 rule 10) -------------------------------

    def _around_served_centre(
        self, quantiles: FloatArray, x: pd.DataFrame, selected: BoolArray | None = None
    ) -> FloatArray:
        """``quantiles`` moved as a whole so that their middle is the centre served (the early blend's)."""
        if not self.blend:
            return quantiles
        mid = quantiles[:, self._mid]
        weight, reference = self._blend_parts(x, selected)
        out: FloatArray = quantiles + ((1.0 - weight) * (reference - mid))[:, None]
        return out

    def _young_share(self, x: pd.DataFrame, selected: BoolArray | None) -> FloatArray:
        """How much of each row's forecast the growth curve serves (``young_share``; 0 for selected frames)."""
        out: FloatArray = young_share(x["early_t_i_h"].to_numpy(dtype=float)) * _ordinary(len(x), selected)
        return out

    def _young_spread(self, quantiles: FloatArray, x: pd.DataFrame, selected: BoolArray | None) -> FloatArray:
        """Where the growth curve serves the centre, the interval is its measured spread (``GrowthCurve.spread``) in
        the same share: the quantile trees' spread there is the trending videos' (``growth`` module docstring)."""
        if self.young is None or not len(x):
            return quantiles
        share = self._young_share(x, selected)
        spread = self.young.spread(x) if share.any() else None
        if spread is None or len(self.config.quantiles) != 3:
            return quantiles
        mid = quantiles[:, [self._mid]]
        curve = np.column_stack([spread[0], np.zeros(len(x)), spread[1]])
        out: FloatArray = mid + (1.0 - share[:, None]) * (quantiles - mid) + share[:, None] * curve
        return out

    def _blend_parts(self, x: pd.DataFrame, selected: BoolArray | None = None) -> tuple[FloatArray, FloatArray]:
        """Each row's model weight in the blend and its reference forecast (log1p views) by its t_i bucket; a young
        reading of an ordinary upload (every row not ``selected``) takes the growth curve (``young_share``), and
        past two weeks follows it (``_carried_on``)."""
        from miles.model.evaluate import ti_buckets

        t_i = x["early_t_i_h"].to_numpy(dtype=float)
        buckets = ti_buckets(t_i).astype(str)
        weight, reference = np.ones(len(x)), np.zeros(len(x))
        refs = {kind: ref.predict_log_views(x) for kind, ref in self.references.items()}
        for bucket, (kind, w) in self.blend.items():
            rows = buckets == bucket if bucket != "*" else ~np.isin(buckets, list(self.blend))
            weight[rows], reference[rows] = w, refs[kind][rows]
        if self.young is None:
            return weight, reference
        share = self._young_share(x, selected)
        if share.any():
            # mixed into the reference that serves from YOUNG_UNTIL_H on (6h-1d), so nothing jumps there
            kind, w = self.blend.get("1") or self.blend["*"]  # "*": every bucket the judge did not see
            young = share > 0
            weight[young], reference[young] = w, refs[kind][young]
            reference = (1.0 - share) * reference + share * self._young_forecast(x)
            weight = (1.0 - share) * weight
        return self._carried_on(x, _ordinary(len(x), selected), weight, reference)

    def _young_forecast(self, x: pd.DataFrame) -> FloatArray:
        """The growth curve's forecast of a count read as a count of the channel's views (``GrowthCurve.forecast``;
        the viral yardstick says what is typical for the channel and how far videos stray from it)."""
        assert self.young is not None
        if self.viral_labeler is None:
            return self.young.predict_log_views(x)
        typical = self.viral_labeler.expected(x.assign(age_h=PSEUDO_FROM_H))
        out: FloatArray = self.young.forecast(x, typical, self.viral_labeler.spread)
        return out

    def _carried_on(
        self, x: pd.DataFrame, young: BoolArray, weight: FloatArray, reference: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        """Rows of ``young`` (ordinary) readings under EXTEND_BELOW_T_I_H asked past EXTEND_PAST_H (and served by
        references alone): the forecast at EXTEND_FROM_H plus the growth curve's rise from there, instead of the
        references' extrapolation (which gave 5,740 views at 30 days from 150 at 5.9 h, 778 from 150 at 6.1 h, the
        same as at 7 days); mixed with the references' own forecast near either limit."""
        age = x["age_h"].to_numpy(dtype=float)
        t_i = x["early_t_i_h"].to_numpy(dtype=float)
        share = (young & (weight == 0.0)) * _log_ramp(age, EXTEND_PAST_H, EXTEND_FULL_R_H)
        share = share * (1.0 - _log_ramp(t_i, EXTEND_FULL_T_I_H, EXTEND_BELOW_T_I_H))
        far = share > 0
        if self.young is None or not far.any():
            return weight, reference
        _, at_week = self._blend_parts(x.loc[far].assign(age_h=EXTEND_FROM_H))
        rise = self.young.curve(age[far]) - self.young.curve(np.full(int(far.sum()), EXTEND_FROM_H))
        reference = reference.copy()
        reference[far] = (1.0 - share[far]) * reference[far] + share[far] * (at_week + rise)
        return weight, reference

    def fit_blend(
        self,
        x: pd.DataFrame,
        log_views: FloatArray,
        references: dict[str, Baseline],
        sources: pd.Series | None = None,
        centre: FloatArray | None = None,
        fallback: HeldOutForecasts | None = None,
        young: GrowthCurve | None = None,
    ) -> None:
        """Per t_i bucket, the blend of the model with S-H or Pinto (weights 1, .75, ... 0) chosen on ``x`` (the
        validation fold). ``centre`` (default: this model's) is the model's forecast for ``x`` to judge it by: the
        cross-source one (each row forecast by a centre fitted without its source,
        ``miles.model.train.cross_source_centre``) asks whether the gain carries to a source the model never saw.

        The model gets weight only where it beats the better baseline clearly overall (BLEND_MARGIN) *and* in each of
        at least two sources with BLEND_MIN_ROWS rows: a gain seen in one source only is no evidence that it carries to
        a source the model never saw (the leave-one-source-out table). Elsewhere the bucket takes the better baseline,
        Pinto unless Szabo-Huberman is better in every such source (S-H's constant ratio is one of Pinto's linear
        models, so Pinto is the default). A bucket with under BLEND_MIN_ROWS validation rows is judged on the
        ``fallback`` rows when given (the training fold, each reference forecasting channels it was not fitted on:
        in-sample, Pinto's extra parameters always look better), else it shares the overall choice ("*").

        ``young`` (a fitted ``GrowthCurve``, when it is active) is served to young readings of ordinary uploads,
        whatever the judge chose for their bucket: the rows it would be judged on there are trending videos
        (DESIGN.md §3.3 rule 9: the youngest captures are mostly trending), so the judge measures another population.
        """
        self.references, self.blend = dict(references), {}
        self.young = young if young is not None and young.active else None
        centre = self.predict_quantiles(x)[:, self._mid] if centre is None else np.asarray(centre, dtype=float)
        judge = _BlendJudge(x, log_views, references, sources, centre)
        buckets = judge.buckets
        chosen = {
            str(b): judge.best(buckets == b) for b in np.unique(buckets) if (buckets == b).sum() >= BLEND_MIN_ROWS
        }
        if fallback is not None:
            chosen.update(_thin_buckets(fallback, set(chosen)))
        chosen["*"] = judge.best(np.ones(len(x), dtype=bool))
        self.blend = chosen
        selected = selected_frames(sources)
        self.interval_scale = self.conformal_scale(x, log_views, selected)  # around the centre now served
        self.fit_age_scales(x, log_views, selected)
        if self.viral_labeler is not None:  # the forecast moved: recalibrate the viral chance read from it
            self.fit_viral(x, log_views, selected=selected)

    def contributions_of(self, inputs: FloatArray, x: pd.DataFrame) -> FloatArray:
        """(n, n_features + 1) SHAP-style contributions to the p50 log views; the last column is the bias.

        With an offset model the bias column also holds the offset model's prediction (the trees explain only
        the correction to it), so each row still sums to the p50. Where the early blend serves a reference, the
        trees' parts count by their blend weight (0: no feature is a reason) and the bias holds the reference's share.
        """
        threads = 1 if len(inputs) < 256 else self.config.num_threads  # TreeSHAP is ~1 ms a row: both cores for a batch
        out = np.asarray(
            self.quantile_boosters[0.5].predict(inputs, pred_contrib=True, num_threads=threads), dtype=float
        )
        out *= self.tree_weight
        out[:, -1] += self._offset(x)
        parts = getattr(self.offset_model, "components", None)
        for name, values in (parts(x) if parts is not None else {}).items():
            if name in self.features:  # the level's channel size and usual views are reasons too
                out[:, self.features.index(name)] += values
                out[:, -1] -= values
        if self.blend:  # a reference serves part (or all) of the centre: the trees explain only their share
            weight, reference = self._blend_parts(x)
            served = weight * out.sum(axis=1) + (1.0 - weight) * reference
            out[:, :-1] *= weight[:, None]
            out[:, -1] = served - out[:, :-1].sum(axis=1)
        return out

    def _raw_quantiles(self, x: pd.DataFrame) -> FloatArray:
        """Quantiles before conformal scaling (what ``conformal_scale`` calibrates)."""
        inputs = self.inputs(x)
        return self._raw_sorted(inputs, x, None, self._threads(inputs))

    def predict_quantiles(self, x: pd.DataFrame) -> FloatArray:
        """(n, len(quantiles)) log1p-views quantiles (outer ones conformally scaled), never crossing."""
        return self.score(self.inputs(x), x)[0]

    def predict_viral(self, x: pd.DataFrame) -> FloatArray:
        return self.score(self.inputs(x), x)[1]

    def contributions(self, x: pd.DataFrame) -> FloatArray:
        return self.contributions_of(self.inputs(x), x)

    def importance(self) -> dict[str, float]:
        gains = self.quantile_boosters[0.5].feature_importance(importance_type="gain")
        total = float(gains.sum()) or 1.0
        return {f: float(g) / total for f, g in zip(self.features, gains, strict=True)}

    # --- persistence -------------------------------------------------------------------------------

    def save(self, directory: Path) -> list[str]:
        directory.mkdir(parents=True, exist_ok=True)
        files = []
        for q, booster in self.quantile_boosters.items():
            name = f"gbdt_q{round(q * 100):02d}.txt"
            booster.save_model(str(directory / name), num_iteration=booster.best_iteration or None)
            files.append(name)
        if self.viral_booster is not None:
            self.viral_booster.save_model(
                str(directory / "gbdt_viral.txt"), num_iteration=self.viral_booster.best_iteration or None
            )
            files.append("gbdt_viral.txt")
        meta = {
            "features": self.features,
            "task": self.task,
            "config": asdict(self.config),
            "calibrator": asdict(self.calibrator),
            "interval_scale": list(self.interval_scale),
            "ordinary_interval_scale": list(self.ordinary_interval_scale) if self.ordinary_interval_scale else None,
            "age_interval_scale": [list(p) for p in self.age_interval_scale] if self.age_interval_scale else None,
            "ordinary_size_scale": [list(p) for p in self.ordinary_size_scale] if self.ordinary_size_scale else None,
            "unknown_size_scale": list(self.unknown_size_scale) if self.unknown_size_scale else None,
            "offset_model": self.offset_model.kind if self.offset_model is not None else None,
            "references": sorted(self.references),
            "blend": {b: list(v) for b, v in self.blend.items()},
            "young_reference": self.young.kind if self.young is not None else None,
            "viral_labeler": self.viral_labeler.to_json() if self.viral_labeler is not None else None,
            "blank_values": self.blank_values,
            "tree_weight": self.tree_weight,
        }
        (directory / "gbdt.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
        if self.projector is not None:
            self.projector.save(directory / "title_pca.npz")
        if self.thumb_projector is not None:
            self.thumb_projector.save(directory / "thumbnail_pca.npz")
        if self.offset_model is not None:
            self.offset_model.save(directory / "offset")
        for kind, ref in self.references.items():
            ref.save(directory / f"reference_{kind}")
        if self.young is not None:
            self.young.save(directory / "young_reference")
        return [*files, "gbdt.json"]

    @classmethod
    def load(cls, directory: Path) -> GBDTModel:
        try:
            meta = json.loads((directory / "gbdt.json").read_text(encoding="utf-8"))
            raw_cfg = meta["config"]
            cfg = GBDTConfig(
                **{
                    **raw_cfg,
                    "quantiles": tuple(raw_cfg["quantiles"]),
                    "monotone_up": tuple(raw_cfg["monotone_up"]),
                    "interval_blind": tuple(raw_cfg.get("interval_blind", ())),  # absent: trained seeing every input
                }
            )
            boosters = {
                q: lgb.Booster(model_file=str(directory / f"gbdt_q{round(q * 100):02d}.txt")) for q in cfg.quantiles
            }
            viral_file = directory / "gbdt_viral.txt"
            viral = lgb.Booster(model_file=str(viral_file)) if viral_file.is_file() else None
            pca = directory / "title_pca.npz"
            projector = TitleProjector.load(pca) if pca.is_file() else None
            thumb_pca = directory / "thumbnail_pca.npz"
            thumb_projector = TitleProjector.load(thumb_pca) if thumb_pca.is_file() else None
            offset = _load_offset(directory / "offset", meta.get("offset_model"))
            scale = tuple(float(v) for v in meta.get("interval_scale", (1.0, 1.0)))
            references = {k: _load_offset(directory / f"reference_{k}", k) for k in meta.get("references", [])}
            young = _load_offset(directory / "young_reference", meta.get("young_reference"))
        except (OSError, KeyError, ValueError, TypeError, InvalidInput, lgb.basic.LightGBMError) as exc:
            raise ModelNotReady(f"{directory}: the LightGBM model files are missing or unreadable ({exc})") from exc
        model = cls(
            list(meta["features"]),
            boosters,
            viral,
            Calibrator(**meta["calibrator"]),
            cfg,
            task=meta.get("task", "prepublish"),
            projector=projector,
            offset_model=offset,
            interval_scale=(scale[0], scale[1]),
        )
        model.thumb_projector = thumb_projector
        model.references = {k: v for k, v in references.items() if v is not None}
        model.blend = {b: (str(v[0]), float(v[1])) for b, v in meta.get("blend", {}).items()}
        model.young = young if isinstance(young, GrowthCurve) else None
        model.blank_values = {str(k): float(v) for k, v in (meta.get("blank_values") or {}).items()}
        model.tree_weight = float(meta.get("tree_weight", 1.0))
        if ordinary_scale := meta.get("ordinary_interval_scale"):  # absent: one scale for every row
            model.ordinary_interval_scale = (float(ordinary_scale[0]), float(ordinary_scale[1]))
        if age_scale := meta.get("age_interval_scale"):  # absent: one scale at every age
            model.age_interval_scale = [(float(h), float(lo), float(hi)) for h, lo, hi in age_scale]
        if size_scale := meta.get("ordinary_size_scale"):  # absent: one scale for ordinary uploads of every size
            model.ordinary_size_scale = [(float(at), float(lo), float(hi)) for at, lo, hi in size_scale]
        if unknown_scale := meta.get("unknown_size_scale"):
            model.unknown_size_scale = (float(unknown_scale[0]), float(unknown_scale[1]))
        if meta.get("viral_labeler"):
            model.viral_labeler = ViralLabeler.from_json(meta["viral_labeler"])
        return model

    # --- evaluation hook (artifact protocol) -------------------------------------------------------

    def prepare_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Attach the ``title_pc_*`` and ``thumb_pc_*`` columns this model was trained with (``miles evaluate`` and
        ``miles model compare`` call this).

        Titles: the packaged text encoder from the user cache dir (built offline on first use) and the model's own
        title PCA. Thumbnails: the model's own thumbnail PCA applied to the frame's ``thumb_embedding`` column (NaN
        without one). The raw ``thumb_embedding`` column is always dropped; a model without embeddings returns the
        rest of the frame unchanged.
        """
        if self.thumb_projector is not None:
            frame = attach_thumbnail_components(frame, self.thumb_projector)
        frame = frame.drop(columns=[THUMB_EMBEDDING], errors="ignore")
        if self.projector is None:
            return frame
        from miles.model.embed_features import title_columns

        encoder = self.text_encoder
        if encoder is None:
            from miles.config import get_settings
            from miles.model.encoders import TextEncoder

            encoder = self.text_encoder = TextEncoder.load(
                get_settings().cache_dir / "encoders", cache=self.embedding_cache
            )
        if encoder.encoder_id != self.projector.encoder_id:
            raise ModelNotReady(
                f"the model's title PCA was fitted on {self.projector.encoder_id!r} embeddings, but the text "
                f"encoder here is {encoder.encoder_id!r}; retrain the model or install the matching encoder"
            )
        comps, _ = title_columns(frame["title"], encoder, self.projector)
        return frame.drop(columns=[c for c in comps.columns if c in frame.columns]).join(comps)


class _BlendJudge:
    """Scores every blend option of ``fit_blend`` on a set of rows (mRSE of views, per source)."""

    def __init__(
        self,
        x: pd.DataFrame,
        log_views: FloatArray,
        references: dict[str, Baseline],
        sources: pd.Series | None,
        centre: FloatArray,
    ) -> None:
        from miles.model.evaluate import ti_buckets

        self.centre = centre
        self.refs = {kind: ref.predict_log_views(x) for kind, ref in references.items()}
        self.views = np.expm1(np.asarray(log_views, dtype=float))
        self.buckets = ti_buckets(x["early_t_i_h"].to_numpy(dtype=float)).astype(str)
        self.groups = np.asarray(sources if sources is not None else np.zeros(len(x)), dtype=str)
        self.options = [(kind, w) for kind in self.refs for w in BLEND_WEIGHTS]
        self.pure = [k for k, (_, w) in enumerate(self.options) if w == 0.0]

    def errors(self, rows: np.ndarray) -> np.ndarray:
        from miles.model.metrics import mrse

        return np.array([mrse(self.views[rows], np.expm1(w * self.centre[rows] + (1 - w) * self.refs[kind][rows]))
                         for kind, w in self.options])  # fmt: skip

    def best(self, rows: np.ndarray) -> tuple[str, float]:
        overall = self.errors(rows)
        per_source = [self.errors(sub) for g in np.unique(self.groups[rows])
                      if (sub := rows & (self.groups == g)).sum() >= BLEND_MIN_ROWS]  # fmt: skip
        fallback = self._baseline(overall, per_source)
        ok = overall <= (1.0 - BLEND_MARGIN) * overall[fallback]
        for per in per_source:
            ok &= per <= per[self.pure].min()
        ok[self.pure] = False
        candidates = np.flatnonzero(ok) if len(per_source) >= 2 else np.array([], dtype=int)
        return (
            self.options[int(candidates[np.argmin(overall[candidates])])] if len(candidates) else self.options[fallback]
        )

    def _baseline(self, overall: np.ndarray, per_source: list[np.ndarray]) -> int:
        """Pinto, unless another reference is better in every source with enough rows (overall when none has)."""
        default = next((k for k in self.pure if self.options[k][0] == "pinto"), self.pure[0])
        judged = per_source or [overall]
        for k in self.pure:
            if k != default and all(per[k] < per[default] for per in judged):
                return k
        return default


@dataclass
class HeldOutForecasts:
    """Each reference's forecast for rows it was not fitted on (``fit_blend``'s judge of thin t_i buckets)."""

    t_i_hours: FloatArray
    log_views: FloatArray
    forecasts: dict[str, FloatArray]  # reference kind -> log1p views


def _thin_buckets(rows: HeldOutForecasts, done: set[str]) -> dict[str, tuple[str, float]]:
    """The better pure baseline, out of sample, of each t_i bucket the validation fold left too thin to judge."""
    from miles.model.evaluate import ti_buckets
    from miles.model.metrics import mrse

    buckets = ti_buckets(np.asarray(rows.t_i_hours, dtype=float)).astype(str)
    views = np.expm1(np.asarray(rows.log_views, dtype=float))
    out: dict[str, tuple[str, float]] = {}
    for bucket in sorted(set(buckets.tolist()) - done):
        sel = buckets == bucket
        if sel.sum() >= BLEND_MIN_ROWS:
            errors = {kind: mrse(views[sel], np.expm1(f[sel])) for kind, f in rows.forecasts.items()}
            out[str(bucket)] = (min(errors, key=lambda k: errors[k]), 0.0)
    return out


def relative_objective(preds: FloatArray, data: lgb.Dataset) -> tuple[FloatArray, FloatArray]:
    """Gradient and Gauss-Newton hessian of (exp(f - y) - 1)^2, f and y in log1p views (sample-weighted)."""
    e = np.exp(np.clip(preds - np.asarray(data.get_label(), dtype=float), -20.0, 20.0))
    weight = data.get_weight()
    w = np.ones_like(e) if weight is None else np.asarray(weight, dtype=float)
    return 2.0 * (e - 1.0) * e * w, 2.0 * e * e * w + 1e-9


def relative_error(preds: FloatArray, data: lgb.Dataset) -> tuple[str, float, bool]:
    """Early-stopping metric of the relative objective: mean (v_hat / v - 1)^2 (lower is better)."""
    e = np.exp(np.clip(preds - np.asarray(data.get_label(), dtype=float), -20.0, 20.0))
    return "relative_squared_error", float(np.mean((e - 1.0) ** 2)), False


def _zero(values: FloatArray | None) -> FloatArray | float:
    return 0.0 if values is None else values


def centre_correction(
    cfg: GBDTConfig, features: list[str], train: FitData, valid: FitData, x: pd.DataFrame
) -> FloatArray:
    """The trees' correction to the offset for ``x`` from a centre fitted on ``train`` (early stopping on ``valid``)
    the way ``GBDTModel.fit_folds`` fits it: cross-source validation of the trees' weight."""
    objective = "relative" if cfg.centre_objective == "relative" else "regression"
    init = None if train.offset is None or valid.offset is None else (train.offset, valid.offset)
    booster = _train(cfg, features, train, valid, train.log_views, valid.log_views, objective, init=init)
    return _raw(booster, x[features])


def _log_ramp(hours: FloatArray, start: float, end: float) -> FloatArray:
    """0 up to ``start`` hours, rising linearly in log hours to 1 at ``end`` (0 for NaN)."""
    h = np.clip(np.nan_to_num(np.asarray(hours, dtype=float), nan=start), 1e-6, None)
    out: FloatArray = np.clip(np.log(h / start) / np.log(end / start), 0.0, 1.0)
    return out


def young_share(t_i_h: FloatArray) -> FloatArray:
    """How much of a reading's forecast is the growth curve: 1 under YOUNG_FULL_H, falling in log t_i to 0 at
    YOUNG_UNTIL_H, where the 6h-1d bucket's reference takes over (the curve is mixed into that one: no jump)."""
    t = np.asarray(t_i_h, dtype=float)
    out: FloatArray = np.where(np.isfinite(t), 1.0 - _log_ramp(t, YOUNG_FULL_H, YOUNG_UNTIL_H), 0.0)
    return out


def size_marked(filled: pd.DataFrame, raw: pd.DataFrame) -> pd.DataFrame:
    """``filled`` (a blank channel size read as the typical one) with the rows whose size was blank in ``raw`` marked
    SIZE_UNKNOWN: their range is calibrated and served apart from the typical size filled in (training's validation
    fold and a served draft alike)."""
    unknown = raw["log_subscribers"].isna().to_numpy() if "log_subscribers" in raw else False
    return filled.assign(**{SIZE_UNKNOWN: unknown})


def _channel_size(x: pd.DataFrame) -> tuple[FloatArray, BoolArray]:
    """Each row's log1p subscribers and whether its size is unknown (blank, or filled in and marked SIZE_UNKNOWN)."""
    size = x["log_subscribers"].to_numpy(dtype=float) if "log_subscribers" in x else np.full(len(x), np.nan)
    marked = x[SIZE_UNKNOWN].to_numpy(dtype=bool) if SIZE_UNKNOWN in x else np.zeros(len(x), dtype=bool)
    return size, ~np.isfinite(size) | marked


def _read_between(
    points: list[ScalePoint], at: FloatArray, axis: Callable[[FloatArray], FloatArray] = lambda v: v
) -> tuple[FloatArray, FloatArray]:
    """The low and high factors of ``points`` read at ``at`` (on ``axis``), linearly between the points' keys and
    as the nearest point's beyond them, so a range does not step at a bucket's edge."""
    keys, low, high = _scale_columns(points)
    return np.interp(at, axis(keys), low), np.interp(at, axis(keys), high)


def _scale_columns(points: list[ScalePoint]) -> tuple[FloatArray, FloatArray, FloatArray]:
    """The keys, low factors and high factors of scale points, as arrays."""
    keys, low, high = (np.array(part, dtype=float) for part in zip(*points, strict=True))
    return keys, low, high


def _ordinary(rows: int, selected: BoolArray | None) -> BoolArray:
    """Rows of ordinary uploads: every row not ``selected`` (all of them without a selection, as for drafts)."""
    out: BoolArray = np.ones(rows, dtype=bool) if selected is None else ~np.asarray(selected, dtype=bool)
    return out


def selected_frames(sources: pd.Series | None) -> BoolArray | None:
    """Rows of a success-selected sampling frame (trending, search); None (every row ordinary) without sources."""
    if sources is None:
        return None
    out: BoolArray = (selection_of(pd.Series(np.asarray(sources), dtype=object)) != PREDICT_SELECTION).to_numpy()
    return out


def _load_offset(directory: Path, kind: str | None) -> Baseline | None:
    if kind is None:
        return None
    from miles.model.artifact import model_class

    model: Baseline = model_class(kind).load(directory)
    return model


def _raw(booster: lgb.Booster, x: pd.DataFrame | FloatArray, threads: int = 0) -> FloatArray:
    params: dict[str, Any] = {"num_threads": threads} if threads else {}
    return np.asarray(booster.predict(x, num_iteration=booster.best_iteration or None, **params), dtype=float)


def _blinded(part: FitData, columns: tuple[str, ...]) -> FitData:
    """``part`` with ``columns`` blank (NaN): a booster trained on it never splits on them, so at prediction their
    values change nothing."""
    blind = [c for c in columns if c in part.x.columns]
    return replace(part, x=part.x.assign(**dict.fromkeys(blind, np.nan))) if blind else part


def _train(
    cfg: GBDTConfig,
    features: list[str],
    train: FitData,
    valid: FitData,
    y_train: FloatArray,
    y_valid: FloatArray,
    objective: str,
    init: tuple[FloatArray, FloatArray] | None = None,
    **extra: Any,
) -> lgb.Booster:
    init_train, init_valid = init if init is not None else (None, None)
    x_train, x_valid = train.x[features], valid.x[features]
    dtrain = lgb.Dataset(x_train, label=y_train, weight=train.weight, init_score=init_train, free_raw_data=False)
    dvalid = lgb.Dataset(
        x_valid, label=y_valid, weight=valid.weight, init_score=init_valid, reference=dtrain, free_raw_data=False
    )
    return lgb.train(
        cfg.params(features, objective, **extra),
        dtrain,
        num_boost_round=cfg.max_rounds,
        valid_sets=[dvalid],
        valid_names=["valid"],
        feval=relative_error if objective == "relative" else None,
        callbacks=[lgb.early_stopping(cfg.early_stopping_rounds, verbose=False)],
    )
