"""Niche candidates: the stored videos that are really about the topic, with what the filters need to know.

A video is a candidate when it matches the topic in full text (at least one topic word in its title, via FTS) *and*
passes the relevance bar: MiniLM cosine between the topic and "title + first tags" of at least
``MIN_RELEVANCE`` (0.40), or at least ``MIN_RELEVANCE_ALL_TERMS`` (0.30) when every topic word appears in its title
or tags. The bar was measured on the development data (docs/ideas.md): nonsense or absent topics ("underwater basket
weaving", "quantum knitting for cats") reach at most 0.39 on videos that share one word by accident (NBA, cat
videos), while on-topic matches ("budget gaming setup", "iphone review", "makeup tutorial") sit at 0.40–0.82.
Without the text encoder, every topic word must appear (full text only), and a note says so.

Each candidate also gets its language (py3langid on the title, restricted to common languages), whether it is a
Short (``shorts_kind``: the store keeps neither the URL kind nor the frame, so stored videos are told by duration,
and say so), and whether it looks like an ad; the filters drop by language, length and ads, and count
what they dropped so the page can say so.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

import numpy as np

from miles.domain import words

MIN_RELEVANCE = 0.40
SHORTS_CHOICES = ("any", "only", "exclude")
MIN_RELEVANCE_ALL_TERMS = 0.30
# Above this cosine a video is about the topic even when it names none of the topic's subject words in the same form
# ("gaming computer" for "pc gamer"); below it, it must name enough of them (see ``names_the_subject``).
MIN_RELEVANCE_UNNAMED = 0.60
SHORTS_MAX_S = 180.0  # YouTube Shorts may run up to three minutes
LANGUAGES = ("en", "fr", "es", "pt", "de", "it", "nl", "ja", "ko", "zh", "ru", "hi", "ar", "tr", "id", "pl")
MIN_LANGUAGE_CONFIDENCE = 0.3  # measured on titles: below this the guess is noise
TOPIC_LANGUAGE_CONFIDENCE = 0.4  # a topic is a few words: a weaker guess still beats none
MIN_IN_LANGUAGE = 5  # "auto" keeps to the topic's language when that leaves this many videos, or more than it drops
TAGS_IN_TEXT = 10
# Paid promotions, app-install and shop ads, giveaways: what a creator cannot copy as a video idea.
_AD = re.compile(
    r"(?:^|[\s#(\[|])(?:ad|ads|advert|sponsored|sponso|werbung|anzeige)(?:$|[\s)\]|:!])"
    r"|paid promotion|partenariat|in partnership with|download (?:it )?now|install (?:it )?now"
    r"|play (?:it )?(?:now|free)|available (?:now )?on (?:the )?(?:app store|google play)|shop now|buy now|order now"
    r"|use (?:my )?code|promo code|code promo|giveaway|gewinne|gewinnspiel|concours",
    re.IGNORECASE,
)
Embedder = Callable[[list[str]], np.ndarray]


@dataclass(frozen=True)
class Filters:
    """What the creator asked to see. ``language``: "auto" (the topic's language when it can be told), "any", or
    a code such as "en"; ``shorts``: "any", "only" (Shorts only) or "exclude"; long-form videos (> 3 minutes) and
    ads are left out unless included."""

    language: str = "auto"
    shorts: str = "any"
    include_long: bool = False
    include_ads: bool = False

    def key(self) -> list[Any]:
        return [self.language, self.shorts, self.include_long, self.include_ads]


@dataclass
class Candidates:
    ids: list[str]  # kept, most relevant first
    info: dict[str, dict[str, Any]]  # per kept video: relevance, language, kind, kind_basis, is_ad
    matched: int  # videos the full-text search found
    relevant: int  # of those, above the relevance bar
    dropped: Counter[str] = field(default_factory=Counter)  # by filter: "language", "long-form", "ad", "Shorts" ...
    topic_language: str | None = None
    language: str | None = None  # the language filter applied (None: any)
    relevance_by: str = "MiniLM + full text"
    language_fallback: bool = False  # "auto" found too few videos in the topic's language and showed all languages
    subject: list[str] = field(default_factory=list)  # the topic words a video must name (``subject_words``)


@lru_cache(maxsize=1)
def _identifier() -> Any:
    from py3langid import langid

    ident = langid.LanguageIdentifier.from_model_file(langid.MODEL_FILE, norm_probs=True)
    ident.set_languages(list(LANGUAGES))
    return ident


def language_of(text: str, *, min_confidence: float = MIN_LANGUAGE_CONFIDENCE) -> str | None:
    """The text's language code, or None when the guess is weak (short or mixed titles)."""
    cleaned = re.sub(r"#\S+|@\S+|https?://\S+", " ", text).strip()
    if not any(c.isalpha() for c in cleaned):
        return None
    code, confidence = _identifier().classify(cleaned)
    return str(code) if confidence >= min_confidence else None


# Whose function words a topic's search skips when the topic's own language cannot be told (a topic of two or three
# words often cannot): the languages of the development data and the most common of Shorts titles.
STOP_WORD_LANGUAGES = ("en", "fr", "es", "pt", "it", "de")


@lru_cache(maxsize=32)
def _stop_words(code: str) -> frozenset[str]:
    from stop_words import StopWordError, get_stop_words

    try:
        return frozenset(w.lower() for w in get_stop_words(code))
    except StopWordError:  # a language without a list: nothing is skipped for it
        return frozenset()


# Subjects a creator types that the long English stop list (1,333 words) carries: "home workouts" was searched as
# "workouts" alone (2 matching videos; "home workout" without the list's "home" found 22).
SUBJECTS_IN_STOP_LISTS = frozenset(
    "home world computer computers information research test tests fire system page site work man men year room area "
    "state group problem show name place course value line end part side member case fact interest".split()
)


def filler_words(topic: str) -> frozenset[str]:
    """Words too common to find a niche by: the stop words of the topic's language, or of STOP_WORD_LANGUAGES when
    it cannot be told, but subjects a topic names (``SUBJECTS_IN_STOP_LISTS``). Searched for, "recette de pâtes
    rapide pour étudiants" matched every French title with "pour" or "de" (a sport video and a dating one came out
    as its outliers)."""
    code = language_of(topic, min_confidence=TOPIC_LANGUAGE_CONFIDENCE)
    out = frozenset().union(*(_stop_words(c) for c in ([code] if code else STOP_WORD_LANGUAGES)))
    return out - SUBJECTS_IN_STOP_LISTS


def languages_of(rows: dict[str, dict[str, Any]], channel_titles: dict[str, list[str]]) -> dict[str, str | None]:
    """Each video's language: its channel's (the language most of the channel's stored titles are in, when at
    least two agree and they are the majority) or else its own title's. A short title ("Un laptop gaming
    extensible !") fools a guesser; a channel's run of titles rarely does."""
    by_channel = {}
    for channel, titles in channel_titles.items():
        counts = Counter(code for code in map(language_of, titles) if code)
        if counts:
            top, count = counts.most_common(1)[0]
            if count >= 2 and count > sum(counts.values()) / 2:
                by_channel[channel] = top
    own = {vid: language_of(str(row["title"])) for vid, row in rows.items()}
    return {vid: by_channel.get(str(rows[vid].get("channel_id")), own[vid]) for vid in rows}


def same_language(a: str | None, b: str | None) -> bool:
    """Han-only text cannot be told apart between Chinese and Japanese by a short-text guesser: they match."""
    cjk = {"ja", "zh"}
    return a == b or (a in cjk and b in cjk)


def shorts_kind(duration_s: float | None, *, url: str | None = None, aspect: float | None = None) -> tuple[str, str]:
    """("short" | "long" | "unknown", how it was told). A ``/shorts/`` URL decides; a longer video is never a Short;
    a duration of at most 3 minutes counts with a vertical or square frame (``aspect`` = width / height); without
    URL kind and frame (the store keeps neither today) the duration alone decides, and says so."""
    if url is not None and "/shorts/" in url:
        return "short", "Shorts URL"
    if duration_s is None:
        return "unknown", "length unknown"
    if duration_s > SHORTS_MAX_S:
        return "long", "longer than 3 min"
    if aspect is not None:
        return ("short", "≤ 3 min, vertical") if aspect <= 1.0 else ("long", "≤ 3 min but horizontal")
    if url is not None:
        return "long", "watch URL, frame unknown"
    return "short", "≤ 3 min (URL and frame unknown)"


def is_ad(row: dict[str, Any]) -> bool:
    text = " ".join([row.get("title") or "", (row.get("description") or "")[:500], " ".join(row.get("tags") or [])])
    return bool(_AD.search(text))


def _terms(text: str) -> set[str]:
    return {w for w in words(text) if len(w) >= 2}


# Words that name a format or a promise, not a subject: any niche has "tricks", "tips" and "best of" videos. "iphone
# tricks" shared only "tricks" with "GENIUS FOOD HACKS AND FUNNY TRICKS" (cosine 0.43), which became its outlier.
# English, then the French, Spanish, German and Japanese of the development data; compared after ``_stem``.
GENERIC_WORDS = frozenset(
    "trick tricks hack hacks tip tips idea ideas tutorial tutorials tuto guide review reviews best top how easy simple "
    "quick fast new video videos short shorts vs versus diy life funny viral trending challenge ultimate secret "
    "secrets thing things way ways make making cheap "
    "astuce astuces conseil conseils idée idées meilleur meilleurs meilleure facile rapide simple nouveau nouvelle "
    "comment "
    "truco trucos consejo consejos mejor fácil rápido nuevo "
    "tipps trick tricks beste einfach schnell neu "
    "裏技 コツ 方法 簡単 最強 おすすめ やり方 解説 動画 ショート".split()
)
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff]+")
_SUFFIXES = ("ings", "ing", "ers", "er", "es", "s", "e")


