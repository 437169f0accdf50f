"""``Predictor.load(dir).predict(rows)``: views at fixed horizons (p10/p50/p90), P(viral), the inputs used
and the top feature contributions, for batches of drafts - with the same feature code as training.

A model directory is either one artifact (``manifest.json``; task prepublish or early) or a bundle holding
``prepublish/`` and optionally ``early/`` artifacts (the packaged default). With early views and an early
model, the early model answers (mode ``early``); otherwise the prepublish model does.
Importable without torch: serving only needs LightGBM, numpy/pandas and (for titles) onnxruntime.

Speed: features come from :func:`miles.features.draft.draft_matrix` as one numpy matrix per call (all drafts x
horizons), title embeddings are cached in-process (and in the optional ``EmbeddingCache``), and the boosters are
called on that matrix through ``GBDTModel.score`` - the same scoring core training and evaluation use.
"""

from __future__ import annotations

import functools
import itertools
import json
import logging
import math
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image

from miles.config import Settings, get_settings
from miles.errors import InvalidInput, ModelNotReady
from miles.features.build import MIN_GAP_H
from miles.features.draft import (
    DRAFT_CHANNEL,
    INPUT_FIELDS,
    Draft,
    DraftInput,
    DraftMatrix,
    draft_matrix,
    horizons_for,
    read_as,
    with_spaced_readings,
)
from miles.features.labels import VIRAL_DEFINITION
from miles.features.schema import Task, subscriber_bucket
from miles.inputs import format_age, format_age_window, format_span
from miles.model.artifact import read_manifest
from miles.model.embed_features import (
    PREDICT_SELECTION,
    THUMB_COLUMNS,
    THUMB_PC_COLUMNS,
    TITLE_COLUMNS,
    TextEmbedder,
    TitleProjector,
    thumbnail_components,
)
from miles.model.encoders import EmbeddingCache, ImageEncoder
from miles.model.gbdt import EXTEND_FROM_H, GBDTModel, size_marked
from miles.model.growth import rise_to
from miles.model.images import STAT_NAMES, decode_image, image_stats

log = logging.getLogger(__name__)
__all__ = ["VIRAL_DEFINITION", "Draft", "DraftInput", "DraftPrediction", "HorizonPrediction", "Predictor"]
HORIZONS_H: tuple[float, ...] = (1.0, 6.0, 24.0, 168.0, 720.0)
REFERENCE_H = 24.0  # P(viral) and contributions are given for this horizon (or the nearest one predicted)
TOP_K = 8
# Said wherever a forecast's reasons are listed and there are none (CLI, Score page), by mode: what the forecast
# then rests on. "Nothing" alone read as if the views given counted for nothing.
NO_REASONS: dict[str, str] = {
    "early": "your views so far and how old they were: the forecast is how videos with views like yours at that "
    "age went on to grow. No other input (title, length, category, channel size, posting time) moved it; channel "
    "size still sets the viral chance, which compares the video with channels of its size.",
    "prepublish": "your channel's size and the video's age: the forecast is the usual views of a channel this size "
    "at that age. No other input (title, length, category, posting time) moved it.",
}
EFFECT_CAPTION = "How much each input multiplies the forecast, compared with a typical video of the training data."


def no_reasons(mode: str, draft: Mapping[str, Any]) -> str:
    """``NO_REASONS`` of ``mode`` for a prediction read as ``draft`` (``DraftPrediction.draft``): with no subscriber
    count given it rests on a typical channel's size, not "your channel's" (a creator who gave none read it so)."""
    subscribers = draft.get("channel_subscribers") or {}
    if mode == "prepublish" and subscribers.get("status") != "given":
        return NO_REASONS[mode].replace("your channel's size", "a typical channel's size (you gave none)", 1)
    return NO_REASONS[mode]


BUNDLE = "bundle.json"


def early_views_problem(draft: Draft, now: datetime, horizons: Sequence[float] = HORIZONS_H) -> str | None:
    """Why a draft's early views cannot be forecast from (a reading in the future, or none left to forecast), or
    None: what every draft surface (API, Score page, MCP, CLI) refuses alike."""
    if draft.early_views and draft.publish_at + timedelta(hours=draft.t_i_h) > now + timedelta(minutes=5):
        published = f"{draft.publish_at:%Y-%m-%d %H:%M} UTC"
        return (f"early views: the reading at {format_age(draft.t_i_h)} after publishing lies in the future for a "
                f"video published {published}; set the publish time to when it went out")  # fmt: skip
    return nothing_left_to_forecast(draft, horizons)


