"""LightGBM learner: quantile regressors of log views (p10/p50/p90) and a calibrated viral classifier.

Early stopping uses the validation fold only (DESIGN.md §3.3 rule 4); the classifier's probabilities are
calibrated by isotonic regression fitted on that same validation fold. Views never fall with age, so the
age inputs get a monotone (non-decreasing) constraint, as does channel size: the model extrapolates
along a monotone age curve instead of a step function learned from trending videos.
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
from miles.model.embed_features import TitleProjector

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
    num_threads: int = 2
    seed: int = 7

    def params(self, features: list[str], objective: str, **extra: Any) -> dict[str, Any]:
        # Views never fall with age or channel size: only the log-views centre gets monotone constraints
        # (LightGBM refuses them for quantile objectives; the viral residual is not monotone in either).
        monotone = (
            {"monotone_constraints": [1 if f in self.monotone_up else 0 for f in features],
             "monotone_constraints_method": "advanced"}
            if objective == "regression" else {}
        )  # fmt: skip
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

    X: pd.DataFrame
    log_views: FloatArray
    viral: FloatArray
    weight: FloatArray | None = None


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
    ) -> None:
        self.task: Task = task
        self.projector = projector
        self.features = features
        self.quantile_boosters = quantile_boosters
        self.viral_booster = viral_booster
        self.calibrator = calibrator
        self.config = config

    # --- training ----------------------------------------------------------------------------------

    @classmethod
    def fit_folds(
        cls, train: FitData, valid: FitData, config: GBDTConfig | None = None, *, task: Task = "prepublish"
    ) -> GBDTModel:
        """Fit on ``train``; early stopping and probability calibration on ``valid`` only."""
        cfg = config or GBDTConfig()
        features = list(train.X.columns)
        if list(valid.X.columns) != features:
            raise InvalidInput("training and validation folds have different feature columns")
        # The centre is an L2 regression of log views (monotone in age and channel size); LightGBM refuses
        # monotone constraints for quantile objectives, so p10/p90 are quantile boosters of the offset from it.
        centre = _train(cfg, features, train, valid, train.log_views, valid.log_views, "regression")
        boosters = {0.5: centre}
        init = (_raw(centre, train.X), _raw(centre, valid.X))
        for q in cfg.quantiles:
            if q != 0.5:
                boosters[q] = _train(cfg, features, train, valid, train.log_views, valid.log_views, "quantile",
                                     init=init, alpha=q)  # fmt: skip
        viral = _train(cfg, features, train, valid, train.viral, valid.viral, "binary")
        calibrator = Calibrator.fit(viral.predict(valid.X, num_iteration=viral.best_iteration), valid.viral)
        return cls(features, boosters, viral, calibrator, cfg, task=task)

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

    def _check(self, X: pd.DataFrame) -> pd.DataFrame:
        missing = [f for f in self.features if f not in X.columns]
        if missing:
            raise InvalidInput(f"feature frame lacks model feature(s): {', '.join(missing)}")
        return X[self.features]

    def predict_quantiles(self, X: pd.DataFrame) -> FloatArray:
        """(n, len(quantiles)) log1p-views quantiles, sorted per row so intervals never cross."""
        X = self._check(X)
        centre = _raw(self.quantile_boosters[0.5], X)
        cols = [centre if q == 0.5 else centre + _raw(self.quantile_boosters[q], X) for q in self.config.quantiles]
        return np.sort(np.column_stack(cols), axis=1)

    def predict_viral(self, X: pd.DataFrame) -> FloatArray:
        raw = np.asarray(self.viral_booster.predict(self._check(X)), dtype=float)
        return np.clip(self.calibrator(raw), 0.0, 1.0)

    def contributions(self, X: pd.DataFrame) -> FloatArray:
        """(n, n_features + 1) SHAP-style contributions to the p50 log views; the last column is the bias."""
        return np.asarray(self.quantile_boosters[0.5].predict(self._check(X), pred_contrib=True), dtype=float)

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
        }
        (directory / "gbdt.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
        if self.projector is not None:
            self.projector.save(directory / "title_pca.npz")
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
        except (OSError, KeyError, ValueError, TypeError, lgb.basic.LightGBMError) as exc:
            raise ModelNotReady(f"{directory}: the LightGBM model files are missing or unreadable ({exc})") from exc
        return cls(
            list(meta["features"]),
            boosters,
            viral,
            Calibrator(**meta["calibrator"]),
            cfg,
            task=meta.get("task", "prepublish"),
            projector=projector,
        )


def _raw(booster: lgb.Booster, X: pd.DataFrame) -> FloatArray:
    return np.asarray(booster.predict(X, num_iteration=booster.best_iteration or None), dtype=float)


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
    dtrain = lgb.Dataset(train.X, label=y_train, weight=train.weight, init_score=init_train, free_raw_data=False)
    dvalid = lgb.Dataset(
        valid.X, label=y_valid, weight=valid.weight, init_score=init_valid, reference=dtrain, free_raw_data=False
    )
    return lgb.train(
        cfg.params(features, objective, **extra),
        dtrain,
        num_boost_round=cfg.max_rounds,
        valid_sets=[dvalid],
        valid_names=["valid"],
        callbacks=[lgb.early_stopping(cfg.early_stopping_rounds, verbose=False)],
    )