def has_cjk(text: str) -> bool:
    """Whether ``text`` holds Japanese, Chinese or Korean script (written without spaces between words)."""
    return bool(_CJK.search(text))


def _stem(word: str) -> str:
    """A light stem, enough for a title: accents folded, one plural or -ing/-er ending off ("gamer", "gaming" and
    "games" are all "gam"; "iphones" and "iphone" are "iphon"), never below three letters."""
    folded = "".join(c for c in unicodedata.normalize("NFKD", word.lower()) if not unicodedata.combining(c))
    for suffix in _SUFFIXES:
        if folded.endswith(suffix) and len(folded) - len(suffix) >= 3:
            return folded[: -len(suffix)]
    return folded


_GENERIC_STEMS = frozenset(_stem(w) for w in GENERIC_WORDS)


def subject_words(topic: str) -> list[str]:
    """The topic's subject: its words but generic ones (``GENERIC_WORDS``), bare numbers and function words
    (:func:`filler_words`; unless the topic holds nothing else: "car" is a French one); a run of Japanese, Chinese
    or Korean script (no spaces to split on) is one word. Empty when the topic is nothing but generic words ("life
    hacks"): then no word is asked for and the cosine alone decides."""
    out: list[str] = []
    cjk = " ".join(_CJK.findall(topic))
    for generic in (g for g in GENERIC_WORDS if _CJK.fullmatch(g)):
        cjk = cjk.replace(generic, " ")
    out.extend(cjk.split())
    latin = [w for w in words(_CJK.sub(" ", topic)) if len(w) >= 2 and not w.isdigit()]
    latin = [w for w in latin if _stem(w) not in _GENERIC_STEMS]
    skip = filler_words(topic)
    out.extend([w for w in latin if w not in skip] or latin)
    return list(dict.fromkeys(out))


