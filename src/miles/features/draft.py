"""Feature rows for drafts - videos not (yet) in the database - with the same feature rules as training.

The predictor and the API call :func:`draft_matrix` (numpy) or :func:`draft_features` (a frame) at serving
time; each draft gets one row per horizon. Rules that make a draft look like a stored video:

- a draft's own early views (age in hours, views) are its snapshots; the early task's ``as_of`` is the latest
  one and only horizons at least ``MIN_GAP_H`` after it are asked about (as in training's example pairs);
- its subscriber count is an observation of its channel at its publish time (the channel rule's "count at
  publish", offset 0) - also in the early task, where the creator typically reads it after publishing;
- drafts in one call are alternatives, not each other's history: each is computed as if it were the only one;
- ``channel_history`` (the channel's stored snapshots, interchange format) gives the channel-record features;
- ``extra`` holds one row per draft of columns that training attaches to the snapshot frame before building
  features (title-embedding components, thumbnail statistics, ...); a registered group whose feature names
  are all ``extra`` columns takes them as its values.

Two paths compute the same numbers. The *reference* path builds the examples/snapshots frames and runs
:func:`~miles.features.build.build_features` through the guarded ``FeatureContext``: it is training's code
and always applies. The *per-row* path (:mod:`miles.features.matrix`) computes each group for drafts without
channel history with the group's ``per_row`` form, which sits beside its vectorised form in the group's module -
about 0.2 ms per draft instead of ~100 ms per call - and is used whenever every requested group has one (or
comes from ``extra``); ``tests/features/test_draft_parity.py`` checks that both paths give identical matrices.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeAlias

import numpy as np
import pandas as pd

from miles.domain import as_utc, checked_publish_time, utcnow
from miles.errors import InvalidInput
from miles.features.build import MIN_GAP_H, build_features, group_ids, prepare_snapshots, subscriber_observations
from miles.features.matrix import per_row_values
from miles.features.registry import resolve_groups
from miles.features.schema import DraftRows, Feature, Task
from miles.inputs import (
    MAX_VIEWS,
    YOUTUBE_TITLE_CHARS,
    InputError,
    Typed,
    format_age,
    parse_age_h,
    parse_category,
    parse_count,
    parse_duration,
    parse_publish_time,
    parse_subscribers,
    parse_title,
)

log = logging.getLogger(__name__)
DEFAULT_HORIZONS_H: tuple[float, ...] = (1.0, 6.0, 24.0, 168.0, 720.0)
Extra: TypeAlias = pd.DataFrame | Mapping[str, Any]  # one value per draft for each column (a frame, or arrays by name)
US_PER_H = 3_600_000_000


@dataclass
class Draft:
    title: str
    publish_at: datetime
    description: str | None = None
    tags: list[str] = field(default_factory=list)
    duration_s: float | None = None
    category_id: int | None = None
    channel_subscribers: float | None = None
    country: str | None = None
    channel_id: str | None = None
    early_views: list[tuple[float, float]] = field(default_factory=list)  # (age in hours, views)

    @property
    def t_i_h(self) -> float:
        """Age of the latest early view (0 without any), on the microsecond grid snapshots use."""
        return max((quantise_age(a) for a, _ in self.early_views), default=0.0)

    @property
    def last_views(self) -> float:
        return float(max(self.early_views)[1]) if self.early_views else 0.0


INPUT_FIELDS = ("title", "description", "tags", "duration_s", "category_id", "publish_at", "channel_subscribers",
                "thumbnail", "early_views")  # fmt: skip
"""What a creator can give for a draft; a prediction lists which of them it used and which were missing."""
MAPPING_FIELDS = frozenset({*INPUT_FIELDS, "channel_id", "country"})
MAX_EARLY_VIEWS = 50  # a stored video's latest snapshots read as its early views


@dataclass
class DraftInput:
    """One draft as every surface hands it to the predictor: the typed :class:`Draft`, its thumbnail (image bytes
    or a PIL image; never read by feature code) and whether the publish time was given or defaulted to now.

    Each surface has one converter to it (the API's ``DraftIn``, a stored video, an idea, the CLI's options,
    :meth:`from_mapping` for plain dicts); there are no aliased keys and no separate mode (early views decide it).
    """

    draft: Draft
    thumbnail: Any = None
    publish_given: bool = True
    notes: dict[str, str] = field(default_factory=dict)  # where a value the creator left blank came from
    remarks: dict[str, str] = field(default_factory=dict)  # how a value the creator gave was read (status given)

    @property
    def given(self) -> set[str]:
        """The inputs with a value, from :data:`INPUT_FIELDS`."""
        d = self.draft
        values = {
            "title": d.title,
            "description": d.description,
            "tags": d.tags,
            "duration_s": d.duration_s,
            "category_id": d.category_id,
            "publish_at": d.publish_at if self.publish_given else None,
            "channel_subscribers": d.channel_subscribers,
            "thumbnail": self.thumbnail,
            "early_views": d.early_views,
        }
        return {f for f in INPUT_FIELDS if values[f] is not None and values[f] != [] and values[f] != ""}

    @classmethod
    def from_mapping(cls, row: Mapping[str, Any], index: int | None = 0, *, now: datetime | None = None) -> DraftInput:
        """A plain mapping with the keys of :data:`MAPPING_FIELDS` (see :func:`parse_draft`); any other key is an
        error naming it, so a misspelt field is never silently ignored."""
        unknown = sorted(str(k) for k in row if k not in MAPPING_FIELDS)
        if unknown:
            known = ", ".join(sorted(MAPPING_FIELDS))
            raise InvalidInput(f"{_at(index)}unknown field(s) {', '.join(unknown)}; a draft takes {known}")
        thumb = row.get("thumbnail")
        if thumb is not None and not isinstance(thumb, bytes | bytearray) and not hasattr(thumb, "getbbox"):
            raise InvalidInput(f"{_at(index)}thumbnail must be image bytes or a PIL image")
        return cls(parse_draft(row, index, now=now), bytes(thumb) if isinstance(thumb, bytearray) else thumb,
                   publish_given=row.get("publish_at") not in (None, ""))  # fmt: skip

    @classmethod
    def from_stored(cls, video: StoredVideo, snapshots: Sequence[StoredSnapshot]) -> DraftInput:
        """A stored video as the predictor reads it: its metadata, its subscriber count from its latest snapshot,
        and its snapshots after publishing as early views (the last :data:`MAX_EARLY_VIEWS`)."""
        published = as_utc(video.published_at)
        early = [((as_utc(s.captured_at) - published).total_seconds() / 3600.0, float(s.views)) for s in snapshots]
        early = sorted(dict((quantise_age(a), (a, v)) for a, v in early if a > 0).values())[-MAX_EARLY_VIEWS:]
        subscribers = next((s.channel_subscribers for s in reversed(snapshots) if s.channel_subscribers is not None),
                           None)  # fmt: skip
        draft = Draft(
            title=video.title,
            publish_at=published,
            description=video.description or None,
            tags=[str(t) for t in video.tags or [] if t],
            duration_s=video.duration_s,
            category_id=video.category_id,
            channel_id=video.channel_id,
            channel_subscribers=float(subscribers) if subscribers is not None else None,
            country=video.country,
            early_views=early,
        )
        return cls(draft)


# Readings closer than this to a later one are not read (``spaced_readings``): no ordinary upload in the training
# data was read twice within 23 minutes, and the early references weigh each interval by its place among the
# latest ones, so 100 views in the last minute took the weight of hours (9,000 views at 25 h then 9,500 sixty
# milliseconds later: the 30-day forecast fell from 21,837 to 13,855).
MIN_READING_GAP_H = 0.25


Readings: TypeAlias = list[tuple[float, float]]  # (age in hours, views)


def spaced_readings(early_views: Sequence[tuple[float, float]]) -> tuple[Readings, Readings]:
    """(readings kept, readings left out): the latest reading, and each earlier one at least MIN_READING_GAP_H
    before the next one kept."""
    kept: Readings = []
    dropped: Readings = []
    for age, views in sorted(early_views, reverse=True):
        if kept and kept[-1][0] - age < MIN_READING_GAP_H:
            dropped.append((age, views))
        else:
            kept.append((age, views))
    return kept[::-1], dropped[::-1]


def with_spaced_readings(item: DraftInput) -> DraftInput:
    """``item`` with only ``spaced_readings``' kept early views, and a remark naming the ones left out."""
    kept, dropped = spaced_readings(item.draft.early_views)
    if not dropped:
        return item
    named = ", ".join(f"{v:,.0f} at {format_age(a)}" for a, v in dropped)
    remark = (f"{len(dropped)} reading{'s' if len(dropped) > 1 else ''} less than {MIN_READING_GAP_H * 60:.0f} min "
              f"before a later one not read ({named}): the model reads readings at least that far apart")  # fmt: skip
    return replace(item, draft=replace(item.draft, early_views=kept), remarks={**item.remarks, "early_views": remark})


