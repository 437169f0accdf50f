"""Training orchestration: load a snapshot frame (files or database), train, write the card, register.

``miles.model.train`` never touches the store; this module reads the data, hands the model layer a frame
and an embedding cache backed by the ``embeddings`` table, and records the result in ``model_versions``.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from miles.collect.files import read_file
from miles.config import Settings
from miles.errors import InvalidInput
from miles.features.schema import FEATURE_VERSION, TASKS, Task
from miles.jobs.ingest import expand_paths
from miles.model.card import blank_field_rows, sanity_rows, write_card
from miles.model.encoders import EmbeddingCache, TextEncoder
from miles.model.predict import BUNDLE, Predictor
from miles.model.train import Progress, TrainConfig, TrainResult, train
from miles.store.db import session_scope
from miles.store.repos import models as model_repo
from miles.store.repos import thumbnails as thumb_repo
from miles.store.repos.embeddings import DbEmbeddingCache, get_embeddings
from miles.store.tables import Thumbnail, Video

JP_STATS = ("brightness", "colorfulness")
log = logging.getLogger(__name__)


def _noop(_msg: str, _frac: float) -> None:
    return None


def frame_from_files(paths: Sequence[Path]) -> pd.DataFrame:
    """Snapshot rows from files (any importable format); the jp set's thumbnail statistics ride along."""
    parts = []
    for path in expand_paths(list(paths)):
        result = read_file(path)
        frame = result.frame
        if result.format == "jp-keyword":
            raw = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
            if set(JP_STATS) <= set(raw.columns):
                stats = raw.drop_duplicates("video_id").set_index("video_id")[list(JP_STATS)]
                stats = stats.rename(columns=lambda c: f"thumb_{c}")
                frame = frame.join(stats, on="video_id")
                frame["thumb_present"] = frame["thumb_brightness"].notna().astype(float)
        parts.append(frame)
    if not parts:
        raise InvalidInput(f"no snapshot files found in {', '.join(map(str, paths))}")
    return pd.concat(parts, ignore_index=True)


def frame_from_store(settings: Settings) -> pd.DataFrame:
    """Every stored snapshot, plus the image statistics of videos whose thumbnail is stored."""
    from miles.features.build import frame_from_db

    frame = frame_from_db(settings)
    with session_scope(settings) as session:
        rows = session.execute(
            select(Video.id, Thumbnail.stats).join(Thumbnail, Thumbnail.content_hash == Video.thumbnail_hash)
        ).all()
    if rows:
        stats = pd.DataFrame([{"video_id": vid, **{f"thumb_{k}": v for k, v in (s or {}).items()}} for vid, s in rows])
        stats["thumb_present"] = 1.0
        frame = frame.join(stats.set_index("video_id"), on="video_id")
    return frame


@dataclass
class StoredImages:
    """Stored videos whose thumbnail image has an embedding, cached or computable from its stored bytes."""

    by_video: dict[str, str]  # video id -> thumbnail content hash
    vectors: dict[str, np.ndarray]  # content hash -> cached EfficientNet-Lite0 vector
    to_embed: list[str]  # content hashes whose bytes are stored but whose embedding is not cached yet

    def videos(self) -> int:
        return len(self.by_video)


def stored_images(settings: Settings, video_ids: Sequence[str]) -> StoredImages:
    """Which of ``video_ids`` have a thumbnail embedding (the collector embeds each image it fetches; one it could not
    embed then can be embedded from its stored bytes)."""
    from miles.model.encoders import ImageEncoder

    with session_scope(settings) as session:
        linked = thumb_repo.video_images(session=session, video_ids=video_ids)
        hashes = [v.content_hash for v in linked]
        vectors = get_embeddings(session=session, encoder_id=ImageEncoder.encoder_id, hashes=hashes)
    usable = [v for v in linked if v.content_hash in vectors or v.has_image]
    to_embed = sorted({v.content_hash for v in usable if v.content_hash not in vectors})
    return StoredImages({v.video_id: v.content_hash for v in usable}, vectors, to_embed)


