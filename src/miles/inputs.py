"""Numbers, durations and times as people type them, read the same way on every surface (form, API, CLI).

Counts: ``1200``, ``1,200``, ``1 200``, ``12k``, ``1.2M``, ``2,5k``, ``2万``, ``1.2万人`` (the Japanese and Chinese
units YouTube's Japanese pages write), ``0`` (0 is zero, not unknown). Durations:
``90``, ``90s``, ``45,5``, ``1:30``, ``1m30s``, ``1m30``, ``1:02:03``, up to :data:`MAX_DURATION_S`. Publish times:
ISO 8601 (``T`` or a space; naive means UTC) between 2005 and one year ahead. Hours of the day: ``17``, ``17:00``,
``5pm``. A blank is ``None`` (not given). Anything else is an :class:`InputError` naming the field and what was typed,
so a value is never read as something the person did not mean (``1,200`` is never 1, nor a list).

These functions are the one place the words of an input error are chosen: the Score form, ``miles predict`` and the
JSON API (whose schemas call them for text and for numbers alike) all say the same thing for the same mistake; each
surface names the field as its user knows it (the form's label, the CLI's option, the API's field location). A
negative number reads "<field>: -3 is negative; <what is allowed>" in every numeric field.
"""

from __future__ import annotations

import itertools
import math
import re
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from miles.domain import CHANCE_DECIMALS, VIEW_DECIMALS, checked_publish_time
from miles.errors import InvalidInput

MAX_DURATION_S = 180.0  # a YouTube Short is at most 3 minutes (since October 2024); Miles scores Shorts
MAX_COUNT = 10**10
MAX_VIEWS = 10**12  # a view count read off YouTube: the biggest videos have a few billion
MAX_SUBSCRIBERS = 10**9  # the biggest channels have a few hundred million: more is a typo (an extra zero or two)
MAX_TITLE_CHARS = 300  # YouTube allows 100; longer text is pasted by mistake, and every surface refuses it alike
YOUTUBE_TITLE_CHARS = 100  # a longer title is scored, with a note that YouTube would not take it
MAX_ECHO = 40  # characters of the typed text repeated in an error
SUFFIXES = {"": 1, "k": 1_000, "m": 1_000_000, "b": 1_000_000_000, "bn": 1_000_000_000, "thousand": 1_000,
            "million": 1_000_000, "billion": 1_000_000_000,
            "千": 1_000, "万": 10_000, "萬": 10_000, "億": 100_000_000, "亿": 100_000_000}  # fmt: skip
_UNIT = r"k|m|bn|b|thousand|million|billion|千|万|萬|億|亿"
# what is allowed, said after "is negative; " (and in the other problems of the field), the same on every surface
DURATION_ALLOWED = "give the video's length in seconds (e.g. 35 or 0:35)"
COUNT_ALLOWED = "a count is 0 or more (e.g. 1200 or 1.2k)"
SUBSCRIBERS_ALLOWED = "give the channel's subscribers, 0 or more (e.g. 1200, 15k or 2万)"
AGE_ALLOWED = "give the time since publishing (e.g. 6, 6h, 30min or 2d)"
TITLE_EMPTY = "is empty: type the title you plan to post"
MAX_CATEGORY = 100
CATEGORY_ALLOWED = f"give a YouTube category id from 0 to {MAX_CATEGORY} (e.g. 22 or 28)"
# thousands separators people use: comma, space, no-break and thin spaces, apostrophe (Swiss), underscore, and the
# dot (German, French, Spanish...: "2.000" is two thousand; a count is whole, so it cannot be 2.0)
_GROUPED = re.compile("^\\d{1,3}(?:([., \u00a0\u2009\u202f'\u2019_])\\d{3})?(?:\\1\\d{3})*$")
# "人" (people) after a Japanese count, as YouTube writes subscribers: "2.1万人"
_SHORTHAND = re.compile(rf"^(\d+(?:\.\d+)?|\.\d+)\s*({_UNIT})?\s*人?$", re.IGNORECASE)
# a decimal comma before a suffix, as French, German, Spanish... write it: "2,5k", "1,25 M" (with three digits after
# the comma, "1,500k", it would be a thousands separator: that stays refused as ambiguous)
_COMMA_SHORTHAND = re.compile(rf"^(\d+),(\d{{1,2}})\s*({_UNIT})\s*人?$", re.IGNORECASE)
_NEGATIVE = re.compile(r"^[-\u2212]\s*[\d.]")  # a minus (or the typographic one) before a number
_CLOCK = re.compile(r"^(?:(\d+):)?(\d+):(\d{2}(?:\.\d+)?)$")
_UNITS = re.compile(r"^(?:(\d+(?:\.\d+)?)\s*h(?:ours?|rs?)?)?\s*(?:(\d+(?:\.\d+)?)\s*m(?:in(?:utes?|s)?)?)?\s*"
                    r"(?:(\d+(?:\.\d+)?)\s*s(?:ec(?:onds?|s)?)?)?$", re.IGNORECASE)  # fmt: skip