GIVEN, DEFAULTED, STORED = "given", "defaulted", "stored"  # stored: left blank, read from Miles' store
DRAFT_CHANNEL = "draft-channel-"  # the predictor's id for a draft's own, unknown channel (never echoed)


def read_as(
    item: DraftInput,
    *,
    typical_subscribers: float | None = None,
    smallest_subscribers: float | None = None,
    thumbnail_used: bool = True,
) -> dict[str, dict[str, Any]]:
    """Each input of a draft as the forecast read it: ``{"value", "status": "given" | "defaulted" | "stored",
    "note"}``, so a creator sees "12k" read as 12,000 and what stood in for each blank (publish time now, a typical
    channel, ...; "stored": the blank was filled from a stored record, such as the channel's latest subscriber count).

    ``typical_subscribers``: the count the model reads a blank subscriber count as (its training median);
    ``smallest_subscribers``: the count a smaller one is read as (the smallest channel in its data);
    ``thumbnail_used``: False when the model reads no thumbnail feature (a given thumbnail says so, or comparing two
    would look like a tie the model measured).
    """
    d, given = item.draft, item.given
    when = as_utc(d.publish_at).isoformat(timespec="seconds")
    subs = d.channel_subscribers
    blanks: dict[str, tuple[Any, str]] = {
        "description": (None, "none"),
        "tags": ([], "none"),
        "duration_s": (None, "not given: the forecast goes without it"),
        "category_id": (None, "not given: the forecast goes without it"),
        "publish_at": (
            (when, f"not given: the latest early view ({d.t_i_h:g} h) is taken as counted now")
            if d.early_views
            else (when, "not given: now")
        ),
        "channel_subscribers": (
            (
                round(typical_subscribers),
                f"not given: the middle-sized channel of Miles' data ({typical_subscribers:,.0f} subscribers; most "
                "channels are far smaller)",
            )
            if typical_subscribers is not None
            else (None, "not given: the forecast goes without it")
        ),
        "thumbnail": (None, "none"),
        "early_views": ([], "none: a forecast before publishing"),
    }
    values: dict[str, Any] = {
        "title": d.title,
        "description": d.description,
        "tags": list(d.tags),
        "duration_s": d.duration_s,
        "category_id": d.category_id,
        "publish_at": when,
        "channel_subscribers": None if subs is None else round(subs),
        "thumbnail": "image" if item.thumbnail is not None else None,
        "early_views": [{"age_h": a, "views": round(v)} for a, v in d.early_views],
    }
    out: dict[str, dict[str, Any]] = {}
    for name in INPUT_FIELDS:
        if name in item.notes:  # filled in from a stored record, not typed
            out[name] = {"value": values[name], "status": STORED, "note": item.notes[name]}
        elif name in given:
            out[name] = {"value": values[name], "status": GIVEN, "note": item.remarks.get(name)}
        else:
            value, note = blanks[name]
            out[name] = {"value": value, "status": DEFAULTED, "note": note}
    small = out["channel_subscribers"]
    if smallest_subscribers is not None and small["value"] is not None and small["value"] < smallest_subscribers:
        small["note"] = f"read as {smallest_subscribers:,.0f}: the smallest channel the model has data for"
    if len(d.title) > YOUTUBE_TITLE_CHARS:  # scored as typed, but the creator could not post it
        out["title"]["note"] = (f"{len(d.title)} characters: YouTube takes at most {YOUTUBE_TITLE_CHARS}, so this "
                                "title cannot be posted as typed")  # fmt: skip
    if "thumbnail" in given and not thumbnail_used:
        out["thumbnail"]["note"] = "given, but this model does not use thumbnails yet: it moves no number"
    if d.channel_id and not d.channel_id.startswith(DRAFT_CHANNEL):
        out["channel_id"] = {"value": d.channel_id, "status": GIVEN, "note": None}
    return out


