"""Errors on pages: an HTML error page (or, for HTMX, an error box) instead of the API's JSON envelope.

The API's handlers (``serve.errors``) stay in charge of ``/api/...``, ``/docs`` and every ``.json`` twin;
for the other paths a browser gets ``error.html`` with the same status and message, and a page that needs a
logged-in user redirects to ``/login?next=...``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import cast
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from miles.errors import MilesError, RateLimited
from miles.serve.errors import field_path
from miles.serve.pages.common import TEMPLATES, LoginRequired, base_context
from miles.serve.web_auth import read_session, write_cookie

log = logging.getLogger("miles.serve.pages")
Handler = Callable[[Request, Exception], Awaitable[Response]]
NOT_PAGES = ("/api/", "/docs", "/openapi.json", "/redoc", "/static/", "/assets/")


def is_page_request(request: Request) -> bool:
    path = request.url.path
    return not path.startswith(NOT_PAGES) and not path.endswith(".json")


def _message(exc: Exception) -> tuple[int, str]:
    if isinstance(exc, MilesError):
        return exc.status, exc.message if exc.expected else "internal error; the server log has the details"
    if isinstance(exc, StarletteHTTPException):
        return exc.status_code, "page not found" if exc.status_code == 404 else str(exc.detail)
    if isinstance(exc, RequestValidationError):
        problems = [f"{field_path(e.get('loc', ()))}: {e.get('msg', 'invalid')}" for e in exc.errors()]
        return 422, "invalid form: " + "; ".join(problems[:3])
    return 500, "internal error; the server log has the details"


def error_page(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, MilesError | StarletteHTTPException | RequestValidationError) or (
        isinstance(exc, MilesError) and (not exc.expected or exc.status >= 500)
    ):
        log.error("error on page %s %s", request.method, request.url.path, exc_info=exc)
    if isinstance(exc, LoginRequired) and request.method == "GET" and request.headers.get("hx-request") != "true":
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
    status, message = _message(exc)
    htmx = request.headers.get("hx-request") == "true"
    context = {**base_context(request), "status": status, "message": message}
    template = "_error.html" if htmx else "error.html"
    response = TEMPLATES.TemplateResponse(request, template, context, status_code=status)
    if isinstance(exc, RateLimited):
        response.headers["Retry-After"] = str(exc.retry_after_s)
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
                    return error_page(request, exc)
                return await api(request, exc)

            return handler

        app.add_exception_handler(exc_class, make(api_handler))