_MIN_SEC = re.compile(r"^(\d+)\s*m(?:in(?:utes?|s)?)?\s*(\d{1,2})$", re.IGNORECASE)  # "1m30", "1 min 30"
MAX_AGE_H = 24 * 365.0  # a reading's age: after publishing, within a year
MAX_EARLY_READINGS = 50  # as many as the API's draft accepts
_AGE_TEXT = r"(\d+(?:\.\d+)?)\s*(min|m|h|d)?"  # an age as typed: groups 1 (number) and 2 (unit, hours by default)
_AGE = re.compile(rf"^{_AGE_TEXT}$", re.IGNORECASE)
_PAIR = re.compile(rf"^{_AGE_TEXT}\s*[:=]\s*(\d[\d.,\s\u00a0\u202f'’_]*(?:\s*(?:{_UNIT})\s*人?)?)$", re.IGNORECASE)
# readings are split at ';', new lines, and at a comma only where a new AGE:VIEWS begins after it: "24:2,400" is one
# reading of 2,400 views (it was split into "24:2" and "400", refused as "not AGE:VIEWS")
_READINGS_SPLIT = re.compile(r"[;\n]+|,(?=[^,;\n]*[:=])")
_AGE_UNIT_H = {"min": 1 / 60, "m": 1 / 60, "h": 1.0, "d": 24.0}


def _hours(age: re.Match[str]) -> float:
    """Hours of an ``_AGE_TEXT`` match."""
    return float(age.group(1)) * _AGE_UNIT_H[(age.group(2) or "h").lower()]


_HOUR = re.compile(r"^(\d{1,2})(?::(00))?\s*(am|pm|h)?$", re.IGNORECASE)


Typed = str | int | float | None
"""A value as it arrives: text as typed (form, CLI, a JSON string) or a JSON number."""


class InputError(InvalidInput):
    """A typed value that cannot be read: ``field``, the ``text`` as typed and the ``problem`` in plain words."""

    def __init__(self, field: str, text: str, problem: str) -> None:
        self.field, self.text, self.problem = field, text, problem
        super().__init__(f"{field}: {self.short}", details={"field": field})

    @property
    def short(self) -> str:
        """The message without the field name, for surfaces that show it beside the field: the value (a plain number
        as it is, ``-3``; other text quoted, ``'abc'``; nothing for a blank) and the problem."""
        if not self.text.strip():
            return self.problem
        if _PLAIN_NUMBER.match(self.text):
            return f"{self.text} {self.problem}"
        typed = self.text if len(self.text) <= MAX_ECHO else self.text[: MAX_ECHO - 1] + "…"
        return f"{typed!r} {self.problem}"


_PLAIN_NUMBER = re.compile(r"^[-\u2212]?\d{1,15}(?:\.\d{1,6})?$")