class StoredVideo(Protocol):
    """What :meth:`DraftInput.from_stored` reads of a stored video (``store.tables.Video``)."""

    title: str
    published_at: datetime
    description: str | None
    tags: Any
    duration_s: float | None
    category_id: int | None
    channel_id: str | None
    country: str | None


class StoredSnapshot(Protocol):
    captured_at: datetime
    views: int
    channel_subscribers: int | None


def quantise_age(age_h: float) -> float:
    """An age in hours on the whole-microsecond grid of stored timestamps, as a snapshot's age is computed.

    Rounding here keeps a draft's early view exactly where its timestamp lands, so ``as_of`` (the latest view)
    never falls a fraction of a microsecond before that view's capture.
    """
    return (round(age_h * US_PER_H) / 1e6) / 3600.0


def age_delta(age_h: float) -> pd.Timedelta:
    """The time since publish of an age in hours, in whole microseconds (``pd.Timedelta(hours=...)`` truncates)."""
    return pd.Timedelta(round(age_h * US_PER_H), unit="us")


# --- parsing user input ------------------------------------------------------------------------------------


def _views(value: Typed, field: str) -> int | None:
    return parse_count(value, field, maximum=MAX_VIEWS)


READERS: dict[str, Callable[[Typed, str], float | None]] = {
    "duration_s": parse_duration,
    "channel_subscribers": parse_subscribers,
    "views": _views,
    "age_h": parse_age_h,
    "category_id": parse_category,
}
"""The fields read by :mod:`miles.inputs` (text as people type it, or a number), with the words of every surface."""


