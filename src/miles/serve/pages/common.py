"""What every page shares: templates, the page context (who is asking), and the JSON twin.

Each page's data comes from one function; ``render`` turns that data into the HTML page, or, when the path
ends in ``.json`` (the JSON twin, STYLE.md habit 6), into ``{"ok": true, ...the same data}``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import Depends, Form, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.utils import htmlsafe_json_dumps
from markupsafe import Markup, escape
from sqlalchemy.orm import Session

from miles.config import Settings
from miles.domain import YOUTUBE_CATEGORIES, iso_utc, local_text
from miles.errors import Unauthorized
from miles.inputs import (
    format_age,
    format_chance,
    format_count,
    format_duration,
    format_elapsed,
    format_forecast_range,
    format_forecast_views,
    format_multiple,
    format_outlier_multiple,
    format_percent,
    format_views,
)
from miles.model.predict import EFFECT_CAPTION, effect_multiple, no_reasons
from miles.serve.deps import SessionDep, client_ip, requester_of
from miles.serve.limits import Limiter
from miles.serve.services.model import PredictorHolder, PredictorLike
from miles.serve.web_auth import CSRF_FIELD, CSRF_HEADER, WebSession, active_user, read_session, write_cookie
from miles.store.repos import users
from miles.store.repos.jobs import Requester
from miles.store.tables import User

SERVE_DIR = Path(__file__).resolve().parent.parent
TEMPLATES = Jinja2Templates(directory=str(SERVE_DIR / "templates"))
TEMPLATES.env.globals["no_reasons"] = no_reasons
TEMPLATES.env.globals["effect_caption"] = EFFECT_CAPTION
STATIC_DIR = SERVE_DIR / "static"
HTMX_FILE = STATIC_DIR / "vendor" / "htmx.min.js"


class LoginRequired(Unauthorized):
    """A page that shows the user's own data, opened without logging in (pages redirect to /login)."""


def _views(value: Any) -> str:
    """1234 -> '1.2K', 2_500_000 -> '2.5M' (views are shown compactly everywhere)."""
    return "–" if value is None else format_views(value, compact=True)


def _forecast(value: Any, noun: bool = False) -> str:
    """A forecast's views, compact: ``1.2K``, and ``under 1`` below one view (``noun``: "under 1 view")."""
    return "–" if value is None else format_forecast_views(value, compact=True, noun=noun)


def _forecast_range(low: Any, high: Any) -> str:
    """``{{ h.p10|forecast_range(h.p90) }}``: ``12–40``, ``under 1 to 4``."""
    return "–" if low is None or high is None else format_forecast_range(low, high, compact=True)


def _age(hours: Any) -> str:
    """Hours since publishing in words ('45 min', '3 h', '2 days'): the one formatter History's notes use too."""
    return "–" if hours is None else format_elapsed(float(hours))


def _hours(hours: Any) -> str:
    """A reading's age as the forecast's notes, the CLI and the API's notes name it ('28 min', '6.5 h', '167 h'): '|age'
    rounds to whole hours, and a reading at 6.5 h read "at 6 h", beside a 6 h horizon."""
    return "–" if hours is None else format_age(float(hours))


@pass_context
def _when(context: Mapping[str, Any], value: Any) -> str:
    """A time in the browser's zone (``tz`` of the page's context; UTC when unknown), e.g. '2026-05-01 18:30 CEST'."""
    if value is None:
        return "–"
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    name = context.get("tz")
    zone = ZoneInfo(name) if isinstance(name, str) and name else UTC
    return local_text(value, zone)


def _multiple(value: Any) -> str:
    return "–" if value is None else format_multiple(value)


def _outlier_multiple(value: Any) -> str:
    return "–" if value is None else format_outlier_multiple(value)


def _metric_interval(lo: float, hi: float) -> str:
    """A metric's 95 % interval: "0.557–0.686", or "−0.382 to −0.176" when a bound is negative (with a dash between
    them, "-0.382–-0.176" read as a subtraction)."""
    low, high = (f"{v:.3f}".replace("-", "\N{MINUS SIGN}") for v in (lo, hi))
    return f"{low} to {high}" if min(lo, hi) < 0 else f"{low}–{high}"


def _metric_number(value: Any, small: str = "%.3f") -> str:
    """A metric's value in a table: ``small`` under 1,000, thousands separators up to a million, then 16.7M (a
    baseline's mRSE of 16,703,862.98 read "1.67e+07"); a minus sign, not a hyphen."""
    if not isinstance(value, int | float) or not math.isfinite(value):
        return "–"
    size = abs(value)
    if size >= 1e6:
        text = _views(value)
    elif size >= 1e3:
        text = f"{value:,.0f}"
    else:
        text = small % value
    return text.replace("-", "\N{MINUS SIGN}")


