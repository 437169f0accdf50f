"""Idea generators behind one interface: an OpenAI-compatible LLM when configured, else the offline one.

Both return ``IdeaDraft``s that cite the niche videos they came from; every draft is then scored by the
predictor and ranked elsewhere (``recommend.ideas``), so neither generator's own opinion is trusted.
"""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from pydantic import BaseModel, Field, ValidationError

from miles.config import Settings
from miles.errors import SourceUnavailable
from miles.recommend.patterns import Pattern, first_words


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

    def generate(self, context: NicheContext, *, n: int, seed: int = 0) -> list[IdeaDraft]: ...


# --- offline --------------------------------------------------------------------------------------

STOPWORDS = frozenset(
    "a an the and or of to in on for with my your this that is are was i you it at by from be "
    "how what why when who me we our so just not no do does did de la le les et des un une".split()
)
VIBE_FORMATS = {
    "funny": ("skit", "I tried {x} so you don't have to"),
    "chill": ("vlog", "a calm day of {x}"),
    "educational": ("explainer", "{x} explained in 30 seconds"),
    "hype": ("challenge", "{x} challenge: can I beat it?"),
    "cozy": ("vlog", "cozy {x} routine"),
    "dramatic": ("story", "the {x} that went wrong"),
}
DEFAULT_FORMAT = ("tutorial", "{x}: the trick nobody shows you")
HOOK_TEMPLATES = (
    "Show the finished {x} in the first second, then rewind.",
    "Open on the most surprising moment of the {x}.",
    "Ask the viewer a yes/no question about {x} on screen.",
    "Start mid-action with the {x} already going.",
)


def _keywords(titles: list[str], topic: str, k: int = 8) -> list[str]:
    counts: Counter[str] = Counter()
    for title in titles:
        words = [w for w in re.findall(r"[^\W\d_]{3,}", title.lower()) if w not in STOPWORDS]
        counts.update(words)
        counts.update(" ".join(p) for p in itertools.pairwise(words))
    topic_words = set(topic.lower().split())
    return [w for w, _ in counts.most_common(k * 3) if w not in topic_words][:k]


class OfflineGenerator:
    """Recombines the niche's winning patterns, frequent n-grams and formats with the vibe; deterministic per seed."""

    name = "offline"

    def generate(self, context: NicheContext, *, n: int, seed: int = 0) -> list[IdeaDraft]:
        rng = np.random.default_rng(seed)
        titles = [str(o["title"]) for o in context.outliers]
        keywords = _keywords(titles, context.topic) or [context.topic]
        winning = {p.key for p in context.winning()}
        hooks = [h for h in (first_words(t) for t in titles) if h]
        fmt_name, template = VIBE_FORMATS.get(context.vibe.strip().lower(), DEFAULT_FORMAT)
        durations = [float(o["duration_s"]) for o in context.outliers if o.get("duration_s")]
        base_duration = float(np.median(durations)) if durations else 35.0
        drafts = []
        for i in range(n * 3):  # over-generate; scoring and diversity pick the best n
            kw = keywords[int(rng.integers(len(keywords)))]
            subject = f"{context.topic} {kw}".strip() if kw not in context.topic.lower() else context.topic
            title = self._title(template, subject, winning, hooks, rng, i)
            cited = self._cite(context.outliers, kw)
            reasons = [f"'{kw}' recurs in the niche's top videos"]
            reasons += [f"{p.label} ({p.effect:.1f}x median)" for p in context.winning()[:2] if p.effect]
            drafts.append(
                IdeaDraft(
                    title=title[:120],
                    hook=HOOK_TEMPLATES[int(rng.integers(len(HOOK_TEMPLATES)))].format(x=kw),
                    format=fmt_name,
                    duration_s=round(max(8.0, base_duration * float(rng.uniform(0.7, 1.2))), 0),
                    reasoning="; ".join(reasons) + f"; fits a {context.vibe or 'neutral'} vibe as a {fmt_name}.",
                    inspired_by=cited,
                )
            )
        return drafts

    @staticmethod
    def _title(
        template: str, subject: str, winning: set[str], hooks: list[str], rng: np.random.Generator, i: int
    ) -> str:
        title = template.format(x=subject)
        if hooks and i % 3 == 1:
            title = f"{hooks[int(rng.integers(len(hooks)))].capitalize()} {subject}"
        if "number" in winning and i % 2 == 0:
            title = f"{int(rng.choice([3, 5, 7, 10]))} {subject} ideas that actually work"
        if "question" in winning and i % 4 == 3:
            title = f"Why does nobody talk about {subject}?"
        if "shorts_tag" in winning and "#shorts" not in title.lower():
            title += " #shorts"
        return title[:1].upper() + title[1:]

    @staticmethod
    def _cite(outliers: list[dict[str, Any]], keyword: str) -> list[str]:
        matching = [str(o["video_id"]) for o in outliers if keyword in str(o["title"]).lower()]
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
