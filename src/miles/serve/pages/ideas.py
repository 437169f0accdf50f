"""Ideas (the home page): topic + vibe -> niche outliers, patterns with effect sizes, and scored ideas.

The form posts with HTMX, so the page stays usable and shows progress while the niche is gathered and
the ideas are scored; without JavaScript the same form posts normally and the whole page comes back.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form
from fastapi.responses import Response

from miles.inputs import parse_subscribers
from miles.recommend.candidates import LANGUAGES, Filters
from miles.serve.pages.common import Page, PageDep, render
from miles.serve.pages.forms import FormErrors, form_page
from miles.serve.schemas import Platform, SafeStr
from miles.serve.services.ideas import ideas_for, queries_for
from miles.serve.web_auth import CSRF_FIELD, check_csrf

router = APIRouter(include_in_schema=False)
RECENT = 5


def home_data(page: Page) -> dict[str, Any]:
    """The form's page: the user's recent queries (anonymous visitors share the local anonymous history)."""
    recent = queries_for(settings=page.settings, user_id=page.user_id, limit=RECENT, offset=0)
    return {"result": None, "recent": recent["items"], "languages": LANGUAGES}


def ideas_data(
    page: Page,
    *,
    topic: str,
    vibe: str,
    n: int,
    filters: Filters | None = None,
    platform: str = "youtube",
    subscribers: str = "",
) -> dict[str, Any]:
    """One ideas query, exactly as ``POST /api/v1/ideas`` computes it, stored in the user's history."""
    errors = FormErrors()
    if not topic.strip():
        errors.items.append({"field": "topic", "message": "topic: type a niche, e.g. 'sourdough bread'"})
    channel_size = errors.read("subscribers", parse_subscribers, subscribers, "your channel's subscribers")
    errors.raise_any()
    result = ideas_for(
        settings=page.settings,
        predictor=page.predictor(),
        topic=topic,
        vibe=vibe,
        n=n,
        seed=0,
        requester=page.requester,
        filters=filters,
        platform=platform,
        subscribers=float(channel_size) if channel_size is not None else None,
    )
    return {"result": result}


def _typed(form: dict[str, str]) -> dict[str, Any]:
    return {"topic": form.get("topic", ""), "vibe": form.get("vibe", ""), "n": form.get("n", "5"),
            "subscribers": form.get("subscribers", "")}  # fmt: skip


form_page("/ideas", "ideas.html", home_data, _typed)


@router.get("/")
@router.get("/ideas")
@router.get("/ideas.json")
def home(page: PageDep) -> Response:
    return render(page, "ideas.html", home_data(page), topic="", vibe="", filters=Filters())


@router.post("/ideas")
@router.post("/ideas.json")
def ideas(
    page: PageDep,
    topic: Annotated[SafeStr, Form(max_length=200)],
    csrf: Annotated[str | None, Form(alias=CSRF_FIELD, max_length=200)] = None,
    vibe: Annotated[SafeStr, Form(max_length=200)] = "",
    n: Annotated[int, Form(ge=1, le=20)] = 5,
    language: Annotated[str, Form(max_length=8)] = "auto",
    shorts: Annotated[Literal["any", "only", "exclude"], Form()] = "any",
    include_long: Annotated[bool, Form()] = False,
    include_ads: Annotated[bool, Form()] = False,
    platform: Annotated[Platform, Form()] = "youtube",
    subscribers: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    check_csrf(page.request, csrf)
    filters = Filters(language=language, shorts=shorts, include_long=include_long, include_ads=include_ads)
    data = ideas_data(page, topic=topic, vibe=vibe, n=n, filters=filters, platform=platform, subscribers=subscribers)
    if page.is_htmx:
        return render(page, "_ideas_result.html", data)
    return render(page, "ideas.html", {**home_data(page), **data}, topic=topic, vibe=vibe, filters=filters,
                  platform=platform, subscribers=subscribers)  # fmt: skip