def _blank(text: Typed) -> bool:
    return text is None or not str(text).strip()


def _number(value: Typed, field: str = "value") -> float | None:
    """A JSON number (never a bool) as a float; None for text. NaN and Infinity (Python's JSON reader takes them) are
    no number a person meant."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    if not math.isfinite(value):
        raise InputError(field, str(value), "is not a finite number")
    return float(value)


def _raw(value: Typed) -> str:
    """The value as an error repeats it: text stripped, a number as JSON wrote it (``2e9`` as 2000000000)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 10**15:
        return str(int(value))
    return str(value).strip()


def parse_title(text: Typed, field: str) -> str:
    """A title: not blank, at most MAX_TITLE_CHARS characters; returned as given."""
    if _blank(text):
        raise InputError(field, "", TITLE_EMPTY)
    title = str(text)
    if len(title) > MAX_TITLE_CHARS:
        raise InputError(field, title, f"is {len(title):,} characters; a title is at most {MAX_TITLE_CHARS} characters")
    return title


def parse_count(text: Typed, field: str, *, maximum: int = MAX_COUNT, allowed: str = COUNT_ALLOWED) -> int | None:
    """A whole count as typed (``1,200`` / ``1 200`` / ``12k`` / ``1.2M`` / ``2万`` / ``0``) or a JSON number; None
    when blank. ``allowed`` says what the field takes, after "is negative; "."""
    if _blank(text):
        return None
    raw = _raw(text)
    hint = "(try 1200, 1,200 or 1.2k)"
    value = _number(text, field)
    if value is not None:
        if value >= 0 and not value.is_integer():
            raise InputError(field, raw, f"is not a whole number {hint}")
    elif _GROUPED.match(raw):
        value = float(re.sub(r"\D", "", raw))
    elif comma := _COMMA_SHORTHAND.match(raw):
        value = float(f"{comma.group(1)}.{comma.group(2)}") * SUFFIXES[comma.group(3).lower()]
    elif match := _SHORTHAND.match(raw):
        value = float(match.group(1)) * SUFFIXES[(match.group(2) or "").lower()]
        if not value.is_integer() and not match.group(2):
            raise InputError(field, raw, f"is not a whole number {hint}")
    elif _NEGATIVE.match(raw):
        value = -1.0
    else:
        raise InputError(field, raw, f"is not a number {hint}")
    if value < 0:
        raise InputError(field, raw, f"is negative; {allowed}")
    if value > maximum:
        raise InputError(field, raw, f"is more than {maximum:,}")
    return round(value)


def parse_age_h(text: Typed, field: str) -> float | None:
    """Hours since publishing as typed (``6`` / ``6h`` / ``30min`` / ``2d``, as in AGE:VIEWS) or a JSON number of
    hours; None when blank."""
    if _blank(text):
        return None
    raw = _raw(text)
    hours = _number(text, field)
    if hours is None and (match := _AGE.match(raw)):
        hours = _hours(match)
    if (hours is not None and hours < 0) or (hours is None and _NEGATIVE.match(raw)):
        raise InputError(field, raw, f"is negative; {AGE_ALLOWED}")
    if hours is None or not math.isfinite(hours):
        raise InputError(field, raw, f"is not an age; {AGE_ALLOWED}")
    if not 0 < hours <= MAX_AGE_H:
        raise InputError(field, raw, f"is not within a year after publishing (more than 0 h, at most {MAX_AGE_H:g} h)")
    return hours


def parse_category(text: Typed, field: str) -> int | None:
    """A YouTube category id (a whole number from 0 to MAX_CATEGORY), as text or a JSON number; None when blank."""
    if _blank(text):
        return None
    raw = _raw(text)
    number = _number(text, field)
    if number is None and re.fullmatch(r"[-\u2212]?\d{1,15}", raw):
        number = float(raw.replace("\u2212", "-"))
    if number is not None and number < 0:
        raise InputError(field, raw, f"is negative; {CATEGORY_ALLOWED}")
    if number is None or not number.is_integer():
        raise InputError(field, raw, f"is not a category id; {CATEGORY_ALLOWED}")
    if number > MAX_CATEGORY:
        raise InputError(field, raw, f"is more than {MAX_CATEGORY}; {CATEGORY_ALLOWED}")
    return int(number)


