"""Errors on pages: the form the user sent, shown again with every problem beside its field; otherwise an HTML
error page (or, for HTMX, an error box) instead of the API's JSON envelope.

The API's handlers (``serve.errors``) stay in charge of ``/api/...``, ``/docs`` and every ``.json`` twin. For a
page route registered with ``forms.form_page``, an expected error (4xx) renders that page again, as typed (a
form registered with ``back`` goes back to its page with its problems instead: Post/Redirect/Get); for
the other paths a browser gets ``error.html`` with the same status and message. The header always shows who is
logged in, and a page that needs a logged-in user redirects to ``/login?next=...``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, cast
from urllib.parse import quote

import annotated_types
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from miles.domain import PLATFORM_NAMES
from miles.errors import MilesError, NoPlatformModel, RateLimited
from miles.serve.errors import INTERNAL_ERROR, problem_message
from miles.serve.pages.common import TEMPLATES, LoginRequired, base_context, page_from, render
from miles.serve.pages.forms import FORM_PAGES, FormPage, clean_typed, problems_of, validation_problem
from miles.serve.web_auth import active_user, put_flash, read_session, write_cookie
from miles.store.db import session_scope

log = logging.getLogger("miles.serve.pages")
Handler = Callable[[Request, Exception], Awaitable[Response]]
NOT_PAGES = ("/api/", "/docs", "/openapi.json", "/redoc", "/static/", "/assets/")


def is_page_request(request: Request) -> bool:
    path = request.url.path
    return not path.startswith(NOT_PAGES) and not path.endswith(".json")


def _message(exc: Exception) -> tuple[int, str]:
    if isinstance(exc, MilesError):  # a bug answers 500 whatever its own status, as the API does
        return (exc.status, exc.message) if exc.expected else (500, INTERNAL_ERROR)
    if isinstance(exc, StarletteHTTPException):
        return exc.status_code, "page not found" if exc.status_code == 404 else str(exc.detail)
    if isinstance(exc, RequestValidationError):
        problems = [validation_problem(e)[1] for e in exc.errors()]
        return 422, "invalid form: " + "; ".join(problems)
    return 500, INTERNAL_ERROR


def _in_address(request: Request, exc: Exception) -> bool:
    """Every problem is in the page's address: its path, or a query parameter that is no field of a form (a form
    page names its own, e.g. Track's offset; on a page without a form, every query parameter is the address's)."""
    if not isinstance(exc, RequestValidationError):
        return False
    entry = FORM_PAGES.get(getattr(request.scope.get("route"), "path", ""))
    for err in exc.errors():
        loc = tuple(err.get("loc", ()))
        query = loc[:1] == ("query",) and (entry is None or loc[-1] in entry.address)
        if not (query or loc[:1] == ("path",)):
            return False
    return True


def _address_problem(request: Request, err: Mapping[str, Any]) -> str:
    """'offset in the address: 'abc' is not a whole number (it takes a whole number from 0 to 10,000,000: items to
    skip)': the parameter, what was wrong and what it takes (a form's words, "your form is kept", meant nothing)."""
    name = str(tuple(err.get("loc", ()))[-1])
    problem = "is missing" if err.get("type") == "missing" else problem_message(err)
    takes = _takes(request, name)
    return f"{name} in the address: {problem[:1].lower()}{problem[1:]}" + (f" (it takes {takes})" if takes else "")


_NUMBER_KINDS: dict[Any, str] = {int: "a whole number", float: "a number"}


def _takes(request: Request, name: str) -> str | None:
    """What the route's parameter ``name`` takes, from its declaration: a whole number or a number, its bounds and
    what it is for; None for a parameter of another kind."""
    dependant = getattr(request.scope.get("route"), "dependant", None)
    params = [*dependant.query_params, *dependant.path_params] if dependant is not None else []
    info = next((p.field_info for p in params if p.alias == name), None)
    kind = _NUMBER_KINDS.get(info.annotation) if info is not None else None
    if info is None or kind is None:
        return None
    low = next((m.ge for m in info.metadata if isinstance(m, annotated_types.Ge)), None)
    high = next((m.le for m in info.metadata if isinstance(m, annotated_types.Le)), None)
    if low is not None and high is not None:
        kind += f" from {low:,} to {high:,}"
    elif low is not None:
        kind += f", {low:,} or more"
    return f"{kind}: {info.description[:1].lower()}{info.description[1:].rstrip('.')}" if info.description else kind


def _expected(exc: Exception) -> bool:
    if isinstance(exc, MilesError):
        return exc.expected and exc.status < 500
    return isinstance(exc, StarletteHTTPException | RequestValidationError)


def _form_page(request: Request, exc: Exception, status: int) -> FormPage | None:
    """The registered form page this request came from, when the error is one the user can fix there (not one of
    its address: a query parameter is no field of the form)."""
    route = request.scope.get("route")
    path = getattr(route, "path", None)
    if not isinstance(path, str) or not _expected(exc) or status == 401:
        return None
    if not isinstance(exc, MilesError | RequestValidationError):  # e.g. 405 for HEAD or PUT on the form's path
        return None
    if _in_address(request, exc):
        return None
    return FORM_PAGES.get(path)


async def _typed(request: Request) -> dict[str, Any]:
    """What the user typed: the parsed form (FastAPI keeps it on the request) or the query string."""
    if request.method == "GET":
        return clean_typed(request.query_params.multi_items())
    try:
        form = await request.form()
    except Exception:  # an unreadable body leaves nothing to show again
        return {}
    return clean_typed(form.multi_items())


def _problems(exc: Exception) -> dict[str, Any]:
    """What the page shows of the error: the form's problems beside their fields, or - for a draft on a platform
    with no model, which no field of the form can fix - a notice naming the platform."""
    if isinstance(exc, NoPlatformModel):
        platform = str((exc.details or {}).get("platform", ""))
        return {"platform_notice": {"platform": PLATFORM_NAMES.get(platform, platform), "message": exc.message}}
    problems = problems_of(exc)
    return {"field_errors": problems.by_field, "problems": problems.listed()}


def _form_again(request: Request, entry: FormPage, exc: Exception, status: int, typed: dict[str, Any]) -> Response:
    with session_scope(request.app.state.settings) as session:
        page = page_from(request, session)
        data = entry.data(page)
        extra: dict[str, Any] = {**entry.typed(typed), **_problems(exc)}
        response = render(page, entry.template, data, status=status, **extra)
        session.rollback()  # re-rendering never writes
    if page.is_htmx:  # the form and its errors replace the page's main part, not the result box
        response.headers.update({"HX-Retarget": "#main", "HX-Reselect": "#main", "HX-Reswap": "outerHTML"})
    return response


COOKIE_LIMIT = 4096  # bytes a browser keeps of one cookie: a longer Set-Cookie is dropped, and its flash with it


def _back_to_page(request: Request, entry: FormPage, exc: Exception, typed: dict[str, Any]) -> Response | None:
    """A redirect to the form's own page with its problems and what was typed in the flash (None: it would not fit
    in the cookie, and the form is shown again at the action URL as before)."""
    assert entry.back is not None
    problems = problems_of(exc)
    flash = {**entry.typed(typed), "field_errors": problems.by_field, "problems": problems.listed()}
    response = RedirectResponse(entry.back, status_code=303)
    web = read_session(request)
    write_cookie(response, request, put_flash(request, web, flash))
    if len(response.headers["set-cookie"]) <= COOKIE_LIMIT:
        return response
    request.state.web_session = web  # the session as it was, without the flash that does not fit
    return None


def _current_user_context(request: Request) -> dict[str, Any]:
    with session_scope(request.app.state.settings) as session:
        user = active_user(session, read_session(request))
        if user is not None:
            session.expunge(user)
    return base_context(request, user)


def error_page(request: Request, exc: Exception, typed: dict[str, Any] | None = None) -> Response:
    if not _expected(exc):
        log.error("error on page %s %s", request.method, request.url.path, exc_info=exc)
    if isinstance(exc, LoginRequired) and request.method == "GET" and request.headers.get("hx-request") != "true":
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
    status, message = _message(exc)
    if _in_address(request, exc):  # no form was sent: the address's parameter and what it takes
        message = "; ".join(_address_problem(request, e) for e in cast(RequestValidationError, exc).errors())
    entry = _form_page(request, exc, status)
    htmx = request.headers.get("hx-request") == "true"
    if entry is not None and entry.back and typed is not None and status == 422 and not htmx:
        back = _back_to_page(request, entry, exc, typed)
        if back is not None:
            return back
    if entry is not None and typed is not None:
        try:
            again_page = _form_again(request, entry, exc, status, typed)
            if isinstance(exc, RateLimited):  # the form shown again still says when to retry
                again_page.headers["Retry-After"] = str(exc.retry_after_s)
            return again_page
        except MilesError as again:  # e.g. the page's data needs a login that has expired: a plain error page
            log.info("could not show %s again: %s", request.url.path, again.message)
    context = {**_current_user_context(request), "status": status, "message": message}
    template = "_error.html" if htmx else "error.html"
    response = TEMPLATES.TemplateResponse(request, template, context, status_code=status)
    if isinstance(exc, RateLimited):
        response.headers["Retry-After"] = str(exc.retry_after_s)
    if isinstance(exc, StarletteHTTPException) and exc.headers:  # e.g. Allow on a 405
        response.headers.update(exc.headers)
    web = read_session(request)
    if web.changed:
        write_cookie(response, request, web)
    return response


def install_page_error_handlers(app: FastAPI) -> None:
    """Wrap the API's handlers: pages get HTML, everything else keeps the JSON envelope."""
    for exc_class in (MilesError, StarletteHTTPException, RequestValidationError, Exception):
        api_handler = cast(Handler, app.exception_handlers[exc_class])

        def make(api: Handler) -> Handler:
            async def handler(request: Request, exc: Exception) -> Response:
                if is_page_request(request):
                    route = getattr(request.scope.get("route"), "path", "")
                    typed = await _typed(request) if route in FORM_PAGES else None
                    return await run_in_threadpool(error_page, request, exc, typed)  # it reads the database
                return await api(request, exc)

            return handler

        app.add_exception_handler(exc_class, make(api_handler))