def nothing_left_to_forecast(draft: Draft, horizons: Sequence[float] = HORIZONS_H) -> str | None:
    """Why a draft with early views has no horizon left (its latest reading is at or past the longest one, less the
    hour a forecast needs), or None. Such a draft must not be forecast before publishing instead: that forecast can
    lie below the views already seen."""
    if not draft.early_views or horizons_for(draft, horizons, "early"):
        return None
    return (f"early views: the latest reading, {draft.t_i_h:,.0f} h after publishing, leaves no horizon to forecast "
            f"(the longest is {max(horizons):g} h, and a forecast starts at least 1 h after the reading): the views "
            "past it are known, not forecast")  # fmt: skip


def effect_multiple(contribution: float) -> str:
    """A contribution to log views (natural log) as the factor a creator reads: '×2.1' raises the forecast,
    '÷38' lowers it."""
    factor = math.exp(abs(contribution))
    shown = f"{factor:.1f}" if factor < 10 else f"{factor:,.0f}"
    return f"{'×' if contribution >= 0 else '÷'}{shown}"


TITLE_CACHE_SIZE = 8192  # distinct titles whose embedding stays in memory (384 float32 each: ~12 MB)
FloatArray = np.ndarray


@dataclass
class HorizonPrediction:
    horizon_h: float
    p10: float
    p50: float
    p90: float
    back_tested: bool | None = None  # see ``back_tested``; None: the model records no accuracy table


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
    accuracy: str | None = None  # how far off forecasts like this one were on videos Miles never trained on
    channel_history: dict[str, Any] | None = None  # the channel's earlier uploads the forecast used, if any
    draft: dict[str, dict[str, Any]] = field(default_factory=dict)  # each input as read (features.draft.read_as)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["contributions"] = [{"feature": f, "contribution": v} for f, v in self.contributions]
        return out


@dataclass
class Scored:
    """Model outputs for every row of a draft matrix (``GBDTModel.score``, the one scoring core)."""

    log_views: FloatArray  # (n, n_quantiles)
    viral: FloatArray  # (n,)
    model: GBDTModel
    inputs: FloatArray  # the boosters' input matrix
    frame: pd.DataFrame  # the same rows as a feature frame (for the offset model)

    def contributions(self, rows: np.ndarray) -> FloatArray:
        """(len(rows), n_features) contributions to the p50 of those rows (bias column dropped)."""
        return self.model.contributions_of(self.inputs[rows], self.frame.iloc[rows])[:, :-1]


@dataclass
class LoadedModel:
    directory: Path
    manifest: dict[str, Any]
    model: GBDTModel

    @property
    def groups(self) -> list[str]:
        return list(self.manifest.get("extra", {}).get("groups") or [])

    @property
    def task(self) -> Task:
        return "early" if self.manifest["task"] == "early" else "prepublish"

    accuracy: list[dict[str, Any]] = field(default_factory=list)  # metrics.json "accuracy_by_band"

    @classmethod
    def load(cls, directory: Path) -> LoadedModel:
        manifest = read_manifest(directory)  # refuses another FEATURE_VERSION
        if manifest["kind"] != GBDTModel.kind:
            raise ModelNotReady(f"{directory}: a {manifest['kind']!r} artifact cannot serve predictions")
        metrics = directory / "metrics.json"
        try:
            accuracy = json.loads(metrics.read_text(encoding="utf-8")).get("accuracy_by_band", [])
        except (OSError, ValueError):
            accuracy = []
        return cls(directory, manifest, GBDTModel.load(directory / "model"), accuracy)

    def score(
        self, m: DraftMatrix, blank_log_subscribers: float | None = None, smallest_log_subscribers: float | None = None
    ) -> Scored:
        """``blank_log_subscribers``: what a blank channel size stands for in the whole forecast - the viral
        yardstick too, which otherwise reads a blank as the unknown-size rows it was fitted on (trending videos).
        ``smallest_log_subscribers``: what a smaller channel is read as (the smallest the size line was fitted on;
        extrapolated, it put a 0-subscriber channel at 0 views at every age, and each of its views at ~1,000x usual)."""
        categories = {f.name: f.categories for f in m.features if f.dtype == "category"}
        inputs = self.model.matrix_inputs(m.values, m.columns, categories)
        frame = m.to_frame()
        if blank_log_subscribers is not None and "log_subscribers" in frame:
            frame = size_marked(frame.assign(log_subscribers=frame["log_subscribers"].fillna(blank_log_subscribers)),
                                frame)  # fmt: skip
        if smallest_log_subscribers is not None and "log_subscribers" in frame:
            frame["log_subscribers"] = frame["log_subscribers"].clip(lower=smallest_log_subscribers)
        log_views, viral = self.model.score(inputs, frame)
        return Scored(log_views, viral, self.model, inputs, frame)