def attach_thumbnail_embeddings(frame: pd.DataFrame, settings: Settings, images: StoredImages) -> pd.DataFrame:
    """The frame with a ``thumb_embedding`` column (each video's image vector, None without one): cached vectors, and
    the missing ones computed from the stored bytes with the real image encoder (and cached). An image that no longer
    decodes is left out (logged), never fatal."""
    from miles.model.embed_features import THUMB_EMBEDDING
    from miles.model.encoders import ImageEncoder

    vectors = dict(images.vectors)
    if images.to_embed:
        encoder = ImageEncoder.load(settings.cache_dir / "encoders", cache=embedding_cache(settings))
        limits = {"max_pixels": settings.max_image_pixels, "max_bytes": settings.max_image_bytes}
        for start in range(0, len(images.to_embed), 64):
            with session_scope(settings) as session:
                blobs = thumb_repo.thumbnail_images(session=session, content_hashes=images.to_embed[start : start + 64])
            for content_hash, blob in blobs.items():  # one at a time: a bad image fails alone
                try:
                    vectors[content_hash] = encoder.encode_bytes([blob], **limits)[0]
                except InvalidInput as exc:
                    log.warning("thumbnail %s not embedded: %s", content_hash[:12], exc.message)
    by_video = {vid: vectors.get(h) for vid, h in images.by_video.items()}
    out = frame.drop(columns=[THUMB_EMBEDDING], errors="ignore")
    out[THUMB_EMBEDDING] = pd.Series([by_video.get(v) for v in out["video_id"]], index=out.index, dtype=object)
    return out


def uses_thumbnail_embedding(directory: Path) -> bool:
    """Whether a model directory (one artifact or a bundle) holds a thumbnail-embedding PCA."""
    return any(directory.glob("model/thumbnail_pca.npz")) or any(directory.glob("*/model/thumbnail_pca.npz"))


def frame_for_models(settings: Settings, directories: Sequence[Path]) -> pd.DataFrame:
    """The stored rows for evaluating these models: ``frame_from_store``, plus each video's image embedding when one
    of them reads it."""
    frame = frame_from_store(settings)
    if any(uses_thumbnail_embedding(d) for d in directories):
        images = stored_images(settings, frame["video_id"].astype(str).unique().tolist())
        frame = attach_thumbnail_embeddings(frame, settings, images)
    return frame


def embedding_cache(settings: Settings) -> EmbeddingCache | None:
    """The database-backed cache when the database is migrated; None (no caching) otherwise."""
    try:
        with session_scope(settings) as session:
            session.execute(select(1).select_from(Video).limit(1))
    except SQLAlchemyError:
        return None
    return DbEmbeddingCache(lambda: session_scope(settings))


def version_name(task: str, result: TrainResult | None = None) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return f"{task}-{stamp}"


def train_task(
    frame: pd.DataFrame,
    task: Task,
    out: Path,
    *,
    settings: Settings,
    cfg: TrainConfig | None = None,
    progress: Progress = _noop,
    register: bool = True,
) -> tuple[TrainResult, str]:
    cfg = cfg or TrainConfig(task=task)
    encoder = None
    if cfg.text_embedding:
        progress("loading the text encoder", 0.02)
        encoder = TextEncoder.load(settings.cache_dir / "encoders", cache=embedding_cache(settings))
    result = train(frame, cfg, out, encoder=encoder, progress=progress)
    version = version_name(task)
    _set_version(out, version)
    predictor = Predictor.load(out, settings=settings) if task == "prepublish" else None
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    sanity = sanity_rows(predictor) if predictor is not None else []
    blanks = blank_field_rows(predictor) if predictor is not None else None
    write_card(out, version=version, sections={task: (manifest, result.metrics)}, sanity=sanity, blanks=blanks)
    if register:
        register_version(settings, version=version, task=task, path=out, metrics=result.metrics)
    return result, version


def _set_version(out: Path, version: str) -> None:
    path = out / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest.setdefault("extra", {})["version"] = version
    path.write_text(json.dumps(manifest, indent=2, default=str), encoding="utf-8")


def register_version(settings: Settings, *, version: str, task: str, path: Path, metrics: dict[str, Any]) -> None:
    headline = metrics.get("headline", {}).get("metrics", {})
    summary = {name: {k: v.get("value") for k, v in ms.items()} for name, ms in headline.items()}
    with session_scope(settings) as session:
        model_repo.register_model(session=session, version=version, task=task, path=str(path.resolve()),
                                  feature_version=FEATURE_VERSION, metrics=summary)  # fmt: skip


def write_bundle(directory: Path, version: str, tasks: Sequence[str]) -> None:
    data = {"version": version, "tasks": list(tasks), "feature_version": FEATURE_VERSION}
    (directory / BUNDLE).write_text(json.dumps(data, indent=2), encoding="utf-8")


