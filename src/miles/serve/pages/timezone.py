"""The browser's time zone on pages: ``miles.js`` reads it from ``Intl.DateTimeFormat`` and posts it to
``/timezone`` (or the footer's select sets it without JavaScript); the session keeps it. Pages show times and
posting hours in it and read times typed into forms in it; the API and every ``.json`` twin stay in UTC."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form
from fastapi.responses import RedirectResponse, Response

from miles.errors import InvalidInput
from miles.serve.pages.common import TEMPLATES, PageDep
from miles.serve.web_auth import CSRF_FIELD, WebSession, check_csrf, update_session, valid_time_zone, write_cookie

router = APIRouter(include_in_schema=False)
COMMON_ZONES = (
    "UTC",
    "America/Los_Angeles",
    "America/Denver",
    "America/Chicago",
    "America/New_York",
    "America/Sao_Paulo",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Istanbul",
    "Africa/Lagos",
    "Asia/Dubai",
    "Asia/Kolkata",
    "Asia/Jakarta",
    "Asia/Shanghai",
    "Asia/Tokyo",
    "Australia/Sydney",
)
TEMPLATES.env.globals["tz_choices"] = COMMON_ZONES  # the footer's select (no JavaScript needed)


def local_zone(web: WebSession) -> tzinfo:
    return ZoneInfo(web.tz) if web.tz else UTC


def zone_name(web: WebSession) -> str:
    return web.tz or "UTC"


def parse_local(text: str, tz: tzinfo, field: str) -> datetime | None:
    """A date and time typed on a page (``2026-05-01T18:30``), read in the browser's zone; None when blank."""
    if not text.strip():
        return None
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(f"{field}: {text.strip()[:40]!r} is not a date and time") from None
    return (when if when.tzinfo else when.replace(tzinfo=tz)).astimezone(UTC)


def local_input(when: datetime, tz: tzinfo) -> str:
    """The value of a ``datetime-local`` input showing ``when`` in the browser's zone."""
    return when.astimezone(tz).strftime("%Y-%m-%dT%H:%M")


@router.post("/timezone")
def set_time_zone(
    page: PageDep,
    tz: Annotated[str, Form(max_length=64)],
    csrf: Annotated[str | None, Form(alias=CSRF_FIELD, max_length=200)] = None,
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    check_csrf(page.request, csrf)
    if not valid_time_zone(tz):
        raise InvalidInput(f"tz: {tz[:64]!r} is not a time zone (e.g. Europe/Berlin)")
    web = update_session(page.request, page.web, tz=tz)
    target = next if next.startswith("/") and not next.startswith("//") and "\\" not in next else ""
    response: Response = RedirectResponse(target, status_code=303) if target else Response(status_code=204)
    write_cookie(response, page.request, web)
    return response