BAND_LABELS = (
    "channels of unknown size",
    "channels under 1,000 subscribers",
    "channels of 1k–10k subscribers",
    "channels of 10k–100k subscribers",
    "channels of 100k–1M subscribers",
    "channels over 1M subscribers",
)
ACCURACY_HORIZON_H = 168.0


def accuracy_statement(
    rows: Sequence[Mapping[str, Any]],
    subscribers: float | None,
    horizon_h: float,
    read_h: float | None = None,
    last_h: float | None = None,
) -> str | None:
    """One plain sentence on how far off forecasts for this channel size and age (early: views read at ``read_h``)
    were on the validation and test folds' ordinary uploads (channels never seen in training, later dates); None when
    the model records no such table. ``last_h``, the forecast's last horizon, adds how far off forecasts that old
    were when its age window is not ``horizon_h``'s: a 30-day forecast shown beside "the first 2 weeks" alone read as
    covered by it."""
    if not rows:
        return None
    if read_h is not None and "min_t_i_h" in rows[0]:
        return _early_accuracy_statement(rows, read_h)
    band = _band(subscribers)
    label = BAND_LABELS[band] if band < len(BAND_LABELS) else "channels of this size"
    same_band = [r for r in rows if r["band"] == band]
    match = [r for r in same_band if r["min_age_h"] <= horizon_h < r["max_age_h"]]
    if not same_band:
        return f"Not enough test videos from {label} to say how accurate this forecast is."
    # no test videos of this size at this age: the nearest age window of the same size says more than nothing
    r = match[0] if match else min(same_band, key=lambda r: _age_distance(r, horizon_h))
    caveat = "" if match else " - too few test videos at this forecast's age to measure it alone"
    later = _later_clause(same_band, r, last_h) if match else ""
    window = format_age_window(r["min_age_h"], r["max_age_h"])
    return (f"For {label}, forecasts of the views {window} were within ×{r['within_factor']:.1f} of the real views for "
            f"8 of 10 videos ({r['videos']:,} videos from channels Miles never trained on{caveat})"
            f"{later}.")  # fmt: skip


def back_tested(
    rows: Sequence[Mapping[str, Any]], subscribers: float | None, horizon_h: float, read_h: float | None = None
) -> bool | None:
    """Whether forecasts like this one were measured on test videos (the accuracy table has a row for this channel
    size and this age; early: for views read this soon). A 30-day forecast for a 100k-1M channel is not, while its
    accuracy sentence speaks of the first 2 weeks: pages mark it instead of showing it like the measured ones.
    None when the model records no such table."""
    if not rows:
        return None
    if "min_t_i_h" in rows[0]:
        return read_h is not None and any(r["min_t_i_h"] <= read_h < r["max_t_i_h"] for r in rows)
    band = _band(subscribers)
    return any(r["band"] == band and r["min_age_h"] <= horizon_h < r["max_age_h"] for r in rows)


def _band(subscribers: float | None) -> int:
    return int(subscriber_bucket(np.array([np.nan if subscribers is None else np.log1p(subscribers)]))[0])


def _later_clause(same_band: Sequence[Mapping[str, Any]], shown: Mapping[str, Any], last_h: float | None) -> str:
    """How far off forecasts as old as ``last_h`` were, when ``shown`` (the sentence's age window) ends before it."""
    if last_h is None or last_h < shown["max_age_h"]:
        return ""
    past = format_span(float(shown["max_age_h"]))
    later = next((r for r in same_band if r["min_age_h"] <= last_h < r["max_age_h"]), None)
    if later is None:
        return f"; too few test videos past {past} to measure the later forecasts"
    return f"; past {past}, within ×{later['within_factor']:.1f} ({later['videos']:,} videos)"


