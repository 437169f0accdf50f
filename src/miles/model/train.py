"""Train a LightGBM artifact from a snapshot frame: split, embed, fit, evaluate beside the baselines, save.

The frame comes from a file or from the store (``miles.jobs.train`` loads it); this module never touches
the database. Steps, all on the same honest split (``miles.features.splits``):

1. folds per video (forward in time per source, grouped by channel); the title PCA is fitted on the
   training fold's titles only and attached as ``title_pc_*`` columns;
2. ``build_dataset`` with the task's feature groups plus title embedding and thumbnail statistics;
3. the viral labeler, the GBDT and every baseline are fitted on ``train``; early stopping and probability
   calibration use ``val``; the headline metrics are computed on ``test`` (unseen channels, later dates)
   by the evaluation harness, model beside baselines on the same rows.

Selection bias (DESIGN.md §3.3 rule 7): rows are weighted so that every source (trending lists, keyword
search, ordinary recent uploads) carries the same total weight, so the ordinary uploads are not drowned by
the trending rows; age and channel size enter through monotone constraints (see ``miles.model.gbdt``).
The sampling-frame feature (``selection``) is off by default (``TrainConfig.selection``).

Early task: the centre starts from the Szabo-Huberman baseline fitted on the training fold (``offset_baseline``)
and minimises relative squared error of views (``early_objective``), the metric the task is judged by.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from miles.errors import InvalidInput
from miles.features.build import Dataset, build_dataset, fingerprint, prepare_snapshots
from miles.features.labels import ViralLabeler
from miles.features.registry import DEFAULT_GROUPS, registered_groups
from miles.features.schema import FEATURE_VERSION, Task, subscriber_bucket
from miles.features.splits import SplitSpec, assign_folds
from miles.model import metrics as m
from miles.model.artifact import Predictions, save_artifact, write_json
from miles.model.baselines import BASELINES, make_baseline
from miles.model.embed_features import (
    PREDICT_SELECTION,
    SELECTION_GROUP,
    THUMB_EMBED_GROUP,
    THUMB_EMBEDDING,
    THUMB_GROUP,
    TITLE_GROUP,
    TextEmbedder,
    TitleProjector,
    attach_thumbnail_components,
    fit_thumbnail_projector,
    selection_of,
    title_columns,
)
from miles.model.evaluate import EvalReport, evaluate_predictions
from miles.model.gbdt import (
    MONOTONE_UP,
    QUANTILES,
    FitData,
    GBDTConfig,
    GBDTModel,
    HeldOutForecasts,
    centre_correction,
    selected_frames,
    size_marked,
)
from miles.model.growth import GrowthCurve
from miles.model.level import OrdinaryLevel

Progress = Callable[[str, float], None]  # (step description, fraction done 0-1)
MIN_ROWS = 50
PACKAGES = ("miles", "lightgbm", "numpy", "pandas", "scikit-learn", "onnxruntime", "tokenizers")


@dataclass
class TrainConfig:
    task: Task = "prepublish"
    text_embedding: bool = True
    # Thumbnail statistics: off. In the development data only the jp keyword-search set has them, so
    # ``thumb_present`` and the statistics mark "a search-ranked, successful video": with them, a draft that
    # comes with a thumbnail was predicted ~3x the views of the same draft without one. Turn on once thumbnails
    # exist across sources (Miles' own tracking data).
    thumbnail: bool = False
    # Thumbnail image embedding (``thumb_pc_*``, PCA fitted on the training fold): needs a ``thumb_embedding`` column
    # (jobs.train.attach_thumbnail_embeddings). Off; the retrain tries it beside the statistics (jobs.retrain).
    thumbnail_embedding: bool = False
    # Condition on the sampling frame (trending / search / ordinary; drafts predicted as ordinary)? Off: without it
    # the per-source test errors are as good or better and the small-channel predictions barely move
    # (docs/evaluation.md), while it reveals the source to the model on mixed-source test rows.
    selection: bool = False
    groups: tuple[str, ...] | None = None  # None: the task's default groups (+ embedding/thumbnail if on)
    model_groups: tuple[str, ...] | None = None  # ablations: the model sees only these groups' features
    max_train_rows: int = 120_000  # the early task has ~200k pairs; a seeded subsample keeps training fast
    balance_sources: bool = True
    # early task: the centre learns the residual of this baseline (fitted on the training fold); None: plain
    offset_baseline: str | None = "pinto"
    early_objective: str = "relative"  # the early centre minimises relative squared error of views (its metric)
    # prepublish: the trees start from the ordinary-upload level (subscribers + age, ``miles.model.level``) plus
    # each training row's sampling-frame shift; predictions are for an ordinary upload (shift 0)
    anchor_level: bool = True
    field_dropout: float = 0.3  # share of training rows in which each optional field is blanked
    viral_from_forecast: bool = True  # P(viral) read from the views forecast (consistent with it), not a classifier
    leave_one_source_out: bool = True  # the second headline: train without each source, test on it
    # prepublish with the level: columns the trees never see because the level carries them (see fit_models)
    tree_exclude: tuple[str, ...] = ()
    # early: the trees that correct the baseline see only these groups' features (None: every feature). Title,
    # channel and posting-time effects learned in one source made the early centre worse than Pinto on a source it
    # never saw (the leave-one-source-out table); the trajectory itself carries across sources.
    early_tree_groups: tuple[str, ...] | None = ("horizon", "early")
    # prepublish with the level: weigh the trees' correction by how well it carries to a source they never saw
    cross_source_weight: bool = True
    gbdt: GBDTConfig = field(default_factory=GBDTConfig)
    split: SplitSpec = field(default_factory=SplitSpec)
    n_boot: int = 200
    seed: int = 7

    def feature_groups(self) -> list[str]:
        groups = list(self.groups or DEFAULT_GROUPS[self.task])
        if self.groups is None and self.text_embedding:
            groups.append(TITLE_GROUP)
        if self.groups is None and self.thumbnail:
            groups.append(THUMB_GROUP)
        if self.groups is None and self.thumbnail_embedding:
            groups.append(THUMB_EMBED_GROUP)
        if self.groups is None and self.selection:
            groups.append(SELECTION_GROUP)
        return groups


@dataclass
class TrainResult:
    directory: Path
    model: GBDTModel
    report: EvalReport
    data: Dataset
    folds: dict[str, np.ndarray]
    seconds: float
    metrics: dict[str, Any]


def _noop(_msg: str, _frac: float) -> None:
    return None


def video_folds(snaps: pd.DataFrame, spec: SplitSpec) -> tuple[SplitSpec, pd.DataFrame, dict[str, np.ndarray]]:
    """The split fitted on one row per video (the same cut dates ``build_dataset``'s meta would give)."""
    videos = snaps.drop_duplicates("video_id").reset_index(drop=True)
    videos["source"] = videos["source"].astype("string").fillna("unknown")
    fitted = spec.fit(videos)
    return fitted, videos, assign_folds(videos, fitted)


def attach_title_components(
    frame: pd.DataFrame, videos: pd.DataFrame, train_mask: np.ndarray, encoder: TextEmbedder
) -> tuple[pd.DataFrame, TitleProjector]:
    """Fit the title PCA on training-fold videos only; add ``title_pc_*`` columns to every row of ``frame``."""
    _, vectors = title_columns(videos["title"], encoder)
    projector = TitleProjector.fit(vectors[train_mask], encoder.encoder_id)
    comps = pd.DataFrame(projector.transform(vectors), index=videos["video_id"].to_numpy())
    comps.columns = [f"title_pc_{i}" for i in range(comps.shape[1])]
    out = frame.drop(columns=[c for c in comps.columns if c in frame.columns])
    return out.join(comps, on="video_id"), projector


def source_weights(meta: pd.DataFrame, balance: bool) -> np.ndarray:
    """Equal total weight per source (mean weight 1), or all ones."""
    if not balance:
        return np.ones(len(meta))
    counts = meta["source"].map(meta["source"].value_counts()).to_numpy(dtype=float)
    w: np.ndarray = 1.0 / counts
    return np.asarray(w * len(w) / w.sum(), dtype=float)


def _subsample(mask: np.ndarray, limit: int, seed: int) -> np.ndarray:
    idx = np.flatnonzero(mask)
    if len(idx) <= limit:
        return mask
    keep = np.random.default_rng(seed).choice(idx, size=limit, replace=False)
    out = np.zeros_like(mask)
    out[keep] = True
    return out


def _fit_data(data: Dataset, labeler: ViralLabeler, weights: np.ndarray | None, label_x: pd.DataFrame) -> FitData:
    log_views = data.y["log_views"].to_numpy(dtype=float)
    x = data.X if data.X.shape[1] == label_x.shape[1] else label_x[list(data.X.columns)]
    return FitData(x, log_views, labeler.label(label_x, log_views), weights)


LEVEL = OrdinaryLevel.kind
EARLY_REFERENCES = ("szabo_huberman", "pinto")
OFFSET_INPUTS: dict[str, tuple[str, ...]] = {
    "szabo_huberman": ("age_h", "early_log_views", "early_snapshot_age_h"),
    "pinto": ("age_h", "early_views", "early_inc_1", "early_inc_2", "early_inc_3", "early_snapshot_age_h"),
}


def offset_model(cfg: TrainConfig, baselines: dict[str, Any], features: list[str]) -> Any:
    """The fitted baseline the centre starts from: the ordinary level (prepublish), Szabo-Huberman (early)."""
    if cfg.task == "prepublish":
        level = baselines.get(LEVEL) if cfg.anchor_level else None
        return level if level is not None and {"age_h", "log_subscribers"} <= set(features) else None
    kind = cfg.offset_baseline
    if cfg.task != "early" or kind is None or kind not in baselines:
        return None
    if not set(OFFSET_INPUTS.get(kind, ())) <= set(features):
        return None
    return baselines[kind]


def thumbnail_pca(
    frame: pd.DataFrame, videos: pd.DataFrame, train_mask: np.ndarray, groups: list[str]
) -> tuple[pd.DataFrame, TitleProjector | None]:
    """With the thumbnail-embedding group: the PCA fitted on the training fold's images and the ``thumb_pc_*``
    columns attached (the raw vectors dropped). Without it: the frame without the raw vectors, no PCA."""
    if THUMB_EMBED_GROUP not in groups:
        return frame.drop(columns=[THUMB_EMBEDDING], errors="ignore"), None
    if THUMB_EMBEDDING not in videos.columns:
        raise InvalidInput("thumbnail embeddings are on but the frame has no thumb_embedding column")
    from miles.model.encoders import ImageEncoder

    projector = fit_thumbnail_projector(videos[THUMB_EMBEDDING], train_mask, ImageEncoder.encoder_id)
    return attach_thumbnail_components(frame, projector), projector


def prepare_data(
    frame: pd.DataFrame, cfg: TrainConfig, encoder: TextEmbedder | None, progress: Progress = _noop
) -> tuple[Dataset, dict[str, np.ndarray], SplitSpec, TitleProjector | None, TitleProjector | None]:
    """Folds, title and thumbnail components and the dataset, exactly as ``train`` uses them (with both PCAs)."""
    snaps = prepare_snapshots(frame)
    spec, videos, vfolds = video_folds(snaps, cfg.split)
    projector = None
    groups = cfg.feature_groups()
    if TITLE_GROUP in groups:
        if encoder is None:
            raise InvalidInput("title embeddings are on but no text encoder was given (or turn them off)")
        progress(f"embedding {videos['title'].nunique():,} distinct titles", 0.05)
        frame, projector = attach_title_components(frame, videos, vfolds["train"], encoder)
    frame, thumb_projector = thumbnail_pca(frame, videos, vfolds["train"], groups)
    progress(f"building {cfg.task} features", 0.3)
    data = build_dataset(cfg.task, frame, groups=groups)
    folds = assign_folds(data.meta, spec)
    return data, folds, spec, projector, thumb_projector


@dataclass
class Fitted:
    """What one fit produces: the model, the viral labeler and every baseline, all fitted on the same rows."""

    model: GBDTModel
    labeler: ViralLabeler
    baselines: dict[str, Any]
    weights: np.ndarray


# Optional inputs a creator may leave blank, and the feature columns each one fills (DESIGN.md §3.3 rule 9).
OPTIONAL_FIELDS: dict[str, tuple[str, ...]] = {
    "duration": ("duration_s", "log_duration_s", "is_short_60s", "is_short_180s"),
    "category": ("category_id",),
    "description": ("description_chars", "description_words", "description_hashtags"),
    "tags": ("tags_count",),
    "subscribers": ("log_subscribers", "subscribers_staleness_d"),
    "country": ("publish_hour_local", "publish_weekday_local", "publish_weekend_local"),
}


def drop_fields(x: pd.DataFrame, share: float, seed: int) -> pd.DataFrame:
    """Blank each optional field in a random ``share`` of rows of every source, so that a blank is seen everywhere."""
    if share <= 0:
        return x
    rng = np.random.default_rng(seed)
    out = x.copy()
    for columns in OPTIONAL_FIELDS.values():
        present = [c for c in columns if c in out.columns]
        if not present:
            continue
        blank = rng.random(len(out)) < share
        for col in present:
            out.loc[blank, col] = np.nan
    return out


def blank_values(offset: Any, features: list[str]) -> dict[str, float]:
    """The typical value a blank subscriber count stands for: the ordinary uploads' median channel, counted at
    publish. The trees then cannot tell a blank count (every trending row) from a typical one."""
    if not isinstance(offset, OrdinaryLevel) or "log_subscribers" not in features:
        return {}
    return {"log_subscribers": float(offset.state["typical_log_subscribers"]), "subscribers_staleness_d": 0.0}


def fill_blanks(x: pd.DataFrame, values: dict[str, float]) -> pd.DataFrame:
    present = {k: v for k, v in values.items() if k in x.columns}
    return x.fillna(present) if present else x


MIN_REFERENCE_ROWS = 200  # ordinary-upload training rows needed to define "viral" against them


def ordinary_rows(data: Dataset) -> np.ndarray:
    """Rows of ordinary uploads (not a trending list or a search ranking)."""
    out: np.ndarray = (selection_of(data.meta["source"]) == PREDICT_SELECTION).to_numpy()
    return out


def viral_labeler(train_set: Dataset, yardstick: Dataset | None = None) -> ViralLabeler:
    """ "Viral" is measured against ordinary uploads (the population a creator's video belongs to): the labeler's
    expectation and top-20 % threshold are fitted on the training fold's ordinary uploads, or on every training row
    when there are too few. A trending or search-ranked video - a hit by selection - is then viral by that yardstick,
    so the viral chance means the same thing in every source (DESIGN.md §3.3 rule 8).

    ``yardstick`` (the early task: :func:`yardstick_rows`) holds the prepublish rows to fit it on instead, so both
    tasks share one definition: fitted on the early rows' targets it lacked every video's first capture, held a
    day-old video to the views of a week-old one and gave a Short 100x above its usual views a 2 % chance."""
    base = yardstick if yardstick is not None else train_set
    ordinary = ordinary_rows(base)
    rows = base.take(ordinary) if ordinary.sum() >= MIN_REFERENCE_ROWS else base
    return ViralLabeler.fit(rows.X, rows.y["log_views"])


YARDSTICK_GROUPS = ("video", "channel", "horizon")  # what the yardstick reads: category, subscribers, age


def yardstick_rows(frame: pd.DataFrame, cfg: TrainConfig, spec: SplitSpec) -> Dataset | None:
    """For the early task, the prepublish rows of the training fold (every capture of each training video, as the
    prepublish model's labeler sees them); None for prepublish, which fits on its own rows."""
    if cfg.task != "early":
        return None
    rows = build_dataset("prepublish", frame, groups=YARDSTICK_GROUPS)
    return rows.take(assign_folds(rows.meta, spec)["train"])


def fit_models(
    train_set: Dataset,
    val_set: Dataset,
    cfg: TrainConfig,
    progress: Progress = _noop,
    yardstick: Dataset | None = None,
) -> Fitted:
    """Labeler, baselines and the GBDT on ``train_set``; early stopping and calibration on ``val_set``; the labeler on
    ``yardstick`` when given (rows of ``train_set``'s sources only)."""
    labeler = viral_labeler(train_set, yardstick)
    progress(f"fitting LightGBM on {len(train_set):,} rows (early stopping on {len(val_set):,})", 0.45)
    weights = source_weights(train_set.meta, cfg.balance_sources)
    labels_x = train_set.X
    if cfg.model_groups is not None:  # the labels still use the full table (age, category, channel size)
        groups = registered_groups()
        cols = [f for g in cfg.model_groups for f in groups[g].names]
        train_set = Dataset(train_set.task, train_set.X[cols], train_set.y, train_set.meta)
        val_set = Dataset(val_set.task, val_set.X[cols], val_set.y, val_set.meta)
    y_train = train_set.y.assign(viral=labeler.label(labels_x, train_set.y["log_views"]),
                                 source=train_set.meta["source"].to_numpy(),
                                 video_id=train_set.meta["video_id"].to_numpy(),  # the level's growth pairs
                                 group_id=train_set.meta["group_id"].to_numpy())  # fmt: skip
    kinds = [*BASELINES[cfg.task], *([LEVEL] if cfg.task == "prepublish" and cfg.anchor_level else [])]
    baselines = {k: make_baseline(k, cfg.task).fit(labels_x, y_train, labeler=labeler) for k in kinds}
    offset = offset_model(cfg, baselines, list(train_set.X.columns))
    gbdt_cfg = cfg.gbdt
    if offset is not None and cfg.task == "early" and cfg.early_objective != gbdt_cfg.centre_objective:
        gbdt_cfg = replace(gbdt_cfg, centre_objective=cfg.early_objective)
    blanks = blank_values(offset, list(train_set.X.columns))
    train_x = fill_blanks(drop_fields(train_set.X, cfg.field_dropout, cfg.seed), blanks)
    val_x = fill_blanks(val_set.X, blanks)
    fit_train = _fit_data(Dataset(train_set.task, train_x, train_set.y, train_set.meta), labeler, weights, labels_x)
    fit_val = _fit_data(Dataset(val_set.task, val_x, val_set.y, val_set.meta), labeler, None, val_set.X)
    if isinstance(offset, OrdinaryLevel):  # training rows start from their own sampling frame's level
        for part, data, x in ((fit_train, train_set, train_x), (fit_val, val_set, val_x)):
            part.offset = offset.predict_log_views(x) + offset.frame_shift(x, data.meta["source"])
    tree_features = _tree_features(list(train_x.columns), cfg, offset)
    weight, transfer = 1.0, dict[str, Any]()
    if isinstance(offset, OrdinaryLevel) and cfg.cross_source_weight:
        progress("choosing the trees' weight by cross-source validation", 0.5)
        sources = (train_set.meta["source"].to_numpy(dtype=str), val_set.meta["source"].to_numpy(dtype=str))
        weight, transfer = transfer_weight(fit_train, fit_val, sources, gbdt_cfg, tree_features)
    if weight == 0.0:  # what the words do does not carry across sources: they must not move the range either
        gbdt_cfg = replace(gbdt_cfg, interval_blind=(*gbdt_cfg.interval_blind, *words_features(list(train_x.columns))))
    if cfg.task == "early":  # the range's ends then move with the centre as the views rise (a p90 fell 6:100 -> 6:200)
        gbdt_cfg = replace(gbdt_cfg, interval_blind=(*gbdt_cfg.interval_blind, *EARLY_VIEW_LEVELS))
    model = GBDTModel.fit_folds(fit_train, fit_val, gbdt_cfg, task=cfg.task, offset_model=offset,
                                labeler=labeler if cfg.viral_from_forecast else None,
                                tree_features=tree_features, tree_weight=weight)  # fmt: skip
    model.transfer = transfer
    model.blank_values = blanks
    if cfg.task == "prepublish":  # the range of ordinary uploads (drafts) calibrated on theirs alone
        model.fit_ordinary_interval(size_marked(fit_val.x, val_set.X), fit_val.log_views, val_set.meta["source"])
    references = {k: baselines[k] for k in EARLY_REFERENCES if k in baselines}
    if cfg.task == "early" and references:  # never worse than S-H or Pinto, per t_i bucket, across sources
        sources = (train_set.meta["source"].to_numpy(dtype=str), val_set.meta["source"].to_numpy(dtype=str))
        centre = None
        if cfg.cross_source_weight:
            progress("checking the early model across sources", 0.55)
            centre = cross_source_centre(fit_train, fit_val, sources, gbdt_cfg, tree_features, cfg.seed)
        held_out = held_out_references(Dataset(train_set.task, labels_x, y_train, train_set.meta), list(references),
                                       labeler, cfg.seed)  # fmt: skip
        young = GrowthCurve("early")
        young.fit(labels_x, y_train, labeler=labeler)
        model.fit_blend(fit_val.x, fit_val.log_views, references, val_set.meta["source"], centre=centre,
                        fallback=held_out, young=young)  # fmt: skip
    return Fitted(model, labeler, baselines, weights)


# The early inputs that count views (not their age or growth ratios): the early interval boosters are blind to them,
# so the range's width depends on when the views were read, not how many (a quantile booster's offset from the centre
# could otherwise shrink as views rise: 6:100 had a 7-day p90 of 4,469, 6:200 one of 3,136)
EARLY_VIEW_LEVELS = ("early_views", "early_log_views", "early_log_views_per_hour", "early_inc_1", "early_inc_2",
                     "early_inc_3")  # fmt: skip


def words_features(columns: list[str]) -> list[str]:
    """The columns read from a draft's words (title, description, tags: counts and the title embedding's components).
    With the trees' weight 0 (their effect does not carry to a source they never saw) the interval boosters are
    blind to them too: the same draft under another title got a p90 2.6x higher with the same p50."""
    words = set(registered_groups()["text"].names)
    return [c for c in columns if c in words or c.startswith("title_pc_")]


def held_out_references(data: Dataset, kinds: list[str], labeler: ViralLabeler, seed: int) -> HeldOutForecasts:
    """Each reference's forecast for every training row from a fit on the other half of the channels (2-fold)."""
    groups = data.meta["group_id"].to_numpy()
    channels = np.unique(groups)
    first = np.isin(groups, np.random.default_rng(seed).permutation(channels)[: len(channels) // 2])
    forecasts = {k: np.zeros(len(data)) for k in kinds}
    for part in (first, ~first):
        for kind in kinds:
            fitted = make_baseline(kind, data.task).fit(data.X.loc[~part], data.y.loc[~part], labeler=labeler)
            forecasts[kind][part] = fitted.predict_log_views(data.X.loc[part])
    return HeldOutForecasts(data.X["early_t_i_h"].to_numpy(dtype=float), data.y["log_views"].to_numpy(dtype=float),
                            forecasts)  # fmt: skip


def _tree_features(columns: list[str], cfg: TrainConfig, offset: Any) -> list[str]:
    if cfg.task == "early" and cfg.early_tree_groups is not None:
        wanted = {f for g in cfg.early_tree_groups for f in registered_groups()[g].names}
        return [c for c in columns if c in wanted]
    return [c for c in columns if not (isinstance(offset, OrdinaryLevel) and c in cfg.tree_exclude)]


TRANSFER_WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)
TRANSFER_TIE = 0.005  # a larger weight must raise the mean Spearman by more than this


def transfer_weight(
    train: FitData, val: FitData, sources: tuple[np.ndarray, np.ndarray], cfg: GBDTConfig, features: list[str]
) -> tuple[float, dict[str, Any]]:
    """The share of the trees' correction that carries to a source they never saw (DESIGN.md §3.3 rule 8).

    For each training source with enough validation rows, the centre is refitted on the other sources' training
    rows (early stopping on their validation rows) and scored on that source's validation rows: the Spearman of
    ``offset + w * trees`` for each weight ``w``. The weight with the best mean over those sources is kept (a larger
    one only when it is better by more than TRANSFER_TIE). With fewer than two such sources: 1.0. Users' videos come
    from none of the development sources, so this - not the in-source fit - decides how much the trees count.
    """
    src_train, src_val = sources
    table: dict[str, list[float]] = {}
    for source in sorted(set(src_train)):
        fit_rows, stop_rows, score_rows = src_train != source, src_val != source, src_val == source
        if min(fit_rows.sum(), stop_rows.sum(), score_rows.sum()) < MIN_ROWS:
            continue
        part = [_rows(d, r) for d, r in ((train, fit_rows), (val, stop_rows), (val, score_rows))]
        trees = centre_correction(cfg, features, part[0], part[1], part[2].x)
        base = part[2].offset if part[2].offset is not None else np.zeros(len(trees))
        table[source] = [m.spearman(part[2].log_views, base + w * trees) for w in TRANSFER_WEIGHTS]
    if len(table) < 2:
        return 1.0, {"weights": list(TRANSFER_WEIGHTS), "spearman_by_held_out_source": table, "chosen": 1.0}
    mean = np.nan_to_num(np.nanmean(np.array(list(table.values())), axis=0), nan=-1.0)
    chosen = 0
    for k in range(1, len(TRANSFER_WEIGHTS)):
        if mean[k] > mean[chosen] + TRANSFER_TIE:
            chosen = k
    weight = TRANSFER_WEIGHTS[chosen]
    return weight, {"weights": list(TRANSFER_WEIGHTS), "spearman_by_held_out_source": table, "chosen": weight}


CROSS_SOURCE_ROWS = 40_000  # training rows of each cross-source refit (a seeded subsample keeps it fast)


def _rows(data: FitData, rows: np.ndarray) -> FitData:
    return FitData(data.x.loc[rows].reset_index(drop=True), data.log_views[rows], data.viral[rows],
                   None if data.weight is None else data.weight[rows],
                   None if data.offset is None else data.offset[rows])  # fmt: skip


def cross_source_centre(
    train: FitData,
    val: FitData,
    sources: tuple[np.ndarray, np.ndarray],
    cfg: GBDTConfig,
    features: list[str],
    seed: int,
) -> np.ndarray | None:
    """The early centre's forecast for each validation row from a centre fitted *without that row's source* (early
    stopping on the other sources' validation rows): what ``fit_blend`` judges the model by, so the model keeps weight
    in a t_i bucket only where its gain carries to a source it never saw (DESIGN.md §3.3 rules 8 and 10). Rows of a
    source that cannot be held out keep the offset alone (the reference), which gives the model no credit there.
    None with fewer than two sources."""
    src_train, src_val = sources
    if len(set(src_train)) < 2 or val.offset is None:
        return None
    out = np.asarray(val.offset, dtype=float).copy()
    for source in sorted(set(src_val)):
        fit_rows = _subsample(src_train != source, CROSS_SOURCE_ROWS, seed)
        stop_rows, score_rows = src_val != source, src_val == source
        if min(fit_rows.sum(), stop_rows.sum()) < MIN_ROWS:
            continue
        out[score_rows] += centre_correction(cfg, features, _rows(train, fit_rows), _rows(val, stop_rows),
                                             val.x.loc[score_rows])  # fmt: skip
    return out


def train(
    frame: pd.DataFrame,
    cfg: TrainConfig,
    out: Path,
    *,
    encoder: TextEmbedder | None = None,
    progress: Progress = _noop,
) -> TrainResult:
    """Train, evaluate and save one artifact directory for ``cfg.task``."""
    started = time.perf_counter()
    data, folds, spec, projector, thumb_projector = prepare_data(frame, cfg, encoder, progress)
    fit_mask = _subsample(folds["train"], cfg.max_train_rows, cfg.seed)
    train_set, val_set, test_set = (data.take(fit_mask), data.take(folds["val"]), data.take(folds["test"]))
    for name, part in (("training", train_set), ("validation", val_set), ("test", test_set)):
        if len(part) < MIN_ROWS:
            raise InvalidInput(f"only {len(part)} {name} rows after the split; need at least {MIN_ROWS} (more data?)")
    yardstick = yardstick_rows(frame, cfg, spec)
    fitted = fit_models(train_set, val_set, cfg, progress, yardstick)
    model, labeler, baselines = fitted.model, fitted.labeler, fitted.baselines
    model.projector = projector
    model.thumb_projector = thumb_projector
    progress(f"evaluating on {len(test_set):,} test rows", 0.7)
    report, extra_metrics = evaluate(model, baselines, labeler, test_set, data.take(folds["warm_test"]), cfg)
    unseen = data.take(folds["val"] | folds["test"])
    served = served_quantiles(model, unseen)
    extra_metrics["accuracy_by_band"] = accuracy_by_band(unseen, served[:, served.shape[1] // 2])
    extra_metrics["tree_transfer"] = model.transfer
    if cfg.leave_one_source_out:
        extra_metrics["leave_one_source_out"] = leave_one_source_out(data, folds, cfg, progress, yardstick)
    training = training_summary(train_set, folds, labeler, fitted.weights)
    seconds = time.perf_counter() - started
    manifest_extra = {
        "encoders": {
            "text": projector.encoder_id if projector else None,
            "image_stats": "miles.model.images",
            "image": thumb_projector.encoder_id if thumb_projector else None,
        },
        "groups": cfg.feature_groups(),
        "train_config": {**asdict(cfg), "split": spec.to_json()},
        "packages": package_versions(),
        "train_seconds": round(seconds, 1),
        "importance": dict(sorted(model.importance().items(), key=lambda kv: -kv[1])[:20]),
    }
    save_artifact(out, model=model, labeler=labeler, features=list(data.X.columns), split=spec,
                  baselines=baselines, training=training, extra=manifest_extra)  # fmt: skip
    metrics = {"headline": report.as_dict(), **extra_metrics, "feature_version": FEATURE_VERSION}
    write_json(out / "metrics.json", metrics)
    progress("done", 1.0)
    return TrainResult(out, model, report, data, folds, seconds, metrics)


def leave_one_source_out(
    data: Dataset,
    folds: dict[str, np.ndarray],
    cfg: TrainConfig,
    progress: Progress = _noop,
    yardstick: Dataset | None = None,
) -> dict[str, Any]:
    """For each source: fit on the other sources' training fold, test on this source's test fold (DESIGN §3.3 r. 8).

    The test rows are the same as the in-source headline's rows of that source (unseen channels, later dates), so
    the two tables compare directly; the baselines are fitted on the same training rows as the model.
    """
    sources = data.meta["source"].to_numpy(dtype=str)
    out: dict[str, Any] = {}
    names = sorted(set(sources))
    for k, source in enumerate(names):
        others = sources != source
        train_mask = _subsample(folds["train"] & others, cfg.max_train_rows, cfg.seed)
        test = data.take(folds["test"] & ~others)
        train_set, val_set = data.take(train_mask), data.take(folds["val"] & others)
        if min(len(train_set), len(val_set), len(test)) < MIN_ROWS:
            out[source] = {"skipped": f"too few rows (train {len(train_set)}, val {len(val_set)}, test {len(test)})"}
            continue
        progress(f"leave-one-source-out: {source} ({k + 1}/{len(names)})", 0.75 + 0.2 * k / len(names))
        others_yardstick = None if yardstick is None else yardstick.take(yardstick.meta["source"].to_numpy() != source)
        fitted = fit_models(train_set, val_set, cfg, yardstick=others_yardstick)
        report, extra = evaluate(fitted.model, fitted.baselines, fitted.labeler, test, test.take(np.zeros(len(test))),
                                 cfg)  # fmt: skip
        out[source] = {
            "trained_on": [s for s in names if s != source],
            "tree_weight": fitted.model.tree_weight,
            "coverage_p10_p90": extra["interval_coverage_p10_p90"],
            **report.as_dict(),
        }
    return out


def evaluate(
    model: GBDTModel,
    baselines: dict[str, Any],
    labeler: ViralLabeler,
    test: Dataset,
    warm: Dataset,
    cfg: TrainConfig,
) -> tuple[EvalReport, dict[str, Any]]:
    """Headline report (test fold) plus warm-channel and per-source figures and interval coverage."""

    def preds(data: Dataset) -> dict[str, Predictions]:
        out = {"model (lightgbm)": model.predict(data.X, data.meta["source"])}
        out.update({k: b.predict(data.X) for k, b in baselines.items()})
        return out

    def run(data: Dataset, fold: str, predictions: dict[str, Predictions] | None = None) -> EvalReport:
        y = data.y["log_views"].to_numpy(dtype=float)
        viral = labeler.label(data.X, y)
        return evaluate_predictions(task=cfg.task, fold=fold, meta=data.meta, log_views=y, viral=viral,
                                    predictions=predictions or preds(data), n_boot=cfg.n_boot)  # fmt: skip

    test_preds = preds(test)  # the headline's and the viral-on-ordinary table's (predicted once)
    report = run(test, "test", test_preds)
    extra: dict[str, Any] = {"warm_test": run(warm, "warm_test").as_dict() if len(warm) >= MIN_ROWS else None}
    q = served_quantiles(model, test)
    y = test.y["log_views"].to_numpy(dtype=float)
    inside = (y >= q[:, 0]) & (y <= q[:, -1])
    extra["interval_coverage_p10_p90"] = float(np.mean(inside))
    extra["interval_scale"] = list(model.interval_scale)
    for name in ("ordinary_interval_scale", "unknown_size_scale"):  # (low, high), when calibrated
        if (scale := getattr(model, name)) is not None:
            extra[name] = list(scale)
    for name in ("age_interval_scale", "ordinary_size_scale"):  # (where, low, high) points, when calibrated
        if (points := getattr(model, name)) is not None:
            extra[name] = [list(point) for point in points]
    per_source: dict[str, dict[str, Any]] = {}
    for source in sorted(test.meta["source"].unique()):
        sel = (test.meta["source"] == source).to_numpy()
        entry: dict[str, Any] = {"rows": int(sel.sum()), "coverage_p10_p90": float(np.mean(inside[sel]))}
        for name, p in preds(test.take(sel)).items():
            entry[name] = {"mae_log10": m.mae_log10(y[sel], p.log_views), "spearman": m.spearman(y[sel], p.log_views)}
        per_source[str(source)] = entry
    extra["test_by_source"] = per_source
    extra["viral_on_ordinary"] = viral_on_ordinary(test, labeler, test_preds)
    return report, extra


def served_quantiles(model: GBDTModel, data: Dataset) -> np.ndarray:
    """The quantiles (log1p views) served for ``data``'s rows, in their sampling frames."""
    sources = data.meta["source"]
    q: np.ndarray = model.score(model.inputs(data.X), data.X, model.frame_shift(data.X, sources),
                                selected_frames(sources))[0]  # fmt: skip
    return q


ACCURACY_SHARE = 0.8  # "within xK of the outcome for 8 of 10 videos"
ACCURACY_MIN_ROWS = 30
ACCURACY_HORIZONS: tuple[tuple[str, float, float], ...] = (
    ("first 6 hours", 0.0, 6.0), ("first 2 days", 6.0, 48.0), ("first 2 weeks", 48.0, 336.0), ("later", 336.0, 1e9),
)  # fmt: skip


def viral_on_ordinary(test: Dataset, labeler: ViralLabeler, predictions: dict[str, Predictions]) -> dict[str, Any]:
    """The viral chance where its definition lives: on the test fold's ordinary uploads. Over the whole fold most
    rows are trending or search videos, hits by selection and 'viral' by an ordinary upload's yardstick (a viral
    rate near 0.9), so AUROC there mostly tells a trending video from an ordinary one."""
    ordinary = ordinary_rows(test)
    out: dict[str, Any] = {"rows": int(ordinary.sum())}
    if ordinary.sum() < MIN_ROWS:
        return out
    y = test.y["log_views"].to_numpy(dtype=float)[ordinary]
    viral = labeler.label(test.X.loc[ordinary], y)
    out["viral_rate"] = float(np.mean(viral))
    for name, pred in predictions.items():
        if pred.p_viral is not None and 0 < viral.sum() < len(viral):
            p = pred.p_viral[ordinary]
            out[name] = {"auroc": m.auroc(viral, p), "pr_auc": m.pr_auc(viral, p), "ece": m.ece(viral, p)}
    return out


READING_AGES: tuple[tuple[str, float, float], ...] = (
    ("within 6 hours of publishing", 0.0, 6.0), ("6 to 48 hours after publishing", 6.0, 48.0),
    ("2 to 7 days after publishing", 48.0, 168.0), ("a week or more after publishing", 168.0, 1e9),
)  # fmt: skip


def accuracy_by_band(test: Dataset, log_views_pred: np.ndarray) -> list[dict[str, Any]]:
    """How far off the forecast was for the *ordinary uploads* of ``test`` (the validation and test folds: channels
    never trained on, later dates), per channel-size band and age: the factor K such that 8 of 10 forecasts were
    within xK of the outcome. Both folds, because the test fold alone held 17 videos of 1k-10k channels in their
    first two weeks (x5.8) while the range beside the sentence was calibrated on the validation fold's (x13 there):
    the page said one thing and showed another (item 23). Drafts are ordinary uploads,
    so this is the accuracy statement a forecast carries (``miles.model.predict.accuracy_statement``). An early
    forecast's error depends on how young its views were read (x1.3 a week on, far more within hours), so the early
    table is per reading age instead (``early_accuracy``)."""
    ordinary = ordinary_rows(test)
    err = np.abs(test.y["log_views"].to_numpy(dtype=float) - log_views_pred) / np.log(10.0)
    if "early_t_i_h" in test.X:
        return early_accuracy(test, ordinary, err)
    bands = subscriber_bucket(test.X["log_subscribers"].to_numpy(dtype=float))
    age = test.meta["age_h"].to_numpy(dtype=float)
    rows = []
    for band in np.unique(bands):
        for label, lo, hi in ACCURACY_HORIZONS:
            sel = ordinary & (bands == band) & (age >= lo) & (age < hi)
            if sel.sum() >= ACCURACY_MIN_ROWS:
                factor = float(10 ** np.quantile(err[sel], ACCURACY_SHARE))
                rows.append({"band": int(band), "ages": label, "min_age_h": lo, "max_age_h": hi,
                             "videos": int(test.meta.loc[sel, "video_id"].nunique()), "rows": int(sel.sum()),
                             "within_factor": round(factor, 2)})  # fmt: skip
    return rows


def early_accuracy(test: Dataset, ordinary: np.ndarray, err: np.ndarray) -> list[dict[str, Any]]:
    """``accuracy_by_band`` of the early task: per age at which the views were read (READING_AGES)."""
    read = test.X["early_t_i_h"].to_numpy(dtype=float)
    rows = []
    for label, lo, hi in READING_AGES:
        sel = ordinary & (read >= lo) & (read < hi)
        if sel.sum() >= ACCURACY_MIN_ROWS:
            rows.append({"read": label, "min_t_i_h": lo, "max_t_i_h": hi, "rows": int(sel.sum()),
                         "videos": int(test.meta.loc[sel, "video_id"].nunique()),
                         "within_factor": round(float(10 ** np.quantile(err[sel], ACCURACY_SHARE)), 2)})  # fmt: skip
    return rows


def training_summary(
    train: Dataset, folds: dict[str, np.ndarray], labeler: ViralLabeler, weights: np.ndarray
) -> dict[str, Any]:
    return {
        "rows": len(train),
        "videos": int(train.meta["video_id"].nunique()),
        "groups": int(train.meta["group_id"].nunique()),
        "sources": {
            str(src): {
                "rows": len(part),
                "weight_share": round(float(weights[part.index].sum() / weights.sum()), 4),
                "first_publish": str(part["published_at"].min()),
                "last_publish": str(part["published_at"].max()),
            }
            for src, part in train.meta.groupby("source")
        },
        "fingerprint": fingerprint(train.meta),
        "fold_rows": {name: int(mask.sum()) for name, mask in folds.items()},
        "viral_threshold": labeler.threshold,
    }


def config_from_manifest(manifest: dict[str, Any]) -> TrainConfig:
    """The ``TrainConfig`` an artifact was trained with (``manifest.extra.train_config``)."""
    raw = dict((manifest.get("extra") or {}).get("train_config") or {})
    if not raw:
        raise InvalidInput("this artifact records no training configuration; retrain it with `miles train`")
    known = {f.name for f in fields(TrainConfig)}
    gbdt = raw.pop("gbdt", {}) or {}
    gbdt = {**gbdt, "quantiles": tuple(gbdt.get("quantiles", QUANTILES)),
            "monotone_up": tuple(gbdt.get("monotone_up", MONOTONE_UP)),
            "interval_blind": tuple(gbdt.get("interval_blind", ()))}  # fmt: skip
    split = SplitSpec.from_json(raw.pop("split")) if raw.get("split") else SplitSpec()
    tuples = {
        k: tuple(v)
        for k in ("groups", "model_groups", "early_tree_groups", "tree_exclude")
        if (v := raw.get(k)) is not None
    }
    kept = {k: v for k, v in raw.items() if k in known and k not in ("gbdt", "split")}
    kept.setdefault("early_tree_groups", None)  # recorded since it existed; before, the early trees saw every feature
    return TrainConfig(**{**kept, **tuples, "gbdt": GBDTConfig(**gbdt), "split": split})


def package_versions(names: Sequence[str] = PACKAGES) -> dict[str, str]:
    out = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out
