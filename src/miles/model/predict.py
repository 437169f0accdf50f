"""``Predictor.load(dir).predict(rows)``: views at fixed horizons (p10/p50/p90), P(viral), the inputs used
and the top feature contributions, for batches of drafts - with the same feature code as training.

A model directory is either one artifact (``manifest.json``; task prepublish or early) or a bundle holding
``prepublish/`` and optionally ``early/`` artifacts (the packaged default). With early views and an early
model, the early model answers (mode ``early``); otherwise the prepublish model does.
Importable without torch: serving only needs LightGBM, numpy/pandas and (for titles) onnxruntime.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from miles.config import Settings, get_settings
from miles.errors import InvalidInput, ModelNotReady
from miles.features.build import build_features
from miles.model.artifact import read_manifest
from miles.model.drafts import Draft, draft_frames, horizons_for, parse_draft
from miles.model.embed_features import THUMB_COLUMNS, TITLE_COLUMNS, TextEmbedder, thumbnail_columns
from miles.model.encoders import EmbeddingCache
from miles.model.gbdt import GBDTModel
from miles.model.images import decode_image, image_stats

HORIZONS_H: tuple[float, ...] = (1.0, 6.0, 24.0, 168.0, 720.0)
REFERENCE_H = 24.0  # P(viral) and contributions are given for this horizon (or the nearest one predicted)
TOP_K = 8
BUNDLE = "bundle.json"


@dataclass
class HorizonPrediction:
    horizon_h: float
    p10: float
    p50: float
    p90: float


@dataclass
class DraftPrediction:
    mode: str
    model_version: str
    horizons: list[HorizonPrediction]
    viral_probability: float
    reference_horizon_h: float
    inputs_used: list[str]
    inputs_missing: list[str]
    contributions: list[tuple[str, float]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["contributions"] = [{"feature": f, "contribution": v} for f, v in self.contributions]
        return out


@dataclass
class LoadedModel:
    directory: Path
    manifest: dict[str, Any]
    model: GBDTModel

    @property
    def groups(self) -> list[str]:
        return list(self.manifest.get("extra", {}).get("groups") or [])

    @classmethod
    def load(cls, directory: Path) -> LoadedModel:
        manifest = read_manifest(directory)  # refuses another FEATURE_VERSION
        if manifest["kind"] != GBDTModel.kind:
            raise ModelNotReady(f"{directory}: a {manifest['kind']!r} artifact cannot serve predictions")
        return cls(directory, manifest, GBDTModel.load(directory / "model"))


class Predictor:
    """Scores drafts with a prepublish model and, when early views are given, an early model."""

    def __init__(
        self,
        prepublish: LoadedModel,
        early: LoadedModel | None = None,
        *,
        version: str,
        directory: Path,
        settings: Settings | None = None,
        embedding_cache: EmbeddingCache | None = None,
    ) -> None:
        self.prepublish = prepublish
        self.early = early
        self.version = version
        self.directory = directory
        self.settings = settings or get_settings()
        self.embedding_cache = embedding_cache
        self._text: TextEmbedder | None = None

    @classmethod
    def load(
        cls, directory: Path, *, settings: Settings | None = None, embedding_cache: EmbeddingCache | None = None
    ) -> Predictor:
        directory = Path(directory)
        if (directory / "manifest.json").is_file():
            model = LoadedModel.load(directory)
            pre, early = (model, None) if model.manifest["task"] == "prepublish" else (None, model)
            version = str(model.manifest.get("extra", {}).get("version") or directory.name)
        elif (directory / BUNDLE).is_file() or (directory / "prepublish").is_dir():
            pre = LoadedModel.load(directory / "prepublish")
            early = LoadedModel.load(directory / "early") if (directory / "early").is_dir() else None
            version = _bundle_version(directory)
        else:
            raise ModelNotReady(f"{directory}: not a model artifact or bundle (no manifest.json, no prepublish/)")
        if pre is None:
            raise ModelNotReady(f"{directory}: an early-only artifact needs a prepublish model beside it")
        return cls(pre, early, version=version, directory=directory, settings=settings,
                   embedding_cache=embedding_cache)  # fmt: skip

    # --- inputs ------------------------------------------------------------------------------------

    def _text_encoder(self) -> TextEmbedder:
        if self._text is None:
            from miles.model.encoders import TextEncoder

            self._text = TextEncoder.load(self.settings.cache_dir / "encoders", cache=self.embedding_cache)
        return self._text

    def _extra_columns(self, drafts: list[Draft], model: GBDTModel) -> pd.DataFrame:
        index = pd.Index([d.index for d in drafts], name="draft")
        parts = []
        if model.projector is not None:
            vectors = self._text_encoder().encode([d.title for d in drafts])
            comps = model.projector.transform(vectors)
            parts.append(pd.DataFrame(comps, index=index, columns=list(TITLE_COLUMNS[: comps.shape[1]])))
        parts.append(thumbnail_columns([self._thumb_stats(d) for d in drafts], index))
        return pd.concat(parts, axis=1)

    def _thumb_stats(self, draft: Draft) -> dict[str, float] | None:
        if draft.thumbnail is None:
            return None
        if isinstance(draft.thumbnail, bytes):
            img = decode_image(
                draft.thumbnail, max_pixels=self.settings.max_image_pixels, max_bytes=self.settings.max_image_bytes
            )
        else:
            img = draft.thumbnail
        return image_stats(img)

    # --- prediction --------------------------------------------------------------------------------

    def predict(self, rows: Sequence[Mapping[str, Any]], *, horizons: Sequence[float] = HORIZONS_H) -> list[DraftPrediction]:
        drafts = [parse_draft(row, i) for i, row in enumerate(rows)]
        results: dict[int, DraftPrediction] = {}
        early = [d for d in drafts if d.early_views and self.early is not None and horizons_for(d, horizons, True)]
        early_ids = {d.index for d in early}
        pre = [d for d in drafts if d.index not in early_ids]
        for group, loaded, is_early in ((pre, self.prepublish, False), (early, self.early, True)):
            if group and loaded is not None:
                results.update(self._score(group, loaded, horizons, is_early))
        return [results[d.index] for d in drafts]

    def _score(
        self, drafts: list[Draft], loaded: LoadedModel, horizons: Sequence[float], early: bool
    ) -> dict[int, DraftPrediction]:
        model = loaded.model
        per_draft = [horizons_for(d, horizons, early) for d in drafts]
        examples, snaps, subs = draft_frames(drafts, per_draft, self._extra_columns(drafts, model), early=early)
        task = "early" if early else "prepublish"
        X = build_features(task, examples, snaps, subscribers=subs, groups=loaded.groups or None)
        q = model.predict_quantiles(X)
        floor = np.array([drafts[i].last_views if early else 0.0 for i in examples["draft"].to_numpy()])
        views = np.maximum(np.expm1(q), floor[:, None])  # views never fall below what was already observed
        viral = model.predict_viral(X)
        out = {}
        for draft in drafts:
            rows = np.flatnonzero(examples["draft"].to_numpy() == draft.index)
            ref = rows[np.argmin(np.abs(np.log1p(examples["age_h"].to_numpy()[rows]) - np.log1p(REFERENCE_H)))]
            out[draft.index] = DraftPrediction(
                mode=task,
                model_version=self.version,
                horizons=[HorizonPrediction(float(examples["age_h"].iat[r]), *map(float, views[r])) for r in rows],
                viral_probability=float(viral[ref]),
                reference_horizon_h=float(examples["age_h"].iat[ref]),
                inputs_used=sorted(draft.given),
                inputs_missing=[f for f in _INPUT_ORDER if f not in draft.given],
                contributions=[],
            )
            out[draft.index].contributions = self._top_contributions(model, X.iloc[[ref]])
        return out

    @staticmethod
    def _top_contributions(model: GBDTModel, row: pd.DataFrame) -> list[tuple[str, float]]:
        contrib = model.contributions(row)[0, :-1]
        grouped: dict[str, float] = {}
        for name, value in zip(model.features, contrib, strict=True):
            key = "title_embedding" if name in TITLE_COLUMNS else ("thumbnail" if name in THUMB_COLUMNS else name)
            grouped[key] = grouped.get(key, 0.0) + float(value)
        ranked = sorted(grouped.items(), key=lambda kv: -abs(kv[1]))
        return [(k, round(v, 4)) for k, v in ranked[:TOP_K] if v != 0.0]


_INPUT_ORDER = ("title", "description", "tags", "duration_s", "category_id", "publish_at", "channel_subscribers",
                "thumbnail", "early_views")  # fmt: skip


def _bundle_version(directory: Path) -> str:
    path = directory / BUNDLE
    if path.is_file():
        try:
            return str(json.loads(path.read_text(encoding="utf-8"))["version"])
        except (OSError, ValueError, KeyError) as exc:
            raise ModelNotReady(f"{path}: unreadable bundle file ({exc})") from exc
    return directory.name


def packaged_default_dir() -> Path:
    return Path(str(resources.files("miles") / "assets" / "models" / "default"))


def default_model_dir(settings: Settings, promoted_dir: Path | None = None) -> Path:
    """``settings.model_dir``, else the promoted model's directory (if the caller found one), else the default."""
    for candidate in (settings.model_dir, promoted_dir):
        if candidate is not None:
            if not Path(candidate).is_dir():
                raise ModelNotReady(f"model directory {candidate} does not exist")
            return Path(candidate)
    default = packaged_default_dir()
    if not (default / BUNDLE).is_file() and not (default / "manifest.json").is_file():
        raise ModelNotReady(f"the packaged default model is missing ({default}); train one with `miles train`")
    return default


def load_default_predictor(
    settings: Settings, promoted_dir: Path | None = None, *, embedding_cache: EmbeddingCache | None = None
) -> Predictor:
    return Predictor.load(
        default_model_dir(settings, promoted_dir), settings=settings, embedding_cache=embedding_cache
    )


def parse_early_views(items: Sequence[str]) -> list[tuple[float, float]]:
    """``["1:120", "6:900"]`` (AGE_H:VIEWS) -> [(1.0, 120.0), (6.0, 900.0)], with a clear error per bad item."""
    out = []
    for item in items:
        try:
            age, views = item.split(":")
            out.append((float(age), float(views)))
        except ValueError as exc:
            raise InvalidInput(f"--early-views {item!r}: expected AGE_H:VIEWS, e.g. 6:1500") from exc
    return out
