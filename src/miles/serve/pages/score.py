"""Score a draft: the form (with a thumbnail upload and a what-if panel) -> views at horizons with an interval
chart, viral probability, what drove it, and the alternatives ranked side by side.

The form is turned into the API's ``DraftIn`` (alternatives become ``variants``) and scored by the same
``score_drafts`` service as ``POST /api/v1/predict``, so every score lands in the user's history.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import Response
from pydantic import ValidationError

from miles.domain import YOUTUBE_CATEGORIES, local_text, utcnow
from miles.errors import InvalidInput, MilesError
from miles.inputs import (
    format_duration,
    parse_category,
    parse_duration,
    parse_early_views,
    parse_hour,
    parse_publish_time,
    parse_subscribers,
    parse_tags,
    parse_title,
)
from miles.serve.errors import field_path
from miles.serve.pages.charts import interval_figure
from miles.serve.pages.common import Page, PageDep, render
from miles.serve.pages.forms import FormErrors, form_page
from miles.serve.pages.timezone import local_zone
from miles.serve.schemas import DraftIn, VariantIn
from miles.serve.services import thumbnails
from miles.serve.services.model import LIVE_MIN_VIDEOS, PredictorHolder, live_section
from miles.serve.services.predict import ScoredDraft, score_drafts
from miles.serve.web_auth import CSRF_FIELD, check_csrf
from miles.store.repos import niche as niche_repo

router = APIRouter(include_in_schema=False)
OptText = Annotated[str, Form(max_length=5000)]
MAX_ALTERNATIVES = 6  # of each kind (title, duration, posting hour); the API takes up to 20 variants in all
AltField = Annotated[list[str], Form(max_length=MAX_ALTERNATIVES)]  # one input per alternative


FORM_FIELDS = {"duration_s": "duration", "subscribers": "subscribers", "publish_at": "planned publish time"}


def variants_from_form(
    alt_titles: list[str],
    alt_durations: list[str],
    alt_hours: list[str],
    publish_at: datetime,
    errors: FormErrors,
    tz: tzinfo = UTC,
) -> list[VariantIn]:
    """One variant per filled alternative field (each its own input, so a comma is never a separator); a variant
    the API would refuse (a control character, a title too long) is a problem of its field, not a server error."""
    out: list[tuple[str, str, dict[str, Any]]] = [
        ("alt_title", f"alternative title {i}", {"label": f"title: {t.strip()[:60]}", "title": t.strip()})
        for i, t in enumerate((t for t in alt_titles if t.strip()), start=1)
    ]
    for i, text in enumerate(alt_durations, start=1):
        d = errors.read("alt_duration", parse_duration, text, f"alternative duration {i}")
        if d is not None:
            variant = {"label": f"duration: {format_duration(d)}", "duration_s": d}
            out.append(("alt_duration", f"alternative duration {i}", variant))
    for i, text in enumerate(alt_hours, start=1):
        h = errors.read("alt_hour", parse_hour, text, f"alternative posting hour {i}")
        if h is not None:  # an hour on the browser's clock, on the planned day
            local = publish_at.astimezone(tz).replace(hour=h, minute=0, second=0, microsecond=0)
            variant = {"label": f"posted at {h:02d}:00 {local.tzname()}", "publish_at": local.astimezone(UTC)}
            out.append(("alt_hour", f"alternative posting hour {i}", variant))
    variants = []
    for field, label, raw in out:
        try:
            variants.append(VariantIn.model_validate(raw))
        except ValidationError as exc:
            problems = {
                str(err["msg"]).removeprefix("Value error, ") for err in exc.errors() if err["loc"] != ("label",)
            }
            for problem in sorted(problems or {str(exc.errors()[0]["msg"]).removeprefix("Value error, ")}):
                errors.items.append({"field": field, "message": f"{label}: {problem}"})
    return _distinct(variants)


def _distinct(variants: list[VariantIn]) -> list[VariantIn]:
    """Each alternative once: "17" and "5pm" (or a title typed twice) were two rows "posted at 17:00 UTC"."""
    seen: set[str] = set()
    out = []
    for variant in variants:
        key = variant.model_dump_json(exclude={"label"})
        if key not in seen:
            seen.add(key)
            out.append(variant)
    return out


def _in_zone(text: str, tz: tzinfo) -> str:
    """A date and time typed without a zone is on the browser's clock: give it that zone's offset."""
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        return text  # parse_publish_time names the problem
    return when.replace(tzinfo=tz).isoformat() if when.tzinfo is None and tz is not UTC else text


def _early_views(
    form: dict[str, Any], publish: datetime | None, errors: FormErrors, tz: tzinfo = UTC
) -> list[tuple[float, int]]:
    """Views so far (``AGE:VIEWS`` pairs); with them the publish time is when the video went out (blank: the
    latest reading is now), and a reading that would lie in the future is a problem."""
    try:
        early = parse_early_views(form.get("early_views", ""))
    except InvalidInput as exc:
        errors.items.append({"field": "early_views", "message": exc.message})
        return []
    if early and publish is not None and publish + timedelta(hours=early[-1][0]) > utcnow() + timedelta(minutes=5):
        errors.items.append(
            {
                "field": "early_views",
                "message": f"early views: the reading at {early[-1][0]:g} h after publishing lies in the future for "
                f"a video published {local_text(publish, tz)}; set the publish time to when it went out, or leave "
                "it blank if the latest reading is from now",
            }
        )
    return early


def draft_from_form(form: dict[str, Any], errors: FormErrors | None = None, tz: tzinfo = UTC) -> DraftIn:
    """The form's strings as a validated ``DraftIn``, read as people type them (``miles.inputs``; times on the
    browser's clock ``tz``); every problem (with any found before, e.g. the thumbnail's) is listed in one
    InvalidInput (``details.fields``: the input's name and the message)."""
    errors = errors or FormErrors()
    title = errors.read("title", parse_title, form["title"], "title")
    duration = errors.read("duration_s", parse_duration, form["duration_s"], "duration")
    category = errors.read("category_id", parse_category, form.get("category_id", ""), "category")
    subscribers = errors.read("subscribers", parse_subscribers, form["subscribers"], "subscribers")
    publish = errors.read("publish_at", parse_publish_time, _in_zone(form["publish_at"], tz), "planned publish time")
    early = _early_views(form, publish, errors, tz)
    # a blank publish time stays blank (the forecast reads it as "the latest reading is from now" and says so, as
    # the API does: the page had filled it in, and the draft showed it as typed); variants' hours need a day
    published = publish or (utcnow() - timedelta(hours=early[-1][0]) if early else utcnow())
    variants = variants_from_form(form["alt_title"], form["alt_duration"], form["alt_hour"], published, errors, tz)
    errors.raise_any()
    try:
        return DraftIn.model_validate(
            {
                "title": title,
                "description": form["description"] or None,
                "tags": parse_tags(form["tags"]),
                "duration_s": duration,
                "category_id": category,
                "channel_subscribers": subscribers,
                "channel": form.get("channel", "").strip() or None,
                "publish_at": publish,
                "early_views": [{"age_h": age_h, "views": views} for age_h, views in early],
                "variants": variants,
                "platform": form.get("platform") or "youtube",
            }
        )
    except ValidationError as exc:
        for err in exc.errors():
            name = field_path(err["loc"]) or "form"
            errors.items.append({"field": name, "message": f"{FORM_FIELDS.get(name, name)}: {err['msg']}"})
        errors.raise_any()
        raise


def score_data(
    page: Page, form: dict[str, Any], image: bytes | None, errors: FormErrors | None = None
) -> dict[str, Any]:
    draft = draft_from_form(form, errors, local_zone(page.web))
    predictor = page.predictor()
    result = score_drafts(
        session=page.session,
        settings=page.settings,
        predictor=predictor,
        drafts=[ScoredDraft(draft, image)],
        requester=page.requester,
    )[0]
    out = result.model_dump(mode="json")
    unused_thumbnail = image is not None and "thumbnail" not in out["prediction"]["inputs_used"]
    live = live_section(session=page.session, version=out["prediction"]["model_version"])
    return {
        "result": out,
        "live": live if live["videos"] >= LIVE_MIN_VIDEOS else None,
        "figure": interval_figure(out["prediction"]["horizons"], early_readings(out["prediction"])),
        "thumbnail_unused": unused_thumbnail,
        "variants_alike": variants_alike(out["variants"]),
    }


def variants_alike(variants: list[dict[str, Any]]) -> bool:
    """Whether every version got the same medians (within 1 %): the model does not tell them apart, and the page
    says so instead of presenting a ranking of equals."""
    if len(variants) < 2:
        return False
    medians = [[h["p50"] for h in v["prediction"]["horizons"]] for v in variants]
    return all(abs(a - b) <= 0.01 * max(a, b, 1.0) for m in medians[1:] for a, b in zip(medians[0], m, strict=True))


def feed_preview(
    form: dict[str, Any], image: bytes | None, result: dict[str, Any], channel_name: str | None = None
) -> dict[str, Any]:
    """What the page's feed preview shows: the title, the thumbnail (small, inline), the channel (its stored name,
    else as typed) and the forecast views at 7 days (or the longest horizon below it) as the card's view count."""
    horizons = result["prediction"]["horizons"]
    shown = [h for h in horizons if h["horizon_h"] <= 168] or horizons[:1]
    return {
        "title": form["title"].strip(),
        "channel": channel_name or form.get("channel", "").strip() or "Your channel",
        "image": thumbnails.preview_data_uri(image) if image is not None else None,
        "views": shown[-1]["p50"],
        "views_at": shown[-1]["label"],
    }


def early_readings(prediction: dict[str, Any]) -> list[dict[str, Any]]:
    """The views so far the forecast started from (early mode), as the draft echo read them."""
    early = (prediction.get("draft") or {}).get("early_views") or {}
    return list(early.get("value") or []) if early.get("status") == "given" else []


def form_data(page: Page) -> dict[str, Any]:
    holder: PredictorHolder = page.request.app.state.predictor
    status = holder.status()
    return {"result": None, "model": {"state": status.state, "version": status.version, "message": status.message},
            "categories": YOUTUBE_CATEGORIES}  # fmt: skip


def _typed(form: dict[str, Any]) -> dict[str, Any]:
    """The form as typed, for showing it again: the alternatives are lists (one input each)."""
    alts = {name: v if isinstance(v := form.get(name, []), list) else [v] for name in ALT_FIELDS}
    return {"form": {**form, **alts}}


ALT_FIELDS = ("alt_title", "alt_duration", "alt_hour")
form_page("/score", "score.html", form_data, _typed)


PREFILL_FIELDS = {"title": 300, "description": 5000, "tags": 1000, "duration_s": 20, "category_id": 20, "channel": 300,
                  "subscribers": 20}  # fmt: skip


def prefilled(query: Mapping[str, str]) -> dict[str, str]:
    """The form as a link fills it in (an idea's "Score this": ``/score?title=…&duration_s=…``): known fields only,
    cut to the form's limits; the values are checked when the form is submitted, like typed ones."""
    form = {name: query[name][:limit] for name, limit in PREFILL_FIELDS.items() if query.get(name)}
    return form


@router.get("/score")
@router.get("/score.json")
def score_form(page: PageDep) -> Response:
    # no publish time filled in: blank reads as now, or with views so far as "the latest reading is now" (a
    # pre-filled hour put every reading of an hour or more in the future)
    form = prefilled(page.request.query_params)
    return render(page, "score.html", {**form_data(page), "prefill": form}, form=form)


@router.post("/score")
@router.post("/score.json")
def score(
    page: PageDep,
    title: Annotated[str, Form(max_length=5000)],  # too long, or only spaces: parse_title says so as the API does
    csrf: Annotated[str | None, Form(alias=CSRF_FIELD, max_length=200)] = None,
    description: OptText = "",
    tags: OptText = "",
    duration_s: Annotated[str, Form(max_length=20)] = "",
    category_id: Annotated[str, Form(max_length=20)] = "",
    subscribers: Annotated[str, Form(max_length=20)] = "",
    channel: Annotated[str, Form(max_length=300)] = "",
    publish_at: Annotated[str, Form(max_length=40)] = "",
    platform: Annotated[str, Form(max_length=20)] = "youtube",
    alt_title: AltField = [],  # noqa: B006 - FastAPI copies defaults
    alt_duration: AltField = [],  # noqa: B006
    alt_hour: AltField = [],  # noqa: B006
    early_views: Annotated[str, Form(max_length=2000)] = "",
    thumbnail: Annotated[UploadFile | None, File()] = None,
) -> Response:
    check_csrf(page.request, csrf)
    form = dict(
        title=title,
        description=description,
        tags=tags,
        duration_s=duration_s,
        category_id=category_id,
        subscribers=subscribers,
        channel=channel,
        publish_at=publish_at,
        platform=platform,
        alt_title=alt_title,
        alt_duration=alt_duration,
        alt_hour=alt_hour,
        early_views=early_views,
    )
    errors = FormErrors()  # the thumbnail's problem is listed with the fields'
    image = None
    if thumbnail is not None and thumbnail.filename:
        raw = thumbnail.file.read(page.settings.max_image_bytes + 1)
        try:
            image = thumbnails.checked_image(raw, settings=page.settings, field="thumbnail")
        except MilesError as exc:
            if not exc.expected:
                raise
            errors.items.append({"field": "thumbnail", "message": exc.message})
    data = score_data(page, form, image, errors)
    preview = None
    if not page.wants_json:  # a channel Miles knows shows by its name, as YouTube shows it, not by its id
        known = (data["result"]["prediction"].get("channel_history") or {}).get("channel_id")
        name = niche_repo.channel_name(session=page.session, channel_id=known) if known else None
        preview = feed_preview(form, image, data["result"], channel_name=name)
    if page.is_htmx:
        response = render(page, "_score_result.html", data, preview=preview)
    else:
        response = render(page, "score.html", {**form_data(page), **data}, form=form, preview=preview)
    page.commit()  # the prediction is in the history before the user can open it
    return response