def _at(index: int | None) -> str:
    """Where a problem is: 'draft 3: ' in a batch; nothing for a single draft (the CLI's one draft, index None)."""
    return "" if index is None else f"draft {index}: "


def _number(row: Mapping[str, Any], name: str, index: int | None) -> float | None:
    value = row.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if name in READERS and isinstance(value, str | int | float) and not isinstance(value, bool):
        try:
            parsed = READERS[name](value, name)
        except InputError as exc:
            raise InvalidInput(f"{_at(index)}{exc.message}", details=exc.details) from None
        return None if parsed is None else float(parsed)
    try:
        out = float(value)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"{_at(index)}{name} must be a number, got {value!r}") from exc
    if not np.isfinite(out) or out < 0:
        raise InvalidInput(f"{_at(index)}{name} must be a finite number >= 0, got {value!r}")
    return out


def _early(raw: Any, index: int | None) -> list[tuple[float, float]]:
    out = []
    for item in raw or []:
        pair = (item.get("age_h"), item.get("views")) if isinstance(item, Mapping) else tuple(item)
        if len(pair) != 2:
            raise InvalidInput(f"{_at(index)}each early view needs (age_h, views), got {item!r}")
        age, views = _number({"age_h": pair[0]}, "age_h", index), _number({"views": pair[1]}, "views", index)
        if age is None or views is None or age <= 0:
            raise InvalidInput(f"{_at(index)}early view {item!r} needs age_h > 0 and views >= 0")
        out.append((age, views))
    ages = [quantise_age(a) for a, _ in out]
    if len(set(ages)) != len(ages):
        raise InvalidInput(f"{_at(index)}two early views have the same age_h; give one view per age")
    out.sort()
    if problem := falling_views(out):
        raise InvalidInput(f"{_at(index)}{problem}")
    return out


