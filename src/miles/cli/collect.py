"""`miles collect ...`, `miles track ...` and `miles worker`: thin commands over ``miles.jobs``."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from miles.cli.state import STATE
from miles.collect.ytdlp import YouTubeChannel, is_url, video_id_from_url
from miles.errors import InvalidInput

console = Console()
err_console = Console(stderr=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
LimitOpt = Annotated[int, typer.Option("--limit", "-n", min=1, max=500, help="Most videos to take per target.")]

collect_app = typer.Typer(
    help="Collect videos and snapshots with yt-dlp (rate-limited, retried).", no_args_is_help=True
)
track_app = typer.Typer(help="Re-poll videos on a decaying schedule to build view trajectories.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(collect_app, name="collect")
    app.add_typer(track_app, name="track")
    app.command("worker")(worker_cmd)


@contextmanager
def _progress(enabled: bool) -> Iterator[Callable[[str, int, int], None]]:
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=not enabled,
    ) as progress:
        tasks: dict[str, Any] = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(stage, total=total)
            progress.update(tasks[stage], completed=done, total=total)

        yield update


def _run_collect(targets: list[str], *, limit: int | None, refresh_known: bool, as_json: bool, job: str) -> None:
    from miles.jobs.collect import Collector, collect

    with _progress(not as_json) as update:
        collector = Collector(settings=STATE.settings, progress=update)
        report = collect(targets, collector=collector, job=job, limit=limit, refresh_known=refresh_known)
    _report_run(report, job, as_json=as_json)


def _report_run(report: Any, job: str, *, as_json: bool) -> None:
    """A collection or tracking run's counts; exit 1 when it read nothing (no network, say): scripts and cron notice."""
    _print_counts(report.as_dict(), as_json=as_json, title=f"{job} run {report.run_id}: {report.status}")
    if report.status == "failed":
        raise typer.Exit(1)


def _print_counts(result: dict[str, Any], *, as_json: bool, title: str) -> None:
    if as_json:
        typer.echo(json.dumps(result, indent=2, default=str))
        return
    table = Table(title=title)
    table.add_column("")
    table.add_column("count", justify="right")
    for key, value in result.items():
        if isinstance(value, int) and not isinstance(value, bool) and key != "run_id":
            table.add_row(key.replace("_", " "), f"{value:,}")
        elif isinstance(value, dict):
            for reason, n in sorted(value.items(), key=lambda kv: -kv[1]):
                colour = "red" if "failed" in key else "yellow"
                table.add_row(f"[{colour}]{key.replace('_', ' ')}[/{colour}]: {reason}", f"{n:,}")
    console.print(table)


