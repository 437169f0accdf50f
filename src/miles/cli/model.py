"""`miles train`, `miles predict` and `miles model list|show|promote`."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from miles.cli.state import STATE
from miles.errors import InvalidInput, NotFound
from miles.features.labels import VIRAL_DEFINITION
from miles.inputs import format_chance, format_count, format_forecast_views

console = Console()
err = Console(stderr=True)
model_app = typer.Typer(help="List, inspect and promote trained models.", no_args_is_help=True)
TASKS = ("prepublish", "early", "both")
ABLATIONS: list[tuple[str, str, tuple[str, ...]]] = [
    ("text only", "prepublish", ("text", "title_embedding", "horizon", "selection")),
    ("+ metadata", "prepublish", ("text", "title_embedding", "horizon", "selection", "timing", "video")),
    ("+ channel context", "prepublish", ("text", "title_embedding", "horizon", "selection", "timing", "video",
                                         "channel")),
    ("+ thumbnail statistics", "prepublish", ("text", "title_embedding", "horizon", "selection", "timing", "video",
                                              "channel", "thumbnail")),
    ("+ early views", "early", ("text", "title_embedding", "horizon", "selection", "timing", "video", "channel",
                                "thumbnail", "early")),
]  # fmt: skip


def register(app: typer.Typer) -> None:
    app.command("train")(train_cmd)
    app.command("predict")(predict_cmd)
    model_app.command("list")(list_cmd)
    model_app.command("show")(show_cmd)
    model_app.command("promote")(promote_cmd)
    model_app.command("prepare")(prepare_cmd)
    model_app.command("compare")(compare_cmd)
    model_app.command("card")(card_cmd)
    app.add_typer(model_app, name="model")


def _frame(data: list[Path] | None, use_db: bool) -> Any:
    from miles.jobs.train import frame_from_files, frame_from_store

    if data and use_db:
        raise InvalidInput("give either --data FILE... or --db, not both")
    return frame_from_files(data) if data else frame_from_store(STATE.settings)


def train_cmd(
    task: Annotated[str, typer.Option("--task", help="prepublish, early, or both (a bundle like the default).")] = (
        "prepublish"
    ),
    data: Annotated[
        list[Path] | None, typer.Option("--data", help="Snapshot files or directories (else the database).")
    ] = None,
    db: Annotated[bool, typer.Option("--db", help="Train on every snapshot in the database (the default).")] = False,
    out: Annotated[
        Path | None, typer.Option("--out", help="Artifact directory (default: data dir/models/VERSION).")
    ] = None,
    no_text: Annotated[bool, typer.Option("--no-text-embedding", help="Skip the MiniLM title embedding.")] = False,
    ablations: Annotated[bool, typer.Option("--ablations", help="Also train the ablations for the card.")] = False,
    register_model: Annotated[bool, typer.Option("--register/--no-register", help="Record in model_versions.")] = True,
) -> None:
    """Train a LightGBM model on an honest split, evaluate it beside the baselines, save the artifact."""
    from miles.jobs.train import train_bundle, train_task, version_name
    from miles.model.train import TrainConfig

    if task not in TASKS:
        raise InvalidInput(f"--task must be one of {', '.join(TASKS)}, got {task!r}")
    settings = STATE.settings
    started = time.perf_counter()
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), TimeElapsedColumn(), console=err,
                  transient=True) as bar:  # fmt: skip
        handle = bar.add_task("loading data", total=1.0)

        def progress(msg: str, frac: float) -> None:
            bar.update(handle, description=msg, completed=frac)

        frame = _frame(data, db)
        target = out or settings.data_dir / "models" / version_name(task)
        if task == "both":
            version, metrics = train_bundle(frame, target, settings=settings, text=not no_text,
                                            ablations=ABLATIONS if ablations else None, progress=progress,
                                            register=register_model)  # fmt: skip
            headline, loso = metrics["prepublish"]["headline"], metrics["prepublish"].get("leave_one_source_out")
        else:
            cfg = TrainConfig(task=task, text_embedding=not no_text)  # type: ignore[arg-type]
            result, version = train_task(frame, task, target, settings=settings, cfg=cfg,  # type: ignore[arg-type]
                                         progress=progress, register=register_model)  # fmt: skip
            headline, loso = result.metrics["headline"], result.metrics.get("leave_one_source_out")
    _print_headline(headline)
    from miles.cli.evaluate import print_loso

    if loso:
        print_loso(loso)
    console.print(f"saved [bold]{version}[/bold] to {target} in {time.perf_counter() - started:.0f} s")


def _print_headline(report: dict[str, Any]) -> None:
    table = Table(title=f"{report['task']} · test fold: {report['rows']:,} rows, {report['groups']:,} channels")
    for col in ("model", "Spearman", "MAE log10", "AUROC"):
        table.add_column(col, justify="left" if col == "model" else "right")
    for name, ms in report["metrics"].items():

        def cell(key: str, ms: dict[str, Any] = ms) -> str:
            iv = ms.get(key)
            return f"{iv['value']:.3f} [{iv['lo']:.3f}, {iv['hi']:.3f}]" if iv and iv["value"] is not None else "–"

        table.add_row(name, cell("spearman"), cell("mae_log10"), cell("auroc"))
    console.print(table)


def predict_cmd(
    title: Annotated[str, typer.Option("--title", help="Draft title.")],
    description: Annotated[str | None, typer.Option("--description")] = None,
    tags: Annotated[
        str | None, typer.Option("--tags", help="Tags: 'baking, tech tips' (commas; a tag may hold spaces) or '#a #b'.")
    ] = None,
    duration: Annotated[
        str | None, typer.Option("--duration", help="Duration: seconds, m:ss or 1m30s (a Short: at most 3:00).")
    ] = None,
    category: Annotated[
        str | None,
        typer.Option("--category", help="YouTube category id, 0 to 100 (e.g. 28: Science & Technology)."),
    ] = None,
    publish_at: Annotated[
        str | None,
        typer.Option(
            "--publish-at", help="Planned publish time, ISO 8601 (UTC unless an offset is given); default now."
        ),
    ] = None,
    subscribers: Annotated[
        str | None, typer.Option("--subscribers", help="Channel subscribers now: 1200, 1,200, 12k or 1.2M.")
    ] = None,
    channel: Annotated[
        str | None,
        typer.Option("--channel", help="Your channel (id, @handle or channel URL): its stored uploads are used."),
    ] = None,
    collect: Annotated[
        bool,
        typer.Option(
            "--collect/--no-collect",
            help="When Miles does not know --channel yet, collect its recent uploads with yt-dlp first (network).",
        ),
    ] = False,
    thumbnail: Annotated[str | None, typer.Option("--thumbnail", help="Thumbnail image: a file path or URL.")] = None,
    early_views: Annotated[
        list[str] | None,
        typer.Option(
            "--early-views",
            help="Views so far as AGE:VIEWS, hours by default: 1:150, '6h:1.2k', 2d:15k, 30min:40; repeat the option "
            "or separate with commas ('1:150, 6:900').",
        ),
    ] = None,
    model_dir: Annotated[Path | None, typer.Option("--model", help="Model directory (else the one served).")] = None,
    platform: Annotated[
        str, typer.Option("--platform", help="youtube or tiktok; a TikTok draft needs a model trained on TikTok.")
    ] = "youtube",
    as_json: Annotated[bool, typer.Option("--json", help="Print the prediction as JSON.")] = False,
) -> None:
    """Predict views (p10/p50/p90 at 1 h … 30 d) and P(viral) for one draft."""
    from miles.inputs import (
        parse_category,
        parse_duration,
        parse_early_views,
        parse_publish_time,
        parse_subscribers,
        parse_tags,
        parse_title,
    )
    from miles.model.predict import DraftInput, Predictor

    settings = STATE.settings
    predictor = Predictor.load(model_dir or _served_dir(), settings=settings)
    _require_platform(predictor, platform)  # exit 1 with "no TikTok model yet" before reading any other input
    if collect and not channel:
        raise InvalidInput("--collect needs --channel (an @handle, a UC… channel id or a youtube.com channel URL)")
    problems: list[str] = []  # every unreadable option at once, as the Score page lists every field

    def read(parse: Any, *args: Any) -> Any:
        try:
            return parse(*args)
        except InvalidInput as exc:
            problems.append(exc.message)
            return None

    typed = {  # read by miles.inputs, in the words of the Score form and the API
        "title": read(parse_title, title, "--title"),
        "category_id": read(parse_category, category, "--category"),
        "duration_s": read(parse_duration, duration, "--duration"),
        "publish_at": read(parse_publish_time, publish_at, "--publish-at"),
        "channel_subscribers": read(parse_subscribers, subscribers, "--subscribers"),
        "early_views": read(parse_early_views, ", ".join(early_views or []), "--early-views") or [],
        "thumbnail": read(_thumbnail, thumbnail),
    }
    if problems:
        raise InvalidInput("; ".join(problems))
    draft = DraftInput.from_mapping({"description": description,
                                     "tags": parse_tags(tags) or None, **typed}, None)  # fmt: skip
    channel_id, history, note = _channel_history(settings, channel, collect=collect) if channel else (None, None, None)
    draft.draft.channel_id = channel_id
    from miles.domain import utcnow
    from miles.model.predict import early_views_problem

    if problem := early_views_problem(draft.draft, utcnow()):
        raise InvalidInput(problem)
    pred = predictor.predict([draft], channel_history=history)[0]
    if as_json:
        from miles.serve.services.predict import to_prediction_out  # the API's shape: one forecast, one format

        out = to_prediction_out(pred, version=pred.model_version, mode=pred.mode).model_dump(mode="json")
        typer.echo(json.dumps({**out, "channel_note": note}, indent=2))
        return
    kind = "forecast from the views so far" if pred.mode == "early" else "forecast before publishing"  # as the pages
    table = Table(title=f"{kind} · model {pred.model_version}")
    for col in ("age", "p10", "p50 (views)", "p90"):
        table.add_column(col, justify="right")
    for h in pred.horizons:
        age = f"{h.horizon_h / 24:g} d" if h.horizon_h >= 24 else f"{h.horizon_h:g} h"
        age += " *" if h.back_tested is False else ""
        p10, p50, p90 = (format_forecast_views(v) for v in (h.p10, h.p50, h.p90))  # "under 1" below one view
        table.add_row(age, p10, f"[bold]{p50}[/bold]", p90)
    console.print(table)
    if any(h.back_tested is False for h in pred.horizons):  # as the Score page marks them
        console.print("* not back-tested: no test video like this one was measured at that age, so how far off it "
                      "may be is unknown; read it as rougher than the others", highlight=False)  # fmt: skip
    # as every surface words it; a dash, not brackets round the definition's own brackets
    console.print(f"viral chance: [bold]{format_chance(pred.viral_probability)}[/bold] - {VIRAL_DEFINITION}")
    if pred.accuracy:
        console.print(pred.accuracy, highlight=False)
    if pred.channel_history:
        used = pred.channel_history
        console.print(f"channel history used: {format_count(used['uploads'], 'earlier upload')} of "
                      f"{used['channel_id']}, published {used['first_published'][:10]} – "
                      f"{used['last_published'][:10]}", highlight=False)  # fmt: skip
    elif note:
        err.print(f"[yellow]{note}[/yellow]", highlight=False)
    console.print("read as: " + read_as_line(pred.draft), highlight=False)
    from miles.model.predict import EFFECT_CAPTION, effect_multiple, feature_label, no_reasons

    reasons = ", ".join(f"{feature_label(f)} {effect_multiple(v)}" for f, v in pred.contributions)
    console.print("what drove it: " + (f"{reasons} ({EFFECT_CAPTION[0].lower()}{EFFECT_CAPTION[1:-1]})" if reasons
                                       else no_reasons(pred.mode, pred.draft)), highlight=False)  # fmt: skip


def read_as_line(draft: dict[str, dict[str, Any]]) -> str:
    """The draft as the forecast read it, in one line: given values, then what stood in for each blank."""
    from miles.inputs import format_duration

    shown = {"duration_s": "duration", "channel_subscribers": "subscribers", "publish_at": "publish time",
             "tags": "tags", "category_id": "category", "early_views": "early views", "thumbnail": "thumbnail",
             "description": "description"}  # fmt: skip
    parts = []
    for name, label in shown.items():
        f = draft.get(name)
        if f is None:
            continue
        value = f["value"]
        when = f"{value[:16].replace('T', ' ')} UTC" if name == "publish_at" else ""
        if f["status"] == "defaulted":  # the date first: after the note it read as the "now" the note names
            parts.append(f"{label} {when} ({f['note']})" if when else f"{label} {f['note']}")
        elif name == "duration_s":
            parts.append(f"{label} {format_duration(value)} ({value:g} s)")
        elif name == "channel_subscribers":
            parts.append(f"{label} {value:,}")
        elif name == "publish_at":
            parts.append(f"{label} {when}")
        elif name == "early_views":
            parts.append(f"{label} " + ", ".join(f"{e['views']:,} at {e['age_h']:g} h" for e in value))
        elif name == "tags":
            parts.append(f"{label} {', '.join(value)}")
        elif name == "description":
            parts.append(f"{label} ({format_count(len(value), 'character')})")
        else:
            parts.append(f"{label} {value}")
        if f["status"] != "defaulted" and f.get("note"):  # e.g. a thumbnail the model does not read
            parts[-1] += f" ({f['note']})"
    return "; ".join(parts)


def _channel_history(settings: Any, reference: str, *, collect: bool) -> tuple[str | None, Any, str | None]:
    """(channel id, its stored snapshots, None) for a channel Miles knows - after collecting it first when asked
    to - or (None, None, a note saying why no history is used)."""
    from miles.domain import channel_url
    from miles.store.db import session_scope
    from miles.store.repos import niche

    try:
        url = channel_url(reference)
    except ValueError as exc:
        raise InvalidInput(f"--channel: {exc}") from None
    with session_scope(settings) as session:
        channel_id = niche.resolve_channel(session=session, reference=reference)
    if channel_id is None and collect:
        if url is None:
            raise InvalidInput(f"--channel {reference!r}: give an @handle, a UC… id or a youtube.com URL to collect")
        channel_id = _collect_channel(settings, url)
    if channel_id is None:
        hint = (
            "" if collect
            else " Give its @handle or youtube.com URL with --collect to collect its uploads." if url is None
            else f" Add --collect to collect its recent uploads first ({url}; needs network)."
        )  # fmt: skip
        return None, None, f"Miles has no uploads of the channel {reference!r}: forecasting for a new channel.{hint}"
    with session_scope(settings) as session:
        history = niche.channel_history(session=session, channel_ids=[channel_id])
    return channel_id, history, None


def _collect_channel(settings: Any, url: str) -> str | None:
    """Collect a channel's recent uploads now, as the worker runs a queued request; the channel id found."""
    from miles.cli.collect import _progress
    from miles.domain import utcnow
    from miles.jobs.collect import Collector
    from miles.jobs.tasks import run_request
    from miles.store.db import session_scope
    from miles.store.repos import jobs

    with session_scope(settings) as session:
        run = jobs.request_collection(session=session, query=url, now=utcnow())  # no cap: never None
        assert run is not None
        request_id = run.id
    with _progress(True) as update:
        done = run_request(request_id, url, collector=Collector(settings=settings, progress=update))
    if done["status"] == "failed" or not done.get("channel_id"):
        reasons = done.get("error") or ", ".join(f"{k} ({n})" for k, n in (done.get("failed") or {}).items())
        err.print(f"[yellow]collecting {url} found no uploads{': ' + reasons if reasons else ''}[/yellow]",
                  highlight=False)  # fmt: skip
        return None
    err.print(f"collected {format_count(done.get('extracted', 0), 'upload')} of {done['channel_id']} "
              f"(run {done.get('run_id')})", highlight=False)  # fmt: skip
    return str(done["channel_id"])


