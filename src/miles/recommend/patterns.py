"""Patterns with effect sizes: what the niche's over-performers share, with counts, intervals and counter-examples.

For each pattern (title length, numbers, questions, emoji, caps, first-word hooks, hashtags, duration,
posting hour) the niche's videos are split into *with* and *without*; the effect is the ratio of the
median outlier multiple with vs without, with a bootstrap 95 % interval. A side with fewer than
``min_count`` videos makes the pattern "not enough data", never a finding.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from miles.features.text import text_stats

MIN_COUNT = 8
BOOTSTRAP_REPS = 400
TITLE_LENGTHS = (
    (0, 30, "short title (≤ 30 characters)"),
    (31, 60, "medium title (31–60 characters)"),
    (61, 10_000, "long title (> 60 characters)"),
)
DURATIONS = (
    (0, 15, "≤ 15 s"),
    (15.001, 30, "15–30 s"),
    (30.001, 60, "30–60 s"),
    (60.001, 180, "1–3 min"),
    (180.001, 1e9, "> 3 min"),
)
HOURS = (
    (0, 5, "posted 00–05 UTC"),
    (6, 11, "posted 06–11 UTC"),
    (12, 17, "posted 12–17 UTC"),
    (18, 23, "posted 18–23 UTC"),
)
HOOK_WORDS = 2
MAX_HOOKS = 5


@dataclass(frozen=True)
class Pattern:
    key: str
    label: str
    group: str
    n_with: int
    n_without: int
    median_with: float | None
    median_without: float | None
    effect: float | None  # median multiple with / without
    ci_low: float | None
    ci_high: float | None
    counter_example: dict[str, Any] | None
    enough_data: bool

    @property
    def is_finding(self) -> bool:
        """An effect whose interval excludes 1 (no effect), on enough videos."""
        return bool(
            self.enough_data
            and self.ci_low is not None
            and self.ci_high is not None
            and (self.ci_low > 1 or self.ci_high < 1)
        )

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "is_finding": self.is_finding}


def _bootstrap_ratio(with_vals: np.ndarray, without_vals: np.ndarray, rng: np.random.Generator) -> tuple[float, float]:
    a = rng.choice(with_vals, size=(BOOTSTRAP_REPS, len(with_vals)), replace=True)
    b = rng.choice(without_vals, size=(BOOTSTRAP_REPS, len(without_vals)), replace=True)
    ratios = np.median(a, axis=1) / np.maximum(np.median(b, axis=1), 1e-9)
    low, high = np.percentile(ratios, [2.5, 97.5])
    return float(low), float(high)


def _counter_example(videos: pd.DataFrame, mask: np.ndarray, effect: float) -> dict[str, Any] | None:
    """A video that goes against the effect: the weakest one *with* a helping pattern, or the strongest *with* a
    hurting one."""
    side = videos.loc[mask]
    if side.empty:
        return None
    row = side.loc[side["multiple"].idxmin()] if effect >= 1 else side.loc[side["multiple"].idxmax()]
    # ``shown_multiple``, when given, is what the video's card shows: None where its channel's usual is unknown
    shown = row["shown_multiple"] if "shown_multiple" in row.index else row["multiple"]
    multiple = None if pd.isna(shown) else float(shown)
    return {"video_id": str(row["video_id"]), "title": str(row["title"]), "multiple": multiple}


def evaluate_pattern(
    videos: pd.DataFrame,
    mask: np.ndarray,
    *,
    key: str,
    label: str,
    group: str,
    rng: np.random.Generator,
    min_count: int = MIN_COUNT,
) -> Pattern:
    values = videos["multiple"].to_numpy(dtype=float)
    with_vals, without_vals = values[mask], values[~mask]
    enough = len(with_vals) >= min_count and len(without_vals) >= min_count
    if not enough:
        return Pattern(key, label, group, len(with_vals), len(without_vals), None, None, None, None, None, None, False)
    med_with, med_without = float(np.median(with_vals)), float(np.median(without_vals))
    effect = med_with / max(med_without, 1e-9)
    low, high = _bootstrap_ratio(with_vals, without_vals, rng)
    return Pattern(
        key,
        label,
        group,
        len(with_vals),
        len(without_vals),
        med_with,
        med_without,
        effect,
        low,
        high,
        _counter_example(videos, mask, effect),
        True,
    )


def _bucket_masks(
    values: pd.Series, buckets: tuple[tuple[float, float, str], ...], prefix: str
) -> list[tuple[str, str, np.ndarray]]:
    known = values.notna().to_numpy()
    out = []
    for low, high, label in buckets:
        mask = known & (values >= low).fillna(False).to_numpy() & (values <= high).fillna(False).to_numpy()
        out.append((f"{prefix}:{label}", label, mask))
    return out


def first_words(title: str, n: int = HOOK_WORDS) -> str | None:
    words = [w for w in title.lower().replace("#", " ").split() if w.isalpha() or any(c.isalpha() for c in w)]
    return " ".join(words[:n]) if len(words) >= n else None


def pattern_masks(videos: pd.DataFrame, *, min_count: int = MIN_COUNT) -> list[tuple[str, str, str, np.ndarray]]:
    """(key, label, group, mask) for every pattern Miles checks."""
    stats = text_stats(
        videos["title"],
        videos.get("description", pd.Series(None, index=videos.index)),
        videos.get("tags", pd.Series(None, index=videos.index)),
    )
    masks: list[tuple[str, str, str, np.ndarray]] = [
        ("number", "number in the title", "title", stats["title_has_number"].to_numpy() > 0),
        ("question", "question in the title", "title", stats["title_has_question"].to_numpy() > 0),
        ("emoji", "emoji in the title", "title", stats["title_emoji_count"].to_numpy() > 0),
        ("caps", "mostly capitals (> 50 %)", "title", (stats["title_caps_ratio"] > 0.5).to_numpy()),
        ("hashtag", "hashtag in the title", "title", stats["title_hashtags"].to_numpy() > 0),
        ("shorts_tag", "#shorts in title, description or tags", "title", stats["has_shorts_tag"].to_numpy() > 0),
    ]
    masks += [
        (k, lbl, "title length", m)
        for k, lbl, m in _bucket_masks(stats["title_chars"].astype(float), TITLE_LENGTHS, "title_length")
    ]
    if "duration_s" in videos:
        masks += [
            (k, lbl, "duration", m)
            for k, lbl, m in _bucket_masks(videos["duration_s"].astype(float), DURATIONS, "duration")
        ]
    if "published_at" in videos:
        hours = pd.to_datetime(videos["published_at"], utc=True).dt.hour.astype(float)
        masks += [(k, lbl, "posting hour", m) for k, lbl, m in _bucket_masks(hours, HOURS, "hour")]
    hooks = videos["title"].map(first_words)
    for hook, count in Counter(h for h in hooks if h).most_common(MAX_HOOKS):
        if count >= max(2, min_count // 2):
            masks.append((f"hook:{hook}", f'starts with "{hook}"', "hook", (hooks == hook).to_numpy()))
    return masks


def find_patterns(videos: pd.DataFrame, *, min_count: int = MIN_COUNT, seed: int = 0) -> list[Pattern]:
    """Evaluate every pattern on ``videos`` (columns: video_id, title, multiple; optional duration_s,
    published_at, description, tags). Findings first, by effect size."""
    videos = videos.reset_index(drop=True)
    if videos.empty:
        return []
    rng = np.random.default_rng(seed)
    results = [
        evaluate_pattern(videos, mask, key=key, label=label, group=group, rng=rng, min_count=min_count)
        for key, label, group, mask in pattern_masks(videos, min_count=min_count)
    ]
    return sorted(
        results, key=lambda p: (not p.is_finding, not p.enough_data, -abs(np.log(p.effect)) if p.effect else 0.0)
    )