@collect_app.command("search")
def search_cmd(
    query: Annotated[str, typer.Argument(help="What to search YouTube for, e.g. 'easy pasta'.")],
    limit: LimitOpt = 20,
    refresh: Annotated[bool, typer.Option("--refresh", help="Also re-extract videos already stored.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Collect the top Shorts for a search query."""
    if is_url(query):
        raise InvalidInput(f"{query!r} is a URL; use `miles collect video` or `miles collect channel`")
    _run_collect([query], limit=limit, refresh_known=refresh, as_json=as_json, job="collect_search")


@collect_app.command("channel")
def channel_cmd(
    url: Annotated[str, typer.Argument(help="Channel URL (https://www.youtube.com/@name) or a feed URL.")],
    tab: Annotated[str, typer.Option("--tab", help="shorts, videos or both.")] = "both",
    limit: LimitOpt = 50,
    refresh: Annotated[bool, typer.Option("--refresh", help="Also re-extract videos already stored.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Collect a channel's Shorts tab and uploads (Shorts only)."""
    if tab not in ("shorts", "videos", "both"):
        raise InvalidInput(f"--tab must be shorts, videos or both, not {tab!r}")
    if not is_url(url) or video_id_from_url(url):
        raise InvalidInput(f"{url!r} is not a channel URL; e.g. https://www.youtube.com/@name")
    target = url.rstrip("/")
    if YouTubeChannel.matches(target) and tab != "both":
        target = target.rsplit("/", 1)[0] if target.endswith(("/shorts", "/videos")) else target
        target = f"{target}/{tab}"
    _run_collect([target], limit=limit, refresh_known=refresh, as_json=as_json, job="collect_channel")


@collect_app.command("video")
def video_cmd(
    url: Annotated[str, typer.Argument(help="A video URL (watch, shorts or youtu.be link, or any page yt-dlp reads).")],
    as_json: JsonOpt = False,
) -> None:
    """Collect one video now (a fresh snapshot even when it is already stored)."""
    if not is_url(url):
        raise InvalidInput(f"{url!r} is not a URL; use `miles collect search` for queries")
    _run_collect([url], limit=None, refresh_known=True, as_json=as_json, job="collect_video")


@collect_app.command("niches")
def niches_cmd(
    limit: LimitOpt = 20,
    niche: Annotated[list[str] | None, typer.Option("--niche", help="Override MILES_NICHES (repeatable).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Collect every configured niche (MILES_NICHES), deduped across niches."""
    niches = niche or STATE.settings.niches
    if not niches:
        raise InvalidInput("no niches configured; set MILES_NICHES='[\"cooking shorts\"]' or pass --niche")
    _run_collect(list(niches), limit=limit, refresh_known=False, as_json=as_json, job="collect_niches")


@collect_app.command("runs")
def runs_cmd(
    job: Annotated[str | None, typer.Option("--job", help="Only runs of this job.")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=500)] = 20,
    as_json: JsonOpt = False,
) -> None:
    """Show recent job runs (collect, track, worker jobs) with their counts."""
    from miles.store.db import session_scope
    from miles.store.repos.jobs import recent_runs

    with session_scope(STATE.settings) as session:
        runs: list[dict[str, Any]] = [
            {
                "id": r.id,
                "job": r.job,
                "status": r.status,
                "started_at": r.started_at.isoformat(),
                "finished_at": r.finished_at.isoformat() if r.finished_at else None,
                "counts": r.counts,
                "error": r.error,
            }
            for r in recent_runs(session=session, job=job, limit=limit)
        ]
    if as_json:
        typer.echo(json.dumps(runs, indent=2))
        return
    table = Table(title="job runs (newest first)")
    for col in ("id", "job", "status", "started", "found", "new", "updated", "failed"):
        table.add_column(col)
    for r in runs:
        counts = r["counts"] or {}
        failed = ", ".join(f"{k}: {v}" for k, v in (counts.get("failed") or {}).items()) or (r["error"] or "")
        table.add_row(
            str(r["id"]),
            r["job"],
            r["status"],
            str(r["started_at"])[:19],
            str(counts.get("found", "")),
            str(counts.get("new", "")),
            str(counts.get("updated", "")),
            failed,
        )
    console.print(table)


@track_app.command("add")
def track_add_cmd(
    url: Annotated[str, typer.Argument(help="A YouTube video URL or id, or a TikTok video URL, to follow.")],
    user: Annotated[str | None, typer.Option("--user", help="Track for this user (email); default: Miles.")] = None,
) -> None:
    """Take a snapshot now, then re-poll on the schedule (MILES_TRACK_SCHEDULE_H).

    A video already tracked is not read again (exit 0)."""
    from miles.jobs.collect import Collector
    from miles.jobs.track import add_tracking
    from miles.serve.services.tracked import link_to_track

    link = link_to_track(url)  # the API's rule and words: nothing is read or stored for another site's link
    row, created = add_tracking(link, collector=Collector(settings=STATE.settings), user_email=user)
    when = row.next_poll_at.isoformat(timespec="minutes") if row.next_poll_at else "never (its schedule is over)"
    if created:
        console.print(f"now tracking {row.video_id} (id {row.id}); next poll {when}", highlight=False)
    else:
        console.print(
            f"{row.video_id} is already tracked (id {row.id}): not read again; next poll {when}", highlight=False
        )


@track_app.command("list")
def track_list_cmd(
    user: Annotated[str | None, typer.Option("--user", help="Show this user's tracked videos.")] = None,
    active: Annotated[bool, typer.Option("--active", help="Only videos still being polled.")] = False,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=1000)] = 50,
    offset: Annotated[int, typer.Option("--offset", min=0)] = 0,
    as_json: JsonOpt = False,
) -> None:
    """List tracked videos (Miles' own, or a user's with --user), next poll first."""
    from miles.store.db import session_scope
    from miles.store.repos.tracking import list_tracking
    from miles.store.repos.users import require_user

    with session_scope(STATE.settings) as session:
        user_id = require_user(session=session, email=user).id if user else None
        rows, total = list_tracking(session=session, user_id=user_id, active_only=active, limit=limit, offset=offset)
        items = [_tracked_dict(r) for r in rows]
        _with_titles_and_views(session, items)
    if as_json:
        from miles.serve.paging import next_offset  # the API's pages, one rule

        page = {"total": total, "offset": offset, "next_offset": next_offset(offset, limit, total), "items": items}
        typer.echo(json.dumps(page, indent=2))
        return
    if not items:
        console.print(
            f"no tracked videos{' here' if total else ''} ({total} in all): add one with `miles track add URL`"
        )
        return
    from rich import box

    # fits 80 columns: polls and times in full are in --json
    table = Table(title=f"tracked videos {offset + 1}-{offset + len(items)} of {total}", box=box.SIMPLE_HEAD)
    table.add_column("id", no_wrap=True)
    table.add_column("video", no_wrap=True, min_width=11)
    table.add_column("title", no_wrap=True, overflow="ellipsis", max_width=16)
    for col in ("views", "next poll"):
        table.add_column(col, no_wrap=True)
    table.add_column("status", no_wrap=True, min_width=7)
    for it in items:
        status = _status(it)
        latest = it["latest_views"]
        table.add_row(str(it["id"]), it["video_id"], it["title"] or "–", "–" if latest is None else f"{latest:,}",
                      _short(it["next_poll_at"])[5:], status)  # fmt: skip
    console.print(table)
    for line in _failure_lines(items):
        console.print(line, highlight=False)


@track_app.command("views")
def track_views_cmd(
    tracked_id: Annotated[int, typer.Argument(help="The tracked video's id (`miles track list --user EMAIL`).")],
    views: Annotated[str, typer.Argument(help="The views you read: 15000, 15,000 or 15k.")],
    user: Annotated[str, typer.Option("--user", help="Whose tracked video (email).")],
    read_at: Annotated[
        str | None,
        typer.Option("--at", help="When you read them (ISO 8601, UTC unless an offset is given); default now."),
    ] = None,
    title: Annotated[str | None, typer.Option("--title", help="Its title: only while Miles has not read it.")] = None,
    published_at: Annotated[
        str | None,
        typer.Option("--published-at", help="When it went out (ISO 8601): only while Miles has not read it."),
    ] = None,
    subscribers: Annotated[str | None, typer.Option("--subscribers", help="The channel's subscribers now.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Enter views you read for a user's tracked video, and see its forecast from them.

    As the Track page and the API take them. Every problem of the reading is named at once; nothing is stored then."""
    from pydantic import ValidationError

    from miles.serve.schemas import ViewsIn, ViewsRecordedOut
    from miles.serve.services.model import load_predictor
    from miles.serve.services.tracked import enter_views
    from miles.store.db import session_scope
    from miles.store.repos.users import require_user

    typed = {"views": views, "read_at": read_at, "title": title, "published_at": published_at,
             "channel_subscribers": subscribers}  # fmt: skip
    try:
        body = ViewsIn.model_validate({k: v for k, v in typed.items() if v is not None})
    except ValidationError as exc:
        from miles.serve.errors import problem_words

        raise InvalidInput("; ".join(f"{READING_OPTIONS.get(str(e['loc'][0]), str(e['loc'][0]))}: {problem_words(e)}"
                                     for e in exc.errors())) from exc  # fmt: skip
    with session_scope(STATE.settings) as session:
        user_id = require_user(session=session, email=user).id
        answer = enter_views(session=session, user_id=user_id, tracked_id=tracked_id, body=body,
                             load_predictor=lambda: load_predictor(STATE.settings, session)[0],
                             at=READING_OPTIONS)  # fmt: skip
    out = ViewsRecordedOut.model_validate(answer)
    if as_json:
        typer.echo(out.model_dump_json(indent=2))
        return
    _print_recorded(out)


# a reading's fields as `miles track views` names them (the API names them body.read_at, the MCP tool read_at)
READING_OPTIONS = {"views": "VIEWS", "read_at": "--at", "title": "--title", "published_at": "--published-at",
                   "channel_subscribers": "--subscribers"}  # fmt: skip


def _print_recorded(out: Any) -> None:
    from miles.features.labels import VIRAL_DEFINITION
    from miles.inputs import format_age, format_chance, format_forecast_range, format_forecast_views
    from miles.recommend.scoring import horizon_label

    video = out.video
    latest = video.latest
    what = video.title or video.video_id
    console.print(f"{what}: {latest.views:,} views at {format_age(latest.age_h)}" if latest else what, highlight=False)
    for note in out.notes:
        console.print(f"note: {note}", highlight=False)
    if video.forecast is None:
        console.print(video.forecast_note or "no forecast", highlight=False)
        return
    for h in video.forecast.horizons:
        console.print(f"  {horizon_label(h.horizon_h):>4}: {format_forecast_views(h.p50)} "
                      f"(80 %: {format_forecast_range(h.p10, h.p90)})", highlight=False)  # fmt: skip
    # what the Track page and the API say beside the numbers: the chance, how far off such forecasts were, the check
    console.print(f"viral chance: {format_chance(video.forecast.viral_probability)} - {VIRAL_DEFINITION}",
                  highlight=False)  # fmt: skip
    if video.forecast.accuracy:
        console.print(video.forecast.accuracy, highlight=False)
    if (check := video.forecast_check) is not None:
        console.print(f"forecast before publishing for {format_age(check.age_h)}: "
                      f"{format_forecast_views(check.forecast_p50)}; actual {check.views:,} - {check.off}",
                      highlight=False)  # fmt: skip


def _status(item: dict[str, Any]) -> str:
    """A tracked video's state in a word; a failed last poll is "failing" (it read "active" as if all was well)."""
    if item["active"]:
        return "failing" if item["last_error"] else "active"
    return "stopped" if item["last_error"] else "done"


def _failure_lines(items: list[dict[str, Any]]) -> list[str]:
    """Why each failing or stopped video's last poll failed, in words (the site's own text is in --json)."""
    from miles.domain import failure_words

    return [f"{it['id']}: {_status(it)}, {failure_words(it['last_error_reason'])}" for it in items if it["last_error"]]


def _with_titles_and_views(session: Any, items: list[dict[str, Any]]) -> None:
    """Each tracked video's title and latest collected views (the operator's view: views a user typed are theirs)."""
    from sqlalchemy import select

    from miles.store.repos.videos import latest_stats
    from miles.store.tables import Video

    ids = [it["video_id"] for it in items]
    found = session.execute(select(Video.id, Video.title).where(Video.id.in_(ids))) if ids else []
    titles = {video_id: title for video_id, title in found}
    latest = latest_stats(session=session, video_ids=ids)
    for it in items:
        seen = latest.get(it["video_id"])
        it.update(title=titles.get(it["video_id"]), latest_views=seen.views if seen else None,
                  latest_read_at=seen.captured_at.isoformat() if seen else None)  # fmt: skip


def _tracked_dict(row: Any) -> dict[str, Any]:
    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "id": row.id,
        "video_id": row.video_id,
        "url": row.url,
        "user_id": row.user_id,
        "added_at": iso(row.added_at),
        "poll_index": row.poll_index,
        "next_poll_at": iso(row.next_poll_at),
        "last_polled_at": iso(row.last_polled_at),
        "last_error": row.last_error,
        "last_error_reason": row.last_error_reason,
        "active": row.active,
    }


def _short(value: str | None) -> str:
    return value[:16].replace("T", " ") if value else "-"


@track_app.command("run")
def track_run_cmd(
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=10_000, help="Most polls this run.")] = 500,
    as_json: JsonOpt = False,
) -> None:
    """Poll every tracked video that is due now."""
    from miles.jobs.collect import Collector
    from miles.jobs.track import poll_due

    with _progress(not as_json) as update:
        report = poll_due(collector=Collector(settings=STATE.settings, progress=update), limit=limit)
    _report_run(report, "track", as_json=as_json)


def worker_cmd(
    once: Annotated[bool, typer.Option("--once", help="Run each job once and exit.")] = False,
    job: Annotated[list[str] | None, typer.Option("--job", help="Only this job (repeatable).")] = None,
) -> None:
    """Run the periodic jobs in-process.

    Collect niches (6 h), poll tracking (5 min), collect requests (1 min), score new videos and grade stored
    predictions (30 min), retrain (weekly, MILES_RETRAIN_INTERVAL_H)."""
    from miles.jobs.schedule import SCHEDULE
    from miles.jobs.worker import run_forever, run_once, selected_jobs

    selected_jobs(job)  # validate names before starting
    if not STATE.debug:
        logging.getLogger("miles").setLevel(logging.INFO)
    if once:
        results = run_once(STATE.settings, names=job)
        typer.echo(json.dumps(results, indent=2, default=str))
        return
    for j in SCHEDULE if not job else selected_jobs(job):
        err_console.print(f"scheduled [bold]{j.name}[/bold] every {j.every(STATE.settings)} ({j.description})")
    if STATE.settings.broker_url:
        err_console.print("MILES_BROKER_URL is set: Celery workers can share the load (see docs/collect.md)")
    run_forever(STATE.settings, names=job)