def _thumbnail(value: str | None) -> bytes | None:
    if value is None:
        return None
    settings = STATE.settings
    if value.startswith(("http://", "https://")):
        from miles import net

        fetched, _ = net.fetch_image(value, policy=net.FetchPolicy.from_settings(settings))
        return fetched.content
    path = Path(value)
    if not path.is_file():
        raise InvalidInput(f"--thumbnail {value}: no such file")
    if path.stat().st_size > settings.max_image_bytes:
        raise InvalidInput(
            f"--thumbnail {value}: {path.stat().st_size:,} bytes; the limit is {settings.max_image_bytes:,}"
        )
    from miles.model.images import decode_image

    data = path.read_bytes()
    try:  # checked here so the message names the file
        decode_image(data, max_pixels=settings.max_image_pixels, max_bytes=settings.max_image_bytes)
    except InvalidInput as exc:
        raise InvalidInput(f"--thumbnail {value}: {exc.message}") from None
    return data


def _require_platform(predictor: Any, platform: str) -> None:
    from miles.domain import checked_platform
    from miles.recommend.platforms import require_platform_model
    from miles.store.db import session_scope

    try:
        chosen = checked_platform(platform)
    except ValueError as exc:
        raise InvalidInput(f"--platform: {exc}") from None
    with session_scope(STATE.settings) as session:
        require_platform_model(predictor, [chosen], session=session)


