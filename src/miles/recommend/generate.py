"""Idea generators behind one interface: an OpenAI-compatible LLM when configured, else the offline one.

Both return ``IdeaDraft``s that cite the niche videos they came from; every draft is then scored by the
predictor and ranked elsewhere (``recommend.ideas``), so neither generator's own opinion is trusted.
"""

from __future__ import annotations

import json
import re
import zlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

import numpy as np
from pydantic import BaseModel, Field, ValidationError

from miles.config import Settings
from miles.domain import WORD
from miles.errors import SourceUnavailable
from miles.inputs import YOUTUBE_TITLE_CHARS, format_multiple, format_outlier_multiple
from miles.recommend.candidates import SHORTS_MAX_S
from miles.recommend.patterns import DURATIONS, TITLE_LENGTHS, Pattern
from miles.recommend.templates import Template, templates_for


class IdeaDraft(BaseModel):
    """One idea as a generator proposes it (the JSON schema the LLM must follow)."""

    title: str = Field(min_length=3, max_length=120)
    hook: str = Field(min_length=1, max_length=300, description="What the first 2 seconds show or say.")
    format: str = Field(min_length=1, max_length=120, description="e.g. tutorial, reaction, list, story")
    duration_s: float = Field(gt=0, le=600)
    reasoning: str = Field(min_length=1, max_length=1200)
    inspired_by: list[str] = Field(default_factory=list, max_length=10)


class IdeaList(BaseModel):
    ideas: list[IdeaDraft] = Field(min_length=1, max_length=30)


@dataclass
class NicheContext:
    """What a generator knows: the request and the evidence from the niche."""

    topic: str
    vibe: str
    outliers: list[dict[str, Any]]  # video_id, title, multiple, views, age_h, duration_s
    patterns: list[Pattern] = field(default_factory=list)
    language: str | None = None  # the niche's language (ISO 639-1) when known: ideas are written in it
    titles: list[str] = field(default_factory=list)  # every niche video's title: how the niche spells its words

    def winning(self) -> list[Pattern]:
        return [p for p in self.patterns if p.is_finding and (p.effect or 0) > 1]


class IdeaGenerator(Protocol):
    name: str
    version: str

    def generate(self, context: NicheContext, *, n: int, seed: int = 0) -> list[IdeaDraft]: ...


# --- offline --------------------------------------------------------------------------------------


NUMBERS = (3, 5, 7)
_SPACES = re.compile(r"\s+")


def topic_phrase(topic: str) -> str:
    """The topic as a noun phrase to put in a sentence: trimmed, single spaces, hashtags and quotes dropped."""
    return _SPACES.sub(" ", re.sub(r"[#\"“”]", " ", topic)).strip()


# How a word typed in lower case is spelt when the niche's titles never use it ("Budget gaming pc in 2026")
USUAL_SPELLINGS = {w.lower(): w for w in (
    "PC", "TV", "AI", "DIY", "ASMR", "SSD", "HDD", "GPU", "CPU", "USB", "RGB", "VR", "LED", "FPS", "RPG", "NBA", "NFL",
    "UFC", "PS5", "4K", "HDR", "SEO", "iPhone", "iPad", "YouTube", "TikTok", "MacBook", "AirPods", "ChatGPT",
)}  # fmt: skip


HASHTAG = re.compile(r"#\w+")


def niche_casing(phrase: str, titles: list[str]) -> str:
    """``phrase`` with each word typed in lower case spelt as most of the niche's titles spell it when that has a
    capital past its first letter (iPhone, SSD, TikTok): "iphone tricks" -> "iPhone tricks"; a word no title uses is
    spelt as usual (``USUAL_SPELLINGS``). A capital first letter alone is title case, not the word's spelling; the
    creator's own capitals are kept."""
    forms: dict[str, Counter[str]] = {}
    for title in titles:
        found = WORD.findall(HASHTAG.sub(" ", title))  # hashtags are lower case by habit, not spelling: "#pc"
        long = [w for w in found if len(w) >= 2]
        caps = sum(w.isupper() for w in long)
        shouting = caps >= SHOUTING_MIN_WORDS and caps * 2 > len(long)  # "SSD vs HDD" is not
        for word in found:
            forms.setdefault(word.lower(), Counter())[_spelling(word, shouting)] += 1

    def spelt(match: re.Match[str]) -> str:
        word = match.group(0)
        seen = forms.get(word)
        if word != word.lower():
            return word
        if not seen:
            return USUAL_SPELLINGS.get(word, word)
        form, count = seen.most_common(1)[0]
        special = form[1:] != form[1:].lower()
        return form if special and count * 2 > sum(seen.values()) else word

    return WORD.sub(spelt, phrase)


