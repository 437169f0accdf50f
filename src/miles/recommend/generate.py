"""Idea generators behind one interface: an OpenAI-compatible LLM when configured, else the offline one.

Both return ``IdeaDraft``s that cite the niche videos they came from; every draft is then scored by the
predictor and ranked elsewhere (``recommend.ideas``), so neither generator's own opinion is trusted.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from pydantic import BaseModel, Field, ValidationError

from miles.config import Settings
from miles.errors import SourceUnavailable
from miles.recommend.patterns import Pattern


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

    def winning(self) -> list[Pattern]:
        return [p for p in self.patterns if p.is_finding and (p.effect or 0) > 1]


class IdeaGenerator(Protocol):
    name: str
    version: str

    def generate(self, context: NicheContext, *, n: int, seed: int = 0) -> list[IdeaDraft]: ...


# --- offline --------------------------------------------------------------------------------------

STOPWORDS = frozenset(
    "a an the and or of to in on for with my your this that is are was i you it at by from be "
    "how what why when who me we our so just not no do does did de la le les et des un une "
    "shorts short video videos vlog youtube".split()
)
VIBE_TEMPLATES: dict[str, tuple[str, tuple[str, ...]]] = {
    "funny": (
        "skit",
        (
            "I tried {x} so you don't have to",
            "{x}, but everything goes wrong",
            "POV: your first time doing {x}",
            "Rating viral {x} hacks, honestly",
        ),
    ),
    "educational": (
        "explainer",
        (
            "{x} explained in 30 seconds",
            "The {x} mistake everyone makes",
            "How {x} actually works",
            "What nobody tells you about {x}",
        ),
    ),
    "cozy": ("vlog", ("A cozy {x} routine", "Slow morning: {x}", "{x}, but relaxing", "Quiet {x} with me")),
    "chill": ("vlog", ("A calm day of {x}", "{x}, no talking", "Easy {x} to unwind", "Lazy Sunday {x}")),
    "hype": (
        "challenge",
        ("{x} challenge: can I beat it?", "I did {x} for 7 days", "The fastest {x} ever", "{x} speedrun"),
    ),
    "dramatic": (
        "story",
        ("The {x} that went wrong", "I almost gave up on {x}", "{x}: the plot twist", "Nobody believed my {x}"),
    ),
}
DEFAULT_TEMPLATES = (
    "tutorial",
    (
        "{x}: the trick nobody shows you",
        "How I do {x} in under a minute",
        "{x} in 30 seconds",
        "Why your {x} doesn't work",
    ),
)
HOOK_TEMPLATES = (
    "Show the finished {x} in the first second, then rewind.",
    "Open on the most surprising moment of the {x}.",
    "Ask the viewer a yes/no question about {x} on screen.",
    "Start mid-action with the {x} already going.",
)
_HASHTAG = re.compile(r"#\S+")
_WORD = re.compile(r"[^\W\d_]{2,}")


def subjects(titles: list[str], topic: str, k: int = 6) -> list[str]:
    """The topic plus the niche's recurring 2–3-word phrases (in at least two distinct titles), topic-words
    first, none overlapping another (so 'cooking made easy' does not also give 'cooking made')."""
    counts: Counter[str] = Counter()
    for title in {t.strip().lower() for t in titles}:
        words = _WORD.findall(_HASHTAG.sub(" ", title))  # hashtags are labels, not phrases to reuse
        grams = {" ".join(words[i : i + n]) for n in (2, 3) for i in range(len(words) - n + 1)}
        counts.update(g for g in grams if g.split()[0] not in STOPWORDS and g.split()[-1] not in STOPWORDS)
    topic_words = set(topic.lower().split())
    recurring = [g for g, c in counts.most_common() if c >= 2 and g != topic.lower()]
    chosen: list[str] = []
    for gram in sorted(recurring, key=lambda g: not (set(g.split()) & topic_words)):
        if not any(gram in other or other in gram for other in chosen):
            chosen.append(gram)
    return [topic.strip(), *chosen[: k - 1]]


class OfflineGenerator:
    """Recombines the niche's winning patterns, recurring phrases and formats with the vibe; deterministic per seed."""

    name = "offline"
    version = "4"  # part of the ideas cache key: a new recipe must not serve old cached ideas

    def generate(self, context: NicheContext, *, n: int, seed: int = 0) -> list[IdeaDraft]:
        rng = np.random.default_rng(seed)
        titles = [str(o["title"]) for o in context.outliers]
        phrases = subjects(titles, context.topic)
        winning = {p.key for p in context.winning()}
        vibe = context.vibe.strip().lower()
        fmt_name, templates = VIBE_TEMPLATES.get(vibe, DEFAULT_TEMPLATES)
        durations = [float(o["duration_s"]) for o in context.outliers if o.get("duration_s")]
        base_duration = float(np.median(durations)) if durations else 35.0
        drafts = []
        for i in range(n * 3):  # over-generate; scoring and diversity pick the best n
            subject = phrases[i % len(phrases)] if i < len(phrases) else phrases[int(rng.integers(len(phrases)))]
            template = templates[int(rng.integers(len(templates)))]
            title = self._title(template, subject, winning, rng, i)
            reasons = [
                f"'{subject}' recurs in the niche's top videos"
                if subject != phrases[0]
                else f"built on the niche's top videos for '{subject}'"
            ]
            reasons += [f"{p.label} ({p.effect:.1f}x median)" for p in context.winning()[:2] if p.effect]
            drafts.append(
                IdeaDraft(
                    title=title[:120],
                    hook=HOOK_TEMPLATES[int(rng.integers(len(HOOK_TEMPLATES)))].format(x=subject),
                    format=fmt_name,
                    duration_s=round(max(8.0, base_duration * float(rng.uniform(0.7, 1.2))), 0),
                    reasoning="; ".join(reasons) + f"; fits a {context.vibe or 'neutral'} vibe as a {fmt_name}.",
                    inspired_by=self._cite(context.outliers, subject),
                )
            )
        return drafts

    @staticmethod
    def _title(template: str, subject: str, winning: set[str], rng: np.random.Generator, i: int) -> str:
        title = template.format(x=subject)
        if "number" in winning and i % 3 == 2:
            title = f"{int(rng.choice([3, 5, 7, 10]))} {subject} ideas that actually work"
        if "question" in winning and i % 4 == 3:
            title = f"Why does nobody talk about {subject}?"
        if "shorts_tag" in winning and "#shorts" not in title.lower():
            title += " #shorts"
        return title[:1].upper() + title[1:]

    @staticmethod
    def _cite(outliers: list[dict[str, Any]], subject: str) -> list[str]:
        words = set(subject.lower().split())
        matching = [str(o["video_id"]) for o in outliers if words & set(str(o["title"]).lower().split())]
        return (matching or [str(o["video_id"]) for o in outliers])[:3]


# --- LLM -------------------------------------------------------------------------------------------

SYSTEM_PROMPT = (
    "You are a YouTube Shorts strategist. Propose video ideas grounded ONLY in the evidence given: the niche's "
    "outlier videos (with their outlier multiple: views relative to the channel's usual views at the same age) "
    "and measured patterns with effect sizes. Reply with JSON only, no prose, matching this schema: "
)


def build_prompt(context: NicheContext, n: int) -> str:
    outliers = [
        {k: o.get(k) for k in ("video_id", "title", "multiple", "views", "duration_s")} for o in context.outliers[:15]
    ]
    patterns = [
        {"pattern": p.label, "effect": round(p.effect, 2), "n_with": p.n_with, "n_without": p.n_without}
        for p in context.patterns
        if p.enough_data and p.effect is not None
    ][:12]
    return json.dumps(
        {
            "topic": context.topic,
            "vibe": context.vibe,
            "ideas_wanted": n,
            "outliers": outliers,
            "patterns": patterns,
            "rules": "inspired_by must list video_ids from outliers",
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