# fewer test videos than this behind an early accuracy row and its sentence says so: "within x3.0 (12 videos)" sat
# beside a 30-minute reading's 80 % range of x18 (the spread of such videos' growth in training)
FEW_TEST_VIDEOS = 30


def _early_accuracy_statement(rows: Sequence[Mapping[str, Any]], read_h: float) -> str:
    match = next((r for r in rows if r["min_t_i_h"] <= read_h < r["max_t_i_h"]), None)
    if match is None:  # e.g. few ordinary uploads in the test fold were read within hours
        return (f"Too few test videos had views read {format_age(read_h)} after publishing to measure how far off such "
                "forecasts are on channels Miles never trained on; the 80 % range is the spread of such videos' "
                "growth in training.")  # fmt: skip
    few = (" - too few to be sure; the 80 % range is the spread of such videos' growth in training"
           if match["videos"] < FEW_TEST_VIDEOS else "")  # fmt: skip
    return (f"Forecasts from views read {match['read']} were within ×{match['within_factor']:.1f} of the real views "
            f"for 8 of 10 videos ({match['videos']:,} videos from channels Miles never trained on{few}).")  # fmt: skip


def _age_distance(row: Mapping[str, Any], horizon_h: float) -> float:
    """How far (log hours) ``horizon_h`` lies outside an accuracy row's age window."""
    lo, hi = math.log1p(float(row["min_age_h"])), math.log1p(float(row["max_age_h"]))
    at = math.log1p(horizon_h)
    return max(lo - at, at - hi, 0.0)


def _earlier(history: pd.DataFrame, draft: Draft) -> pd.DataFrame:
    """The draft's channel's snapshots of uploads published before it, captured by its publish time."""
    pub = pd.Timestamp(draft.publish_at)
    rows = history.loc[history["channel_id"] == draft.channel_id]
    published = pd.to_datetime(rows["published_at"], utc=True)
    captured = pd.to_datetime(rows["captured_at"], utc=True)
    return rows.loc[(published < pub) & (captured <= pub)]


def channel_summary(history: pd.DataFrame, draft: Draft) -> dict[str, Any] | None:
    """Which channel history a forecast used: the channel, how many earlier uploads, their publish dates."""
    rows = _earlier(history, draft)
    if rows.empty:
        return None
    published = pd.to_datetime(rows["published_at"], utc=True)
    return {"channel_id": draft.channel_id, "uploads": int(rows["video_id"].nunique()),
            "first_published": published.min().isoformat(), "last_published": published.max().isoformat()}  # fmt: skip


def _use_stored_subscribers(item: DraftInput, history: pd.DataFrame) -> None:
    """A blank subscriber count is read from the channel's latest stored count before publishing."""
    if item.draft.channel_subscribers is not None or "channel_subscribers" not in history:
        return
    rows = _earlier(history, item.draft).dropna(subset=["channel_subscribers"])
    if not rows.empty:
        latest = rows.sort_values("captured_at").iloc[-1]
        item.draft.channel_subscribers = float(latest["channel_subscribers"])  # hence among the inputs used
        when = pd.Timestamp(latest["captured_at"]).strftime("%Y-%m-%d")
        item.notes = {**item.notes, "channel_subscribers": f"not given: your channel's stored count on {when}"}


def _statement_horizon(horizons: np.ndarray) -> float:
    """The horizon the accuracy sentence speaks of: 7 days when forecast, else the longest one."""
    return ACCURACY_HORIZON_H if ACCURACY_HORIZON_H in horizons else float(horizons.max())