ACRONYM_MAX_LETTERS = 4  # SSD, NASA, ASMR, HDMI; a longer word in capitals is shouting ("FRESH PASTA Recipe")
SHOUTING_MIN_WORDS = 3  # a title of mostly capitals, at least this many: "GENIUS FOOD HACKS AND FUNNY TRICKS"


def _spelling(word: str, shouting: bool) -> str:
    """How a title spells ``word``, as evidence of its spelling: capitals are shouting, not spelling, in a title
    mostly in capitals or past an acronym's length ("PASTA against the clock" copied a shouting title)."""
    caps = word.isupper() and len(word) >= 2
    return word.lower() if caps and (shouting or len(word) > ACRONYM_MAX_LETTERS) else word


def _article(word: str) -> str:
    """'an' before a vowel sound ("an honest feel", "an eerie one"), else 'a' ("a cozy", "a unique", "a one-pot")."""
    lower = word.lower()
    if lower.startswith(("hon", "hour", "heir")):
        return "an"
    if lower.startswith(("uni", "use", "usu", "eu", "one", "once")):
        return "a"
    return "an" if lower[:1] in "aeiou" and lower else "a"


def _capitalised(text: str) -> str:
    """``text`` with a capital first letter, unless its first word is spelt with a small one (iPhone, eBay)."""
    first = text.split(" ", 1)[0]
    if first[:1].islower() and first[1:] != first[1:].lower():
        return text
    return text[:1].upper() + text[1:]


def _fill(text: str, x: str, n: int, year: int) -> str:
    return _capitalised(text.format(x=x, X=_capitalised(x), n=n, year=year))


Span = tuple[float, float]  # a measure's range, low and high inclusive


def winning_range(
    winning: dict[str, Pattern], buckets: tuple[tuple[float, float, str], ...], prefix: str
) -> tuple[Pattern, Span] | None:
    """The strongest winning pattern among a bucketed measure's buckets (``patterns.DURATIONS``, ``TITLE_LENGTHS``)
    and its range: what the ideas' own measure follows (a niche rewarding "≤ 15 s" gets 12 s ideas, one rewarding
    "long title (> 60 characters)" long titles)."""
    found = [
        (winning[f"{prefix}:{label}"], (low, high)) for low, high, label in buckets if f"{prefix}:{label}" in winning
    ]
    return max(found, key=lambda f: f[0].effect or 0.0) if found else None


def _outside(length: float, span: Span) -> float:
    """How far ``length`` falls outside ``span`` (0 inside it)."""
    return max(span[0] - length, length - span[1], 0.0)


def shortened(text: str, limit: int = 60) -> str:
    """``text`` cut at a word boundary within ``limit`` characters, with an ellipsis when it was cut."""
    text = text.strip()
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0] if " " in text[: limit - 1] else text[: limit - 1]
    return cut.rstrip(" ,;:-") + "…"