def _names(word: str, text: str, tokens: tuple[list[str], list[str]]) -> bool:
    if _CJK.fullmatch(word):  # a CJK word is named when one of its character pairs (or itself, if one) is in the text
        pairs = [word[i : i + 2] for i in range(len(word) - 1)] or [word]
        return any(p in text for p in pairs)
    said, hashtags = tokens
    # "iPhone17" is "iphone"; a hashtag glues words ("#iphone17promax", "#pcgaming"): one holding the word names it
    # (starting with it, for a word of two letters: "pc" is in "#epcot")
    return any(_stem(t) == word or _stem(t.rstrip("0123456789")) == word for t in said) or any(
        t.startswith(word) or (len(word) >= 3 and word in t) for t in hashtags
    )


def names_the_subject(subject: list[str], text: str) -> bool:
    """Whether ``text`` names at least half of the topic's subject words (one of one or two, two of three or four):
    "My End-Game Gaming TV - LG C9 OLED" names "gaming" but not "budget" or "pc", so it is not about "budget gaming
    pc"."""
    if not subject:
        return True
    stems = [w if _CJK.fullmatch(w) else _stem(w) for w in subject]
    latin = _CJK.sub(" ", text.lower())
    said = words(latin)
    joined = [a + b for a, b in itertools.pairwise(said)]  # "make up" names "makeup"
    tokens = (said + joined, re.findall(r"#(\w+)", latin))
    named = sum(1 for w in stems if _names(w, text, tokens))
    return named >= (len(subject) + 1) // 2