def falling_views(readings: Sequence[tuple[float, float]]) -> str | None:
    """Why (age_h, views) readings cannot be one video's - two at one age, or a count that falls as it ages (a typo,
    or two videos' counts mixed up) - or None. Every surface refuses them alike."""
    ordered = sorted(readings)
    for (a1, v1), (a2, v2) in itertools.pairwise(ordered):
        if a1 == a2:
            return f"two early views at {a1:g} h; give each age once"
        if v2 < v1:
            return f"early views fall from {v1:,.0f} at {a1:g} h to {v2:,.0f} at {a2:g} h; views only grow"
    return None


def parse_draft(row: Mapping[str, Any], index: int | None, now: datetime | None = None) -> Draft:
    """Validate one draft mapping (``title`` required; ``description``, ``tags`` (list or ``|``-joined),
    ``duration_s``, ``category_id``, ``publish_at`` (default now), ``channel_id``, ``channel_subscribers``,
    ``country``, ``early_views`` as ``[(age_h, views)]`` or ``[{"age_h", "views"}]``)."""
    title = row.get("title")
    if title is not None and not isinstance(title, str):
        raise InvalidInput(f"{_at(index)}title must be text, got {type(title).__name__}")
    try:
        title = parse_title(title, "title")
    except InputError as exc:
        raise InvalidInput(f"{_at(index)}{exc.message}", details=exc.details) from None
    early = _early(row.get("early_views"), index)
    published = _publish_time(row.get("publish_at"), index, now) or blank_publish_time(now or utcnow(), early)
    tags = row.get("tags")
    tag_list = [str(t) for t in tags] if isinstance(tags, list | tuple) else (str(tags).split("|") if tags else [])
    category = _number(row, "category_id", index)
    return Draft(
        title=title,
        publish_at=published,
        description=row.get("description") or None,
        tags=[t for t in tag_list if t] if any(tag_list) else [],
        duration_s=_number(row, "duration_s", index),
        category_id=int(category) if category is not None else None,
        channel_id=row.get("channel_id") or None,
        channel_subscribers=_number(row, "channel_subscribers", index),
        country=row.get("country") or None,
        early_views=early,
    )


def blank_publish_time(now: datetime, early: list[tuple[float, float]]) -> datetime:
    """A blank publish time: now before publishing; with early views, the latest of them is read as counted now."""
    return now - timedelta(hours=max((a for a, _ in early), default=0.0))


def _publish_time(when: Any, index: int | None, now: datetime | None) -> datetime | None:
    """A given publish time (text as people type it, or a datetime) between 2005 and one year ahead."""
    if isinstance(when, str):
        try:
            return parse_publish_time(when, "publish_at", now=now)
        except InputError as exc:
            raise InvalidInput(f"{_at(index)}{exc.message}", details=exc.details) from None
    try:
        given = pd.Timestamp(when).to_pydatetime() if when else None
    except (TypeError, ValueError, OverflowError) as exc:
        raise InvalidInput(f"{_at(index)}publish time {when!r} is not a date-time") from exc
    try:  # as on the API
        return checked_publish_time(given, now=now) if given is not None else None
    except ValueError as exc:
        raise InvalidInput(f"{_at(index)}{exc}") from None