def _served_dir() -> Path:
    from miles.recommend.scoring import served_model_dir
    from miles.store.db import session_scope

    with session_scope(STATE.settings) as session:
        return served_model_dir(STATE.settings, session)


def list_cmd(
    task: Annotated[str | None, typer.Option("--task", help="prepublish, early or both (a bundle).")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1)] = 20,
    offset: Annotated[int, typer.Option("--offset", min=0)] = 0,
) -> None:
    """Registered model versions, newest first."""
    from miles.store.db import session_scope
    from miles.store.repos.models import list_models

    if task is not None and task not in TASKS:
        raise InvalidInput(f"--task: {task!r} is not a task; choose {', '.join(TASKS)}")

    table = Table(title="model versions")
    # The model's own version never wraps; the feature code it was built for reads "feature set v3" (the header
    # "feature version" wrapped in a narrow terminal into a lone "version" above the feature-code version).
    table.add_column("model version", no_wrap=True)
    for col in ("task", "promoted", "feature set", "Spearman", "AUROC", "path"):
        table.add_column(col, overflow="fold")
    with session_scope(STATE.settings) as session:
        rows = list_models(session=session, task=task, limit=limit, offset=offset)
        if not rows:
            table.caption = "no registered models here: `miles train` registers one, `miles model promote` serves it"
        for row in rows:
            model: dict[str, Any] = next((v for k, v in row.metrics.items() if k.startswith("model")), {})
            table.add_row(row.version, row.task, "yes" if row.promoted else "", f"v{row.feature_version}",
                          _num(model.get("spearman")), _num(model.get("auroc")), row.path)  # fmt: skip
    console.print(table)
    served = _model_summary(_served_dir())
    console.print(f"serving {served['version']} ({served['path']})" + (
        " - `miles model promote default` serves the packaged default again" if served["registered"]
        else " - the packaged default, not registered: `miles model show default`"), highlight=False)  # fmt: skip


