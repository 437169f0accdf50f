"""One error envelope for every error: ``{"ok": false, "error": {"code", "message", "details"}}``.

Expected errors (``MilesError``) keep their status and message; validation errors are 422 with the
field path of each problem; a body that cannot be read at all (not JSON, not UTF-8, nested too deeply, broken
multipart) is a 422 on ``body`` saying why and where; anything else is a 500 with a generic message (the traceback
goes to the server log, never to the client).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from miles.errors import MilesError, RateLimited
from miles.inputs import TITLE_EMPTY

log = logging.getLogger("miles.serve")
INTERNAL_ERROR = "internal error; the server log has the details"

HTTP_CODES = {
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    422: "invalid_input",
    429: "rate_limited",
}
"""The code of each HTTP error Starlette and FastAPI raise (a 400 from reading the body is answered as a 422
``invalid_input``); docs/api.md's error table lists every code the API answers with (tests/serve/test_api_docs.py)."""


def envelope(
    status: int, code: str, message: str, details: Any = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = {"ok": False, "error": {"code": code, "message": message, "details": details}}
    return JSONResponse(body, status_code=status, headers=headers)


def field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    """('body', 'variants', 0, 'title') -> 'body.variants[0].title'."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


MISSING_WORDS = {"title": TITLE_EMPTY}
"""What a required field left out says where miles.inputs has words for it: a form's blank field reaches FastAPI as
missing, and the Score page's JSON twin said "body.title: Field required" where the page, CLI and API say this."""


MEANT = {"subscribers": "channel_subscribers", "subs": "channel_subscribers", "duration": "duration_s",
         "category": "category_id", "early": "early_views"}  # fmt: skip
"""Fields people send by the name the pages show: a misspelt field was refused as "Extra inputs are not permitted"
with no word of the right name."""


API_FIELDS = ("a field of this request", "/docs lists its fields")  # what an unknown name is not, where to look


def unknown_field_words(err: Mapping[str, Any], fields: tuple[str, str] = API_FIELDS) -> str | None:
    """A field the request does not take, named as ``fields`` says (what it is not, where the right ones are listed;
    the MCP tools: an argument of the tool, its input schema), with the field meant when it is a known misspelling."""
    loc = tuple(err.get("loc", ()))
    if err.get("type") != "extra_forbidden" or not loc:
        return None
    what, listed = fields
    meant = MEANT.get(str(loc[-1]))
    return f"not {what} ({listed})" if meant is None else f"not {what} (did you mean {meant!r}?)"


def missing_words(err: Mapping[str, Any]) -> str | None:
    loc = tuple(err.get("loc", ()))
    return MISSING_WORDS.get(str(loc[-1])) if err.get("type") == "missing" and loc else None


def problem_message(err: Mapping[str, Any]) -> str:
    """A pydantic error's message without the prefix pydantic adds to a validator's own ValueError ("Value error,
    publish time 1999-... is before 2005" read as if the user had made a value error); a text too long in
    characters (a constraint checked after a validator read "value should have at most 200 items after validation,
    not 2000")."""
    ctx = err.get("ctx") or {}
    if err.get("type") == "too_long" and isinstance(err.get("input"), str) and "max_length" in ctx:
        return f"is {len(err['input']):,} characters long; at most {int(ctx['max_length']):,}"
    if err.get("type") in ("int_parsing", "float_parsing") and isinstance(err.get("input"), str):
        kind = "a whole number" if err["type"] == "int_parsing" else "a number"
        return f"{err['input'][:40]!r} is not {kind}"
    return str(err.get("msg", "invalid")).removeprefix("Value error, ").removeprefix("Assertion failed, ")


def problem_words(err: Mapping[str, Any], fields: tuple[str, str] = API_FIELDS) -> str:
    """What is wrong with one field, in the words every surface uses (the API, the MCP tools): a missing field or a
    misspelt one named, else pydantic's message without its prefixes."""
    return missing_words(err) or unknown_field_words(err, fields) or problem_message(err)


def _validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    return [
        {
            "field": field_path(err.get("loc", ())),
            "message": problem_words(err),
            "type": err.get("type"),
        }
        for err in exc.errors()
    ]


def _line_column(doc: str | bytes, pos: int) -> tuple[int, int]:
    text = doc.decode("utf-8", "replace") if isinstance(doc, bytes) else doc
    line = text.count("\n", 0, pos) + 1
    return line, pos - (text.rfind("\n", 0, pos) + 1) + 1


def _not_json(exc: RequestValidationError) -> dict[str, Any] | None:
    """FastAPI's ``json_invalid`` error (its message is only "JSON decode error" at ``body[<offset>]``) as where
    and why the body stops being JSON."""
    for err in exc.errors():
        if err.get("type") == "json_invalid":
            loc = tuple(err.get("loc", ()))
            if loc and not isinstance(loc[-1], int):  # a form field holding JSON: pydantic's words say where
                field = field_path(loc)
                why = (err.get("ctx") or {}).get("error", "not JSON")
                return {"field": field, "message": f"{field} is not valid JSON: {why}", "type": "json_invalid"}
            pos = loc[-1] if loc else 0
            line, column = _line_column(exc.body or "", pos)
            why = (err.get("ctx") or {}).get("error", "not JSON")
            message = f"the request body is not valid JSON: {why} at line {line}, column {column}"
            return {"field": "body", "message": message, "type": "json_invalid", "line": line, "column": column}
    return None


def _unreadable_body(exc: StarletteHTTPException) -> str:
    """Why a 400 from parsing the body (FastAPI or Starlette) happened, in words."""
    cause = exc.__cause__
    if isinstance(cause, UnicodeDecodeError):
        byte = cause.object[cause.start : cause.start + 1].hex()
        return f"the request body is not valid JSON: it is not UTF-8 text (byte 0x{byte} at offset {cause.start})"
    if isinstance(cause, RecursionError):
        return "the request body is not valid JSON: arrays or objects nested too deeply"
    if cause is not None:
        return f"the request body could not be read: {cause}"
    return f"the request body could not be read: {exc.detail}"


def field_details(message: str, details: Any) -> Any:
    """An error's ``details`` in the one shape the docs give: a list of problems, each with its ``field`` and
    ``message`` (a field named alone, or as one object, came as ``[{"field": "body.url"}]`` or ``{"field": ...}``;
    a 409 for a draft already linked answered so); details that name no field (a reason) stay as they are."""
    items = [details] if isinstance(details, dict) and "field" in details else details
    if not isinstance(items, list):
        return details
    return [
        {**item, "message": message.removeprefix(f"{item['field']}: ")}
        if isinstance(item, dict) and "field" in item and "message" not in item
        else item
        for item in items
    ]


async def _miles_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, MilesError)
    if not exc.expected or exc.status >= 500:
        log.error("%s: %s", type(exc).__name__, exc.message, exc_info=not exc.expected)
    if not exc.expected:  # a bug: the one answer every bug gets (it kept the error's own status and code)
        return envelope(500, "internal_error", INTERNAL_ERROR)
    headers = {"Retry-After": str(exc.retry_after_s)} if isinstance(exc, RateLimited) else None
    details = field_details(exc.message, exc.details)  # any status: a 409 too named its field
    return envelope(exc.status, exc.code, exc.message, details, headers)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400:  # only body parsing raises a bare 400 (Miles' own errors are MilesError)
        message = _unreadable_body(exc)
        return envelope(422, "invalid_input", message, [{"field": "body", "message": message, "type": "body_invalid"}])
    if exc.status_code >= 500:
        log.error("HTTP %s on %s %s: %s", exc.status_code, request.method, request.url.path, exc.detail)
        return envelope(500, "internal_error", INTERNAL_ERROR)
    code = HTTP_CODES.get(exc.status_code, "error")
    headers = dict(exc.headers) if exc.headers else None
    return envelope(exc.status_code, code, _http_message(request, exc), None, headers)