def parse_subscribers(text: Typed, field: str) -> int | None:
    """A channel's subscriber count as typed (as :func:`parse_count`), at most MAX_SUBSCRIBERS."""
    return parse_count(text, field, maximum=MAX_SUBSCRIBERS, allowed=SUBSCRIBERS_ALLOWED)


def parse_duration(text: Typed, field: str, *, maximum: float = MAX_DURATION_S) -> float | None:
    """Seconds as typed (``90`` / ``90s`` / ``1:30`` / ``1m30s`` / ``1:02:03``) or a JSON number; None when blank."""
    if _blank(text):
        return None
    raw = _raw(text)
    seconds = _number(text, field)
    if seconds is None and _NEGATIVE.match(raw):
        raise InputError(field, raw, f"is negative; {DURATION_ALLOWED}")
    if seconds is None:
        seconds = _duration_text(raw, field)
    if seconds is None or not math.isfinite(seconds):
        raise InputError(field, raw, "is not a duration (try 45, 1:30 or 1m30s)")
    if seconds < 0:
        raise InputError(field, raw, f"is negative; {DURATION_ALLOWED}")
    if seconds == 0:
        raise InputError(field, raw, f"is not a length: a video lasts more than 0 seconds; {DURATION_ALLOWED}")
    if seconds > maximum:
        limit = f"{format_duration(maximum)} ({maximum:g} s)"
        length = "is too long" if _PLAIN_NUMBER.match(raw) else f"is {seconds:g} s"  # "500 is 500 s" said it twice
        raise InputError(field, raw, f"{length}; a YouTube Short is at most {limit}")
    return seconds


def _duration_text(raw: str, field: str) -> float | None:
    """Seconds of a duration written as text, or None when it is not one."""
    if clock := _CLOCK.match(raw):
        hours, minutes, secs = (float(g) if g else 0.0 for g in clock.groups())
        if secs >= 60 or (clock.group(1) is not None and minutes >= 60):
            raise InputError(field, raw, "is not a duration: minutes and seconds after ':' run from 00 to 59")
        return hours * 3600 + minutes * 60 + secs
    if re.fullmatch(r"\d+(?:[.,]\d+)?", raw):  # "45.5", or with a decimal comma "45,5"
        return float(raw.replace(",", "."))
    if (min_sec := _MIN_SEC.match(raw)) and int(min_sec.group(2)) < 60:
        return float(min_sec.group(1)) * 60 + float(min_sec.group(2))
    if (units := _UNITS.match(raw)) and any(units.groups()):
        h, m, s = (float(g) if g else 0.0 for g in units.groups())
        return h * 3600 + m * 60 + s
    return None


def format_age(hours: float) -> str:
    """An age in words people read: ``0.470673`` -> ``28 min``, ``20.5`` -> ``20.5 h``, ``167.25`` -> ``167 h``."""
    if hours < 1:
        return f"{hours * 60:.0f} min"
    return f"{hours:.3g} h" if hours < 100 else f"{hours:,.0f} h"


def format_elapsed(hours: float) -> str:
    """How long after something happened, in the unit people say it: ``0.75`` -> ``45 min``, ``3.2`` -> ``3 h``,
    ``50`` -> ``2 days``, ``2000`` -> ``3 months``. The one way Track and History say how long after publishing a
    draft was scored; :func:`format_age` keeps the hours a horizon and a reading's age are named in (6.5 h)."""
    if hours < 1:
        return f"{hours * 60:.0f} min"
    if hours < 48:
        return f"{hours:.0f} h"
    if hours < 24 * 60:
        return f"{hours / 24:.0f} days"
    return f"{hours / 24 / 30.4:.0f} months"