def cumulative_in_age(
    views: FloatArray, draft: np.ndarray, horizon_h: np.ndarray, rises: list[float] | None = None
) -> FloatArray:
    """Views are cumulative, so a later horizon never gets fewer: a running maximum over each draft's horizons
    (the early model's far horizons extrapolate past its training pairs and could otherwise dip). Past
    EXTEND_FROM_H (7 days, the last horizon the models are back-tested on throughout) a horizon also gets at least
    the previous one's views grown as the same videos grow (``rises``, ``GBDTModel.same_video_rises``): the copy
    read "no more views after a week" (30-day p10 = 7-day p10 in most drafts; p10, p50 and p90 alike for a channel
    whose stored uploads are all younger than 30 days, whose 30-day row falls back to their record at any age)."""
    out = views.copy()
    for k in np.unique(draft):
        rows = np.flatnonzero(draft == k)
        rows = rows[np.argsort(horizon_h[rows], kind="stable")]
        out[rows] = np.maximum.accumulate(views[rows], axis=0)
        if rises is None:
            continue
        for before, after in itertools.pairwise(rows):
            if horizon_h[before] >= EXTEND_FROM_H:
                growth = np.exp(np.diff(rise_to(rises, horizon_h[[before, after]])))
                out[after] = np.maximum(out[after], out[before] * growth)
    return out


def handed_over_chance(viral: FloatArray, horizon_h: np.ndarray, ref: int, t_i_h: float) -> tuple[float, float]:
    """(viral chance, its horizon) of one draft from its rows' chances and horizons: the chance at the reference
    horizon (row ``ref``), handed over in log age to the next later horizon's while the reading nears it (from half
    the reference's age to MIN_GAP_H before it, where the reference stops being asked about). Read at the reference
    alone, 300 views at 22.8 h had a 16 % chance and at 24.1 h 8 % (the 7-day one). The horizon given is the one
    weighing more."""
    later = np.flatnonzero(horizon_h > horizon_h[ref])
    start, stop = horizon_h[ref] / 2.0, horizon_h[ref] - MIN_GAP_H
    if t_i_h <= 0 or not len(later) or stop <= start:
        return float(viral[ref]), float(horizon_h[ref])
    nxt = int(later[np.argmin(horizon_h[later])])
    share = float(np.clip(math.log(max(t_i_h, start) / start) / math.log(stop / start), 0.0, 1.0))
    chance = (1.0 - share) * float(viral[ref]) + share * float(viral[nxt])
    return chance, float(horizon_h[nxt] if share > 0.5 else horizon_h[ref])


def smallest_log_subscribers(model: GBDTModel) -> float | None:
    """log1p of the smallest channel the model's size line was fitted on (None for older artifacts)."""
    state = getattr(model.offset_model, "state", None) or {}
    value = state.get("smallest_log_subscribers")
    return None if value is None or "log_subscribers" not in model.features else float(value)


def _typical_subscribers(model: GBDTModel) -> float | None:
    """The subscriber count a blank one is read as (the training median), when the model fills blanks."""
    value = model.blank_values.get("log_subscribers")
    return None if value is None or "log_subscribers" not in model.features else float(np.round(np.expm1(value)))


def _uses_thumbnail(model: GBDTModel) -> bool:
    """The default model leaves thumbnails out until thumbnail data exists across sources (see its card); a retrained
    one may use the image statistics and the image embedding (``jobs.retrain``'s ablation)."""
    return any(f in THUMB_COLUMNS or f in THUMB_PC_COLUMNS for f in model.features)


def _extra_columns(
    title_components: FloatArray | None, thumb_stats: Sequence[Mapping[str, float] | None]
) -> dict[str, np.ndarray]:
    """What training attaches before building features: title PCs, thumbnail statistics, the selection."""
    n = len(thumb_stats)
    out: dict[str, np.ndarray] = {}
    if title_components is not None:
        out.update({c: title_components[:, j] for j, c in enumerate(TITLE_COLUMNS[: title_components.shape[1]])})
    for name, col in zip(STAT_NAMES, THUMB_COLUMNS, strict=True):
        out[col] = np.array([s.get(name, np.nan) if s else np.nan for s in thumb_stats], dtype=float)
    out["thumb_present"] = np.array([1.0 if s else 0.0 for s in thumb_stats])
    out["selection"] = np.full(n, PREDICT_SELECTION, dtype=object)  # a draft is an ordinary upload
    return out


