"""`miles mcp`: a Model Context Protocol server over the same service functions as the JSON API.

Tools: ``score_drafts``, ``niche_ideas``, ``track_video``, ``tracked_videos``, ``record_views``, ``link_draft``,
``prediction_history`` and ``model_card``.
Each one authenticates its caller the way ``serve.deps`` does (an API key maps to a user; anonymous only when
``MILES_ALLOW_ANONYMOUS``), takes one token from the same per-key rate limiter, opens one transaction with the
caller set for row-level security, calls the service the API route calls, and returns the API's response model
(``tracked_videos``: the Track page's data, ``GET /track.json``, as a typed model).
A ``MilesError`` becomes an MCP tool error with the API's message.

Over stdio the key comes from ``--key`` / ``MILES_API_KEY`` (none: anonymous). Over streamable HTTP
(``--http``, loopback only) every request must carry ``Authorization: Bearer <key>`` or ``X-API-Key``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, Literal

import anyio.to_thread
from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.orm import Session
from starlette.types import ASGIApp, Receive, Scope, Send

from miles import __version__
from miles.config import Settings
from miles.errors import InvalidInput, MilesError, RateLimited, Unauthorized
from miles.model.card import card_section
from miles.serve.api.ideas import IdeasIn, IdeasOut, ideas_answer
from miles.serve.api.tracked import tracked_out
from miles.serve.deps import (
    KEY_HEADERS,
    KEY_REQUIRED,
    OWN_DATA_NEEDS_KEY,
    UNKNOWN_KEY,
    Caller,
    key_from_headers,
    touch_key,
)
from miles.serve.errors import INTERNAL_ERROR, envelope, problem_words
from miles.serve.schemas import (
    DraftIn,
    HistoryPage,
    LinkIn,
    LinkOut,
    Platform,
    PredictOut,
    TrackedOut,
    TrackedVideosPage,
    TrackIn,
    ViewsIn,
    ViewsRecordedOut,
)
from miles.serve.services import cost, thumbnails
from miles.serve.services.history import history_page
from miles.serve.services.ideas import ideas_for
from miles.serve.services.links import link_draft
from miles.serve.services.model import PredictorHolder, PredictorLike, read_artifact
from miles.serve.services.predict import ScoredDraft, score_drafts, stored_inputs
from miles.serve.services.tracked import enter_views, tracked_videos_page, video_to_track
from miles.serve.shared_limits import limits_for
from miles.store.db import session_scope
from miles.store.repos import tracked, users

log = logging.getLogger("miles.serve.mcp")
MCP_PATH = "/mcp"
INSTRUCTIONS = (
    "Miles forecasts how a short-form video will perform, from a model evaluated forward in time on channels it "
    "never saw. Every forecast carries a p10-p90 interval and a plain sentence on how far off such forecasts "
    "usually are: quote them, not just the median."
)


# over stdio there is no Authorization header: the key is the server's own (``miles mcp --key`` / MILES_API_KEY)
STDIO_NEEDS_KEY = (
    "this tool shows your own data and needs an API key: start the server with `miles mcp --key <key>` or set "
    "MILES_API_KEY (create one with `miles key create`)"
)


class DraftScoreOut(PredictOut):
    draft: dict[str, Any] = Field(
        description="The draft as Miles read it (validated, whitespace and '#' stripped from tags, the thumbnail as "
        "its SHA-256), as stored in your history; a null publish_at means the time of the call."
    )


class ScoreDraftsOut(BaseModel):
    ok: Literal[True] = True
    count: int
    results: list[DraftScoreOut] = Field(description="One forecast per draft, in input order (as POST /predict).")


class ModelCardTable(BaseModel):
    task: str = Field(description="'prepublish' (before upload) or 'early' (with the first views).")
    title: str = Field(description="The table's heading in the model card.")
    markdown: str = Field(description="The table as Markdown, the model beside its baselines.")


class ModelCardOut(BaseModel):
    ok: bool = True
    version: str = Field(description="The served model version.")
    plain_words: str | None = Field(description="The card's 'In plain words' section (Markdown).")
    does_not_know: str | None = Field(description="The card's 'What it does not know' section (Markdown).")
    headline_tables: list[ModelCardTable] = Field(
        description="Per task: the headline test fold (unseen channels, later dates) and leave-one-source-out."
    )
    headline_metrics: dict[str, Any] = Field(
        description="Per task: metrics.json's headline report (rows, groups, viral rate, each model's metrics)."
    )


@contextmanager
def as_tool_error() -> Iterator[None]:
    """MilesError -> ToolError with the API's message; unexpected ones keep their details in the log. A tool's
    arguments read into an API body (``ViewsIn``, ``IdeasIn``) that fail it say which field and why, as the API
    does (it said only "Error executing tool")."""
    try:
        yield
    except ValidationError as exc:
        raise ToolError(schema_problems(exc)) from exc
    except MilesError as exc:
        if not exc.expected:
            log.error("%s: %s", type(exc).__name__, exc.message, exc_info=True)
            raise ToolError(INTERNAL_ERROR) from exc
        raise ToolError(exc.message) from exc


def headline_tables(card: str) -> list[ModelCardTable]:
    """Each task's headline and leave-one-source-out tables, with the paragraph that explains them."""
    out: list[ModelCardTable] = []
    for task, body in re.findall(r"(?ms)^## Task `([^`]+)`\s*$\n(.*?)(?=^## |\Z)", card):
        for title, text in re.findall(r"(?ms)^### (.+?)\s*$\n(.*?)(?=^### |\Z)", body):
            if title.startswith(("Headline", "Second headline")):
                out.append(ModelCardTable(task=task, title=title, markdown=text.strip()))
    return out