def horizons_for(draft: Draft, horizons: Sequence[float], task: Task) -> list[float]:
    """prepublish: every positive horizon. early: those at least MIN_GAP_H after the latest early view."""
    if task == "prepublish":
        return [float(h) for h in horizons if h > 0]
    t_i = draft.t_i_h
    return [float(h) for h in horizons if h > 0 and float(h) - t_i >= MIN_GAP_H]  # as make_examples pairs them


# --- the feature matrix ------------------------------------------------------------------------------------


@dataclass
class DraftMatrix:
    """Features of every (draft, horizon) row as one float matrix; category columns hold the index of the
    value in the feature's ``categories`` (NaN when missing or unknown)."""

    features: list[Feature]
    values: np.ndarray
    draft: np.ndarray  # index of the draft each row belongs to
    horizon_h: np.ndarray
    t_i_h: np.ndarray

    @property
    def columns(self) -> list[str]:
        return [f.name for f in self.features]

    def rows(self) -> pd.DataFrame:
        return pd.DataFrame({"draft": self.draft, "horizon_h": self.horizon_h, "t_i_h": self.t_i_h})

    def to_frame(self) -> pd.DataFrame:
        """The frame ``build_features`` returns: float64 columns and categoricals with fixed categories."""
        out: dict[str, Any] = {}
        for j, feat in enumerate(self.features):
            col = self.values[:, j]
            if feat.dtype == "category":
                codes = np.where(np.isnan(col), -1, col).astype(np.int64)
                out[feat.name] = pd.Categorical.from_codes(codes, categories=list(feat.categories))
            else:
                out[feat.name] = col.copy()
        return pd.DataFrame(out, index=pd.RangeIndex(len(self.values)))

    @classmethod
    def from_frame(cls, x: pd.DataFrame, features: list[Feature], rows: pd.DataFrame) -> DraftMatrix:
        values = np.empty((len(x), len(features)), dtype=np.float64)
        for j, feat in enumerate(features):
            col = x[feat.name]
            if feat.dtype == "category":
                codes = col.cat.codes.to_numpy()
                values[:, j] = np.where(codes < 0, np.nan, codes)
            else:
                values[:, j] = col.to_numpy(dtype=np.float64)
        return cls(features, values, rows["draft"].to_numpy(), rows["horizon_h"].to_numpy(dtype=float),
                   rows["t_i_h"].to_numpy(dtype=float))  # fmt: skip


def draft_matrix(
    drafts: Sequence[Draft],
    *,
    task: Task,
    horizons_h: Sequence[float] = DEFAULT_HORIZONS_H,
    channel_history: pd.DataFrame | None = None,
    groups: Sequence[str] | None = None,
    extra: Extra | None = None,
) -> DraftMatrix:
    """Features for every (draft, horizon) as a :class:`DraftMatrix`; the per-row path when it applies."""
    chosen = _check(drafts, task, horizons_h, groups, extra)
    if channel_history is None or channel_history.empty:
        per_draft = [horizons_for(d, horizons_h, task) for d in drafts]
        draft_idx = np.repeat(np.arange(len(drafts)), [len(h) for h in per_draft])
        rows = DraftRows(drafts, draft_idx, np.array([h for hs in per_draft for h in hs], dtype=float))
        values = per_row_values(rows, chosen, extra)
        if values is not None:
            t_i = np.array([d.t_i_h if task == "early" else np.nan for d in drafts])[draft_idx]
            return DraftMatrix([f for g in chosen for f in g.features], values, draft_idx, rows.age_h, t_i)
    x, rows = reference_features(drafts, task=task, horizons_h=horizons_h, channel_history=channel_history,
                                 groups=groups, extra=extra)  # fmt: skip
    return DraftMatrix.from_frame(x, [f for g in chosen for f in g.features], rows)