def _http_message(request: Request, exc: StarletteHTTPException) -> str:
    """Starlette's words ("Method Not Allowed") with what the caller can do about them."""
    allowed = (exc.headers or {}).get("Allow")
    if exc.status_code == 405 and allowed:
        return f"{request.method} is not allowed on {request.url.path}; it takes {allowed}"
    if exc.status_code == 404 and exc.detail == "Not Found":  # no route matched (a route's own 404 says what)
        return f"nothing at {request.method} {request.url.path}; the API's routes are listed at /docs"
    return str(exc.detail)


def _not_sent_as_json(request: Request, exc: RequestValidationError) -> dict[str, Any] | None:
    """A JSON body sent without ``Content-Type: application/json`` (curl -d's default is a form) is read as text, and
    pydantic said "Input should be a valid dictionary or object to extract fields from"."""
    declared = request.headers.get("content-type", "")
    if "json" in declared.lower():
        return None
    for err in exc.errors():
        if tuple(err.get("loc", ())) == ("body",) and err.get("type") in ("model_attributes_type", "dict_type"):
            sent = f"it came as {declared.split(';')[0]!r}" if declared else "it came with no Content-Type"
            message = f"the request body must be a JSON object sent with Content-Type: application/json ({sent})"
            return {"field": "body", "message": message, "type": "content_type"}
    return None


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    if (not_json := _not_json(exc) or _not_sent_as_json(request, exc)) is not None:
        return envelope(422, "invalid_input", not_json["message"], [not_json])
    details = _validation_details(exc)
    first = details[0] if details else {"field": "request", "message": "invalid"}
    message = f"invalid request: {first['field']}: {first['message']}"
    if len(details) > 1:
        message += f" (and {len(details) - 1} more)"
    return envelope(422, "invalid_input", message, details)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return envelope(500, "internal_error", INTERNAL_ERROR)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(MilesError, _miles_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected)