def model_card_out(version: str, path: Path | None) -> ModelCardOut:
    artifact = read_artifact(path) if path is not None else {}
    card: str = artifact.get("model_card") or ""
    metrics: dict[str, Any] = artifact.get("metrics") or {}
    reports = {"model": metrics} if "headline" in metrics else metrics
    return ModelCardOut(
        version=version,
        plain_words=card_section(card, "In plain words"),
        does_not_know=card_section(card, "What it does not know"),
        headline_tables=headline_tables(card),
        headline_metrics={
            task: value["headline"]
            for task, value in reports.items()
            if isinstance(value, dict) and isinstance(value.get("headline"), dict)
        },
    )


class MilesTools:
    """The state the tools share: settings, the served model, the rate limiter and the stdio key."""

    def __init__(self, settings: Settings, key: str | None = None) -> None:
        self.settings = settings.for_app()  # PostgreSQL: act as the application role, under row-level security
        self.key = key
        self.limiter = limits_for(settings)[0]  # shared with `miles serve` through Redis when configured
        self.predictor = PredictorHolder(settings)

    def caller(self, ctx: Context | None) -> Caller:
        """Who is calling, through the HTTP request's key or the stdio key; one rate-limit token per call."""
        headers = ctx.headers if ctx is not None else None
        request = ctx.request_context.request if ctx is not None else None
        client = getattr(request, "client", None)
        ip = client.host if client is not None else "stdio"
        token = key_from_headers(headers) if headers is not None else self.key
        if token is None:
            self.limiter.hit(f"ip:{ip}")
            return Caller(user_id=None, key_id=None, ip=ip)
        with session_scope(self.settings) as session:
            owner = users.owner_of_key(session=session, key=token)
        if owner is None:
            self.limiter.hit(f"ip:{ip}")
            raise Unauthorized(UNKNOWN_KEY)
        self.limiter.hit(f"key:{owner.key_id}")
        touch_key(self.settings, owner)
        return Caller(user_id=owner.user_id, key_id=owner.key_id, ip=ip)

    def maybe_user(self, ctx: Context | None) -> Caller:
        caller = self.caller(ctx)
        if caller.user_id is None and not self.settings.allow_anonymous:
            raise Unauthorized(KEY_REQUIRED)
        return caller

    def user(self, ctx: Context | None) -> int:
        caller = self.caller(ctx)
        if caller.user_id is None:
            if caller.ip == "stdio":  # no HTTP header to set here: the key comes from the command line
                raise Unauthorized(STDIO_NEEDS_KEY)
            raise Unauthorized(OWN_DATA_NEEDS_KEY)
        return caller.user_id

    def model(self) -> PredictorLike:
        with session_scope(self.settings) as session:
            return self.predictor.get(session)

    @contextmanager
    def session(self, user_id: int | None) -> Iterator[Session]:
        with session_scope(self.settings) as session:
            users.set_current_user(session=session, user_id=user_id)
            yield session

    def score_drafts(self, drafts: list[DraftIn], ctx: Context | None) -> ScoreDraftsOut:
        caller = self.maybe_user(ctx)
        limit = self.settings.batch_max_items
        if len(drafts) > limit:
            raise InvalidInput(f"drafts: {len(drafts)} drafts exceed the batch limit of {limit}")
        model = self.model()  # no model: the API's 503 message, before any thumbnail is fetched
        cost.charge(
            cost.cost_of(drafts), settings=self.settings, limiter=self.limiter, key=caller.rate_key, where="drafts"
        )
        fetch = thumbnails.Fetcher(self.settings)
        items = [
            ScoredDraft(d, fetch(base64_text=d.thumbnail_base64, url=d.thumbnail_url, where=f"drafts[{i}]"))
            for i, d in enumerate(drafts)
        ]
        with self.session(caller.user_id) as session:
            results = score_drafts(session=session, settings=self.settings, predictor=model, drafts=items,
                                   requester=caller.requester, where="drafts")  # fmt: skip
        scored = [
            DraftScoreOut(**result.model_dump(), draft=stored_inputs(item.draft, item.thumbnail))
            for item, result in zip(items, results, strict=True)
        ]
        return ScoreDraftsOut(count=len(scored), results=scored)

    def niche_ideas(self, request: IdeasIn, ctx: Context | None) -> IdeasOut:
        caller = self.maybe_user(ctx)
        result = ideas_for(
            settings=self.settings,
            predictor=self.model(),
            topic=request.topic,
            vibe=request.vibe,
            n=request.n,
            seed=request.seed,
            requester=caller.requester,
            platform=request.platform,
            subscribers=float(request.channel_subscribers) if request.channel_subscribers is not None else None,
        )
        return ideas_answer(result)

    def track_video(self, url: str, ctx: Context | None) -> TrackedOut:
        user_id = self.user(ctx)
        video_id, video_url = video_to_track(url)
        with self.session(user_id) as session:
            row = tracked.add_tracked(
                session=session,
                user_id=user_id,
                video_id=video_id,
                url=video_url,
                schedule_h=self.settings.track_schedule_h,
            )
            return tracked_out(row)

    def tracked_videos(self, limit: int, offset: int, ctx: Context | None) -> TrackedVideosPage:
        user_id = self.user(ctx)
        with self.session(user_id) as session:
            return tracked_videos_page(
                session=session, user_id=user_id, load_predictor=self.model, limit=limit, offset=offset
            )

    def record_views(self, tracked_id: int, body: ViewsIn, ctx: Context | None) -> ViewsRecordedOut:
        user_id = self.user(ctx)
        with self.session(user_id) as session:
            entered = enter_views(  # at="": its problems name the tool's arguments, not the API's body.views
                session=session, user_id=user_id, tracked_id=tracked_id, body=body, load_predictor=self.model, at=""
            )
            return ViewsRecordedOut.model_validate(entered)

    def link_draft(self, prediction_id: int, video: str, ctx: Context | None) -> LinkOut:
        user_id = self.user(ctx)
        with self.session(user_id) as session:
            linked = link_draft(session=session, settings=self.settings, user_id=user_id, prediction_id=prediction_id,
                                video=video, field="video")  # fmt: skip
            return LinkOut.model_validate(linked)

    def prediction_history(self, limit: int, offset: int, ctx: Context | None) -> HistoryPage:
        user_id = self.user(ctx)
        with self.session(user_id) as session:
            return history_page(session=session, user_id=user_id, limit=limit, offset=offset)

    def model_card(self, ctx: Context | None) -> ModelCardOut:
        self.caller(ctx)
        return model_card_out(self.model().version, self.predictor.path)