class _TitleVectors:
    """In-process LRU of title embeddings (thread-safe); misses go to the encoder and its ``EmbeddingCache``."""

    def __init__(self, size: int = TITLE_CACHE_SIZE) -> None:
        self.size = size
        self._items: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def encode(self, encoder: TextEmbedder, titles: Sequence[str]) -> np.ndarray:
        found: dict[str, np.ndarray] = {}
        with self._lock:
            for t in titles:
                if t in self._items:
                    self._items.move_to_end(t)
                    found[t] = self._items[t]
        missing = list(dict.fromkeys(t for t in titles if t not in found))
        if missing:
            fresh = dict(zip(missing, encoder.encode(missing), strict=True))
            found.update(fresh)
            with self._lock:
                self._items.update(fresh)
                while len(self._items) > self.size:
                    self._items.popitem(last=False)
        return np.stack([found[t] for t in titles])


def _parse(row: DraftInput | Mapping[str, Any], index: int) -> DraftInput:
    """The predictor's own copy of a draft (a mapping goes through ``DraftInput.from_mapping``)."""
    item = row if isinstance(row, DraftInput) else DraftInput.from_mapping(row, index)
    thumb = item.thumbnail
    if thumb is not None and not isinstance(thumb, bytes | bytearray | Image.Image):
        raise InvalidInput(f"draft {index}: thumbnail must be image bytes or a PIL image")
    # A draft always has a channel, even when we know none of its uploads: counts 0, not unknown.
    draft = replace(item.draft, channel_id=item.draft.channel_id or f"{DRAFT_CHANNEL}{index}")
    item = with_spaced_readings(replace(item, draft=draft))  # readings minutes apart are not read
    return replace(item, thumbnail=bytes(thumb) if isinstance(thumb, bytearray) else thumb)


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
        self._titles = _TitleVectors()
        self._image: ImageEncoder | None = None

    @property
    def platform(self) -> str:
        """The platform the model learnt from (``extra.platform`` in its manifest; older artifacts: YouTube)."""
        return str(self.prepublish.manifest.get("extra", {}).get("platform") or "youtube")

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

    def _text_encoder(self, encoder_id: str) -> TextEmbedder:
        """The encoder the model's title PCA was fitted on (int8 or fp32 MiniLM), loaded once."""
        if self._text is None or self._text.encoder_id != encoder_id:
            from miles.model.encoders import TextEncoder

            encoder = TextEncoder.load(self.settings.cache_dir / "encoders", quantized=encoder_id.endswith("int8"),
                                       cache=self.embedding_cache)  # fmt: skip
            if encoder.encoder_id != encoder_id:
                raise ModelNotReady(
                    f"the model's title PCA needs {encoder_id!r} embeddings; got {encoder.encoder_id!r}"
                )
            self._text, self._titles = encoder, _TitleVectors()
        return self._text

    def _extra(self, inputs: list[DraftInput], model: GBDTModel) -> dict[str, np.ndarray]:
        components = None
        if model.projector is not None:
            encoder = self._text_encoder(model.projector.encoder_id)
            components = model.projector.transform(self._titles.encode(encoder, [i.draft.title for i in inputs]))
        images = [self._decoded(i.thumbnail) for i in inputs]  # a broken upload is an error whatever the model uses
        if not _uses_thumbnail(model):
            return _extra_columns(components, [None] * len(inputs))
        out = _extra_columns(components, [image_stats(im) if im is not None else None for im in images])
        if model.thumb_projector is not None:
            comps = self._thumb_components(images, model.thumb_projector)
            out.update({c: comps[c].to_numpy(dtype=float) for c in THUMB_PC_COLUMNS})
        return out

    def _decoded(self, thumbnail: bytes | Image.Image | None) -> Image.Image | None:
        if isinstance(thumbnail, bytes):
            limits = {"max_pixels": self.settings.max_image_pixels, "max_bytes": self.settings.max_image_bytes}
            return decode_image(thumbnail, **limits)
        return thumbnail

    def _thumb_components(self, images: list[Image.Image | None], projector: TitleProjector) -> pd.DataFrame:
        """``thumb_pc_*`` of each draft through the model's own thumbnail PCA (the training code); NaN without an
        image, as for a training video whose image Miles never fetched."""
        given = [im for im in images if im is not None]
        encoded = self._image_encoder(projector.encoder_id).encode(given) if given else np.zeros((0, 0))
        vectors = iter(list(encoded))
        embeddings = pd.Series([next(vectors) if im is not None else None for im in images], dtype=object)
        return thumbnail_components(embeddings, projector)

    def _image_encoder(self, encoder_id: str) -> ImageEncoder:
        """The image encoder the model's thumbnail PCA was fitted on, loaded once."""
        if self._image is None:
            encoder = ImageEncoder.load(self.settings.cache_dir / "encoders", cache=self.embedding_cache)
            if encoder.encoder_id != encoder_id:
                raise ModelNotReady(f"the model's thumbnail PCA needs {encoder_id!r} embeddings; got "
                                    f"{encoder.encoder_id!r}")  # fmt: skip
            self._image = encoder
        return self._image

    # --- prediction --------------------------------------------------------------------------------

    def predict(
        self,
        rows: Sequence[DraftInput | Mapping[str, Any]],
        *,
        horizons: Sequence[float] = HORIZONS_H,
        explain: bool = True,
        channel_history: pd.DataFrame | None = None,
    ) -> list[DraftPrediction]:
        """One prediction per draft (a :class:`DraftInput`, or a plain mapping read by ``DraftInput.from_mapping``);
        ``explain=False`` skips the feature contributions (TreeSHAP, ~1 ms a draft).

        ``channel_history``: stored snapshots (interchange format) of the drafts' channels, loaded once per call. A
        draft whose ``channel_id`` has earlier uploads in it is scored with that channel's record as of its publish
        time (the same channel features training computed), and a blank subscriber count is read from the channel's
        latest snapshot before publishing.
        """
        inputs = [_parse(row, i) for i, row in enumerate(rows)]
        history = channel_history if channel_history is not None and not channel_history.empty else None
        if history is not None:
            for item in inputs:
                _use_stored_subscribers(item, history)
        use_early = [bool(i.draft.early_views and self.early is not None and horizons_for(i.draft, horizons, "early"))
                     for i in inputs]  # fmt: skip
        results: list[DraftPrediction | None] = [None] * len(inputs)
        for loaded, wanted in ((self.prepublish, False), (self.early, True)):
            idx = [k for k, e in enumerate(use_early) if e == wanted]
            if idx and loaded is not None:
                scored = self._score([inputs[k] for k in idx], loaded, horizons, explain, history)
                for k, pred in zip(idx, scored, strict=True):
                    results[k] = pred
        return [r for r in results if r is not None]

    def _score(
        self,
        inputs: list[DraftInput],
        loaded: LoadedModel,
        horizons: Sequence[float],
        explain: bool,
        history: pd.DataFrame | None = None,
    ) -> list[DraftPrediction]:
        task = loaded.task
        drafts = [i.draft for i in inputs]
        known = history is not None and bool({d.channel_id for d in drafts} & set(history["channel_id"].dropna()))
        m = draft_matrix(drafts, task=task, horizons_h=horizons, groups=loaded.groups or None,
                         extra=self._extra(inputs, loaded.model),
                         channel_history=history if known else None)  # fmt: skip
        smallest = smallest_log_subscribers(self.prepublish.model)
        scored = loaded.score(m, self.prepublish.model.blank_values.get("log_subscribers"), smallest)
        floor = np.array([d.last_views if task == "early" else 0.0 for d in drafts])[m.draft]
        views = np.maximum(np.expm1(scored.log_views), floor[:, None])  # never below what was already seen
        starts = np.searchsorted(m.draft, np.arange(len(drafts) + 1))
        views = cumulative_in_age(views, m.draft, m.horizon_h, loaded.model.same_video_rises)
        closeness = np.abs(np.log1p(m.horizon_h) - np.log1p(REFERENCE_H))
        refs = np.array([starts[k] + int(np.argmin(closeness[starts[k] : starts[k + 1]])) for k in range(len(drafts))])
        chances = [handed_over_chance(scored.viral[starts[k] : starts[k + 1]], m.horizon_h[starts[k] : starts[k + 1]],
                                      int(refs[k] - starts[k]), d.t_i_h) for k, d in enumerate(drafts)]  # fmt: skip
        contrib = scored.contributions(refs) if explain else None
        summaries = [channel_summary(history, d) if known and history is not None else None for d in drafts]
        out = []
        for k, item in enumerate(inputs):
            out.append(
                DraftPrediction(
                    mode=task,
                    model_version=self.version,
                    horizons=[
                        HorizonPrediction(
                            float(m.horizon_h[r]),
                            float(views[r][0]),
                            float(views[r][1]),
                            float(views[r][2]),
                            back_tested=back_tested(
                                loaded.accuracy,
                                item.draft.channel_subscribers,
                                float(m.horizon_h[r]),
                                item.draft.t_i_h if item.draft.early_views else None,
                            ),
                        )
                        for r in range(starts[k], starts[k + 1])
                    ],
                    viral_probability=chances[k][0],
                    reference_horizon_h=chances[k][1],
                    inputs_used=sorted(
                        {f for f in item.given if f != "thumbnail" or _uses_thumbnail(loaded.model)}
                        | ({"channel_history"} if summaries[k] else set())
                    ),
                    inputs_missing=[f for f in INPUT_FIELDS if f not in item.given],
                    contributions=_top_contributions(loaded.model.features, contrib[k]) if contrib is not None else [],
                    channel_history=summaries[k],
                    draft=read_as(
                        item,
                        typical_subscribers=_typical_subscribers(loaded.model),
                        smallest_subscribers=None if smallest is None else float(np.round(np.expm1(smallest))),
                        thumbnail_used=_uses_thumbnail(loaded.model),
                    ),
                    accuracy=accuracy_statement(
                        loaded.accuracy,
                        item.draft.channel_subscribers,
                        _statement_horizon(m.horizon_h[starts[k] : starts[k + 1]]),
                        item.draft.t_i_h if item.draft.early_views else None,
                        float(m.horizon_h[starts[k] : starts[k + 1]].max()),
                    ),
                )
            )
        return out


