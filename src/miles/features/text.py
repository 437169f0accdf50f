"""Text statistics of title, description and tags (prepublish).

Two forms of one definition, sharing their patterns: :func:`text_stats` (vectorised, for training) and
:func:`row` (one video's values, for drafts).
"""

from __future__ import annotations

import re
from typing import Any

import emoji
import numpy as np
import pandas as pd

from miles.features.context import FeatureContext
from miles.features.schema import DraftRows, Feature, FeatureGroup

SCRIPTS: tuple[str, ...] = ("latin", "kana", "han", "hangul", "cyrillic", "arabic", "devanagari", "thai", "other")
_HASHTAG = re.compile(r"(?:^|\s)#\w+")
_SHORTS = re.compile(r"#shorts?\b", re.IGNORECASE)
_NUMBER = re.compile(r"\d")
_QUESTION = re.compile(r"[?？]")
_EXCLAMATION = re.compile(r"[!！]")
_LETTER = re.compile(r"[^\W\d_]")
# Letters of each writing system (Unicode blocks); any kana means Japanese even among many kanji.
_SCRIPT_CHARS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(chars))
    for name, chars in (
        ("kana", "[\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f]"),
        ("han", "[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]"),
        ("hangul", "[\u1100-\u11ff\u3130-\u318f\uac00-\ud7af]"),
        ("cyrillic", "[\u0400-\u052f]"),
        ("arabic", "[\u0600-\u06ff\u0750-\u077f]"),
        ("devanagari", "[\u0900-\u097f]"),
        ("thai", "[\u0e00-\u0e7f]"),
        ("latin", "[A-Za-z\u00c0-\u024f]"),
    )
)
# Characters any emoji contains; only titles holding one are passed to the (slow, exact) emoji counter.
_EMOJI_HINT = re.compile("[\u00a9\u00ae\u203c-\u3299\ufe0f\U0001f000-\U0001faff]")


def scripts_of(text: pd.Series) -> pd.Series:
    """Dominant writing system of each text's letters (a cheap language guess); None without letters."""
    counts = pd.DataFrame({name: text.str.count(chars) for name, chars in _SCRIPT_CHARS}, index=text.index)
    letters = text.str.count(_LETTER)
    counts["other"] = (letters - counts.sum(axis=1)).clip(lower=0)
    best = counts.idxmax(axis=1).where(letters > 0)
    return best.mask(counts["kana"] > 0, "kana")


def emoji_counts(text: pd.Series) -> pd.Series:
    hinted = text.str.contains(_EMOJI_HINT)
    out = pd.Series(0.0, index=text.index)
    out[hinted] = text[hinted].map(emoji.emoji_count).astype(float)
    return out


def caps_ratio(text: str) -> float:
    letters = [c for c in text if c.isalpha() and (c.isupper() or c.islower())]
    return sum(c.isupper() for c in letters) / len(letters) if letters else np.nan


def _words(text: pd.Series) -> pd.Series:
    return text.str.split().str.len()


def text_stats(title: pd.Series, description: pd.Series, tags: pd.Series) -> pd.DataFrame:
    """Vectorised text statistics; unknown description or tags give NaN, not zero."""
    title = title.fillna("").astype(str)
    desc = description.astype("string")
    tag_text = tags.astype("string")
    all_text = title + " " + desc.fillna("") + " " + tag_text.fillna("").str.replace("|", " #", regex=False)
    stats = pd.DataFrame(
        {
            "title_chars": title.str.len(),
            "title_words": _words(title),
            "title_has_number": title.str.contains(_NUMBER).astype(float),
            "title_has_question": title.str.contains(_QUESTION).astype(float),
            "title_has_exclamation": title.str.contains(_EXCLAMATION).astype(float),
            "title_emoji_count": emoji_counts(title),
            "title_caps_ratio": title.map(caps_ratio),
            "title_hashtags": title.str.count(_HASHTAG),
            "description_chars": desc.str.len(),
            "description_words": _words(desc),
            "description_hashtags": desc.str.count(_HASHTAG),
            "tags_count": tag_text.str.split("|").str.len(),
            "has_shorts_tag": all_text.str.contains(_SHORTS).astype(float),
            "script": scripts_of(title),
        },
        index=title.index,
    )
    numeric = stats.columns.drop("script")
    stats[numeric] = stats[numeric].apply(lambda c: pd.to_numeric(c, errors="coerce").astype(float))
    return stats


def script_of(title: str) -> str | None:
    """One title's :func:`scripts_of` (the first maximum wins, as ``idxmax``)."""
    counts = [len(p.findall(title)) for _, p in _SCRIPT_CHARS]
    if counts[0] > 0:  # any kana means Japanese
        return "kana"
    letters = len(_LETTER.findall(title))
    if letters == 0:
        return None
    counts.append(max(letters - sum(counts), 0))
    names = [name for name, _ in _SCRIPT_CHARS] + ["other"]
    return names[int(np.argmax(counts))]


def row(title: str, description: str | None, tags: str | None) -> tuple[Any, ...]:
    """One video's :func:`text_stats`, in ``GROUP`` order (``tags`` ``|``-joined; None when unknown)."""
    all_text = title + " " + (description or "") + " " + (tags or "").replace("|", " #")
    nan = float("nan")
    return (
        float(len(title)),
        float(len(title.split())),
        float(bool(_NUMBER.search(title))),
        float(bool(_QUESTION.search(title))),
        float(bool(_EXCLAMATION.search(title))),
        float(emoji.emoji_count(title)) if _EMOJI_HINT.search(title) else 0.0,
        caps_ratio(title),
        float(len(_HASHTAG.findall(title))),
        float(len(description)) if description is not None else nan,
        float(len(description.split())) if description is not None else nan,
        float(len(_HASHTAG.findall(description))) if description is not None else nan,
        float(len(tags.split("|"))) if tags is not None else nan,
        float(bool(_SHORTS.search(all_text))),
        script_of(title),
    )


def _compute(ctx: FeatureContext) -> pd.DataFrame:
    videos = ctx.videos
    stats = text_stats(videos["title"], videos["description"], videos["tags"])
    return ctx.expand_videos(stats)


def _per_row(rows: DraftRows) -> dict[str, np.ndarray]:
    values = [row(d.title, d.description, "|".join(d.tags) if d.tags else None) for d in rows.drafts]
    return rows.per_draft(GROUP.names, values)


GROUP = FeatureGroup(
    name="text",
    doc="Title, description and tag statistics.",
    compute=_compute,
    per_row=_per_row,
    features=(
        Feature("title_chars", doc="title length in characters"),
        Feature("title_words", doc="title length in words"),
        Feature("title_has_number", doc="1 if the title contains a digit"),
        Feature("title_has_question", doc="1 if the title contains a question mark"),
        Feature("title_has_exclamation", doc="1 if the title contains an exclamation mark"),
        Feature("title_emoji_count", doc="emoji in the title"),
        Feature("title_caps_ratio", doc="upper-case share of cased letters in the title"),
        Feature("title_hashtags", doc="hashtags in the title"),
        Feature("description_chars", doc="description length (NaN when the source has no description)"),
        Feature("description_words", doc="description words (NaN when unknown)"),
        Feature("description_hashtags", doc="hashtags in the description (NaN when unknown)"),
        Feature("tags_count", doc="number of tags (NaN when the source has no tags)"),
        Feature("has_shorts_tag", doc="1 if #shorts appears in title, description or tags"),
        Feature("script", dtype="category", categories=SCRIPTS, doc="dominant script of the title (language guess)"),
    ),
)
