"""The direct path of :mod:`miles.features.draft`: built-in feature groups computed from draft fields.

A draft without channel history has no snapshots but its own early views, so every built-in group reduces
to a few scalar formulas per draft. They follow the vectorised rules in ``text``, ``timing``, ``channel`` and
``early`` line by line (their patterns, tables and helpers are imported, not copied), and
``tests/features/test_draft_parity.py`` checks the result against ``build_features`` on real videos.
A group this module does not know, or whose feature list changed, makes :func:`compute` return None and the
caller falls back to the reference path, which is always right.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import emoji
import numpy as np
import pandas as pd

from miles.features import early, text, timing
from miles.features.draft import Draft, DraftMatrix, Extra, horizons_for
from miles.features.schema import FeatureGroup, Task

log = logging.getLogger(__name__)
_LETTER = re.compile(r"[^\W\d_]")
_SCRIPT_PATTERNS = tuple((name, re.compile(chars)) for name, chars in text._SCRIPT_CHARS)
_QUESTION = re.compile(r"[?？]")
_EXCLAMATION = re.compile(r"[!！]")
Column = Sequence[Any]


@dataclass
class _Rows:
    drafts: Sequence[Draft]
    task: Task
    draft: np.ndarray  # draft index of each row
    horizon_h: np.ndarray

    def expand(self, per_draft: Column) -> np.ndarray:
        out: np.ndarray = np.asarray(per_draft, dtype=object if per_draft and isinstance(per_draft[0], str) else None)
        expanded: np.ndarray = out[self.draft]
        return expanded


# --- text ----------------------------------------------------------------------------------------------------


def script_of(title: str) -> str | None:
    """Dominant writing system of the title's letters, as ``text.scripts_of`` (first maximum wins)."""
    counts = [len(p.findall(title)) for _, p in _SCRIPT_PATTERNS]
    if counts[0] > 0:  # any kana means Japanese
        return "kana"
    letters = len(_LETTER.findall(title))
    if letters == 0:
        return None
    counts.append(max(letters - sum(counts), 0))
    names = [name for name, _ in _SCRIPT_PATTERNS] + ["other"]
    return names[int(np.argmax(counts))]


def text_row(title: str, description: str | None, tags: str | None) -> tuple[Any, ...]:
    """The ``text`` group's values for one video, in ``text.GROUP`` order."""
    all_text = title + " " + (description or "") + " " + (tags or "").replace("|", " #")
    nan = float("nan")
    return (
        float(len(title)),
        float(len(title.split())),
        float(bool(text._NUMBER.search(title))),
        float(bool(_QUESTION.search(title))),
        float(bool(_EXCLAMATION.search(title))),
        float(emoji.emoji_count(title)) if text._EMOJI_HINT.search(title) else 0.0,
        text.caps_ratio(title),
        float(len(text._HASHTAG.findall(title))),
        float(len(description)) if description is not None else nan,
        float(len(description.split())) if description is not None else nan,
        float(len(text._HASHTAG.findall(description))) if description is not None else nan,
        float(len(tags.split("|"))) if tags is not None else nan,
        float(bool(text._SHORTS.search(all_text))),
        script_of(title),
    )


def _text(rows: _Rows) -> dict[str, np.ndarray]:
    per_draft = [text_row(d.title, d.description, "|".join(d.tags) if d.tags else None) for d in rows.drafts]
    names = text.GROUP.names
    return {name: rows.expand([r[j] for r in per_draft]) for j, name in enumerate(names)}


# --- timing, video, horizon --------------------------------------------------------------------------------------


def _clock(moment: datetime) -> tuple[float, float]:
    return moment.hour + moment.minute / 60.0, float(moment.weekday())


def _timing(rows: _Rows) -> dict[str, np.ndarray]:
    out: list[tuple[float, ...]] = []
    for d in rows.drafts:
        pub = d.publish_at.astimezone(UTC)
        hour, weekday = _clock(pub)
        zone = timing.COUNTRY_TZ.get(d.country.upper()) if d.country is not None else None
        local_hour, local_day = _clock(pub.astimezone(ZoneInfo(zone))) if zone else (np.nan, np.nan)
        local_weekend = float(local_day >= 5) if zone else np.nan
        out.append((hour, weekday, float(weekday >= 5), local_hour, local_day, local_weekend))
    return {name: rows.expand([r[j] for r in out]) for j, name in enumerate(timing.TIMING.names)}


def _video(rows: _Rows) -> dict[str, np.ndarray]:
    duration = np.array([np.nan if d.duration_s is None else float(d.duration_s) for d in rows.drafts])
    known = ~np.isnan(duration)
    return {
        "duration_s": rows.expand(list(duration)),
        "log_duration_s": rows.expand(list(np.log1p(duration))),
        "is_short_60s": rows.expand(list(np.where(known, (duration <= timing.SHORT_MAX_S).astype(float), np.nan))),
        "is_short_180s": rows.expand(list(np.where(known, (duration <= timing.SHORT_MAX_NEW_S).astype(float), np.nan))),
        "category_id": rows.expand([None if d.category_id is None else str(int(d.category_id)) for d in rows.drafts]),
    }


def _horizon(rows: _Rows) -> dict[str, np.ndarray]:
    return {"age_h": rows.horizon_h, "log_age_h": np.log1p(rows.horizon_h)}


# --- channel and early signal -----------------------------------------------------------------------------------