Limit = Annotated[int, Field(ge=1, le=100, description="Items per page.")]
Offset = Annotated[int, Field(ge=0, le=10_000_000, description="Items to skip.")]
Drafts = Annotated[list[DraftIn], Field(min_length=1, description="Drafts to score (at most MILES_BATCH_MAX_ITEMS).")]
# The same fields (constraints and descriptions) as the API's request bodies.
TrackUrl = Annotated[str, TrackIn.model_fields["url"]]
Topic = Annotated[str, IdeasIn.model_fields["topic"]]
Vibe = Annotated[str, IdeasIn.model_fields["vibe"]]
HowMany = Annotated[int, IdeasIn.model_fields["n"]]
Seed = Annotated[int, IdeasIn.model_fields["seed"]]
PlatformArg = Annotated[Platform, IdeasIn.model_fields["platform"]]
PredictionId = Annotated[int, Field(ge=1, le=2**31 - 1, description="The scored draft's `prediction_id`.")]
LinkVideo = Annotated[str, LinkIn.model_fields["video"]]
TrackedId = Annotated[int, Field(ge=1, le=2**31 - 1, description="The tracked video's id (tracked_videos' `id`).")]
# as typed ("15k", "2026-12-01T18:00:00Z"), read by ViewsIn as the API reads its body
ViewsArg = Annotated[int | str, Field(description=ViewsIn.model_fields["views"].description)]
ReadAt = Annotated[str | None, Field(description=ViewsIn.model_fields["read_at"].description)]
VideoTitle = Annotated[str | None, Field(description=ViewsIn.model_fields["title"].description)]
PublishedAt = Annotated[str | None, Field(description=ViewsIn.model_fields["published_at"].description)]
ChannelNow = Annotated[int | str | None, Field(description=ViewsIn.model_fields["channel_subscribers"].description)]
# a number or text as typed ("12k", read by IdeasIn as the API reads it): typed int alone refused "2k"
Subscribers = Annotated[int | str | None, Field(description=IdeasIn.model_fields["channel_subscribers"].description)]