def format_span(hours: float) -> str:
    """6 -> '6 hours', 48 -> '2 days', 336 -> '2 weeks'."""
    for unit, size in (("week", 168.0), ("day", 24.0), ("hour", 1.0)):
        if hours >= size and (hours / size).is_integer():
            n = int(hours / size)
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return format_age(hours)


def format_age_window(min_h: float, max_h: float) -> str:
    """An age window in words: (0, 6) -> 'in the first 6 hours', (48, 336) -> '2 days to 2 weeks after publishing',
    (336, inf) -> 'past 2 weeks'. The accuracy table called 48 h-2 weeks "the first 2 weeks", which read as if a
    1-hour forecast had been measured with it."""
    if min_h <= 0:
        return f"in the first {format_span(max_h)}"
    if max_h >= 1e8:
        return f"past {format_span(min_h)}"
    return f"{format_span(min_h)} to {format_span(max_h)} after publishing"


def format_duration(seconds: float) -> str:
    """``90`` -> ``1:30``; ``3723`` -> ``1:02:03``; fractions of a second kept (``1:30.5``)."""
    whole, frac = divmod(seconds, 1)
    h, rest = divmod(int(whole), 3600)
    m, s = divmod(rest, 60)
    tail = f"{s:02d}" + (f"{frac:.2f}".lstrip("0").rstrip("0").rstrip(".") if frac else "")
    return f"{h}:{m:02d}:{tail}" if h else f"{m}:{tail}"


def format_multiple(value: float) -> str:
    """0.95×, 3.4×, 27×, 10,927× (two decimals only where they say something: "10927.31×" was noise)."""
    v = float(value)
    return f"{v:.2f}×" if v < 3 else f"{v:.1f}×" if v < 10 else f"{v:,.0f}×"


MAX_MULTIPLE_SHOWN = 100.0


def format_outlier_multiple(value: float) -> str:
    """An outlier's multiple as :func:`format_multiple` writes it, up to "over 100×": its basis is a median of a few
    uploads or a model's guess for a channel of that size, wrong by a factor of a few on its own, so "10,927×"
    claimed digits the basis cannot carry; past 100× it says that the basis was tiny, not how much better it did."""
    return f"over {MAX_MULTIPLE_SHOWN:.0f}×" if float(value) > MAX_MULTIPLE_SHOWN else format_multiple(value)


def format_count(count: float, word: str, words: str | None = None) -> str:
    """A count and its noun as they read together: ``1 earlier upload``, ``3 earlier uploads``, ``1,204 videos``
    (``words`` where the plural is not ``word`` + "s"; "1 earlier uploads" was shown before)."""
    n = float(count)
    number = f"{n:,.0f}" if n == round(n) else f"{n:,g}"
    return f"{number} {word if n == 1 else words or word + 's'}"


def round_half_up(value: float, decimals: int = 0) -> float:
    """``value`` to ``decimals`` places as people round, halves up: 2.5 -> 3, 0.285 -> 0.29 (2 places). Python's
    round() sends halves to the even neighbour and rounds the binary float (round(2.5) == 2, round(0.285, 2) ==
    0.28); this rounds the number as written (its repr). NaN and infinities are returned as they are."""
    if not math.isfinite(value):
        return float(value)
    return float(Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP))


def format_percent(share: float, decimals: int = 0) -> str:
    """A share (0 to 1) as every surface writes a percentage: halves rounded up, a space before the sign
    (``0.395`` -> ``40 %``, ``0.385`` -> ``39 %``, ``0.0125`` with 1 decimal -> ``1.3 %``)."""
    percent = Decimal(repr(float(share))).scaleb(2)  # exact: 0.285 * 100 is 28.499999999999996 in floats
    return f"{percent.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP):f} %"