def _model_summary(path: Path) -> dict[str, Any]:
    """What a model directory says of itself: version, tasks, feature set, each task's headline metrics."""
    from miles.store.db import session_scope
    from miles.store.tables import ModelVersion

    bundle, single = path / "bundle.json", path / "manifest.json"  # a bundle of tasks, or one task's artifact
    if bundle.is_file():
        meta = json.loads(bundle.read_text(encoding="utf-8"))
        dirs = {task: path / task for task in meta.get("tasks") or []}
    else:
        manifest = json.loads(single.read_text(encoding="utf-8")) if single.is_file() else {}
        meta = {"version": (manifest.get("extra") or {}).get("version"),
                "feature_version": manifest.get("feature_version")}  # fmt: skip
        dirs = {str(manifest.get("task")): path} if manifest else {}
    tasks = list(dirs)
    metrics = {}
    for task, where in dirs.items():
        every = json.loads((where / "metrics.json").read_text(encoding="utf-8"))
        headline = every.get("headline", {})
        metrics[task] = {name: {k: v.get("value") for k, v in ms.items()}
                         for name, ms in headline.get("metrics", {}).items() if name.startswith("model")}  # fmt: skip
        metrics[task]["viral_rate"] = headline.get("viral_rate")  # ~0.9: trending rows are hits by selection
        if ordinary := every.get("viral_on_ordinary"):  # the viral chance where its definition lives
            metrics[task]["viral_on_ordinary_uploads"] = {
                "rows": ordinary.get("rows"), "viral_rate": ordinary.get("viral_rate"),
                **{k: v for k, v in ordinary.items() if k.startswith("model")},
            }  # fmt: skip
    version = str(meta.get("version") or path.name)
    with session_scope(STATE.settings) as session:
        registered = session.get(ModelVersion, version) is not None
    return {"version": version, "tasks": tasks, "path": str(path), "registered": registered,
            "feature_version": meta.get("feature_version"), "metrics": metrics}  # fmt: skip