def _channel(rows: _Rows) -> dict[str, np.ndarray]:
    """No channel history: the draft's own subscriber count (observed at publish: offset 0) and no earlier uploads."""
    subs = np.array([np.nan if d.channel_subscribers is None else float(d.channel_subscribers) for d in rows.drafts])
    count = np.array([np.nan if d.channel_id is None else 0.0 for d in rows.drafts])
    nan = np.full(len(rows.draft), np.nan)
    return {
        "log_subscribers": np.log1p(subs)[rows.draft],
        "subscribers_staleness_d": np.where(np.isnan(subs), np.nan, 0.0)[rows.draft],
        "channel_baseline_log_views": nan,
        "channel_baseline_count": count[rows.draft],
        "channel_prior_uploads": count[rows.draft],
        "channel_prior_median_log_views": nan,
        "channel_prior_median_log_age_h": nan,
    }


def early_row(views_by_age: Sequence[tuple[float, float]]) -> list[float]:
    """The ``early`` group for one draft from its (quantised age, views) snapshots, all visible at t_i."""
    depth = early.DEPTH
    ordered = sorted(views_by_age)[::-1][:depth]  # lag 0 = latest
    views = np.full(depth + 1, np.nan)
    ages = np.full(depth + 1, np.nan)
    views[: len(ordered)] = [v for _, v in ordered]
    ages[: len(ordered)] = [a for a, _ in ordered]
    if len(views_by_age) < depth:  # the publish moment (age 0, 0 views) right before the first snapshot
        views[len(views_by_age)] = ages[len(views_by_age)] = 0.0
    inc, dt = views[:-1] - views[1:], ages[:-1] - ages[1:]
    t_i, age0 = ages[0], ages[0]
    out = [t_i, np.log1p(t_i), views[0], np.log1p(views[0]), age0, t_i - age0,
           np.log1p(views[0] / max(age0, early.MIN_AGE_H)), float(len(views_by_age)),
           np.log1p(max(inc[0], 0.0) / max(dt[0], early.MIN_AGE_H))]  # fmt: skip
    for k in range(depth - 1):
        out += [inc[k], dt[k]]
    return [float(v) for v in out]


def _early(rows: _Rows) -> dict[str, np.ndarray]:
    per_draft = []
    for d in rows.drafts:
        micros = [round(a * 3_600_000_000) for a, _ in d.early_views]
        ages = pd.Series(np.array(micros, dtype="timedelta64[us]")).dt.total_seconds().to_numpy() / 3600.0
        per_draft.append(early_row(list(zip(ages.tolist(), [float(v) for _, v in d.early_views], strict=True))))
    arr = np.array(per_draft, dtype=float).reshape(len(per_draft), -1)
    return {name: arr[rows.draft, j] for j, name in enumerate(early.GROUP.names)}


_DIRECT: dict[str, Callable[[_Rows], dict[str, np.ndarray]]] = {
    "text": _text,
    "timing": _timing,
    "video": _video,
    "horizon": _horizon,
    "channel": _channel,
    "early": _early,
}


# --- assembling the matrix ----------------------------------------------------------------------------------------


def _encode(group: FeatureGroup, columns: dict[str, Any], n: int) -> np.ndarray:
    block = np.empty((n, len(group.features)), dtype=np.float64)
    for j, feat in enumerate(group.features):
        col = columns[feat.name]
        if feat.dtype == "category":
            index = {c: float(i) for i, c in enumerate(feat.categories)}
            block[:, j] = [index.get(v, np.nan) if isinstance(v, str) else np.nan for v in col]
        else:
            block[:, j] = (
                pd.to_numeric(pd.Series(col), errors="coerce").to_numpy(dtype=float) if _is_object(col) else col
            )
    return block


def _is_object(col: Any) -> bool:
    return not isinstance(col, np.ndarray) or col.dtype == object


def _group_columns(group: FeatureGroup, rows: _Rows, extra: Extra | None) -> dict[str, Any] | None:
    fn = _DIRECT.get(group.name)
    if fn is not None:
        columns = fn(rows)
        if tuple(columns) == group.names:
            return columns
        log.warning("feature group %r changed; drafts use the reference path", group.name)
        return None
    if extra is not None and all(n in extra for n in group.names):
        return {n: np.asarray(extra[n])[rows.draft] for n in group.names}
    return None


def compute(
    drafts: Sequence[Draft],
    task: Task,
    horizons_h: Sequence[float],
    groups: Sequence[FeatureGroup],
    extra: Extra | None,
) -> DraftMatrix | None:
    """The matrix for drafts without channel history, or None when a group needs the reference path."""
    per_draft = [horizons_for(d, horizons_h, task) for d in drafts]
    draft_idx = np.repeat(np.arange(len(drafts)), [len(h) for h in per_draft])
    rows = _Rows(drafts, task, draft_idx, np.array([h for hs in per_draft for h in hs], dtype=float))
    blocks = []
    for group in groups:
        columns = _group_columns(group, rows, extra)
        if columns is None:
            return None
        blocks.append(_encode(group, columns, len(draft_idx)))
    t_i = np.array([d.t_i_h if task == "early" else np.nan for d in drafts])[draft_idx]
    features = [f for g in groups for f in g.features]
    return DraftMatrix(features, np.concatenate(blocks, axis=1), draft_idx, rows.horizon_h, t_i)