def format_views(value: float, *, compact: bool = False) -> str:
    """A number of views, halves rounded up: ``1,234`` (the CLI's tables), or compact ``1.2K``, ``2.5M`` (the
    pages)."""
    v = float(value)
    if compact:
        units = ((1e9, "B"), (1e6, "M"), (1e3, "K"))
        for k, (limit, suffix) in enumerate(units):
            if abs(v) >= limit:
                unit, name = limit, suffix
                if abs(round_half_up(v / unit, 1)) >= 1000 and k:  # 999,960 rounds to 1000K: 1M
                    unit, name = units[k - 1]
                return f"{round_half_up(v / unit, 1):.1f}".rstrip("0").rstrip(".") + name
    return f"{round_half_up(v):,.0f}"


UNDER_ONE_VIEW = "under 1"


def format_forecast_views(value: float, *, compact: bool = False, noun: bool = False) -> str:
    """A forecast of views as every surface writes it: below one view, ``under 1`` (a small channel's 1-hour
    forecast of 0.4 views read "0 views", as if none would come), else as :func:`format_views`; ``noun`` adds
    "view"/"views". The forecast is read as the answers give it (VIEW_DECIMALS places, halves up), so the CLI
    (from the model) and the page (from the API) agree on 0.96."""
    shown = round_half_up(value, VIEW_DECIMALS)
    text = UNDER_ONE_VIEW if shown < 1 else format_views(shown, compact=compact)
    if not noun:
        return text
    return f"{text} {'view' if text in ('1', UNDER_ONE_VIEW) else 'views'}"


def format_forecast_range(low: float, high: float, *, compact: bool = False) -> str:
    """A forecast's range as every surface writes it: ``12–40``; ``under 1 to 4`` ("under 1–4" read as a
    subtraction); ``under 1`` when both ends are."""
    lo, hi = (format_forecast_views(v, compact=compact) for v in (low, high))
    if lo == UNDER_ONE_VIEW:
        return lo if hi == UNDER_ONE_VIEW else f"{lo} to {hi}"
    return f"{lo}–{hi}"


def format_chance(probability: float) -> str:
    """A viral chance as every surface shows it: whole percent, a space before the sign (``0.137`` -> ``14 %``;
    the CLI said "13.7%" where the page said "14 %"), of the chance as the answers give it (CHANCE_DECIMALS places,
    halves up): the page formats the API's 0.395 and the CLI the model's 0.39496, which read 40 % and 39 %."""
    return format_percent(round_half_up(probability, CHANCE_DECIMALS))


def read_iso_time(text: str) -> datetime:
    """An ISO 8601 date, or date and time with ``T`` or a space (a small ``z`` too): the one reading of a typed time
    on the form, the CLI and the API. ValueError says why not ("month must be in 1..12")."""
    return datetime.fromisoformat(text.strip().replace("z", "Z"))


def parse_publish_time(text: str | None, field: str, *, now: datetime | None = None) -> datetime | None:
    """A publish time (ISO 8601 date, or date and time with ``T`` or a space; naive means UTC) in UTC, between
    2005 and one year ahead; None when blank."""
    if _blank(text):
        return None
    raw = str(text).strip()
    try:
        when = read_iso_time(raw)
    except ValueError:
        raise InputError(field, raw, "is not a date and time (try 2026-03-01 17:00)") from None
    try:
        return checked_publish_time(when, now=now)
    except ValueError as exc:
        problem = str(exc).removeprefix("publish time ").removeprefix(f"{when.isoformat()} ")
        raise InputError(field, raw, problem) from None