class MilesMCPServer(MCPServer):
    """The SDK's server, with arguments that fail the schema reported as the API reports them: each path and what
    is wrong (``drafts.0.title: String should have at least 1 character``), not pydantic's whole dump with the
    values given, error types and a documentation link."""

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Any = None) -> Any:
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            cause = exc.__cause__
            if isinstance(exc, UnexpectedToolError) or not isinstance(cause, ValidationError):
                raise
            raise ToolError(schema_problems(cause)) from cause


def schema_problems(exc: ValidationError) -> str:
    fields = ("an argument of this tool", "its input schema lists them")
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {problem_words(e, fields)}" for e in exc.errors()
    )


def build_server(settings: Settings, *, key: str | None = None, tools: MilesTools | None = None) -> MCPServer:
    """The MCP server with Miles' eight tools; ``key`` is the stdio caller's API key (None: anonymous)."""
    tools = tools or MilesTools(settings, key)
    server: MCPServer = MilesMCPServer("miles", version=__version__, instructions=INSTRUCTIONS)

    @server.tool(title="Score drafts")
    def score_drafts(drafts: Drafts, ctx: Context) -> ScoreDraftsOut:
        """Forecast each draft's views at 1 h ... 30 d (p10/p50/p90), its viral chance (with its definition), a plain
        sentence on how far off such forecasts are, the features that moved the forecast, the channel history used
        (give `channel` as an id, @handle or URL), its variants ranked, and the draft as read. The same numbers as
        POST /api/v1/predict; each draft is stored in your history."""
        with as_tool_error():
            return tools.score_drafts(drafts, ctx)

    @server.tool(title="Ideas for a niche")
    def niche_ideas(
        topic: Topic,
        ctx: Context,
        vibe: Vibe = "",
        n: HowMany = 5,
        seed: Seed = 0,
        platform: PlatformArg = "youtube",
        channel_subscribers: Subscribers = None,
    ) -> IdeasOut:
        """Topic + vibe -> the niche's age-normalised outliers, patterns with effect sizes and counter-examples,
        and n scored ideas citing the outliers they came from (as POST /api/v1/ideas), forecast for a channel of
        `channel_subscribers` (give the creator's). A stale niche is queued for collection by the worker;
        `freshness` says so."""
        with as_tool_error():
            request = IdeasIn.model_validate({"topic": topic, "vibe": vibe, "n": n, "seed": seed, "platform": platform,
                                              "channel_subscribers": channel_subscribers})  # fmt: skip
            return tools.niche_ideas(request, ctx)

    @server.tool(title="Track a video")
    def track_video(url: TrackUrl, ctx: Context) -> TrackedOut:
        """Track one of your published videos: Miles re-polls its views on its tracking schedule. Needs an API key."""
        with as_tool_error():
            return tools.track_video(url, ctx)

    @server.tool(title="Your tracked videos")
    def tracked_videos(ctx: Context, limit: Limit = 20, offset: Offset = 0) -> TrackedVideosPage:
        """The videos you track (newest first, paginated), as the Track page shows them: when each was last and will
        next be polled, its latest views and their age, its forecast now (early mode from the views so far), the
        forecast made as before publishing (your linked draft's, if any) and the verdict: how far off that forecast
        was from the latest views. Needs an API key."""
        with as_tool_error():
            return tools.tracked_videos(limit, offset, ctx)

    @server.tool(title="Enter views you read")
    def record_views(
        tracked_id: TrackedId,
        views: ViewsArg,
        ctx: Context,
        read_at: ReadAt = None,
        title: VideoTitle = None,
        published_at: PublishedAt = None,
        channel_subscribers: ChannelNow = None,
    ) -> ViewsRecordedOut:
        """Views the creator read (YouTube Studio, the app) for one of their tracked videos (`tracked_id` from
        tracked_videos), as on the Track page: stored as a reading only they see; the video comes back with its
        forecast from those views and the check of the forecast made before publishing. Views only grow: a count that
        contradicts another reading is refused. Needs an API key."""
        with as_tool_error():
            typed = {"views": views, "read_at": read_at, "title": title, "published_at": published_at}
            body = ViewsIn.model_validate({**typed, "channel_subscribers": channel_subscribers})
            return tools.record_views(tracked_id, body, ctx)

    @server.tool(title="Link a scored draft to its video")
    def link_draft(prediction_id: PredictionId, video: LinkVideo, ctx: Context) -> LinkOut:
        """Once a scored draft is published, link it (`prediction_id` from score_drafts or prediction_history) to
        its video: Miles tracks the video and grades the stored forecast at each horizon as the views arrive (only
        views read after the forecast was made count). One video per draft. Needs an API key."""
        with as_tool_error():
            return tools.link_draft(prediction_id, LinkIn.model_validate({"video": video}).video, ctx)

    @server.tool(title="Your past predictions")
    def prediction_history(ctx: Context, limit: Limit = 20, offset: Offset = 0) -> HistoryPage:
        """The drafts you scored, newest first (paginated): each with its inputs, the forecast it got, the model
        version and the video it is linked to, if any. Needs an API key."""
        with as_tool_error():
            return tools.prediction_history(limit, offset, ctx)

    @server.tool(title="Model card")
    def model_card(ctx: Context) -> ModelCardOut:
        """How good the served model is, in plain words, and its headline tables: the test fold of unseen
        channels and later dates, and leave-one-source-out, each beside the simple baselines."""
        with as_tool_error():
            return tools.model_card(ctx)

    refuse_unknown_arguments(server)
    return server