def _num(v: Any) -> str:
    return f"{v:.3f}" if isinstance(v, float) else "–"


def show_cmd(
    version: Annotated[
        str,
        typer.Argument(
            help="A version from `miles model list`, 'served' (the one served) or 'default' (the packaged default)."
        ),
    ] = "served",
) -> None:
    """A version's manifest summary and headline metrics."""
    from miles.model.predict import packaged_default_dir
    from miles.recommend.scoring import NAMED_MODELS, resolve_model
    from miles.store.db import session_scope
    from miles.store.repos.models import get_model

    if version in NAMED_MODELS:
        typer.echo(json.dumps(_model_summary(resolve_model(version, settings=STATE.settings)), indent=2))
        return
    with session_scope(STATE.settings) as session:
        try:
            row = get_model(session=session, version=version)
        except NotFound:  # the packaged default (or a MILES_MODEL_DIR) serves unregistered: it describes itself
            unregistered = (_model_summary(path) for path in (_served_dir(), packaged_default_dir()))
            summary = next((s for s in unregistered if s["version"] == version), None)
            if summary is None:
                raise
            typer.echo(json.dumps(summary, indent=2))
            return
        info = {"version": row.version, "task": row.task, "path": row.path, "promoted": row.promoted,
                "feature_version": row.feature_version, "created_at": str(row.created_at),
                "metrics": row.metrics}  # fmt: skip
    typer.echo(json.dumps(info, indent=2))


