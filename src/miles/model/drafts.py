"""Draft rows -> the examples and snapshots the feature code reads, so serving builds features like training.

A draft is a mapping with ``title`` (required) and optionally ``description``, ``tags`` (list or ``|``-joined),
``duration_s``, ``category_id``, ``published_at``/``publish_at`` (default: now), ``channel_id``,
``channel_subscribers``, ``country``, ``thumbnail`` (image bytes or a PIL image) and ``early_views``
(``[(age_h, views), ...]`` or ``[{"age_h": ..., "views": ...}, ...]``).
Each draft becomes one example per horizon; its early views become the video's snapshots, its subscriber
count an observation at publish time - exactly the shapes ``build_dataset`` hands the feature groups.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image

from miles.domain import as_utc, utcnow
from miles.errors import InvalidInput
from miles.features.build import MIN_GAP_H

INPUT_FIELDS = ("title", "description", "tags", "duration_s", "category_id", "publish_at", "channel_subscribers",
                "thumbnail", "early_views")  # fmt: skip


@dataclass
class Draft:
    index: int
    title: str
    published_at: datetime
    description: str | None = None
    tags: str | None = None
    duration_s: float | None = None
    category_id: int | None = None
    channel_id: str | None = None
    channel_subscribers: float | None = None
    country: str | None = None
    thumbnail: bytes | Image.Image | None = None
    early_views: list[tuple[float, float]] = field(default_factory=list)
    given: set[str] = field(default_factory=set)

    @property
    def video_id(self) -> str:
        return f"draft-{self.index}"

    @property
    def t_i_h(self) -> float:
        return max(age for age, _ in self.early_views) if self.early_views else 0.0

    @property
    def last_views(self) -> float:
        return max(self.early_views)[1] if self.early_views else 0.0


def _number(row: Mapping[str, Any], name: str, index: int, *, minimum: float = 0.0) -> float | None:
    value = row.get(name)
    if value is None or value == "":
        return None
    try:
        out = float(value)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"draft {index}: {name} must be a number, got {value!r}") from exc
    if not np.isfinite(out) or out < minimum:
        raise InvalidInput(f"draft {index}: {name} must be a finite number >= {minimum:g}, got {value!r}")
    return out


def _early(raw: Any, index: int) -> list[tuple[float, float]]:
    out = []
    for item in raw or []:
        pair = (item.get("age_h"), item.get("views")) if isinstance(item, Mapping) else tuple(item)
        if len(pair) != 2:
            raise InvalidInput(f"draft {index}: each early view needs (age_h, views), got {item!r}")
        age = _number({"age_h": pair[0]}, "age_h", index)
        views = _number({"views": pair[1]}, "views", index)
        if age is None or views is None or age <= 0:
            raise InvalidInput(f"draft {index}: early view {item!r} needs age_h > 0 and views >= 0")
        out.append((age, views))
    return sorted(out)


def parse_draft(row: Mapping[str, Any], index: int, now: datetime | None = None) -> Draft:
    title = row.get("title")
    if not isinstance(title, str) or not title.strip():
        raise InvalidInput(f"draft {index}: title is required and must be non-empty text")
    when = row.get("published_at") or row.get("publish_at")
    try:
        published = as_utc(pd.Timestamp(when).to_pydatetime()) if when else (now or utcnow())
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"draft {index}: publish time {when!r} is not a date-time") from exc
    tags = row.get("tags")
    tag_text = "|".join(str(t) for t in tags) if isinstance(tags, list | tuple) else (str(tags) if tags else None)
    category = _number(row, "category_id", index)
    thumb = row.get("thumbnail")
    if thumb is not None and not isinstance(thumb, bytes | bytearray | Image.Image):
        raise InvalidInput(f"draft {index}: thumbnail must be image bytes or a PIL image")
    draft = Draft(
        index=index,
        title=title,
        published_at=published,
        description=row.get("description") or None,
        tags=tag_text or None,
        duration_s=_number(row, "duration_s", index),
        category_id=int(category) if category is not None else None,
        channel_id=row.get("channel_id") or None,
        channel_subscribers=_number(row, "channel_subscribers", index),
        country=row.get("country") or None,
        thumbnail=bytes(thumb) if isinstance(thumb, bytearray) else thumb,
        early_views=_early(row.get("early_views"), index),
    )
    draft.given = {f for f in INPUT_FIELDS if row.get(f) not in (None, "", [], ())}
    if when:
        draft.given.add("publish_at")
    return draft


def horizons_for(draft: Draft, horizons: Sequence[float], early: bool) -> list[float]:
    """Prepublish: every horizon. Early: the horizons at least MIN_GAP_H after the last early view."""
    if not early:
        return list(horizons)
    return [h for h in horizons if h >= draft.t_i_h + MIN_GAP_H]


def draft_frames(
    drafts: Sequence[Draft], horizons: Sequence[Sequence[float]], extra: pd.DataFrame, *, early: bool
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(examples, snapshots, subscriber observations) for ``build_features``; ``extra`` (one row per draft)
    holds the title-embedding and thumbnail columns."""
    rows, snaps, subs = [], [], []
    for draft, hs in zip(drafts, horizons, strict=True):
        pub = pd.Timestamp(draft.published_at)
        # A draft always has a channel, even when we know none of its uploads (counts 0, not unknown).
        channel = draft.channel_id or f"draft-channel-{draft.index}"
        as_of = pub + pd.Timedelta(hours=draft.t_i_h) if early else pub
        meta = {
            "video_id": draft.video_id, "group_id": channel, "channel_id": channel, "published_at": pub, "as_of": as_of, "title": draft.title,
            "description": draft.description, "tags": draft.tags, "category_id": draft.category_id,
            "duration_s": draft.duration_s, "country": draft.country, "published_at_is_date_only": False,
            "draft": draft.index, "source": "miles_draft",
        }  # fmt: skip
        rows.extend({**meta, "age_h": float(h), "t_i_h": draft.t_i_h if early else np.nan} for h in hs)
        for age, views in draft.early_views if early else []:
            snaps.append({"video_id": draft.video_id, "channel_id": channel, "published_at": pub,
                          "captured_at": pub + pd.Timedelta(hours=age), "age_h": age, "views": views})  # fmt: skip
        if draft.channel_subscribers is not None:
            subs.append({"group_id": meta["group_id"], "captured_at": as_of, "subscribers": draft.channel_subscribers})
    examples = pd.DataFrame(rows)
    examples = examples.join(extra, on="draft")
    for col in ("published_at", "as_of"):
        examples[col] = pd.to_datetime(examples[col], utc=True).astype("datetime64[us, UTC]")
    examples["channel_id"] = examples["channel_id"].astype("string")
    examples["key"] = examples.groupby(["video_id", "as_of"], sort=False).ngroup()
    snap_cols = ["video_id", "channel_id", "published_at", "captured_at", "age_h", "views"]
    snap_frame = pd.DataFrame(snaps, columns=snap_cols)
    for col in ("published_at", "captured_at"):
        snap_frame[col] = pd.to_datetime(snap_frame[col], utc=True).astype("datetime64[us, UTC]")
    snap_frame["channel_id"] = snap_frame["channel_id"].astype("string")
    snap_frame["views"] = snap_frame["views"].astype(float)
    snap_frame["age_h"] = snap_frame["age_h"].astype(float)
    sub_frame = pd.DataFrame(subs, columns=["group_id", "captured_at", "subscribers"])
    sub_frame["captured_at"] = pd.to_datetime(sub_frame["captured_at"], utc=True).astype("datetime64[us, UTC]")
    sub_frame["subscribers"] = sub_frame["subscribers"].astype(float)
    return examples, snap_frame, sub_frame
