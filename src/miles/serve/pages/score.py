"""Score a draft: the form (with a thumbnail upload and a what-if panel) -> views at horizons with an interval
chart, viral probability, what drove it, and the alternatives ranked side by side.

The form is turned into the API's ``DraftIn`` (alternatives become ``variants``) and scored by the same
``score_drafts`` service as ``POST /api/v1/predict``, so every score lands in the user's history.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import Response
from pydantic import ValidationError

from miles.domain import checked_publish_time, utcnow
from miles.errors import InvalidInput
from miles.serve.errors import field_path
from miles.serve.pages.charts import interval_figure
from miles.serve.pages.common import Page, PageDep, render
from miles.serve.schemas import DraftIn, VariantIn
from miles.serve.services import thumbnails
from miles.serve.services.model import PredictorHolder
from miles.serve.services.predict import ScoredDraft, score_drafts
from miles.serve.web_auth import CSRF_FIELD, check_csrf

router = APIRouter(include_in_schema=False)
OptText = Annotated[str, Form(max_length=5000)]
MAX_ALTERNATIVES = 6


def _numbers(text: str, field: str, *, lo: float, hi: float) -> list[float]:
    out = []
    for part in text.replace(";", ",").split(","):
        if not part.strip():
            continue
        try:
            value = float(part)
        except ValueError:
            raise InvalidInput(f"{field}: {part.strip()!r} is not a number; separate values with commas") from None
        if not lo <= value <= hi:
            raise InvalidInput(f"{field}: {value:g} is outside {lo:g}–{hi:g}")
        out.append(value)
    return out[:MAX_ALTERNATIVES]


def _opt_float(text: str, field: str, *, lo: float, hi: float) -> float | None:
    values = _numbers(text, field, lo=lo, hi=hi) if text.strip() else []
    return values[0] if values else None


def variants_from_form(alt_titles: str, alt_durations: str, alt_hours: str, publish_at: datetime) -> list[VariantIn]:
    variants = [
        VariantIn.model_validate({"label": f"title: {t.strip()[:60]}", "title": t.strip()})
        for t in alt_titles.splitlines()
        if t.strip()
    ]
    variants = variants[:MAX_ALTERNATIVES]
    for d in _numbers(alt_durations, "alternative durations", lo=1, hi=86_400):
        variants.append(VariantIn.model_validate({"label": f"duration: {d:g} s", "duration_s": d}))
    for h in _numbers(alt_hours, "alternative posting hours", lo=0, hi=23):
        when = publish_at.replace(hour=int(h), minute=0, second=0, microsecond=0)
        variants.append(VariantIn.model_validate({"label": f"posted at {int(h):02d}:00 UTC", "publish_at": when}))
    return variants


def draft_from_form(form: dict[str, str]) -> DraftIn:
    """The form's strings as a validated ``DraftIn``; problems become one InvalidInput naming the field."""
    try:
        when = datetime.fromisoformat(form["publish_at"]) if form["publish_at"].strip() else utcnow()
    except ValueError:
        raise InvalidInput(f"planned publish time: {form['publish_at']!r} is not a date and time") from None
    try:
        publish = checked_publish_time(when)
    except ValueError as exc:
        raise InvalidInput(f"planned publish time: {exc}") from None
    try:
        return DraftIn.model_validate(
            {
                "title": form["title"],
                "description": form["description"] or None,
                "tags": [t for t in form["tags"].replace("#", " ").replace(",", " ").split() if t],
                "duration_s": _opt_float(form["duration_s"], "duration", lo=1, hi=86_400),
                "channel_subscribers": int(_opt_float(form["subscribers"], "subscribers", lo=0, hi=1e10) or 0) or None,
                "channel": form.get("channel", "").strip() or None,
                "publish_at": publish,
                "variants": variants_from_form(form["alt_titles"], form["alt_durations"], form["alt_hours"], publish),
            }
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InvalidInput(f"{field_path(first['loc']) or 'form'}: {first['msg']}") from None


def score_data(page: Page, form: dict[str, str], image: bytes | None) -> dict[str, Any]:
    draft = draft_from_form(form)
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
    return {
        "result": out,
        "figure": interval_figure(out["prediction"]["horizons"]),
        "thumbnail_unused": unused_thumbnail,
    }


def form_data(page: Page) -> dict[str, Any]:
    holder: PredictorHolder = page.request.app.state.predictor
    status = holder.status()
    return {"result": None, "model": {"state": status.state, "version": status.version, "message": status.message}}


def _default_publish() -> str:
    return utcnow().astimezone(UTC).replace(minute=0, second=0, microsecond=0).strftime("%Y-%m-%dT%H:%M")


@router.get("/score")
@router.get("/score.json")
def score_form(page: PageDep) -> Response:
    return render(page, "score.html", form_data(page), form={"publish_at": _default_publish()})


@router.post("/score")
@router.post("/score.json")
def score(
    page: PageDep,
    title: Annotated[str, Form(max_length=300)],
    csrf: Annotated[str | None, Form(alias=CSRF_FIELD, max_length=200)] = None,
    description: OptText = "",
    tags: OptText = "",
    duration_s: Annotated[str, Form(max_length=20)] = "",
    subscribers: Annotated[str, Form(max_length=20)] = "",
    channel: Annotated[str, Form(max_length=300)] = "",
    publish_at: Annotated[str, Form(max_length=40)] = "",
    alt_titles: OptText = "",
    alt_durations: Annotated[str, Form(max_length=200)] = "",
    alt_hours: Annotated[str, Form(max_length=200)] = "",
    thumbnail: Annotated[UploadFile | None, File()] = None,
) -> Response:
    check_csrf(page.request, csrf)
    form = dict(
        title=title,
        description=description,
        tags=tags,
        duration_s=duration_s,
        subscribers=subscribers,
        channel=channel,
        publish_at=publish_at,
        alt_titles=alt_titles,
        alt_durations=alt_durations,
        alt_hours=alt_hours,
    )
    image = None
    if thumbnail is not None and thumbnail.filename:
        raw = thumbnail.file.read(page.settings.max_image_bytes + 1)
        image = thumbnails.checked_image(raw, settings=page.settings, field="thumbnail")
    data = score_data(page, form, image)
    if page.is_htmx:
        response = render(page, "_score_result.html", data)
    else:
        response = render(page, "score.html", {**form_data(page), **data}, form=form)
    page.commit()  # the prediction is in the history before the user can open it
    return response