def promote_cmd(
    version: Annotated[
        str,
        typer.Argument(help="A version from `miles model list` to serve, or 'default': the packaged default again."),
    ],
) -> None:
    """Serve this version (unless MILES_MODEL_DIR overrides it)."""
    from miles.model.predict import Predictor, packaged_default_dir
    from miles.store.db import session_scope
    from miles.store.repos.models import clear_promotion, get_model, promote_model

    if version == "served":
        raise InvalidInput("'served' is what Miles serves already; promote a version from `miles model list` "
                           "or 'default' (the packaged default)")  # fmt: skip
    if version == "default":
        with session_scope(STATE.settings) as session:
            clear_promotion(session=session)  # nothing promoted: serving falls back to the packaged default
        packaged = _model_summary(packaged_default_dir())["version"]
        console.print(f"serving the packaged default ({packaged}) again", highlight=False)
    else:
        with session_scope(STATE.settings) as session:
            row = get_model(session=session, version=version)
            Predictor.load(Path(row.path), settings=STATE.settings)  # refuse a missing dir or another feature version
            promote_model(session=session, version=version)
        console.print(f"promoted {version}", highlight=False)
    if STATE.settings.model_dir is not None:
        err.print(f"[yellow]MILES_MODEL_DIR ({STATE.settings.model_dir}) is set: it is served instead[/yellow]",
                  highlight=False)  # fmt: skip


def card_cmd(
    directory: Annotated[Path, typer.Argument(help="A trained bundle's directory (bundle.json, metrics.json).")],
) -> None:
    """Write a bundle's MODEL_CARD.md again from its stored metrics, as this Miles writes cards.

    For a card whose wording or number format changed after the bundle was trained; nothing is retrained and no
    number changes (the sanity and blank-field tables are the bundle's own forecasts again)."""
    from miles.jobs.train import rewrite_bundle_card

    with err.status("loading the bundle and writing its card"):
        path = rewrite_bundle_card(directory, settings=STATE.settings)
    console.print(f"wrote {path}")


