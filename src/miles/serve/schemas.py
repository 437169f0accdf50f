"""Request and response models of the JSON API (``*In`` for requests, ``*Out`` for responses)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    WithJsonSchema,
    field_serializer,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from miles.domain import (
    CHANCE_DECIMALS,
    RATIO_DECIMALS,
    VIEW_DECIMALS,
    checked_publish_time,
    checked_utc,
    control_char_problem,
)
from miles.errors import InvalidInput
from miles.features.draft import falling_views
from miles.inputs import (
    MAX_AGE_H,
    MAX_CATEGORY,
    MAX_DURATION_S,
    MAX_SUBSCRIBERS,
    MAX_TITLE_CHARS,
    MAX_VIEWS,
    InputError,
    parse_age_h,
    parse_category,
    parse_duration,
    parse_early_views,
    parse_subscribers,
    parse_title,
    parse_views,
    read_iso_time,
    round_half_up,
)
from miles.model.predict import VIRAL_DEFINITION

Mode = Literal["prepublish", "early"]
Platform = Literal["youtube", "tiktok"]  # miles.domain.PLATFORMS
MULTILINE_FIELDS = frozenset({"description"})


def _publish_time(value: datetime) -> datetime:
    checked_publish_time(value)
    return value


def _iso_text(value: Any) -> Any:
    """A text time ISO 8601 cannot read, in the words of the Score form and the CLI (pydantic said "invalid
    character in year" of "tomorrow 5pm")."""
    if isinstance(value, str) and not value.strip().isdigit():
        try:
            read_iso_time(value)
        except ValueError as exc:
            why = "" if str(exc).startswith("Invalid isoformat") else f"{exc}; "  # "month must be in 1..12"
            raise ValueError(f"{value[:40]!r} is not a date and time ({why}try 2026-03-01T17:00:00Z)") from None
    return value


def _refuse_bool(value: Any) -> Any:
    if isinstance(value, bool):  # JSON true is not 1 view, 1 second, 1 hour or category 1
        raise PydanticCustomError("invalid_input", "expected a number or text such as '1.2k', not true/false")
    return value


def _negative_count(value: Any, parse: Any) -> int | None:
    """A negative count as a number or as text ("-5", "−1.2k"): the negative number it names, so that the service
    lists it with a reading's other problems ("-5" stopped at the schema, and hid a read time in the future); None for
    anything else (text that names no number stays the parser's to refuse)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if value < 0 else None
    text = value.strip() if isinstance(value, str) else ""
    if text[:1] not in ("-", "\N{MINUS SIGN}"):
        return None
    try:
        size = int(parse(text[1:], "value") or 0)
    except InputError:
        return None
    return -size if size > 0 else None


def _typed(parse: Any, number: dict[str, Any], *, negatives_pass: bool = False, text: bool = True) -> tuple[Any, Any]:
    """A field Miles reads itself (``parse``, from :mod:`miles.inputs`): a JSON number or text as people type it,
    with the words the Score form and the CLI use for the same mistake (a negative number, too large, not a number),
    at the field's location. Its schema says both are accepted: ``number`` (its JSON schema bounds) or a string.
    With ``negatives_pass``, a negative count (a number or text) reaches the service (which lists it with other
    problems); without ``text`` the schema declares the number alone (text of a number is still read, as pydantic
    reads it)."""

    def read(value: Any) -> Any:
        if negatives_pass and (negative := _negative_count(value, parse)) is not None:
            return negative
        if not isinstance(_refuse_bool(value), str | int | float):
            return value  # null, a list...: pydantic names the type it wants
        try:
            parsed = parse(value, "value")
        except InputError as exc:  # the error's location names the field
            raise PydanticCustomError("invalid_input", "{problem}", {"problem": exc.short}) from None
        if parsed is None:  # blank text: "not a valid integer" would not say what to do
            raise PydanticCustomError("invalid_input", "is empty: leave the field out (or null) when it is not known")
        return parsed

    typed = {"type": "string", "description": "as people type it"}
    return BeforeValidator(read), WithJsonSchema({"anyOf": [number, typed]} if text else number)


Count = Annotated[int, *_typed(parse_views, {"type": "integer", "minimum": 0, "maximum": MAX_VIEWS})]
"""A count: a number, or text as people type it ("1,200", "1 200", "12k", "1.2M", "2万")."""
Subscribers = Annotated[int, *_typed(parse_subscribers, {"type": "integer", "minimum": 0, "maximum": MAX_SUBSCRIBERS})]
"""A channel's subscriber count, as a Count, at most MAX_SUBSCRIBERS."""
Duration = Annotated[
    float, *_typed(parse_duration, {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_DURATION_S})
]
"""A duration in seconds: a number, or text ("90", "1:30", "1m30s"); a Short lasts at most MAX_DURATION_S."""
AgeHours = Annotated[float, *_typed(parse_age_h, {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_AGE_H})]
"""Hours since publishing: a number, or text as in AGE:VIEWS ("6h", "30min", "2d")."""
Category = Annotated[
    int, *_typed(parse_category, {"type": "integer", "minimum": 0, "maximum": MAX_CATEGORY}, text=False)
]
"""A YouTube category id, 0 to MAX_CATEGORY: a number (text of one is read too; the schema says integer)."""
DURATION_HELP = (
    f"Length in seconds: a number, or text as people type it ('35', '0:35', '1:30', '1m30s'); more than 0 and at "
    f"most {MAX_DURATION_S:g} (a Short)."
)
DURATION_EXAMPLES = [35, "0:35", "1m30s"]
SUBSCRIBERS_EXAMPLES = [1200, "1,200", "15k", "1.5M", "2万"]


PublishTime = Annotated[datetime, BeforeValidator(_iso_text), AfterValidator(_publish_time)]
"""A publish time between 2005 and one year ahead (ValueError, hence 422, otherwise)."""
UtcTime = Annotated[datetime, AfterValidator(checked_utc)]
"""Any time UTC can hold, converted to UTC (year 1 at +14:00 is a 422, not an OverflowError)."""


def no_control_chars(value: str, *, multiline: bool = False) -> str:
    """Text without NUL or other control characters (tab and line breaks only where ``multiline``)."""
    if problem := control_char_problem(value, multiline=multiline):
        raise ValueError(problem)
    return value


class CleanText(BaseModel):
    """Request body whose strings (and lists of strings) hold no control characters: they are never stored; and
    whose numbers are finite (Python reads NaN and Infinity in a JSON body, which JSON itself does not allow)."""

    model_config = ConfigDict(allow_inf_nan=False)

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_chars(cls, value: Any, info: ValidationInfo) -> Any:
        multiline = info.field_name in MULTILINE_FIELDS
        if isinstance(value, str):
            return no_control_chars(value, multiline=multiline)
        if isinstance(value, list):
            for item in value:
                if isinstance(item, str):
                    no_control_chars(item, multiline=multiline)
        return value


SafeStr = Annotated[str, AfterValidator(no_control_chars)]
"""A query or path parameter without control characters (a NUL breaks SQLite FTS and PostgreSQL)."""


class _In(CleanText):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class EarlyViewIn(_In):
    age_h: AgeHours = Field(
        description="Hours since publishing when the views were read (or text: '6h', '30min', '2d').",
        examples=[6, "6h", "2d"],
    )
    views: Count = Field(
        description="View count at that age (a number, or text such as '1.2k').", examples=[900, "1.2k"]
    )


def _title(title: Any) -> Any:
    """A title with the words every surface uses (blank, too long: ``inputs.parse_title``); others to pydantic."""
    if title is None or isinstance(title, str):
        try:
            return parse_title(title, "title")
        except InputError as exc:
            raise PydanticCustomError("invalid_input", "{problem}", {"problem": exc.short}) from None
    return title


class VariantIn(_In):
    """An alternative to score beside the draft: only the fields given replace the draft's."""

    label: str | None = Field(None, max_length=100, description="Name shown in the ranking (default: variant N).")
    title: str | None = Field(None, min_length=1, max_length=MAX_TITLE_CHARS)
    duration_s: Duration | None = Field(None, description=DURATION_HELP, examples=DURATION_EXAMPLES)
    publish_at: PublishTime | None = Field(None, description="Between 2005 and one year ahead; naive means UTC.")

    _title_read = field_validator("title", mode="before")(lambda title: title if title is None else _title(title))

    @model_validator(mode="after")
    def _changes_something(self) -> VariantIn:
        if self.title is None and self.duration_s is None and self.publish_at is None:
            raise ValueError("a variant must change at least one of title, duration_s, publish_at")
        return self


class DraftIn(_In):
    """A video draft (prepublish) or a published video with its first views (early)."""

    platform: Platform = Field(
        default="youtube",
        description="Where the video will be posted. A TikTok draft is scored only by a model trained on TikTok "
        "data; until Miles has one the answer is 409 `no_platform_model`, never a YouTube forecast.",
    )
    title: str = Field(min_length=1, max_length=MAX_TITLE_CHARS, description="Title of the video.")
    description: str | None = Field(None, max_length=5000)
    tags: list[str] = Field(default_factory=list, max_length=100, description="Tags, without '#'.")
    duration_s: Duration | None = Field(None, description=DURATION_HELP, examples=DURATION_EXAMPLES)
    category_id: Category | None = Field(None, description="YouTube category id (e.g. 22: People & Blogs).")
    publish_at: PublishTime | None = Field(
        None,
        description="Planned (or actual) publish time, ISO 8601, between 2005 and one year ahead; naive means UTC; "
        "default now.",
    )
    channel_id: str | None = Field(None, min_length=1, max_length=64, description="Channel id, if Miles knows it.")
    channel: str | None = Field(
        None,
        min_length=1,
        max_length=300,
        description="Your channel as an id, @handle or youtube.com channel/Shorts URL; when Miles has its uploads, "
        "the forecast uses the channel's record (and its subscriber count when none is given).",
    )
    channel_subscribers: Subscribers | None = Field(
        None,
        description=f"Subscriber count at publish: a number, or text as people type it ('1,200', '15k', '1.5M', "
        f"'2万'); 0 is 0; at most {MAX_SUBSCRIBERS:,}.",
        examples=SUBSCRIBERS_EXAMPLES,
    )
    thumbnail_url: str | None = Field(
        None, max_length=2000, description="HTTPS URL on an allowed thumbnail host (MILES_THUMBNAIL_HOSTS)."
    )
    thumbnail_base64: str | None = Field(None, description="Thumbnail image (JPEG, PNG, WebP, GIF) as base64.")
    early_views: list[EarlyViewIn] = Field(
        default_factory=list,
        max_length=50,
        description="Views read after publishing; any given means mode=early. A list of {age_h, views}, or the text "
        "the Score page's box and `miles predict --early-views` take: '1:150, 6:900; 2d:15k'.",
    )
    variants: list[VariantIn] = Field(default_factory=list, max_length=20, description="Alternatives to rank.")

    @field_validator("tags")
    @classmethod
    def _clean_tags(cls, tags: list[str]) -> list[str]:
        cleaned = [t.strip().lstrip("#") for t in tags]
        if any(len(t) > 100 for t in cleaned):
            raise ValueError("each tag must be at most 100 characters")
        return [t for t in cleaned if t]

    _title_read = field_validator("title", mode="before")(_title)

    @field_validator("early_views", mode="before")
    @classmethod
    def _early_views_text(cls, early: Any) -> Any:
        """'1:150, 6:900' as the Score page and the CLI read it (the API answered "Input should be a valid list")."""
        if not isinstance(early, str):
            return early
        try:
            return [{"age_h": age_h, "views": views} for age_h, views in parse_early_views(early, "early_views")]
        except InvalidInput as exc:
            raise ValueError(exc.message.removeprefix("early_views: ")) from None

    @field_validator("early_views")
    @classmethod
    def _views_only_grow(cls, early: list[EarlyViewIn]) -> list[EarlyViewIn]:
        if problem := falling_views([(e.age_h, float(e.views)) for e in early]):
            raise ValueError(problem)
        return early

    @model_validator(mode="after")
    def _one_thumbnail(self) -> DraftIn:
        if self.thumbnail_url is not None and self.thumbnail_base64 is not None:
            raise ValueError("give either thumbnail_url or thumbnail_base64, not both")
        return self


class BatchIn(_In):
    items: list[DraftIn] = Field(min_length=1, description="Drafts to score (at most MILES_BATCH_MAX_ITEMS).")


class HorizonOut(BaseModel):
    horizon_h: float = Field(description="Hours after publishing.")
    label: str = Field(description="Human form of the horizon, e.g. '24h' or '7d'.")
    p10: float = Field(description="10th percentile of views at this age.")
    p50: float = Field(description="Median views at this age.")
    p90: float = Field(description="90th percentile of views at this age.")
    back_tested: bool | None = Field(
        None,
        description="Whether forecasts like this one (this channel size at this age; early: views read this soon) "
        "were measured on test videos from channels the model never trained on. false: no test video measured it, "
        "so its error is unknown and likely larger than the accuracy sentence says; null: the model records no "
        "accuracy table.",
    )

    @field_serializer("p10", "p50", "p90")
    def _views(self, value: float) -> float:
        return round_half_up(value, VIEW_DECIMALS)  # as format_forecast_views reads it


class ContributionOut(BaseModel):
    feature: str
    label: str = Field("", description="The feature in plain words.")
    contribution: float = Field(description="Effect on predicted log views (positive raises the prediction).")


class OutlierOut(BaseModel):
    multiple: float = Field(description="Predicted median views ÷ the channel's median views at the same age.")
    horizon_h: float
    channel_median_views: float
    channel_videos: int = Field(description="Earlier uploads of the channel the median is taken over.")


class ChannelHistoryOut(BaseModel):
    channel_id: str
    uploads: int = Field(description="Earlier uploads of the channel stored by Miles, published before this draft.")
    first_published: datetime
    last_published: datetime


class DraftFieldOut(BaseModel):
    value: Any = Field(description="The value the forecast used (a count of '12k' reads 12000, '1:30' reads 90).")
    status: Literal["given", "defaulted", "stored"] = Field(
        description="Typed by you; filled in because it was blank; or, blank but read from Miles' store (your "
        "channel's latest stored subscriber count)."
    )
    note: str | None = Field(None, description="For a defaulted field: what stood in for it.")


class PredictionOut(BaseModel):
    mode: Mode
    model_version: str
    horizons: list[HorizonOut]
    viral_probability: float = Field(ge=0, le=1, description="Viral chance: " + VIRAL_DEFINITION + ".")
    outlier: OutlierOut | None = Field(None, description="Only when the channel's earlier uploads are stored.")
    inputs_used: list[str]

    @field_serializer("viral_probability")
    def _chance(self, value: float) -> float:
        return round_half_up(value, CHANCE_DECIMALS)  # as format_chance reads it: one chance, one rounding

    top_contributions: list[ContributionOut]
    accuracy: str | None = Field(
        None,
        description="How far off forecasts for this channel size and age were on videos from channels the model never "
        "trained on (test fold, ordinary uploads), in one plain sentence.",
    )
    viral_definition: str = Field(default=VIRAL_DEFINITION, description="What the viral chance means.")
    draft: dict[str, DraftFieldOut] = Field(
        default_factory=dict,
        description="The draft as read: each input's value and whether it was given or defaulted (and to what).",
    )
    channel_history: ChannelHistoryOut | None = Field(
        None, description="The channel history the forecast used (the channel's record as of the publish time)."
    )
    channel_note: str | None = Field(
        default=None, description="Why no channel history was used, if a channel was given."
    )
    channel_collection_run_id: int | None = Field(
        default=None,
        description="For a channel Miles did not know: the background collection of its recent uploads queued for "
        "the worker (status at GET /api/v1/collections/{id}); later forecasts use them.",
    )
    channel_collection_token: str | None = Field(
        default=None,
        description="For an anonymous caller: the owner token that shows that collection's status "
        "(GET /api/v1/collections/{id}?token=...); signed-in callers see their own collections without it.",
    )


class VariantOut(BaseModel):
    label: str
    rank: int = Field(description="1 = highest predicted median views at the longest horizon.")
    changes: dict[str, Any] = Field(description="The fields this variant changed ('draft' for the draft itself).")
    too_close_to_call: bool = Field(
        False,
        description="Its forecast and the top-ranked one's are within each other's uncertainty (see docs/api.md): "
        "treat them as a tie.",
    )
    prediction: PredictionOut


class PredictOut(BaseModel):
    ok: Literal[True] = True
    prediction_id: int
    prediction: PredictionOut
    variants: list[VariantOut] = Field(description="Draft and variants ranked side by side; empty without variants.")


class BatchOut(BaseModel):
    ok: Literal[True] = True
    count: int
    results: list[PredictOut]


class SnapshotOut(BaseModel):
    captured_at: datetime
    age_h: float
    views: int
    likes: int | None
    comments: int | None
    channel_subscribers: int | None


class VideoOut(BaseModel):
    id: str
    platform: str
    channel_id: str | None
    title: str
    category_id: int | None
    duration_s: float | None
    published_at: datetime
    thumbnail_url: str | None
    country: str | None
    source: str | None
    latest_views: int | None
    latest_captured_at: datetime | None


class VideoDetailOut(BaseModel):
    ok: Literal[True] = True
    video: VideoOut
    description: str | None
    tags: list[str]
    snapshots: list[SnapshotOut]


class Page(BaseModel):
    ok: Literal[True] = True
    total: int
    limit: int
    offset: int
    next_offset: int | None = Field(description="Offset of the next page, null on the last page.")


class VideoPage(Page):
    items: list[VideoOut]


VIDEO_ID_CHARS = 11  # a YouTube video id; every URL taken is longer


class TrackIn(_In):
    url: str = Field(  # no min_length check: a short text gets the words every URL that is not a video's gets
        max_length=2000,
        json_schema_extra={"minLength": VIDEO_ID_CHARS},  # what is taken is at least an id long (documented only)
        description="YouTube URL (watch, shorts, youtu.be) or video id, or a TikTok video URL.",
    )


class TrackedOut(BaseModel):
    id: int
    video_id: str
    url: str
    added_at: datetime
    next_poll_at: datetime | None
    last_polled_at: datetime | None
    last_error: str | None
    active: bool
    platform: Platform = Field(
        description="The video's platform, read from its link (a TikTok video gets no YouTube forecast)."
    )


class ViewsReadOut(BaseModel):
    captured_at: datetime = Field(description="When the views were read (UTC).")
    age_h: float = Field(description="Hours after publishing.")
    views: int


class ForecastCheckOut(BaseModel):
    """How far the forecast made before publishing was from the latest views it reaches (the Track page's check)."""

    age_h: float = Field(description="Age of the reading compared (hours after publishing).")
    views: int = Field(description="Views read at that age.")
    forecast_p10: float
    forecast_p50: float = Field(description="The forecast at that age (interpolated log-log between horizons).")
    forecast_p90: float
    ratio: float = Field(description="Views ÷ forecast median.")
    off: str = Field(description="The verdict in words: 'about as forecast', '3.2× more', '12× fewer'.")
    inside_interval: bool = Field(description="Whether the views fell inside the forecast's 80 % range.")
    remark: str | None = Field(description="Said when the views fell outside that range or were far off.")

    @field_serializer("forecast_p10", "forecast_p50", "forecast_p90")
    def _views(self, value: float) -> float:
        return round_half_up(value, VIEW_DECIMALS)  # as format_forecast_views reads it

    @field_serializer("ratio")
    def _ratio(self, value: float) -> float:
        return round(value, RATIO_DECIMALS)


class TrackedVideoOut(TrackedOut):
    """A tracked video as the Track page shows it (``GET /track.json``, ``GET /api/v1/tracked``): its views so far and
    its forecasts."""

    last_error_words: str | None = Field(
        default=None,
        description="Why the last poll failed, in words (e.g. 'the site could not be reached (no network, or it is "
        "down)'); last_error keeps the site's own message.",
    )
    title: str | None = Field(description="Null until Miles has read the video (first poll, or views you typed).")
    details_typed: bool = Field(
        default=False,
        description="True while the title and publish time are the ones you typed (Miles has not read the video "
        "yet): yours alone, and yours to correct with your next views.",
    )
    published_at: datetime | None = None
    latest: ViewsReadOut | None = Field(description="The latest views you may see (collected or typed by you).")
    forecast: PredictionOut | None = Field(
        description="The forecast now: early mode from the views so far, with its horizons (p10/p50/p90), viral "
        "chance and `accuracy` sentence (null before the video is read, past every horizon, or without a model for "
        "its platform: see forecast_note)."
    )
    forecast_note: str | None = Field(description="Why there is no forecast, when there is none.")
    prepublish_forecast: PredictionOut | None = Field(
        description="The forecast made as before publishing: your scored draft's when you linked it "
        "(linked_prediction_id), else one from the video's metadata alone."
    )
    forecast_check: ForecastCheckOut | None = Field(
        description="The verdict: prepublish_forecast against the latest views it reaches (null without views)."
    )
    linked_prediction_id: int | None = Field(description="Your scored draft linked to this video, if any.")
    linked_scored_after_h: float | None = Field(
        description="Set when that draft was scored only after the video went out (hours after): not made before."
    )


class TrackedAdded(TrackedOut):
    """``POST /api/v1/tracked``: the new row, with ``ok`` as every answer of the API."""

    ok: Literal[True] = True


class TrackedVideoOne(TrackedVideoOut):
    """``GET /api/v1/tracked/{id}``: one video as the list shows it, with ``ok`` as every answer of the API."""

    ok: Literal[True] = True


class TrackedVideosPage(Page):
    items: list[TrackedVideoOut]
    model_message: str | None = Field(description="Why no video has a forecast (no model available), else null.")


ReadCount = Annotated[int, *_typed(parse_views, {"type": "integer", "maximum": MAX_VIEWS}, negatives_pass=True)]
"""A Count whose negative numbers, typed as numbers or text, reach the service (``check_reading`` lists them with the
reading's other problems)."""


class ViewsIn(_In):
    views: ReadCount = Field(
        description="The views you read (YouTube Studio, the app): a number or text ('15,000', '15k').",
        examples=[15000, "15,000", "15k"],
    )
    read_at: UtcTime | None = Field(
        None, description="When you read them (ISO 8601; without an offset, UTC). Default: now."
    )
    title: str | None = Field(
        None, min_length=1, max_length=300, description="The video's title: needed only while Miles has not read it."
    )
    published_at: PublishTime | None = Field(
        None,
        description="When it went out (ISO 8601; without an offset, UTC): needed only while Miles has not read it.",
    )
    channel_subscribers: Subscribers | None = Field(
        None, description="The channel's subscribers now, if you know them.", examples=SUBSCRIBERS_EXAMPLES
    )


class ViewsRecordedOut(BaseModel):
    ok: bool = True
    notes: list[str] = Field(description="What you typed that Miles did not use, and why (e.g. a known publish time).")
    video: TrackedVideoOut = Field(description="The video with its forecast now, from the views you entered.")


class HistoryItemOut(BaseModel):
    id: int
    created_at: datetime
    model_version: str
    inputs_hash: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    video_id: str | None = Field(default=None, description="The published video this draft is linked to, if any.")


class LinkIn(_In):
    video: str = Field(  # no min_length check, as TrackIn.url
        max_length=2000,
        json_schema_extra={"minLength": VIDEO_ID_CHARS},
        description="The published video: YouTube URL (watch, shorts, youtu.be) or id, or a TikTok video URL.",
    )


class GradeOut(BaseModel):
    horizon_h: float
    age_h: float = Field(description="The graded capture's age (hours since publishing).")
    actual_views: int
    p10: float
    p50: float
    p90: float
    error_log10: float = Field(description="log10(p50 + 1) - log10(views + 1): positive when the forecast was high.")
    inside: bool = Field(description="Whether the views fell inside p10-p90.")
    graded_at: datetime


class LinkOut(BaseModel):
    ok: Literal[True] = True
    prediction_id: int
    video_id: str
    url: str
    linked: bool = Field(description="False when the draft was already linked to this video.")
    tracked_id: int = Field(description="Your tracked-video row that polls its views (GET /tracked).")
    tracking_started: bool = Field(description="False when you were already tracking the video.")
    grades: list[GradeOut] = Field(description="The grades so far, by horizon (the grade job adds them).")
    note: str | None = Field(
        None, description="When the draft was scored after the video went out: which horizons can still be graded."
    )


class HistoryPage(Page):
    items: list[HistoryItemOut]


class QualityFlagOut(BaseModel):
    id: int
    kind: str
    video_id: str | None
    snapshot_id: int | None
    quarantined: bool = Field(description="Kept out of training and grading.")
    detail: str
    created_at: datetime


class QualityPage(Page):
    by_kind: dict[str, int] = Field(description="Stored findings per kind.")
    kinds: dict[str, str] = Field(description="What each kind of finding means.")
    quarantined_snapshots: int
    items: list[QualityFlagOut]


class ModelOut(BaseModel):
    ok: Literal[True] = True
    version: str
    origin: str | None = Field(
        description="Where the served model comes from: packaged default, promoted (miles model promote) or "
        "MILES_MODEL_DIR."
    )
    manifest: dict[str, Any] | None = Field(description="Feature list, version, training-data fingerprint, ...")
    metrics: dict[str, Any] | None = Field(description="metrics.json: the model beside its baselines.")
    model_card: str | None = Field(description="MODEL_CARD.md as Markdown.")
    live: dict[str, Any] = Field(
        description="Live accuracy (last 30 days): the served version's stored predictions graded against the views "
        "that arrived - videos, grades, MAE log10, bias, p10-p90 coverage, by horizon, channel size and version."
    )


class ErrorBody(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorOut(BaseModel):
    ok: Literal[False] = False
    error: ErrorBody