def refuse_unknown_arguments(server: MCPServer) -> None:
    """Every tool refuses arguments it does not take, as the API refuses unknown fields: the SDK drops them silently,
    so an agent's ``subscribers`` (for ``channel_subscribers``) would give a typical channel's forecast unnoticed.
    The SDK has no option for it; this reaches its tool table (mcp is pinned, tests/serve/test_mcp.py checks it)."""
    for tool in server._tool_manager.list_tools():
        model = tool.fn_metadata.arg_model
        model.model_config["extra"] = "forbid"
        model.model_rebuild(force=True)
        tool.parameters["additionalProperties"] = False


class RequireKey:
    """ASGI gate for the HTTP transport: every request carries a known, unrevoked API key, else a 401 envelope.
    Refused attempts take a token from the client address's bucket, so guessing keys is throttled as in the API."""

    def __init__(self, app: ASGIApp, tools: MilesTools) -> None:
        self.app = app
        self.tools = tools

    def check(self, headers: Mapping[str, str], ip: str) -> None:
        try:
            token = key_from_headers(headers)
            if token is None:
                raise Unauthorized(f"an API key is required ({KEY_HEADERS})")
            with session_scope(self.tools.settings) as session:
                if users.owner_of_key(session=session, key=token) is None:
                    raise Unauthorized(UNKNOWN_KEY)
        except Unauthorized:
            self.tools.limiter.hit(f"ip:{ip}")
            raise

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
            client = scope.get("client")
            try:
                await anyio.to_thread.run_sync(self.check, headers, client[0] if client else "unknown")
            except MilesError as exc:  # Unauthorized, or RateLimited after too many refused attempts
                await _refuse(scope, receive, send, exc)
                return
        await self.app(scope, receive, send)


async def _refuse(scope: Scope, receive: Receive, send: Send, exc: MilesError) -> None:
    """The API's error envelope (the same shape and serializer as every API error), with the header the status needs."""
    headers = {"WWW-Authenticate": "Bearer"}
    if isinstance(exc, RateLimited):
        headers = {"Retry-After": str(exc.retry_after_s)}
    await envelope(exc.status, exc.code, exc.message, exc.details, headers)(scope, receive, send)


def http_app(settings: Settings, *, host: str) -> ASGIApp:
    """The streamable HTTP app at ``/mcp``, behind the API-key gate, with the API's body-size limit."""
    tools = MilesTools(settings)
    app = build_server(settings, tools=tools).streamable_http_app(
        streamable_http_path=MCP_PATH, max_request_body_size=settings.max_body_bytes, host=host
    )
    return RequireKey(app, tools)