def prepare_cmd() -> None:
    """Build the text and thumbnail encoders from the packaged weights and load the served model.

    Done once, so the first prediction is fast. `make run` does this; nothing is downloaded."""
    from miles.model.encoders import ImageEncoder, TextEncoder
    from miles.model.predict import Predictor

    settings = STATE.settings
    cache_dir = settings.cache_dir / "encoders"
    with console.status("building the text encoder (ONNX)…"):
        text = TextEncoder.load(cache_dir)
    with console.status("building the thumbnail encoder (ONNX)…"):
        image = ImageEncoder.load(cache_dir)
    with console.status("loading the model…"):
        predictor = Predictor.load(_served_dir(), settings=settings)
    console.print(f"ready: {text.encoder_id}, {image.encoder_id} in {cache_dir}; model {predictor.version}")


def compare_cmd(
    a: Annotated[
        str,
        typer.Argument(
            help="Model A (the champion): a directory, a version, `served` (the one served) or `default` (the "
            "packaged default)."
        ),
    ],
    b: Annotated[str, typer.Argument(help="Model B (the challenger), the same way.")],
    data: Annotated[
        Path | None, typer.Option("--data", help="Snapshot file to use entirely as test rows for both.")
    ] = None,
    db: Annotated[
        bool, typer.Option("--db", help="The stored rows neither model trained or validated on (the default).")
    ] = False,
    task: Annotated[str, typer.Option("--task", help="prepublish or early (a bundle holds both).")] = "prepublish",
    n_boot: Annotated[int, typer.Option("--bootstrap", min=0, help="Bootstrap resamples (by channel).")] = 200,
    as_json: Annotated[bool, typer.Option("--json", help="Print the comparison as JSON.")] = False,
) -> None:
    """Two models side by side on the same rows: every metric with its interval, and B - A with a paired interval."""
    from miles.cli.evaluate import _load_frame, _print_report
    from miles.jobs.compare import compare_models
    from miles.jobs.train import embedding_cache
    from miles.model.evaluate import HEADLINE, EvalReport, Interval
    from miles.recommend.scoring import resolve_model

    if data is not None and db:
        raise InvalidInput("use either --data FILE or --db, not both")
    if task not in ("prepublish", "early"):
        raise InvalidInput(f"--task must be prepublish or early, got {task!r}")
    a_dir, b_dir = resolve_model(a, settings=STATE.settings), resolve_model(b, settings=STATE.settings)
    frame, _source = _load_frame(data, "auto", [a_dir, b_dir])  # stored rows as the retrain sees them
    with err.status("building features and bootstrapping both models"):
        result = compare_models(a_dir, b_dir, frame, task=task, from_file=data is not None,  # type: ignore[arg-type]
                                n_boot=n_boot, cache=embedding_cache(STATE.settings))  # fmt: skip
    if as_json:
        typer.echo(json.dumps(result, indent=2))
        return
    rep = result["report"]
    report = EvalReport(task=rep["task"], fold=f"compare ({result['rows']})", rows=rep["rows"], videos=rep["videos"],
                        groups=rep["groups"], viral_rate=rep["viral_rate"], k=rep["precision_at_k_k"],
                        metrics={n: {k: Interval(*(float("nan") if iv[f] is None else iv[f]
                                                    for f in ("value", "lo", "hi"))) for k, iv in ms.items()}
                                 for n, ms in rep["metrics"].items()})  # fmt: skip
    _print_report(report)
    table = Table(title="B - A, 95 % paired interval by channel")
    for col in ("metric", "B - A", "interval", "verdict"):
        table.add_column(col, justify="left" if col in ("metric", "verdict") else "right")
    for key in HEADLINE:
        iv = result["difference"].get(key)
        if not iv or iv["value"] is None:
            continue
        verdict = (
            "B worse" if key in result["worse"] else "B better" if key in result["better"] else "no clear difference"
        )
        lo, hi = iv["lo"], iv["hi"]
        span = f"[{lo:+.3f}, {hi:+.3f}]" if lo is not None and hi is not None else "-"
        table.add_row(key, f"{iv['value']:+.3f}", span, verdict)
    console.print(table)
    worse = ", ".join(result["worse"]) or "none"
    console.print(f"A = {result['names'][0]}, B = {result['names'][1]}; B worse beyond the interval on: {worse}",
                  highlight=False)  # fmt: skip