def clean_json(value: Any) -> Any:
    """JSON-safe: NaN and infinities (metrics files may hold them) become null."""
    if isinstance(value, dict):
        return {k: clean_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_json(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _figure(figure: Any) -> Markup:
    """A Plotly figure spec as HTML-safe JSON for a data attribute (NaN becomes null)."""
    return htmlsafe_json_dumps(clean_json(figure))


_CODE = re.compile(r"`([^`]+)`")


def _code_spans(text: Any) -> Markup:
    """Text written for the CLI and the API as well, with its `code` spans shown as code (they came through as
    backticks); everything else escaped."""
    return Markup(_CODE.sub(lambda m: f"<code>{m.group(1)}</code>", str(escape(str(text or "")))))


def _note(text: Any) -> Markup:
    """A note written for the CLI and the API as well: `code` spans shown as code, the sentence starting with a
    capital."""
    words = str(text or "")
    return _code_spans(words[:1].upper() + words[1:])


TEMPLATES.env.filters.update(
    views=_views, age=_age, hours=_hours, when=_when, multiple=_multiple, figure=_figure, note=_note
)
TEMPLATES.env.filters["code_spans"] = _code_spans  # {{ f.note|code_spans }}: a note inside a sentence
TEMPLATES.env.filters["outlier_multiple"] = _outlier_multiple
TEMPLATES.env.filters["metric_interval"] = _metric_interval  # {{ lo|metric_interval(hi) }}
TEMPLATES.env.filters["metric_number"] = _metric_number  # {{ v|metric_number }}: 0.597, 2,186, 16.7M
TEMPLATES.env.filters["duration"] = format_duration
TEMPLATES.env.filters["category"] = lambda i: YOUTUBE_CATEGORIES.get(int(i), f"id {i}")  # 26 -> Howto & Style
TEMPLATES.env.filters["effect"] = effect_multiple
TEMPLATES.env.filters["plural"] = format_count  # {{ n|plural("earlier upload") }}: "1 earlier upload"
TEMPLATES.env.filters["forecast"] = _forecast  # {{ h.p50|forecast }}: a forecast's views ("under 1" below one)
TEMPLATES.env.filters["forecast_range"] = _forecast_range


def _unbroken_percent(text: str) -> Markup:
    """A percentage whose sign never wraps to the next line apart from its number (a phone broke "100 %")."""
    return Markup(str(escape(text)).replace(" %", "&nbsp;%"))


TEMPLATES.env.filters["chance"] = lambda p: _unbroken_percent(format_chance(p))  # {{ p|chance }}: "14 %", as the CLI
TEMPLATES.env.filters["percent"] = lambda share, decimals=0: _unbroken_percent(format_percent(share, decimals))


@dataclass
class Page:
    """The request as a page sees it: settings, database session, browser session and the logged-in user."""

    request: Request
    settings: Settings
    session: Session
    web: WebSession
    user: User | None

    @property
    def user_id(self) -> int | None:
        return self.user.id if self.user is not None else None

    @property
    def requester(self) -> Requester:
        return requester_of(self.user_id, client_ip(self.request))

    @property
    def wants_json(self) -> bool:
        return self.request.url.path.endswith(".json")

    @property
    def is_htmx(self) -> bool:
        return self.request.headers.get("hx-request") == "true"

    def require_user(self) -> int:
        if self.user is None:
            raise LoginRequired("log in to see this page: it shows your own data")
        return self.user.id

    def commit(self) -> None:
        """Commit now (before a redirect is sent, so the next page sees the change); keeps the RLS user set."""
        self.session.commit()
        users.set_current_user(session=self.session, user_id=self.user_id)

    def predictor(self) -> PredictorLike:
        holder: PredictorHolder = self.request.app.state.predictor
        return holder.get(self.session)


def get_page(request: Request, session: SessionDep) -> Page:
    """Rate-limit by address, read the cookie, and set the row-level-security user for this transaction."""
    limiter: Limiter = request.app.state.rate_limiter
    limiter.hit(f"ip:{client_ip(request)}")
    return page_from(request, session)


def page_from(request: Request, session: Session) -> Page:
    """The page's view of the request (no rate limit): also used to render a form again after an error."""
    web = read_session(request)
    users.set_current_user(session=session, user_id=web.user_id)
    user = active_user(session, web)
    if user is None and web.user_id is not None:
        users.set_current_user(session=session, user_id=None)
    return Page(request=request, settings=request.app.state.settings, session=session, web=web, user=user)


PageDep = Annotated[Page, Depends(get_page)]


def base_context(request: Request, user: User | None = None) -> dict[str, Any]:
    web = read_session(request)
    return {
        "current_user": user,
        "csrf_token": web.csrf,
        "csrf_field": CSRF_FIELD,
        "csrf_header": CSRF_HEADER,
        "htmx_available": HTMX_FILE.is_file() and HTMX_FILE.stat().st_size > 0,
        "path": request.url.path,
        "tz": web.tz,  # the browser's time zone (None: not known yet, times in UTC)
        "reloadable": request.method == "GET",  # miles.js may reload it once the time zone is known
    }


def render(page: Page, template: str, data: dict[str, Any], *, status: int = 200, **extra: Any) -> Response:
    """The HTML page (``template``) or its JSON twin (``data`` as JSON) for the same request."""
    response: Response
    if page.wants_json:
        encoded = jsonable_encoder({"ok": True, **data}, custom_encoder={datetime: iso_utc})  # '…Z' as the API
        response = JSONResponse(clean_json(encoded), status_code=status)
    else:
        context = {**base_context(page.request, page.user), **data, **extra}
        response = TEMPLATES.TemplateResponse(page.request, template, context, status_code=status)
    if page.web.changed:
        write_cookie(response, page.request, page.web)
    return response


def notice(page: Page, messages: Mapping[str, str]) -> str | None:
    """The confirmation a form's redirect asked for (Post/Redirect/Get: ``/track?stopped=1``), as a fixed message
    chosen by the parameter's name from ``messages``: no text of the URL is ever shown (``?added=<anything>`` put
    that text on the page)."""
    for name, message in messages.items():
        if page.request.query_params.get(name):
            return message
    return None


Confirm = Annotated[str, Form(max_length=10)]  # "yes" from a confirmation page's form


def confirm_page(page: Page, *, title: str, consequence: str, action: str, button: str, cancel: str) -> Response:
    """A confirmation step before a destructive action: a form posting ``confirm=yes`` to ``action`` (no script)."""
    data = {"confirm": {"title": title, "consequence": consequence, "action": action, "button": button}}
    return render(page, "confirm.html", data, cancel=cancel)