def relevance(
    topic: str, rows: dict[str, dict[str, Any]], embed: Embedder | None
) -> dict[str, tuple[float, bool, bool]]:
    """(cosine to the topic or NaN without an encoder, every topic word present, the topic's subject named) per
    video id."""
    ids = list(rows)
    words = _terms(topic)
    subject = subject_words(topic)
    texts = [_text(rows[i]) for i in ids]
    all_terms = [bool(words) and words <= _terms(t) for t in texts]
    named = [names_the_subject(subject, t) for t in texts]
    if embed is None or not ids:
        return {i: (float("nan"), a, n) for i, a, n in zip(ids, all_terms, named, strict=True)}
    vectors = embed([topic, *texts])
    sims = vectors[1:] @ vectors[0]
    return {i: (float(s), a, n) for i, s, a, n in zip(ids, sims, all_terms, named, strict=True)}


def _text(row: dict[str, Any]) -> str:
    tags = [str(t) for t in (row.get("tags") or [])[:TAGS_IN_TEXT]]
    return str(row["title"]) + (" | " + " ".join(tags) if tags else "")


def passes(score: float, all_terms: bool, named: bool = True) -> bool:
    """The relevance bar: ``score`` (cosine; NaN without an encoder), whether every topic word is present
    (``all_terms``) and whether the video names the topic's subject (``named``, :func:`names_the_subject`)."""
    if np.isnan(score):
        return all_terms
    if not named:
        return score >= MIN_RELEVANCE_UNNAMED
    return score >= MIN_RELEVANCE or (all_terms and score >= MIN_RELEVANCE_ALL_TERMS)


def select(
    topic: str,
    matched_ids: list[str],
    rows: dict[str, dict[str, Any]],
    embed: Embedder | None,
    filters: Filters,
    channel_titles: Callable[[list[str]], dict[str, list[str]]],
) -> Candidates:
    """Relevant candidates of ``matched_ids`` (the full-text matches) after the filters, most relevant first.
    ``channel_titles`` gives the stored titles of channels (for their language)."""
    scores = relevance(topic, {i: rows[i] for i in matched_ids if i in rows}, embed)
    relevant = sorted((i for i, v in scores.items() if passes(*v)), key=lambda i: -np.nan_to_num(scores[i][0]))
    topic_language = language_of(topic, min_confidence=TOPIC_LANGUAGE_CONFIDENCE)
    wanted = {"auto": topic_language, "any": None}.get(filters.language, filters.language)
    out = Candidates(ids=[], info={}, matched=len(matched_ids), relevant=len(relevant), topic_language=topic_language)
    out.language = wanted
    out.subject = subject_words(topic)
    out.relevance_by = "full text only (text encoder unavailable)" if embed is None else out.relevance_by
    channels = [str(rows[i]["channel_id"]) for i in relevant if rows[i].get("channel_id")]
    languages = languages_of({i: rows[i] for i in relevant}, channel_titles(channels))
    for vid in relevant:
        row = rows[vid]
        kind, basis = shorts_kind(row.get("duration_s"))
        info = {
            "relevance": None if np.isnan(scores[vid][0]) else round(scores[vid][0], 3),
            "language": languages[vid],
            "kind": kind,
            "kind_basis": basis,
            "is_ad": is_ad(row),
        }
        reason = _dropped_by(info, filters, wanted)
        if reason:
            out.dropped[reason] += 1
            continue
        out.ids.append(vid)
        out.info[vid] = info
    in_language = sum(1 for i in out.info.values() if same_language(i["language"], wanted))
    if (
        filters.language == "auto"
        and wanted
        and in_language < MIN_IN_LANGUAGE
        and out.dropped["other language"] > in_language
    ):
        # a guessed topic language that leaves fewer videos than it drops is more likely a wrong guess than a rule
        # ("feta pasta" read as Portuguese dropped its 3 English videos, all there were): any language
        fallback = select(topic, matched_ids, rows, embed, replace(filters, language="any"), channel_titles)
        fallback.topic_language = topic_language
        fallback.language_fallback = True
        return fallback
    return out


def _dropped_by(info: dict[str, Any], filters: Filters, language: str | None) -> str | None:
    if info["is_ad"] and not filters.include_ads:
        return "ad"
    if info["kind"] == "long" and not filters.include_long:
        return "long-form"
    if filters.shorts == "only" and info["kind"] != "short":
        return "not a Short"
    if filters.shorts == "exclude" and info["kind"] == "short":
        return "Short"
    if language and info["language"] is not None and not same_language(info["language"], language):
        return "other language"
    return None
