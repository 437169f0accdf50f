"""`miles ideas`: niche outliers, patterns with effect sizes, and scored ideas for a topic and vibe."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from miles.cli.state import STATE
from miles.config import Settings
from miles.domain import checked_platform
from miles.errors import InvalidInput, SourceUnavailable
from miles.inputs import (
    format_age,
    format_chance,
    format_count,
    format_forecast_range,
    format_forecast_views,
    format_outlier_multiple,
    parse_subscribers,
)
from miles.recommend.candidates import Filters
from miles.recommend.generate import shortened
from miles.serve.api.ideas import ideas_answer
from miles.serve.services.ideas import ideas_for
from miles.serve.services.model import PredictorHolder
from miles.store.db import session_scope
from miles.store.repos.jobs import Requester

console = Console()
COLLECT_LIMIT = 40
CLI_REQUESTER = Requester(user_id=None, key="cli")


def register(app: typer.Typer) -> None:
    app.command("ideas")(ideas_cmd)


def ideas_cmd(
    topic_arg: Annotated[
        str | None, typer.Argument(metavar="TOPIC", help="The niche, e.g. 'sourdough bread' (or --topic).")
    ] = None,
    topic_opt: Annotated[str | None, typer.Option("--topic", help="The niche, e.g. 'sourdough bread'.")] = None,
    vibe: Annotated[str, typer.Option("--vibe", help="The feel you want, e.g. funny, cozy, educational.")] = "",
    n: Annotated[int, typer.Option("--n", "-n", min=1, max=20, help="How many ideas.")] = 5,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Offline generator seed.")] = 0,
    subscribers: Annotated[
        str | None,
        typer.Option(
            "--subscribers",
            help="Your channel's subscribers (1200, 1,200, 12k): ideas are forecast for your channel, not a typical "
            "one.",
        ),
    ] = None,
    collect: Annotated[
        bool,
        typer.Option(
            "--collect",
            help="Search YouTube for fresh niche videos first when the store has too few recent ones (needs network).",
        ),
    ] = False,
    language: Annotated[
        str,
        typer.Option(
            "--language", help="Niche videos in this language only: auto (the topic's language), any, or a code (en)."
        ),
    ] = "auto",
    shorts: Annotated[
        str, typer.Option("--shorts", help="any, only (Shorts only) or exclude (no Shorts).", case_sensitive=False)
    ] = "any",
    include_long: Annotated[bool, typer.Option("--include-long", help="Keep long-form videos (> 3 min).")] = False,
    include_ads: Annotated[bool, typer.Option("--include-ads", help="Keep videos that look like ads.")] = False,
    platform: Annotated[
        str,
        typer.Option("--platform", help="youtube or tiktok (a TikTok niche: stored TikTok videos, ideas unscored)."),
    ] = "youtube",
    as_json: Annotated[bool, typer.Option("--json", help="Print the full result as JSON.")] = False,
) -> None:
    """Ideas with evidence: what over-performs in the niche, which patterns matter, and scored ideas."""
    settings = STATE.settings
    topic = _topic(topic_arg, topic_opt)
    try:
        platform = checked_platform(platform)
    except ValueError as exc:
        raise InvalidInput(f"--platform: {exc}") from None
    if collect and platform != "youtube":
        raise InvalidInput("--collect searches YouTube; for TikTok use `miles collect tiktok user|tag` first")
    filters = Filters(language=language.lower(), shorts=shorts.lower(), include_long=include_long,
                      include_ads=include_ads)  # fmt: skip
    channel_size = parse_subscribers(subscribers, "--subscribers")
    with session_scope(settings) as session:
        predictor = PredictorHolder(settings).get(session)
    with console.status("finding the niche, its outliers and ideas…", spinner="dots"):
        result = ideas_for(
            settings=settings,
            predictor=predictor,
            topic=topic,
            vibe=vibe,
            n=n,
            seed=seed,
            requester=CLI_REQUESTER,
            platform=platform,
            collect=_collector(settings) if collect else None,
            filters=filters,
            subscribers=float(channel_size) if channel_size is not None else None,
        )
    if as_json:  # the API's answer, field for field ("ok" included)
        typer.echo(json.dumps(ideas_answer(result).model_dump(mode="json"), indent=2, ensure_ascii=False))
        return
    _print(result)


def _topic(argument: str | None, option: str | None) -> str:
    """The topic, given as the argument or as --topic (a creator types either): exactly one of them."""
    if argument and option and argument.strip() != option.strip():
        raise InvalidInput(f"give the topic once: {argument!r} or --topic {option!r}")
    topic = (argument or option or "").strip()
    if not topic:
        raise InvalidInput("give a topic: miles ideas 'sourdough bread' (or --topic 'sourdough bread')")
    return topic


def _collector(settings: Settings) -> Callable[[str], int]:
    """Collect Shorts for the topic with yt-dlp; a failed run says why instead of failing the ideas."""
    from miles.jobs.collect import Collector, collect

    def run(topic: str) -> int:
        report = collect([topic], collector=Collector(settings), job="collect-ideas", limit=COLLECT_LIMIT)
        if report.status == "failed" or (report.counts.failed and not report.counts.extracted):
            reasons = ", ".join(report.counts.failed) or "unknown"
            raise SourceUnavailable(f"collection run {report.run_id} found nothing new ({reasons})")
        return report.counts.new + report.counts.updated

    return run


def _fmt(value: float | None, spec: str = ".1f") -> str:
    return "–" if value is None else format(value, spec)


def _flag(outlier: dict[str, Any]) -> str:
    """Why an outlier's multiple is not trusted: its basis's usual views are tiny, or it rests on too few videos."""
    if outlier.get("basis") == "unknown":
        return ": channel's usual views"
    if outlier.get("tiny_base"):
        return f" (tiny base: {outlier['basis_views']:,.0f} views)"
    return "" if outlier.get("trusted", True) else " (thin)"


def _print(result: dict[str, Any]) -> None:
    console.print(
        f"[bold]{result['topic']}[/bold] {result['vibe']} · {result['candidates']} niche videos · "
        f"model {result['model_version'] or '- (not scored)'} · ideas by the {result['generator']} generator"
        + (f" in {language}" if (language := result.get("ideas_language")) else "")
        + (f" · for {subs:,.0f} subscribers" if (subs := result.get("channel_subscribers")) is not None else "")
        + (" · cached" if result.get("cached") else "")
    )
    outliers = Table(title="Outliers (age-normalised)")
    for col in ("title", "length", "age", "views", "multiple", "basis"):
        outliers.add_column(col, justify="left" if col == "title" else "right")
    kinds = {"short": "Short", "long": "long-form", "unknown": "unknown"}  # as the Ideas page's badges
    for o in result["outliers"][:8]:
        outliers.add_row(shortened(o["title"], 70), kinds.get(o.get("kind") or "", "–"), format_age(o["age_h"]),
                         f"{o['views']:,}", "–" if o["multiple"] is None else format_outlier_multiple(o["multiple"]),
                         o["basis"] + _flag(o))  # fmt: skip
    # an empty table's bare header said nothing; the notes below say why there are none
    console.print(outliers if result["outliers"] else "[dim]Outliers: none (see the notes below)[/dim]")
    patterns = Table(title="Patterns (median multiple with vs without)")
    for col in ("pattern", "with", "without", "effect", "95% interval"):
        patterns.add_column(col)
    judged = [p for p in result["patterns"] if p["enough_data"]]
    for p in judged[:10]:
        mark = "[green]" if p["is_finding"] else ""
        patterns.add_row(
            p["label"],
            str(p["n_with"]),
            str(p["n_without"]),
            f"{mark}{_fmt(p['effect'], '.2f')}x",
            f"{_fmt(p['ci_low'], '.2f')}–{_fmt(p['ci_high'], '.2f')}",
        )
    console.print(patterns if judged else "[dim]Patterns: none with enough niche videos to judge[/dim]")
    if thin := sum(1 for p in result["patterns"] if not p["enough_data"]):
        console.print(f"[dim]{format_count(thin, 'more pattern')} with too few niche videos to judge[/dim]")
    scored = result["model_version"] is not None
    ideas = Table(title="Ideas (scored by the model)" if scored else "Ideas (not scored: no model for this platform)")
    for col in ("#", "title", "views 7 d (p10–p90)", "viral", "inspired by"):
        ideas.add_column(col)
    for rank, idea in enumerate(result["ideas"], start=1):
        prediction = idea["prediction"] or {}  # None: no model for the niche's platform (see the notes)
        views = prediction.get("views") or {}
        week = views.get("7d")  # the column's age (the web page's headline horizon)
        band = "–"
        if week:  # "under 1" below one view, as every surface says it
            band = f"{format_forecast_views(week['p50'])} ({format_forecast_range(week['p10'], week['p90'])})"
        ideas.add_row(
            str(rank),
            idea["title"],
            band,
            format_chance(prediction["viral_probability"]) if prediction else "–",
            "; ".join(shortened(t, 40) for t in idea["inspired_by_titles"][:2]),
        )
    console.print(ideas)
    # every idea is forecast for the same channel size: the Score page's sentence on how far off such forecasts were
    accuracy = next((i["prediction"].get("accuracy") for i in result["ideas"] if i["prediction"]), None)
    if accuracy:
        console.print(accuracy, highlight=False)
    for note in result.get("notes", []):
        console.print(f"[yellow]note:[/yellow] {note}")