class OfflineGenerator:
    """Grammatical ideas from typed slots (topic noun phrase, number, hook, format), no words lifted from other
    titles. Templates that lean on one of the niche's winning patterns and suit the vibe come first; every draft
    names the outliers and patterns it used, or says that the niche gave no evidence. Deterministic per topic and
    seed."""

    name = "offline"
    version = "14"  # part of the ideas cache key: a new recipe must not serve old cached ideas

    def __init__(self, *, year: int | None = None) -> None:
        self.year = year

    def generate(self, context: NicheContext, *, n: int, seed: int = 0) -> list[IdeaDraft]:
        # per topic as well as seed: with the seed alone every topic drew the same templates in the same order ("X
        # against the clock", "X for beginners in 5 simple steps", "X in 2026: worth it?" for cooking and travel)
        rng = np.random.default_rng([seed, zlib.crc32(context.topic.strip().lower().encode())])
        x = niche_casing(topic_phrase(context.topic) or context.topic,
                         context.titles or [str(o["title"]) for o in context.outliers])  # fmt: skip
        winning = {p.key: p for p in context.winning()}
        _, templates = templates_for(context.language)
        order = self._order(templates, context.vibe.strip().lower(), winning, rng)
        year = self.year or date.today().year
        seconds = self._typical_seconds(context.outliers, winning)
        title_length = self._title_length(winning)
        span = title_length[1] if title_length else None
        drafts = []
        for template in order:
            number = int(NUMBERS[int(rng.integers(len(NUMBERS)))])
            title = self._title(template, x, number, year, span)
            used = [winning[template.pattern]] if template.pattern in winning else []
            if title_length and not _outside(len(title), title_length[1]):
                used.append(title_length[0])
            cited = self._cite(context.outliers, template.pattern)
            drafts.append(
                IdeaDraft(
                    title=title[:120],
                    hook=_fill(template.hook, x, number, year)[:300],
                    format=template.format,
                    duration_s=float(round(min(SHORTS_MAX_S, seconds or template.seconds))),
                    reasoning=self._reasoning(context, template, used, cited),
                    inspired_by=[str(o["video_id"]) for o in cited],
                )
            )
        return self._kept(drafts, n, span)

    @staticmethod
    def _title_length(winning: dict[str, Pattern]) -> tuple[Pattern, Span] | None:
        """The niche's winning title length and its range in characters, within what YouTube accepts."""
        found = winning_range(winning, TITLE_LENGTHS, "title_length")
        # YouTube refuses a longer title, whatever the niche's long titles reward
        return (found[0], (found[1][0], min(found[1][1], YOUTUBE_TITLE_CHARS))) if found else None

    @staticmethod
    def _title(template: Template, x: str, number: int, year: int, span: Span | None) -> str:
        """The template's title, or its fuller wording (``Template.longer``) when that is nearer the length the
        niche's titles win with; the plain one when both are as near."""
        plain = _fill(template.title, x, number, year)
        if span is None or not template.longer:
            return plain
        fuller = _fill(template.title + template.longer, x, number, year)
        return min((plain, fuller), key=lambda t: _outside(len(t), span))

    @staticmethod
    def _kept(drafts: list[IdeaDraft], n: int, span: Span | None) -> list[IdeaDraft]:
        """3n drafts for scoring and diversity to choose from; with a winning title length, only those of that
        length, topped up to n with the nearest others when too few reach it (a short niche, a long topic)."""
        wanted = max(n * 3, n)
        if span is None:
            return drafts[:wanted]
        fitting = [d for d in drafts if not _outside(len(d.title), span)]
        nearest = sorted(
            (d for d in drafts if _outside(len(d.title), span)), key=lambda d: _outside(len(d.title), span)
        )
        return (fitting + nearest[: max(n - len(fitting), 0)])[:wanted]

    @staticmethod
    def _order(
        templates: tuple[Template, ...], vibe: str, winning: dict[str, Pattern], rng: np.random.Generator
    ) -> list[Template]:
        """Templates using a winning pattern and suiting the vibe first, then those doing one of the two, then the
        rest; shuffled within. A pattern alone came before the vibe: "cozy" got speedruns and reactions."""

        def rank(t: Template) -> int:
            return (0 if t.pattern in winning else 1) + (0 if vibe and vibe in t.vibes else 1)

        shuffled = [templates[i] for i in rng.permutation(len(templates))]
        return sorted(shuffled, key=rank)

    @staticmethod
    def _typical_seconds(outliers: list[dict[str, Any]], winning: dict[str, Pattern]) -> float | None:
        """A length inside the range a winning length pattern names (four fifths of its top: "≤ 15 s" gives 12 s,
        where every idea said 22 s beside it), else the median length of the niche's Short outliers (never a long
        video's), within 15–60 s."""
        shorts_lengths = tuple(b for b in DURATIONS if b[1] <= SHORTS_MAX_S)
        if found := winning_range(winning, shorts_lengths, "duration"):
            low, high = found[1]
            return float(round(max(low, 0.8 * high)))
        shorts = [float(o["duration_s"]) for o in outliers if o.get("duration_s") and o["duration_s"] <= SHORTS_MAX_S]
        return float(np.clip(np.median(shorts), 15, 60)) if shorts else None

    @staticmethod
    def _cite(outliers: list[dict[str, Any]], pattern: str | None) -> list[dict[str, Any]]:
        """Up to three trusted outliers, those showing the template's pattern first."""
        trusted = [o for o in outliers if o.get("trusted", True)]
        marks = {"number": r"\d", "question": r"[?？]"}
        if pattern in marks:
            showing = [o for o in trusted if re.search(marks[pattern], str(o["title"]))]
            trusted = showing + [o for o in trusted if o not in showing]
        return trusted[:3]

    @staticmethod
    def _reasoning(context: NicheContext, template: Template, used: list[Pattern], cited: list[dict[str, Any]]) -> str:
        parts = []
        for pattern in used:
            parts.append(
                f"Uses the niche's pattern “{pattern.label}”: {format_multiple(pattern.effect or 0.0)} the median "
                f"multiple (95 % interval {format_multiple(pattern.ci_low or 0.0)}–"
                f"{format_multiple(pattern.ci_high or 0.0)}, {pattern.n_with} videos)."
            )
        if cited:
            shown = "; ".join(
                f"“{shortened(str(o['title']))}” ({format_outlier_multiple(o['multiple'] or 0)})" for o in cited
            )
            parts.append(f"Closest outliers: {shown}.")
        else:
            parts.append(
                "The niche gave no outlier to learn from (no video beating its own channel's usual views, measured "
                "over enough of its uploads): this is a proven Shorts format applied to the topic, not evidence "
                "from the niche."
            )
        vibe = context.vibe.strip()
        parts.append(f"Format: {template.format}" + (f", for {_article(vibe)} {vibe} feel." if vibe else "."))
        return " ".join(parts)[:1200]


