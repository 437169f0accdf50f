"""Title-embedding and thumbnail feature groups, registered in the feature registry (both ``prepublish``).

The groups read columns that the caller attached to the snapshot frame *before* feature building, so
training and serving run the same feature code:

- ``title_pc_0..15``: the MiniLM title embedding (384-d) projected on a PCA fitted on the training fold's
  titles only (:class:`TitleProjector`, saved in the artifact). Absent columns give NaN (the GBDT treats
  them as missing).
- ``thumb_*``: image statistics of the thumbnail (:func:`miles.model.images.image_stats`) and
  ``thumb_present`` (1 when an image was seen, else 0) - an explicit mask, never a silent zero. The jp
  development set carries ``brightness`` and ``colorfulness`` of its thumbnails (no images), so those two
  flow into training through :func:`thumbnail_columns`; the other statistics are missing there.
- ``thumb_pc_0..7``: the EfficientNet-Lite0 thumbnail embedding (1,280-d, ``miles.model.encoders.ImageEncoder``)
  projected on a PCA fitted on the training fold's thumbnails only (the same :class:`TitleProjector` class, saved
  in the artifact as ``thumbnail_pca.npz``). The raw frame carries each video's vector in the object column
  ``thumb_embedding`` (None without an image); :func:`thumbnail_components` turns it into the ``thumb_pc_*``
  columns, at training, evaluation and serving alike. Without an image the columns are NaN (missing to the GBDT,
  as for every training row whose video has no stored image). Fewer components than the title's 16: far fewer
  videos have a fetched image than a title, and the retrain tries the group only from a few hundred of them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from miles.errors import InvalidInput, ModelNotReady
from miles.features.context import FeatureContext
from miles.features.registry import register_group, registered_groups
from miles.features.schema import Feature, FeatureGroup
from miles.model.images import STAT_NAMES

N_COMPONENTS = 16
TITLE_COLUMNS: tuple[str, ...] = tuple(f"title_pc_{i}" for i in range(N_COMPONENTS))
THUMB_COLUMNS: tuple[str, ...] = tuple(f"thumb_{s}" for s in STAT_NAMES)
TITLE_GROUP = "title_embedding"
THUMB_GROUP = "thumbnail"
THUMB_EMBEDDING = "thumb_embedding"  # raw frame column: the video's image embedding (an array) or None
THUMB_EMBED_GROUP = "thumbnail_embedding"
THUMB_COMPONENTS = 8
THUMB_PC_COLUMNS: tuple[str, ...] = tuple(f"thumb_pc_{i}" for i in range(THUMB_COMPONENTS))
SELECTION_GROUP = "selection"
SELECTIONS: tuple[str, ...] = ("trending", "search", "ordinary")
PREDICT_SELECTION = "ordinary"


class TextEmbedder(Protocol):
    encoder_id: str

    def encode(self, texts: Sequence[str], *, batch_size: int = 64) -> NDArray[np.float32]: ...


class TitleProjector:
    """PCA of title embeddings (mean + top components), fitted on the training fold only."""

    def __init__(self, mean: NDArray[np.float64], components: NDArray[np.float64], encoder_id: str) -> None:
        self.mean = mean
        self.components = components
        self.encoder_id = encoder_id

    @classmethod
    def fit(cls, embeddings: NDArray[np.float32], encoder_id: str, n_components: int = N_COMPONENTS) -> TitleProjector:
        x = np.asarray(embeddings, dtype=np.float64)
        mean = x.mean(axis=0)
        _, _, vt = np.linalg.svd(x - mean, full_matrices=False)
        comps = vt[:n_components]
        # Fix each component's sign so that refits on the same data give the same features.
        signs = np.sign(comps[np.arange(len(comps)), np.abs(comps).argmax(axis=1)])
        return cls(mean, comps * signs[:, None], encoder_id)

    def transform(self, embeddings: NDArray[np.float32]) -> NDArray[np.float64]:
        return (np.asarray(embeddings, dtype=np.float64) - self.mean) @ self.components.T

    def save(self, path: Path) -> None:
        np.savez(path, mean=self.mean, components=self.components, encoder_id=np.array(self.encoder_id))

    @classmethod
    def load(cls, path: Path) -> TitleProjector:
        try:
            with np.load(path) as data:
                return cls(data["mean"], data["components"], str(data["encoder_id"]))
        except (OSError, KeyError, ValueError) as exc:
            raise ModelNotReady(f"{path}: the embedding PCA is missing or unreadable ({exc})") from exc


def title_columns(
    titles: pd.Series, encoder: TextEmbedder, projector: TitleProjector | None = None
) -> tuple[pd.DataFrame, NDArray[np.float32]]:
    """Embed each distinct title once; return the projected columns (if a projector is given) and raw vectors."""
    text = titles.fillna("").astype(str)
    uniq = pd.Index(text.unique())
    vectors = encoder.encode(list(uniq))
    codes = uniq.get_indexer(text)
    if projector is None:
        return pd.DataFrame(index=titles.index), vectors[codes]
    comps = projector.transform(vectors)[codes]
    return pd.DataFrame(comps, columns=list(TITLE_COLUMNS), index=titles.index), vectors[codes]


def thumbnail_columns(stats: Sequence[Mapping[str, float] | None], index: pd.Index) -> pd.DataFrame:
    """One row per item: ``thumb_*`` statistics (NaN where unknown) and ``thumb_present``."""
    rows = [{f"thumb_{k}": s.get(k, np.nan) for k in STAT_NAMES} if s else {} for s in stats]
    out = pd.DataFrame(rows, index=index, columns=list(THUMB_COLUMNS), dtype=float)
    out["thumb_present"] = [1.0 if s else 0.0 for s in stats]
    return out


def image_vectors(embeddings: pd.Series) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """(n, d) matrix of the ``thumb_embedding`` values (zeros where None) and the mask of rows that have one."""
    has = np.array([v is not None and np.size(v) > 0 for v in embeddings], dtype=bool)
    if not has.any():
        return np.zeros((len(embeddings), 0)), has
    dim = int(np.size(next(v for v, h in zip(embeddings, has, strict=True) if h)))
    out = np.zeros((len(embeddings), dim))
    for i in np.flatnonzero(has):
        out[i] = np.asarray(embeddings.iloc[i], dtype=np.float64).reshape(-1)
    return out, has


def fit_thumbnail_projector(embeddings: pd.Series, train_mask: NDArray[np.bool_], encoder_id: str) -> TitleProjector:
    """The thumbnail PCA, fitted on the training-fold videos that have an image (one value per video)."""
    vectors, has = image_vectors(embeddings)
    rows = has & np.asarray(train_mask, dtype=bool)
    if rows.sum() <= THUMB_COMPONENTS:
        raise InvalidInput(f"only {int(rows.sum())} training videos have a thumbnail embedding; the thumbnail PCA "
                           f"needs more than {THUMB_COMPONENTS}")  # fmt: skip
    return TitleProjector.fit(vectors[rows].astype(np.float32), encoder_id, n_components=THUMB_COMPONENTS)


def thumbnail_components(embeddings: pd.Series, projector: TitleProjector) -> pd.DataFrame:
    """``thumb_pc_*`` of each row (NaN where the row has no image embedding), index kept."""
    vectors, has = image_vectors(embeddings)
    out = np.full((len(embeddings), THUMB_COMPONENTS), np.nan)
    if has.any():
        comps = projector.transform(vectors[has].astype(np.float32))
        out[has, : comps.shape[1]] = comps
    return pd.DataFrame(out, columns=list(THUMB_PC_COLUMNS), index=embeddings.index)


def attach_thumbnail_components(frame: pd.DataFrame, projector: TitleProjector) -> pd.DataFrame:
    """The frame with ``thumb_pc_*`` columns from its ``thumb_embedding`` column (computed once per video), which
    is dropped; a frame without that column gets NaN components (no images: missing to the model)."""
    out = frame.drop(columns=[c for c in THUMB_PC_COLUMNS if c in frame.columns])
    if THUMB_EMBEDDING not in out.columns:
        return out.assign(**{c: np.nan for c in THUMB_PC_COLUMNS})
    videos = out.drop_duplicates("video_id")
    comps = thumbnail_components(videos[THUMB_EMBEDDING].reset_index(drop=True), projector)
    comps.index = videos["video_id"].to_numpy()
    return out.drop(columns=[THUMB_EMBEDDING]).join(comps, on="video_id")


def _read_columns(ctx: FeatureContext, columns: Sequence[str]) -> pd.DataFrame:
    videos = ctx.videos
    per_video = pd.DataFrame(
        {c: pd.to_numeric(videos[c], errors="coerce") if c in videos else np.nan for c in columns},
        index=videos.index,
    )
    return ctx.expand_videos(per_video)


def _title(ctx: FeatureContext) -> pd.DataFrame:
    return _read_columns(ctx, TITLE_COLUMNS)


def _thumbnail(ctx: FeatureContext) -> pd.DataFrame:
    out = _read_columns(ctx, (*THUMB_COLUMNS, "thumb_present"))
    out["thumb_present"] = out["thumb_present"].fillna(0.0)
    return out


def _thumbnail_embedding(ctx: FeatureContext) -> pd.DataFrame:
    return _read_columns(ctx, THUMB_PC_COLUMNS)


def selection_of(source: pd.Series) -> pd.Series:
    """How a row was sampled: a trending list, a search ranking, or ordinary uploads (everything else)."""
    text = source.astype("string").fillna("").str.lower()
    out = pd.Series(PREDICT_SELECTION, index=source.index, dtype=object)
    out[text.str.contains("trending")] = "trending"
    out[text.str.contains("search|keyword", regex=True)] = "search"
    return out


def _selection(ctx: FeatureContext) -> pd.DataFrame:
    videos = ctx.videos
    source = videos["source"] if "source" in videos else pd.Series(None, index=videos.index, dtype=object)
    return ctx.expand_videos(pd.DataFrame({"selection": selection_of(source)}, index=videos.index))


SELECTION = FeatureGroup(
    name=SELECTION_GROUP,
    doc="How the training row was sampled (DESIGN.md §3.3 rule 7): trending lists and search results hold only "
    "successful videos. Predictions for a draft always use 'ordinary' (an ordinary upload).",
    compute=_selection,
    features=(Feature("selection", dtype="category", categories=SELECTIONS, doc="trending, search or ordinary"),),
)
TITLE_EMBEDDING = FeatureGroup(
    name=TITLE_GROUP,
    doc=f"MiniLM title embedding reduced to {N_COMPONENTS} PCA components fitted on the training fold.",
    compute=_title,
    features=tuple(Feature(c, doc=f"title embedding, principal component {i}") for i, c in enumerate(TITLE_COLUMNS)),
)
THUMBNAIL = FeatureGroup(
    name=THUMB_GROUP,
    doc="Thumbnail image statistics (brightness, colourfulness, ...) and a presence mask.",
    compute=_thumbnail,
    features=(
        *(Feature(c, doc=f"thumbnail {c.removeprefix('thumb_')} (NaN without an image)") for c in THUMB_COLUMNS),
        Feature("thumb_present", doc="1 if a thumbnail image (or its statistics) was given, else 0"),
    ),
)
THUMBNAIL_EMBEDDING = FeatureGroup(
    name=THUMB_EMBED_GROUP,
    doc=f"EfficientNet-Lite0 thumbnail embedding reduced to {THUMB_COMPONENTS} PCA components fitted on the training "
    "fold's thumbnails (NaN without an image).",
    compute=_thumbnail_embedding,
    features=tuple(
        Feature(c, doc=f"thumbnail image embedding, principal component {i}") for i, c in enumerate(THUMB_PC_COLUMNS)
    ),
)


def register() -> None:
    """Register the groups (idempotent)."""
    groups = registered_groups()
    for group in (TITLE_EMBEDDING, THUMBNAIL, THUMBNAIL_EMBEDDING, SELECTION):
        if group.name not in groups:
            register_group(group)


register()