def parse_hour(text: str | None, field: str) -> int | None:
    """An hour of the day (``17``, ``17:00``, ``5pm``, ``12am``); None when blank."""
    if _blank(text):
        return None
    raw = str(text).strip()
    match = _HOUR.match(raw)
    if match is None:
        raise InputError(field, raw, "is not an hour of the day (try 17, 17:00 or 5pm)")
    hour, suffix = int(match.group(1)), (match.group(3) or "").lower()
    if suffix in ("am", "pm"):
        if not 1 <= hour <= 12:
            raise InputError(field, raw, "is not an hour: with am/pm the hour runs from 1 to 12")
        hour = hour % 12 + (12 if suffix == "pm" else 0)
    if not 0 <= hour <= 23:
        raise InputError(field, raw, "is not an hour: hours run from 0 to 23")
    return hour


def parse_tags(text: str | None) -> list[str]:
    """Tags as people type them: ``baking, tech tips`` -> ['baking', 'tech tips'] (commas or new lines separate, so a
    tag may hold spaces, as YouTube tags do); without a comma, ``#baking #bread`` or ``baking bread`` -> one tag per
    word. A leading '#' is dropped; empty tags and repeats are left out."""
    if _blank(text):
        return []
    raw = str(text)
    parts = re.split(r"[,\n]+", raw) if re.search(r"[,\n]", raw) else raw.split()
    tags = [" ".join(p.replace("#", " ").split()) for p in parts]
    return list(dict.fromkeys(t for t in tags if t))


def parse_early_views(text: str, field: str = "early views") -> list[tuple[float, int]]:
    """'1:120, 6:900; 2d:15k' -> [(1.0, 120), (6.0, 900), (48.0, 15000)]: hours since publishing and views,
    sorted by age; ages must differ and views may not fall as the video ages (the Score page's box and
    ``miles predict --early-views``)."""
    pairs: dict[float, int] = {}
    for part in _READINGS_SPLIT.split(text):
        item = part.strip()
        if not item:
            continue
        found = _PAIR.match(item)
        if not found and re.match(r"^-|^[^:]*:\s*-", item):
            raise InvalidInput(f"{field}: {item[:40]!r}: an age or a view count is negative; both are 0 or more")
        if not found:
            raise InvalidInput(f"{field}: {item[:40]!r} is not AGE:VIEWS (hours since publishing : views, e.g. 6:900)")
        age_h = _hours(found)
        views = _reading_views(found.group(3), item, field)
        if not 0 < age_h <= MAX_AGE_H:
            raise InvalidInput(f"{field}: {item!r}: the age must be after publishing and within a year")
        if age_h in pairs:
            raise InvalidInput(f"{field}: two readings at {age_h:g} h; give each age once")
        pairs[age_h] = views
    out = sorted(pairs.items())
    for (a1, v1), (a2, v2) in itertools.pairwise(out):
        if v2 < v1:
            raise InvalidInput(f"{field}: views fall from {v1:,} at {a1:g} h to {v2:,} at {a2:g} h; views only grow")
    if len(out) > MAX_EARLY_READINGS:
        raise InvalidInput(f"{field}: at most {MAX_EARLY_READINGS} readings")
    return out


def _reading_views(text: str, item: str, field: str) -> int:
    """The views of one AGE:VIEWS reading, read as every count is ("3.000" and "2,400" are thousands, as in the views
    box; "15k", "1.2M"); a comma that is no thousands separator ("1:120, 900") is a reading without its age."""
    try:
        return parse_views(text, f"{field}: {item[:40]!r}")
    except InvalidInput:
        if "," not in text:
            raise
        tail = text.rsplit(",", 1)[1].strip()
    raise InvalidInput(f"{field}: {tail[:40]!r} is not AGE:VIEWS (hours since publishing : views, e.g. 6:900)")


def parse_views(text: Typed, field: str) -> int:
    """A view count someone read off YouTube Studio or the app: as :func:`parse_count` (``15,000``, ``15k``,
    ``1.2M``), and required."""
    count = parse_count(text, field, maximum=MAX_VIEWS)
    if count is None:
        raise InputError(field, str(text or ""), "is empty: type the views you read, e.g. 15000 or 15k")
    return count