# --- LLM -------------------------------------------------------------------------------------------

SYSTEM_PROMPT = (
    "You are a YouTube Shorts strategist. Propose video ideas grounded ONLY in the evidence given: the niche's "
    "outlier videos (with their outlier multiple: views relative to the channel's usual views at the same age) "
    "and measured patterns with effect sizes. Reply with JSON only, no prose, matching this schema: "
)


def build_prompt(context: NicheContext, n: int) -> str:
    """The evidence for the LLM: the niche's outliers (trusted ones first, each with what its multiple compares
    with) and only the significant patterns (95 % interval excluding 1x); says so when the niche gave none."""
    keys = ("video_id", "title", "multiple", "views", "duration_s", "basis_views", "baseline_count", "age_window",
            "trusted")  # fmt: skip
    outliers = [{k: o.get(k) for k in keys if k in o} for o in context.outliers[:15]]
    patterns = [
        {
            "pattern": p.label,
            "effect": round(p.effect, 2),
            "ci95": [round(p.ci_low or 0.0, 2), round(p.ci_high or 0.0, 2)],
            "n_with": p.n_with,
            "n_without": p.n_without,
        }
        for p in context.patterns
        if p.is_finding and p.effect is not None
    ][:12]
    evidence = "" if outliers else "The niche has no outlier videos: say in each reasoning that the idea is a guess. "
    return json.dumps(
        {
            "topic": context.topic,
            "vibe": context.vibe,
            "language": context.language or "the topic's",
            "ideas_wanted": n,
            "outliers": outliers,
            "significant_patterns": patterns,
            "rules": evidence + "inspired_by must list video_ids from outliers; reasoning must name the outliers and "
            "patterns the idea uses; duration_s at most 180 (a Short); every idea distinct from the others; title and "
            "hook in the given language (an ISO 639-1 code), reasoning in English",
        },
        ensure_ascii=False,
    )


class LLMGenerator:
    """An OpenAI-compatible chat API; the reply must validate against ``IdeaList`` or the call fails cleanly."""

    name = "llm"

    def __init__(self, *, base_url: str, api_key: str, model: str, timeout_s: float, retries: int = 1) -> None:
        from openai import OpenAI

        self.model = model
        self.version = model
        self.retries = retries
        self.client = OpenAI(base_url=base_url, api_key=api_key or "none", timeout=timeout_s, max_retries=retries)

    def generate(self, context: NicheContext, *, n: int, seed: int = 0) -> list[IdeaDraft]:
        import openai

        schema = json.dumps(IdeaList.model_json_schema())
        messages: list[Any] = [
            {"role": "system", "content": SYSTEM_PROMPT + schema},
            {"role": "user", "content": build_prompt(context, n)},
        ]
        last_problem = "no reply"
        for _attempt in range(self.retries + 1):
            try:
                reply = self.client.chat.completions.create(
                    model=self.model, messages=messages, seed=seed, temperature=0.7
                )
            except openai.APITimeoutError as exc:
                raise SourceUnavailable("the LLM did not answer in time") from exc
            except openai.APIError as exc:
                raise SourceUnavailable(f"the LLM endpoint failed: {exc}") from exc
            content = (reply.choices[0].message.content or "") if reply.choices else ""
            try:
                return parse_ideas(content, known_ids={str(o["video_id"]) for o in context.outliers})
            except ValueError as exc:
                last_problem = str(exc)
        raise SourceUnavailable(f"the LLM reply did not match the idea schema: {last_problem}")


def parse_ideas(content: str, *, known_ids: set[str]) -> list[IdeaDraft]:
    """Validate an LLM reply. Code fences are tolerated; citations of unknown videos are dropped."""
    text = content.strip()
    fenced = re.search(r"```(?:json)?\s*(.*?)```", text, re.DOTALL)
    if fenced:
        text = fenced.group(1)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc.msg} at position {exc.pos})") from exc
    if isinstance(data, list):
        data = {"ideas": data}
    try:
        ideas = IdeaList.model_validate(data).ideas
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ValueError(f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}") from exc
    for idea in ideas:
        idea.inspired_by = [v for v in idea.inspired_by if v in known_ids]
    return ideas


def generator_for(settings: Settings) -> IdeaGenerator:
    if settings.llm_base_url and settings.llm_model:
        return LLMGenerator(
            base_url=settings.llm_base_url,
            api_key=settings.llm_api_key.get_secret_value(),
            model=settings.llm_model,
            timeout_s=settings.llm_timeout_s,
        )
    return OfflineGenerator()