def draft_features(
    drafts: Sequence[Draft],
    *,
    task: Task,
    horizons_h: Sequence[float] = DEFAULT_HORIZONS_H,
    channel_history: pd.DataFrame | None = None,
    groups: Sequence[str] | None = None,
    extra: Extra | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Features for every (draft, horizon): ``(X, rows)`` where ``rows`` has draft, horizon_h, t_i_h.

    prepublish: as_of = publish time. early: as_of = the draft's latest early view (at least one needed).
    """
    m = draft_matrix(drafts, task=task, horizons_h=horizons_h, channel_history=channel_history, groups=groups,
                     extra=extra)  # fmt: skip
    return m.to_frame(), m.rows()


def _check(
    drafts: Sequence[Draft],
    task: Task,
    horizons_h: Sequence[float],
    groups: Sequence[str] | None,
    extra: Extra | None,
) -> list[Any]:
    if not drafts:
        raise InvalidInput("no drafts given")
    names: list[str] = list(extra) if extra is not None else []
    for name in names:
        if len(extra[name]) != len(drafts):  # type: ignore[index]
            raise InvalidInput(f"extra column {name!r} has {len(extra[name])} values for {len(drafts)} drafts")  # type: ignore[index]
    for i, d in enumerate(drafts):
        if not d.title or not d.title.strip():
            raise InvalidInput(f"draft {i}: title is empty")
        if task == "early" and not d.early_views:
            raise InvalidInput(f"draft {i}: the early task needs at least one (age_h, views) observation")
        for age_h, views in d.early_views:
            if age_h <= 0 or views < 0:
                raise InvalidInput(f"draft {i}: early views need age_h > 0 and views >= 0, got ({age_h}, {views})")
        if not horizons_for(d, horizons_h, task):
            raise InvalidInput(
                f"draft {i}: no horizon lies {MIN_GAP_H:g} h or more after its latest early view; ask for a later age"
            )
    return resolve_groups(task, groups)


# --- the reference path: training's build_features over draft-shaped frames ---------------------------------


def reference_features(
    drafts: Sequence[Draft],
    *,
    task: Task,
    horizons_h: Sequence[float] = DEFAULT_HORIZONS_H,
    channel_history: pd.DataFrame | None = None,
    groups: Sequence[str] | None = None,
    extra: Extra | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(X, rows)`` through ``build_features`` and the guarded context (drafts sharing a channel one by one)."""
    _check(drafts, task, horizons_h, groups, extra)
    extra = pd.DataFrame(dict(extra)) if extra is not None and not isinstance(extra, pd.DataFrame) else extra
    channels = [d.channel_id for d in drafts if d.channel_id is not None]
    batches = [list(range(len(drafts)))] if len(set(channels)) == len(channels) else [[i] for i in range(len(drafts))]
    xs, rows = [], []
    for batch in batches:
        part = extra.iloc[batch].reset_index(drop=True) if extra is not None else None
        x, r = _reference_batch([drafts[i] for i in batch], batch, task, horizons_h, channel_history, groups, part)
        xs.append(x)
        rows.append(r)
    return pd.concat(xs, ignore_index=True), pd.concat(rows, ignore_index=True)


def _reference_batch(
    drafts: list[Draft],
    numbers: list[int],
    task: Task,
    horizons_h: Sequence[float],
    channel_history: pd.DataFrame | None,
    groups: Sequence[str] | None,
    extra: pd.DataFrame | None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    own, meta = _draft_snapshots(drafts, numbers, task)
    parts = [own] if not own.empty else []
    if channel_history is not None and not channel_history.empty:
        parts.append(channel_history.assign(video_id=channel_history["video_id"].astype(str)))
    snaps = prepare_snapshots(pd.concat(parts, ignore_index=True)) if parts else _empty_snapshots(meta)
    subs = _subscriber_obs(drafts, meta, snaps)
    if extra is not None:
        meta = pd.concat([meta, extra.set_axis(meta.index)], axis=1)
    examples = _examples(drafts, numbers, meta, task, horizons_h)
    x = build_features(task, examples, snaps, subscribers=subs, groups=groups)
    rows = examples[["draft", "age_h", "t_i_h"]].rename(columns={"age_h": "horizon_h"})
    return x.reset_index(drop=True), rows.reset_index(drop=True)


def _draft_snapshots(drafts: list[Draft], numbers: list[int], task: Task) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(snapshot rows from early views - early task only -, one metadata row per draft)."""
    meta, snaps = [], []
    for i, d in zip(numbers, drafts, strict=True):
        pub = pd.Timestamp(as_utc(d.publish_at))
        row = {
            "video_id": f"draft:{i}", "channel_id": d.channel_id, "title": d.title, "description": d.description,
            "tags": "|".join(d.tags) if d.tags else None, "category_id": d.category_id, "duration_s": d.duration_s,
            "country": d.country, "source": "draft", "published_at": pub, "published_at_is_date_only": False,
        }  # fmt: skip
        meta.append(row)
        for age_h, views in d.early_views if task == "early" else []:
            captured = pub + age_delta(age_h)
            snaps.append({**row, "captured_at": captured, "views": float(views)})
    return pd.DataFrame(snaps, columns=[*meta[0].keys(), "captured_at", "views"]), pd.DataFrame(meta)


def _empty_snapshots(meta: pd.DataFrame) -> pd.DataFrame:
    empty = meta.iloc[0:0].assign(captured_at=meta["published_at"].iloc[0:0], views=0.0, channel_subscribers=0.0)
    empty["age_h"] = 0.0
    empty["group_id"] = group_ids(empty["channel_id"].astype("string"), empty["video_id"])
    empty["channel_id"] = empty["channel_id"].astype("string")
    return empty


def _as_of(draft: Draft, task: Task, published: pd.Timestamp) -> pd.Timestamp:
    return published + age_delta(draft.t_i_h if task == "early" else 0.0)


def _subscriber_obs(drafts: list[Draft], meta: pd.DataFrame, snaps: pd.DataFrame) -> pd.DataFrame:
    given = pd.DataFrame(
        {
            "group_id": group_ids(meta["channel_id"].astype("string"), meta["video_id"]),
            "captured_at": meta["published_at"],
            "subscribers": [np.nan if d.channel_subscribers is None else float(d.channel_subscribers) for d in drafts],
        }
    ).dropna(subset=["subscribers"])
    stored = subscriber_observations(snaps) if len(snaps) else given.iloc[0:0]
    obs = pd.concat([stored, given], ignore_index=True)
    return obs.drop_duplicates(["group_id", "captured_at"], keep="last").reset_index(drop=True)


def _examples(
    drafts: list[Draft], numbers: list[int], meta: pd.DataFrame, task: Task, horizons_h: Sequence[float]
) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    for pos, (i, d) in enumerate(zip(numbers, drafts, strict=True)):
        info = meta.iloc[pos].to_dict()
        as_of = _as_of(d, task, info["published_at"])
        t_i = d.t_i_h if task == "early" else np.nan
        hs = horizons_for(d, horizons_h, task)
        rows.extend({**info, "draft": i, "age_h": h, "t_i_h": t_i, "as_of": as_of} for h in hs)
    ex = pd.DataFrame(rows)
    for col in ("published_at", "as_of"):
        ex[col] = pd.to_datetime(ex[col], utc=True).astype("datetime64[us, UTC]")
    ex["channel_id"] = ex["channel_id"].astype("string")
    ex["group_id"] = group_ids(ex["channel_id"], ex["video_id"])
    ex["key"] = ex.groupby(["video_id", "as_of"], sort=False).ngroup()
    return ex
