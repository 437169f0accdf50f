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
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from miles.errors import InvalidInput, ModelNotReady
from miles.features.labels import ViralLabeler
from miles.features.schema import Task
from miles.features.splits import group_position
from miles.model.artifact import Predictions, register_model_kind
from miles.model.baselines import Baseline
from miles.model.embed_features import TextEmbedder, TitleProjector

FloatArray = NDArray[np.float64]
QUANTILES: tuple[float, ...] = (0.1, 0.5, 0.9)
MONOTONE_UP: tuple[str, ...] = ("age_h", "log_age_h", "log_subscribers", "early_log_views", "early_views")


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
    """Isotonic map from raw classifier scores to probabilities (piecewise linear between knots)."""

    x: list[float] = field(default_factory=list)
    y: list[float] = field(default_factory=list)

    @classmethod
    def fit(cls, scores: FloatArray, labels: FloatArray) -> Calibrator:
        from sklearn.isotonic import IsotonicRegression

        if len(np.unique(labels)) < 2:
            raise InvalidInput("cannot calibrate the viral classifier: the validation fold has a single class")
        iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(scores, labels)
        return cls(x=[float(v) for v in iso.X_thresholds_], y=[float(v) for v in iso.y_thresholds_])

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
        viral_booster: lgb.Booster,
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
        self.offset_model = offset_model
        self.interval_scale = interval_scale
        self.text_encoder: TextEmbedder | None = None  # loaded on first use by prepare_frame
        self.features = features
        self.quantile_boosters = quantile_boosters
        self.viral_booster = viral_booster
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
    ) -> GBDTModel:
        """Fit on ``train``; early stopping, probability calibration and interval scaling on ``valid`` only.

        With ``offset_model`` (already fitted on the training fold) the centre learns the residual of its
        log-views prediction; ``FitData.offset`` is filled from it when absent.
        """
        cfg = config or GBDTConfig()
        features = list(train.x.columns)
        if list(valid.x.columns) != features:
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
        init = (_raw(centre, train.x) + _zero(train.offset), _raw(centre, valid.x) + _zero(valid.offset))
        for q in cfg.quantiles:
            if q != 0.5:
                boosters[q] = _train(cfg, features, train, valid, train.log_views, valid.log_views, "quantile",
                                     init=init, alpha=q)  # fmt: skip
        viral = _train(cfg, features, train, valid, train.viral, valid.viral, "binary")
        calibrator = Calibrator.fit(_raw(viral, valid.x), valid.viral)
        model = cls(features, boosters, viral, calibrator, cfg, task=task, offset_model=offset_model)
        model.interval_scale = model.conformal_scale(valid.x, valid.log_views)
        return model

    def conformal_scale(self, x: pd.DataFrame, log_views: FloatArray) -> tuple[float, float]:
        """Factors (low side, high side) that make the outer quantiles cover their nominal share on ``x``.

        Each side is calibrated on its own (split-conformal on the scaled residual beyond the centre), so an
        interval that is too narrow below but fine above is widened only below.
        """
        raw = self._raw_quantiles(x)
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
        return fitted

    def predict(self, x: pd.DataFrame) -> Predictions:
        return Predictions(log_views=self.predict_quantiles(x)[:, len(self.config.quantiles) // 2],
                           p_viral=self.predict_viral(x))  # fmt: skip

    # --- prediction --------------------------------------------------------------------------------

    def _check(self, x: pd.DataFrame) -> pd.DataFrame:
        missing = [f for f in self.features if f not in x.columns]
        if missing:
            raise InvalidInput(f"feature frame lacks model feature(s): {', '.join(missing)}")
        return x[self.features]

    @property
    def _mid(self) -> int:
        return len(self.config.quantiles) // 2

    def _offset(self, x: pd.DataFrame) -> FloatArray:
        return np.zeros(len(x)) if self.offset_model is None else self.offset_model.predict_log_views(x)

    def _raw_quantiles(self, x: pd.DataFrame) -> FloatArray:
        x = self._check(x)
        centre = _raw(self.quantile_boosters[0.5], x) + self._offset(x)
        cols = [centre if q == 0.5 else centre + _raw(self.quantile_boosters[q], x) for q in self.config.quantiles]
        return np.sort(np.column_stack(cols), axis=1)

    def predict_quantiles(self, x: pd.DataFrame) -> FloatArray:
        """(n, len(quantiles)) log1p-views quantiles (outer ones conformally scaled), never crossing."""
        raw = self._raw_quantiles(x)
        centre = raw[:, [self._mid]]
        lo, hi = self.interval_scale
        scale = np.array([lo if q < 0.5 else hi if q > 0.5 else 0.0 for q in self.config.quantiles])
        out: FloatArray = centre + (raw - centre) * scale[None, :] + np.where(scale == 0.0, raw - centre, 0.0)
        return out

    def predict_viral(self, x: pd.DataFrame) -> FloatArray:
        raw = np.asarray(self.viral_booster.predict(self._check(x)), dtype=float)
        return np.clip(self.calibrator(raw), 0.0, 1.0)

    def contributions(self, x: pd.DataFrame) -> FloatArray:
        """(n, n_features + 1) SHAP-style contributions to the p50 log views; the last column is the bias.

        With an offset model the bias column also holds the offset model's prediction (the trees explain only
        the correction to it), so each row still sums to the p50.
        """
        out = np.asarray(self.quantile_boosters[0.5].predict(self._check(x), pred_contrib=True), dtype=float)
        out[:, -1] += self._offset(x)
        return out

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
        self.viral_booster.save_model(
            str(directory / "gbdt_viral.txt"), num_iteration=self.viral_booster.best_iteration or None
        )
        meta = {
            "features": self.features,
            "task": self.task,
            "config": asdict(self.config),
            "calibrator": asdict(self.calibrator),
            "interval_scale": list(self.interval_scale),
            "offset_model": self.offset_model.kind if self.offset_model is not None else None,
        }
        (directory / "gbdt.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
        if self.projector is not None:
            self.projector.save(directory / "title_pca.npz")
        if self.offset_model is not None:
            self.offset_model.save(directory / "offset")
        return [*files, "gbdt_viral.txt", "gbdt.json"]

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
                }
            )
            boosters = {
                q: lgb.Booster(model_file=str(directory / f"gbdt_q{round(q * 100):02d}.txt")) for q in cfg.quantiles
            }
            viral = lgb.Booster(model_file=str(directory / "gbdt_viral.txt"))
            pca = directory / "title_pca.npz"
            projector = TitleProjector.load(pca) if pca.is_file() else None
            offset = _load_offset(directory / "offset", meta.get("offset_model"))
            scale = tuple(float(v) for v in meta.get("interval_scale", (1.0, 1.0)))
        except (OSError, KeyError, ValueError, TypeError, InvalidInput, lgb.basic.LightGBMError) as exc:
            raise ModelNotReady(f"{directory}: the LightGBM model files are missing or unreadable ({exc})") from exc
        return cls(
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

    # --- evaluation hook (artifact protocol) -------------------------------------------------------

    def prepare_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Attach the ``title_pc_*`` columns this model was trained with (``miles evaluate`` calls this).

        Uses the packaged text encoder from the user cache dir (built offline on first use) and the model's own
        title PCA; a model without title embeddings returns the frame unchanged.
        """
        if self.projector is None:
            return frame
        from miles.model.embed_features import title_columns

        encoder = self.text_encoder
        if encoder is None:
            from miles.config import get_settings
            from miles.model.encoders import TextEncoder

            encoder = self.text_encoder = TextEncoder.load(get_settings().cache_dir / "encoders")
        if encoder.encoder_id != self.projector.encoder_id:
            raise ModelNotReady(
                f"the model's title PCA was fitted on {self.projector.encoder_id!r} embeddings, but the text "
                f"encoder here is {encoder.encoder_id!r}; retrain the model or install the matching encoder"
            )
        comps, _ = title_columns(frame["title"], encoder, self.projector)
        return frame.drop(columns=[c for c in comps.columns if c in frame.columns]).join(comps)


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


def _load_offset(directory: Path, kind: str | None) -> Baseline | None:
    if kind is None:
        return None
    from miles.model.artifact import model_class

    model: Baseline = model_class(kind).load(directory)
    return model


def _raw(booster: lgb.Booster, x: pd.DataFrame) -> FloatArray:
    return np.asarray(booster.predict(x, num_iteration=booster.best_iteration or None), dtype=float)


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
    dtrain = lgb.Dataset(train.x, label=y_train, weight=train.weight, init_score=init_train, free_raw_data=False)
    dvalid = lgb.Dataset(
        valid.x, label=y_valid, weight=valid.weight, init_score=init_valid, reference=dtrain, free_raw_data=False
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
