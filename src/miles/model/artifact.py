"""The Model interface and the artifact directory every model is saved in (DESIGN.md §3.4).

Layout of an artifact directory::

    manifest.json     kind, task, feature_version, features, created_at, miles_version,
                      training {rows, videos, groups, sources, fingerprint}, split (SplitSpec JSON),
                      baselines [kinds], extra {...}
    labels.json       the ViralLabeler fitted on the training fold
    model/            the model's own files, written by ``model.save(DIR / "model")``
    baselines/<kind>/ every baseline for the task, fitted on the same training rows
    metrics.json      optional: the last ``miles evaluate`` report

``load_artifact`` refuses an artifact whose FEATURE_VERSION differs from the running code's.
A model kind is registered with :func:`register_model_kind`; the manifest's ``kind`` (and ``module``, the
class's module, imported on load) picks the class. A model may also define ``prepare_frame(frame) -> frame``
(e.g. to add embedding columns) and list its feature groups in ``extra["groups"]``; ``miles evaluate``
uses both when it builds the evaluation rows.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from miles import __version__
from miles.errors import InvalidInput, ModelNotReady
from miles.features.labels import ViralLabeler
from miles.features.schema import FEATURE_VERSION, Task
from miles.features.splits import SplitSpec

MANIFEST = "manifest.json"
LABELS = "labels.json"


@dataclass
class Predictions:
    """``log_views``: predicted log1p(views) at each row's age; ``p_viral``: P(viral) or None."""

    log_views: np.ndarray
    p_viral: np.ndarray | None = None


@runtime_checkable
class Model(Protocol):
    """What every model (baseline, ordinary-upload level, LightGBM) implements.

    ``fit`` gets the training rows' features and labels (columns ``log_views`` and ``viral``) and the labeler
    fitted on the same rows; ``predict`` returns log views (and P(viral) if the model has one).
    """

    kind: ClassVar[str]
    task: Task

    def fit(self, x: pd.DataFrame, y: pd.DataFrame, *, labeler: ViralLabeler) -> Model: ...

    def predict(self, x: pd.DataFrame) -> Predictions: ...

    def save(self, directory: Path) -> None: ...

    @classmethod
    def load(cls, directory: Path) -> Model: ...


MODEL_KINDS: dict[str, type[Any]] = {}
KIND_MODULES = ("miles.model.baselines", "miles.model.level", "miles.model.growth", "miles.model.gbdt")


def register_model_kind(cls: type[Any]) -> type[Any]:
    """Class decorator: make ``cls.kind`` loadable from a manifest."""
    MODEL_KINDS[cls.kind] = cls
    return cls


def model_class(kind: str, module: str | None = None) -> type[Any]:
    """The class registered for ``kind``, importing ``module`` (from the manifest) or the known model modules."""
    for name in ([module] if module else []) + list(KIND_MODULES):
        if kind in MODEL_KINDS:
            break
        if name.startswith("miles.model."):
            try:
                importlib.import_module(name)
            except ModuleNotFoundError:
                continue
    if kind not in MODEL_KINDS:
        raise InvalidInput(f"unknown model kind {kind!r}; known: {', '.join(sorted(MODEL_KINDS))}")
    return MODEL_KINDS[kind]


@dataclass
class Artifact:
    directory: Path
    manifest: dict[str, Any]
    model: Any
    labeler: ViralLabeler
    split: SplitSpec | None
    baselines: dict[str, Any] = field(default_factory=dict)

    @property
    def task(self) -> Task:
        task: Task = self.manifest["task"]
        return task

    @property
    def features(self) -> list[str]:
        return list(self.manifest["features"])


def save_artifact(
    directory: Path,
    *,
    model: Any,
    labeler: ViralLabeler,
    features: list[str],
    split: SplitSpec | None = None,
    baselines: dict[str, Any] | None = None,
    training: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write a complete artifact; the manifest is written last so a half-written directory never loads."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / MANIFEST).unlink(missing_ok=True)
    model.save(directory / "model")
    labeler.save(directory / LABELS)
    for kind, baseline in (baselines or {}).items():
        baseline.save(directory / "baselines" / kind)
    manifest = {
        "kind": model.kind,
        "module": type(model).__module__,
        "task": model.task,
        "feature_version": FEATURE_VERSION,
        "features": features,
        "created_at": datetime.now(UTC).isoformat(),
        "miles_version": __version__,
        "training": training or {},
        "split": split.to_json() if split is not None else None,
        "baselines": sorted(baselines or {}),
        "extra": extra or {},
    }
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2, default=str), encoding="utf-8")
    return directory


def read_manifest(directory: Path) -> dict[str, Any]:
    path = directory / MANIFEST
    if not path.is_file():
        raise ModelNotReady(f"{directory}: not a model artifact (no {MANIFEST})")
    try:
        manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ModelNotReady(f"{path}: unreadable manifest ({exc})") from exc
    missing = [k for k in ("kind", "task", "feature_version", "features") if k not in manifest]
    if missing:
        raise ModelNotReady(f"{path}: manifest lacks {', '.join(missing)}")
    if manifest["feature_version"] != FEATURE_VERSION:
        raise ModelNotReady(
            f"{directory}: built with feature version {manifest['feature_version']!r}, but this Miles computes "
            f"version {FEATURE_VERSION!r}; retrain the model"
        )
    return manifest


def load_artifact(directory: Path) -> Artifact:
    manifest = read_manifest(directory)
    model = model_class(manifest["kind"], manifest.get("module")).load(directory / "model")
    baselines = {k: model_class(k).load(directory / "baselines" / k) for k in manifest.get("baselines", [])}
    split = SplitSpec.from_json(manifest["split"]) if manifest.get("split") else None
    labeler = ViralLabeler.load(directory / LABELS)
    return Artifact(directory, manifest, model, labeler, split, baselines)


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")
