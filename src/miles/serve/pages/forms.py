"""Form errors inside the page the user was on: the same page again, with the form as typed and every problem
listed beside its field (and in a summary at the top), instead of a bare error page.

A page module registers each form route with ``form_page(route, template, data, typed)``: ``data`` builds the
page's own data (as its GET route does), ``typed`` turns the submitted values back into the template's
variables. Problems come from FastAPI's validation (every failing field) or from an ``InvalidInput`` whose
``details`` name fields (``FieldProblems`` collects several before raising one).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from fastapi.exceptions import RequestValidationError

from miles.errors import InvalidInput, MilesError
from miles.inputs import InputError
from miles.serve.errors import field_path, missing_words, problem_message

if TYPE_CHECKING:
    from miles.serve.pages.common import Page

T = TypeVar("T")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LOCATIONS = ("body", "query", "form", "path")


@dataclass(frozen=True)
class FormPage:
    template: str
    data: Callable[[Page], dict[str, Any]]
    typed: Callable[[dict[str, str]], dict[str, Any]]
    back: str | None = None  # the page a form posted away from it goes back to with its problems
    address: frozenset[str] = frozenset()  # the page's query parameters that are no form field (paging)


FORM_PAGES: dict[str, FormPage] = {}


def form_page(
    route: str,
    template: str,
    data: Callable[[Page], dict[str, Any]],
    typed: Callable[[dict[str, str]], dict[str, Any]] = lambda form: {"form": form},
    back: str | None = None,
    address: frozenset[str] = frozenset(),
) -> None:
    """Register ``route`` (the path template, e.g. ``/keys/{key_id}/revoke``) as a form re-rendered on errors.

    With ``back`` (a form posted to an action URL, e.g. ``/track/{tracked_id}/views`` on ``/track``), a form's
    problems (422) redirect there instead (Post/Redirect/Get), carried in the one-time flash that the page's GET
    route shows: the address bar showed the action URL, and a reload posted the form again. ``address`` names the
    page's query parameters that are no field of its form (``offset``): a bad one is the address's problem, said on
    an error page, not a form shown again "as you typed it"."""
    FORM_PAGES[route] = FormPage(template, data, typed, back, address)


SECRET_FIELDS = frozenset({"password", "confirm", "csrf_token"})


def clean_typed(values: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """The submitted text values to show again: never passwords, files or the CSRF token; no control characters.
    A name sent more than once (one input per alternative) keeps all its values, as a list."""
    out: dict[str, Any] = {}
    for key, value in values:
        if not isinstance(value, str) or key in SECRET_FIELDS:
            continue
        text = _CONTROL.sub("", value)
        if key in out:
            out[key] = [*out[key], text] if isinstance(out[key], list) else [out[key], text]
        else:
            out[key] = text
    return out


@dataclass
class Problems:
    """What was wrong with a form: messages by field name (``""`` for the form as a whole), in order."""

    by_field: dict[str, list[str]] = field(default_factory=dict)

    def add(self, name: str, message: str) -> None:
        self.by_field.setdefault(name, []).append(message)

    def listed(self) -> list[dict[str, str]]:
        return [{"field": name, "message": m} for name, messages in self.by_field.items() for m in messages]


def _field_name(path: str) -> str:
    """'body.url' -> 'url', 'body.variants[0].title' -> 'variants', 'query.topic' -> 'topic'."""
    parts = [p for p in re.split(r"[.\[\]]", path) if p and not p.isdigit()]
    if parts and parts[0] in _LOCATIONS:
        parts = parts[1:]
    return parts[0] if parts else ""


# Form fields whose label on the page is not their name with spaces ("read_at" reads "Read at").
FIELD_LABELS = {
    "url": "Video URL",
    "video": "Video URL",
    "email": "E-mail",
    "confirm": "Password again",
    "current": "Current password",
    "name": "Key name",
    "n": "Ideas",
    "duration_s": "Duration",
    "category_id": "Category",
    "subscribers": "Channel subscribers",  # as every form labels it (the summary said "Subscribers")
    "publish_at": "Planned publish time",
    "early_views": "Views so far",
    "alt_title": "Other titles",
    "alt_duration": "Other durations",
    "alt_hour": "Other posting hours",
    "tz": "Time zone",
    "csrf_token": "Form token (reload the page)",
}


def field_label(name: str) -> str:
    """A form field in the words of its label: 'duration_s' -> 'Duration', 'read_at' -> 'Read at'."""
    return FIELD_LABELS.get(name) or name.replace("_", " ").capitalize()


def validation_problem(err: Mapping[str, Any]) -> tuple[str, str]:
    """One of FastAPI's validation errors as (field name, message naming the field in words): 'Title: required'
    instead of 'Field required', which left the summary at the top of the form saying nothing of which field."""
    name = _field_name(field_path(err.get("loc", ())))
    message = (missing_words(err) or "required") if err.get("type") == "missing" else problem_message(err)
    return name, _labelled(name, f"{message[:1].lower()}{message[1:]}") if name else message


def _without_prefix(message: str, path: str) -> str:
    """'body.url: not a YouTube URL' -> 'not a YouTube URL' (the API's field path means nothing on a page)."""
    prefix = f"{path}: "
    return message[len(prefix) :] if "." in path and message.startswith(prefix) else message


def _labelled(name: str, message: str) -> str:
    """'Published at: ...' for a field's message, whether it named the field by its name ('views: ...'), its label
    or not at all ('2026-12-06 07:14 CET is after your earliest count': the summary said nothing of which field)."""
    label = field_label(name) if name else ""
    for prefix in (f"{name}: ", f"{name.replace('_', ' ')}: ", f"{label}: ", f"{label.lower()}: "):
        if name and message.startswith(prefix):
            message = message[len(prefix) :]
            break
    return f"{label}: {message}" if label else message


def problems_of(exc: Exception) -> Problems:
    """Every problem the error names, by field (FastAPI's validation errors list all failing fields)."""
    problems = Problems()
    if isinstance(exc, RequestValidationError):
        for err in exc.errors():
            problems.add(*validation_problem(err))
        return problems
    assert isinstance(exc, MilesError)
    details = exc.details
    if isinstance(details, dict) and isinstance(details.get("fields"), list):  # the Score form's FormErrors
        details = details["fields"]
    details = details if isinstance(details, list) else [details] if isinstance(details, dict) else []
    named = [d for d in details if isinstance(d, dict) and isinstance(d.get("field"), str)]
    for d in named:
        message = d.get("message") if isinstance(d.get("message"), str) else exc.message
        name = _field_name(d["field"])
        problems.add(name, _labelled(name, _without_prefix(str(message), d["field"])))
    if not named:
        problems.add("", exc.message)
    return problems


class FieldProblems:
    """Collects every field's problem while a form is read, then raises one ``InvalidInput`` naming them all."""

    def __init__(self) -> None:
        self.problems: list[dict[str, str]] = []

    def add(self, name: str, message: str) -> None:
        self.problems.append({"field": name, "message": message})

    def extend(self, problems: Iterable[Mapping[str, str]]) -> None:
        """Problems found beyond single fields (a read time before the publish time), as ``{"field", "message"}``."""
        for p in problems:
            self.add(p["field"], p["message"])

    @property
    def fields(self) -> set[str]:
        """The fields with a problem noted so far (their values could not be read)."""
        return {p["field"] for p in self.problems}

    def check(self, name: str, read: Callable[[], T]) -> T | None:
        """``read()``, or None with its problem noted when it raises an expected error (bad input, too large)."""
        try:
            return read()
        except MilesError as exc:
            if not exc.expected or exc.status >= 500:
                raise
            self.add(name, exc.message)
            return None

    def raise_if_any(self) -> None:
        if self.problems:
            raise InvalidInput("; ".join(p["message"] for p in self.problems), details=self.problems)


class FormErrors:
    """Every problem of one form, each naming its field (the form input's name) and what was typed."""

    def __init__(self) -> None:
        self.items: list[dict[str, str]] = []

    def read(self, name: str, parse: Any, text: str, label: str, **kw: Any) -> Any:
        try:
            return parse(text, label, **kw)
        except InputError as exc:
            self.items.append({"field": name, "message": exc.message})
            return None

    def raise_any(self) -> None:
        if self.items:
            message = "; ".join(e["message"] for e in self.items)
            raise InvalidInput(message, details={"fields": self.items})