# Plain words for what people see most in "what drove it"; every other feature falls back to its registry doc.
PLAIN_LABELS = {
    "title_embedding": "title wording", "thumbnail": "thumbnail", "age_h": "age at the horizon",
    "log_age_h": "age at the horizon", "log_subscribers": "channel size (subscribers)",
    "subscribers_staleness_d": "how old the subscriber count is", "duration_s": "video length",
    "log_duration_s": "video length", "is_short_60s": "at most 60 s", "is_short_180s": "at most 180 s",
    "category_id": "category", "channel_prior_uploads": "channel's earlier uploads",
    "channel_baseline_log_views": "channel's usual views at this age", "channel_baseline_count": "channel history size",
    "channel_prior_median_log_views": "channel's usual views", "publish_hour_utc": "posting hour (UTC)",
    "publish_hour_local": "posting hour (local)", "publish_weekday_utc": "posting weekday",
    "publish_weekday_local": "posting weekday (local)", "early_views": "views so far",
    "early_log_views": "views so far", "early_log_views_per_hour": "views per hour so far",
    "title_chars": "title length", "title_words": "title length (words)", "title_has_number": "number in the title",
    "title_has_question": "question in the title", "title_emoji_count": "emoji in the title",
    "title_caps_ratio": "capital letters in the title", "tags_count": "number of tags",
    "description_chars": "description length", "script": "title language/script",
}  # fmt: skip


@functools.lru_cache(maxsize=1)
def _feature_docs() -> dict[str, str]:
    from miles.features.registry import registered_groups

    docs = {f.name: f.doc for g in registered_groups().values() for f in g.features if f.doc}
    return {**docs, **PLAIN_LABELS}


def feature_label(name: str) -> str:
    """Plain words for a feature (its registry doc), for people reading "what drove it"."""
    return _feature_docs().get(name, name.replace("_", " "))


def _top_contributions(features: Sequence[str], contrib: FloatArray) -> list[tuple[str, float]]:
    grouped: dict[str, float] = {}
    for name, value in zip(features, contrib, strict=True):
        thumb = name in THUMB_COLUMNS or name in THUMB_PC_COLUMNS
        key = "title_embedding" if name in TITLE_COLUMNS else ("thumbnail" if thumb else name)
        grouped[key] = grouped.get(key, 0.0) + float(value)
    ranked = sorted(grouped.items(), key=lambda kv: -abs(kv[1]))
    return [(k, round(v, 4)) for k, v in ranked[:TOP_K] if v != 0.0]


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
    return Predictor.load(default_model_dir(settings, promoted_dir), settings=settings, embedding_cache=embedding_cache)