def run_ablations(
    frame: pd.DataFrame,
    ablations: Sequence[tuple[str, str, tuple[str, ...]]],
    *,
    settings: Settings,
    workdir: Path,
    progress: Progress = _noop,
) -> list[dict[str, Any]]:
    """Train one model per feature-group set on the same split; headline test metrics of each."""
    encoder = TextEncoder.load(settings.cache_dir / "encoders", cache=embedding_cache(settings))
    rows = []
    for i, (name, task, groups) in enumerate(ablations):
        progress(f"ablation: {name}", i / max(len(ablations), 1))
        # The default model has no sampling-frame feature, so the ablations drop it too; thumbnail statistics
        # (off by default, see TrainConfig.thumbnail) are built only for the rows that ask for them.
        kept = tuple(g for g in groups if g != "selection")
        cfg = TrainConfig(task=task, model_groups=kept, thumbnail="thumbnail" in kept, n_boot=20)  # type: ignore[arg-type]
        result = train(frame, cfg, workdir / f"ablation-{i}", encoder=encoder)
        ms = result.metrics["headline"]["metrics"]["model (lightgbm)"]
        rows.append({"name": name, "task": task, "rows": result.metrics["headline"]["rows"],
                     **{k: ms[k]["value"] for k in ("spearman", "mae_log10", "auroc")}})  # fmt: skip
    return rows


def write_bundle_card(
    out: Path,
    *,
    version: str,
    sections: Mapping[str, tuple[Mapping[str, Any], Mapping[str, Any]]],
    ablations: list[dict[str, Any]] | None,
    settings: Settings,
) -> Path:
    """The bundle's MODEL_CARD.md (and each task's copy), with the forecasts of the bundle's own predictor for the
    card's sanity and blank-field tables."""
    predictor = Predictor.load(out, settings=settings)
    sanity, blanks = sanity_rows(predictor), blank_field_rows(predictor)
    path = write_card(out, version=version, sections=sections, sanity=sanity, ablations=ablations, blanks=blanks)
    for task in sections:  # each artifact keeps its own card; the bundle card covers both
        shutil.copy(path, out / task / "MODEL_CARD.md")
    return path


def rewrite_bundle_card(out: Path, *, settings: Settings) -> Path:
    """Write a trained bundle's card again from what it stored (manifests, metrics.json), as this Miles writes cards:
    for a card whose wording or number format changed since the bundle was trained. Nothing is retrained and no
    number changes. A retrain's thumbnail-ablation section is not in metrics.json and is not written again."""
    if not (out / BUNDLE).is_file():
        raise InvalidInput(f"{out}: not a model bundle (no {BUNDLE}); `miles model list` shows the stored ones")
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    bundle = json.loads((out / BUNDLE).read_text(encoding="utf-8"))
    sections = {t: (json.loads((out / t / "manifest.json").read_text(encoding="utf-8")), metrics[t])
                for t in bundle.get("tasks") or TASKS}  # fmt: skip
    version = str(bundle.get("version") or out.name)
    return write_bundle_card(out, version=version, sections=sections, ablations=metrics.get("ablations"),
                             settings=settings)  # fmt: skip


def train_bundle(
    frame: pd.DataFrame,
    out: Path,
    *,
    settings: Settings,
    text: bool = True,
    ablations: Sequence[tuple[str, str, tuple[str, ...]]] | None = None,
    progress: Progress = _noop,
    register: bool = True,
    overrides: dict[str, Any] | None = None,
) -> tuple[str, dict[str, Any]]:
    """Prepublish + early artifacts in one directory (``bundle.json``), one card, one metrics.json. ``overrides``
    replaces ``TrainConfig`` fields of both tasks (the retrain's size)."""
    import tempfile
    from dataclasses import replace

    sections: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    for task in ("prepublish", "early"):
        cfg = replace(TrainConfig(task=task, text_embedding=text), **(overrides or {}))  # type: ignore[arg-type]
        result, _ = train_task(frame, task, out / task, settings=settings, cfg=cfg,  # type: ignore[arg-type]
                               progress=progress, register=False)  # fmt: skip
        manifest = json.loads((out / task / "manifest.json").read_text(encoding="utf-8"))
        sections[task] = (manifest, result.metrics)
    version = "bundle-" + version_name("default").removeprefix("default-")
    write_bundle(out, version, list(sections))
    for task in sections:
        _set_version(out / task, version)
    ablation_rows = None
    if ablations:
        with tempfile.TemporaryDirectory() as tmp:
            ablation_rows = run_ablations(frame, ablations, settings=settings, workdir=Path(tmp), progress=progress)
    write_bundle_card(out, version=version, sections=sections, ablations=ablation_rows, settings=settings)
    metrics = {task: met for task, (_, met) in sections.items()}
    if ablation_rows:
        metrics["ablations"] = ablation_rows  # type: ignore[assignment]
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2, default=str), encoding="utf-8")
    if register:
        register_version(settings, version=version, task="both", path=out, metrics=metrics["prepublish"])
    return version, metrics
