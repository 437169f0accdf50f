"""Readers for snapshot files (CSV, Parquet, JSON Lines), the development datasets and yt-dlp info files.

Every reader returns a ``ReadResult``: a frame in the snapshot interchange format (DESIGN.md §2.1)
with a ``_row`` column naming each row's place in its file, the rows rejected with reasons, and the
rows dropped because of a documented dataset quirk (DATA.md). Nothing here touches the database.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from miles.collect.ytdlp import info_to_record
from miles.domain import (
    CONTROL_CHARS,
    CONTROL_CHARS_EXCEPT_WHITESPACE,
    EARLIEST_PUBLISH,
    PLATFORMS,
    REQUIRED_COLUMNS,
    SNAPSHOT_COLUMNS,
    control_char_problem,
    utcnow,
)
from miles.errors import InvalidInput

# A private-use code point marks bytes that were not UTF-8; real titles never contain it.
BAD_UTF8_MARK = "\U0010fffd"
BAD_UTF8_HANDLER = "miles-mark-bad-utf8"


def _mark_bad_utf8(err: UnicodeError) -> tuple[str, int]:
    assert isinstance(err, UnicodeDecodeError)
    return BAD_UTF8_MARK, err.end


codecs.register_error(BAD_UTF8_HANDLER, _mark_bad_utf8)

Format = Literal["auto", "snapshots", "fedelux3-trending", "jp-keyword", "ytdlp-info"]
FORMATS: tuple[str, ...] = ("auto", "snapshots", "fedelux3-trending", "jp-keyword", "ytdlp-info")

# Longest accepted value per text column; longer means a broken or hostile file.
MAX_LEN = {
    "video_id": 64,
    "platform": 16,
    "channel_id": 64,
    "channel_title": 300,
    "title": 1000,
    "description": 20_000,
    "tags": 10_000,
    "thumbnail_url": 2000,
    "country": 8,
    "source": 64,
}
INT_COLUMNS = ("views", "likes", "comments", "channel_subscribers", "category_id")
VIEW_METRIC = r"[a-z][a-z0-9_]{0,31}"  # e.g. views (YouTube's public count), engaged_views
MAX_COUNT = 1e15  # no count on YouTube comes near; larger means a broken file
MAX_DURATION_S = 7 * 86_400.0  # the longest videos (streams) are hours long; a week means a broken value
CLOCK_SKEW = pd.Timedelta(minutes=10)  # a capture time this far ahead of our clock is still "now"
MULTILINE_COLUMNS = ("description",)
# Identifiers are refused with a control character (a NUL in an id is a broken or hostile file, and stripping it
# would store another video's id); free text has them removed (DESIGN.md §2.1).
ID_COLUMNS = ("video_id", "platform", "channel_id", "thumbnail_url", "country", "source")
LINE_BREAKS = r"[\t\n\r]+"
TEXT_COLUMNS = (
    "video_id",
    "platform",
    "channel_id",
    "channel_title",
    "title",
    "description",
    "thumbnail_url",
    "country",
    "source",
)


@dataclass(frozen=True)
class Rejection:
    file: str
    row: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}, {self.row}: {self.reason}"


@dataclass
class ReadResult:
    path: Path
    format: str
    frame: pd.DataFrame
    rows_read: int
    rejected: list[Rejection] = field(default_factory=list)
    quirks: Counter[str] = field(default_factory=Counter)


def detect_format(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(".info.json"):
        return "ytdlp-info"
    columns = set(_peek_columns(path))
    if {"trending_date", "publishedAt", "view_count"} <= columns:
        return "fedelux3-trending"
    if {"keyword", "time_duration", "video_duration"} <= columns:
        return "jp-keyword"
    return "snapshots"


def read_file(path: Path, fmt: str = "auto") -> ReadResult:
    if not path.exists():
        raise InvalidInput(f"{path}: no such file")
    if fmt not in FORMATS:
        raise InvalidInput(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    fmt = detect_format(path) if fmt == "auto" else fmt
    reader = {
        "snapshots": read_snapshots,
        "fedelux3-trending": read_fedelux3,
        "jp-keyword": read_jp_keyword,
        "ytdlp-info": read_ytdlp_info,
    }[fmt]
    result = reader(path)
    result.format = fmt
    return result


# --- raw table loading -------------------------------------------------------------------------


def _suffix(path: Path) -> str:
    name = path.name.lower()
    for suffix in (".parquet", ".csv", ".jsonl", ".ndjson", ".json"):
        if name.endswith(suffix):
            return suffix
    raise InvalidInput(f"{path}: unknown file type; use .csv, .parquet or .jsonl")


def _peek_columns(path: Path) -> list[str]:
    try:
        return _peek(path)
    except InvalidInput:
        raise
    except Exception as exc:  # pandas/pyarrow raise many types for corrupt files
        raise InvalidInput(f"{path}: cannot read file: {_one_line(exc)}") from exc


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())[:300] or type(exc).__name__


def _peek(path: Path) -> list[str]:
    suffix = _suffix(path)
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        return list(pq.read_schema(path).names)
    if suffix == ".csv":
        return list(pd.read_csv(path, nrows=0, encoding_errors="replace").columns)
    with path.open("rb") as fh:
        first = fh.readline()
    try:
        return list(json.loads(first).keys()) if first.strip() else []
    except (ValueError, AttributeError):
        return []


def load_table(path: Path) -> tuple[pd.DataFrame, str]:
    """Load a file as strings-or-native columns plus the label prefix for its rows ("line" or "row")."""
    suffix = _suffix(path)
    try:
        if suffix == ".parquet":
            return pd.read_parquet(path), "row"
        if suffix == ".csv":
            # Undecodable bytes become a marker so the bad row can be named instead of failing the file.
            text = path.read_bytes().decode("utf-8", errors=BAD_UTF8_HANDLER)
            _no_repeated_columns(path, text)
            frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_values=[""])
            return frame, "line"
        return _load_jsonl(path), "line"
    except InvalidInput:
        raise
    except Exception as exc:  # pandas/pyarrow raise many types for corrupt files
        raise InvalidInput(f"{path}: cannot read file: {_one_line(exc)}") from exc


def _no_repeated_columns(path: Path, text: str) -> None:
    """pandas renames a repeated column (video_id, video_id.1) and would read the first silently."""
    header = next(csv.reader(io.StringIO(text)), [])
    if repeated := sorted({name for name in header if header.count(name) > 1}):
        raise InvalidInput(f"{path}, line 1: column(s) {', '.join(repeated)} appear more than once in the header")


def _not_an_object(obj: object) -> str:
    kind = {list: "a JSON array", str: "a JSON string", bool: "true or false", type(None): "null"}.get(
        type(obj), "a JSON number"
    )
    return (
        f"{kind}, not a JSON object: the file is read as JSON Lines, one snapshot object per line "
        '({"video_id": ..., "title": ..., ...}), with no enclosing [ ]'
    )


def _load_jsonl(path: Path) -> pd.DataFrame:
    records: list[dict[str, object]] = []
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            text = raw.decode("utf-8", errors=BAD_UTF8_HANDLER)
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as exc:
                raise InvalidInput(f"{path}, line {lineno}: not valid JSON ({exc.msg})") from exc
            if not isinstance(obj, dict):
                raise InvalidInput(f"{path}, line {lineno}: {_not_an_object(obj)}")
            obj["_lineno"] = lineno
            records.append(obj)
    return pd.DataFrame.from_records(records)


def _row_labels(frame: pd.DataFrame, prefix: str) -> pd.Series:
    if "_lineno" in frame.columns:
        return "line " + frame["_lineno"].astype(int).astype(str)
    offset = 2 if prefix == "line" else 1  # CSV: header is line 1
    return pd.Series([f"{prefix} {i + offset}" for i in range(len(frame))], index=frame.index)


# --- the interchange format ----------------------------------------------------------------------


def read_snapshots(path: Path) -> ReadResult:
    raw, prefix = load_table(path)
    if "channel_followers" in raw.columns and "channel_subscribers" not in raw.columns:
        raw = raw.rename(columns={"channel_followers": "channel_subscribers"})  # TikTok's name for the channel size
    missing = [c for c in REQUIRED_COLUMNS if c not in raw.columns]
    if missing:
        raise InvalidInput(f"{path}: missing required column(s): {', '.join(missing)}")
    raw["_row"] = _row_labels(raw, prefix)
    return validate(raw, path)


def _parse_time(values: pd.Series) -> pd.Series:
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert("UTC")
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.tz_localize("UTC")
    if pd.api.types.is_numeric_dtype(values):
        return pd.to_datetime(values, unit="s", utc=True, errors="coerce")
    return pd.to_datetime(values, utc=True, errors="coerce", format="mixed")


def _as_bool(values: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(values):
        return values.fillna(False).astype(bool)
    text = values.astype("string").str.strip().str.lower()
    return text.isin(["true", "1", "yes", "t"]).fillna(False).astype(bool)


def _tags_text(values: pd.Series) -> pd.Series:
    def one(v: object) -> str | None:
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
            return None
        if isinstance(v, list | tuple | np.ndarray):
            return "|".join(str(t) for t in v)
        return str(v)

    return values.map(one)


def _strip_controls(text: pd.Series, *, multiline: bool) -> pd.Series:
    """Control characters are never stored: removed, and in one-line fields line breaks and tabs become a space."""
    if not multiline:
        text = text.str.replace(LINE_BREAKS, " ", regex=True)
    return text.str.replace(CONTROL_CHARS_EXCEPT_WHITESPACE.pattern, "", regex=True)


def _bytes_as_text(values: pd.Series) -> pd.Series:
    """A Parquet binary column holds bytes: read as UTF-8, undecodable bytes marked (the row is then refused)."""
    return values.map(lambda v: v.decode("utf-8", errors=BAD_UTF8_HANDLER) if isinstance(v, bytes) else v)


def _reject_controls(text: pd.Series, col: str, reject: Callable[[pd.Series, str], None]) -> None:
    """Refuse, row by row, an identifier holding a control character, naming the character and its position."""
    found = text.str.contains(CONTROL_CHARS.pattern, regex=True).fillna(False)
    for i in np.flatnonzero(found.to_numpy()):
        mask = pd.Series(False, index=text.index)
        mask.iloc[i] = True
        reject(mask, f"{col} {control_char_problem(str(text.iloc[i]), multiline=False)}")


def _numbers(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Values as float64 (NaN where not a finite number) and which values were given at all."""
    given = values.notna() & ~values.map(lambda v: isinstance(v, float) and np.isnan(v))
    numeric = values.map(lambda v: None if isinstance(v, bool | dict | list | tuple | np.ndarray) else v)
    numbers = pd.to_numeric(numeric, errors="coerce").astype("float64")
    return numbers.where(np.isfinite(numbers)), given


def _view_metric(raw: pd.DataFrame, n: int, reject: Callable[[pd.Series, str], None]) -> pd.Series:
    """What each row's ``views`` counts (``views`` when not given); a trajectory never mixes two metrics."""
    if "view_metric" not in raw.columns:
        return pd.Series(["views"] * n, dtype=object)
    text = raw["view_metric"].reset_index(drop=True).astype("string").str.strip()
    text = text.where(text.str.len() > 0).fillna("views")
    reject(
        ~text.str.fullmatch(VIEW_METRIC).fillna(False),
        "view_metric must be a lowercase name such as views or engaged_views",
    )
    return text.astype(object)


def _text_columns(raw: pd.DataFrame, frame: pd.DataFrame, reject: Callable[[pd.Series, str], None]) -> None:
    """Each text column into ``frame``: non-text refused, identifiers with a control character refused, free
    text with its control characters removed."""
    for col in TEXT_COLUMNS:
        missing = pd.Series([None] * len(raw))
        values = _bytes_as_text(raw[col].reset_index(drop=True) if col in raw.columns else missing)
        reject(values.map(lambda v: isinstance(v, dict | list | tuple | np.ndarray)), f"{col} is not text")
        text = values.astype("string")
        if col in ID_COLUMNS:
            _reject_controls(text, col, reject)
        text = _strip_controls(text, multiline=col in MULTILINE_COLUMNS)
        frame[col] = text.where(text.str.len() > 0)


def validate(raw: pd.DataFrame, path: Path) -> ReadResult:
    """Coerce a frame to the interchange schema; every bad row is rejected with its reason."""
    raw = raw.reset_index(drop=True)
    frame = pd.DataFrame({"_row": raw["_row"].to_numpy()})
    n = len(raw)
    reasons = pd.Series([""] * n, dtype=object)

    def reject(mask: pd.Series | np.ndarray, reason: str) -> None:
        m = np.asarray(mask, dtype=bool) & (reasons == "").to_numpy()
        reasons[m] = reason

    _text_columns(raw, frame, reject)
    tags = _tags_text(raw["tags"].reset_index(drop=True)) if "tags" in raw.columns else pd.Series([None] * n)
    frame["tags"] = _strip_controls(tags.astype("string"), multiline=False).astype(object).where(tags.notna(), None)
    frame["platform"] = frame["platform"].str.strip().str.lower().fillna("youtube")
    reject(~frame["platform"].isin(PLATFORMS), f"platform must be one of {', '.join(PLATFORMS)}")
    for col in ("video_id", "title"):
        reject(frame[col].isna(), f"missing required value in column {col}")
    for col in (*TEXT_COLUMNS, "tags"):
        text = frame[col].astype("string")
        reject(text.str.contains(BAD_UTF8_MARK, regex=False).fillna(False), f"{col} is not valid UTF-8")
        limit = MAX_LEN[col]
        reject((text.str.len() > limit).fillna(False), f"{col} longer than {limit} characters")

    for col in ("published_at", "captured_at"):
        present = raw[col].notna().reset_index(drop=True)
        parsed = _parse_time(raw[col].reset_index(drop=True))
        reject(~present, f"missing required value in column {col}")
        reject(present & parsed.isna(), f"unparseable timestamp in column {col}")
        frame[col] = parsed
    reject((frame["published_at"] < EARLIEST_PUBLISH).fillna(False), "published_at before 2005")
    latest = pd.Timestamp(utcnow()) + CLOCK_SKEW
    reject((frame["captured_at"] > latest).fillna(False), "captured_at is in the future")
    for col in INT_COLUMNS:
        if col not in raw.columns:
            frame[col] = pd.array([pd.NA] * n, dtype="Int64")
            continue
        numbers, given = _numbers(raw[col].reset_index(drop=True))
        reject(given & numbers.isna(), f"{col} is not a number")
        reject((numbers < 0).fillna(False), f"negative {col}")
        reject((numbers.abs() > MAX_COUNT).fillna(False), f"{col} out of range")
        frame[col] = numbers.where(numbers.abs() <= MAX_COUNT).round().astype("Int64")
    reject(raw["views"].isna().reset_index(drop=True), "missing required value in column views")
    duration, given = _numbers(raw.get("duration_s", pd.Series([None] * n)).reset_index(drop=True))
    reject(given & duration.isna(), "duration_s is not a number")
    reject((duration < 0).fillna(False), "negative duration_s")
    reject((duration > MAX_DURATION_S).fillna(False), "duration_s out of range")
    frame["duration_s"] = duration.where(duration <= MAX_DURATION_S)
    for col in ("published_at_is_date_only", "captured_at_is_date_only"):
        frame[col] = _as_bool(raw[col].reset_index(drop=True)) if col in raw.columns else False
    reject((frame["captured_at"] < frame["published_at"]).fillna(False), "captured_at before published_at")
    frame["view_metric"] = _view_metric(raw, n, reject)

    bad = (reasons != "").to_numpy()
    rejected = [
        Rejection(str(path), str(r), str(why)) for r, why in zip(frame.loc[bad, "_row"], reasons[bad], strict=True)
    ]
    good = frame.loc[~bad].reset_index(drop=True)
    return ReadResult(
        path=path,
        format="snapshots",
        frame=good[[*SNAPSHOT_COLUMNS, "view_metric", "_row"]],
        rows_read=n,
        rejected=rejected,
    )


# --- development datasets (DATA.md) ----------------------------------------------------------------


def read_fedelux3(path: Path) -> ReadResult:
    """Trending snapshots: naive stamps taken as UTC; date-only rows dated to the end of their day."""
    raw, prefix = load_table(path)
    need = ["video_id", "title", "publishedAt", "view_count", "snapshot_time"]
    if missing := [c for c in need if c not in raw.columns]:
        raise InvalidInput(f"{path}: missing required column(s) for fedelux3-trending: {', '.join(missing)}")
    date_only = _as_bool(raw.get("snapshot_time_is_date_only", pd.Series(False, index=raw.index)))
    captured = pd.to_datetime(raw["snapshot_time"], errors="coerce")
    # A date-only row was on the list at some time that day; its end is the only time surely after publishing.
    captured = captured.where(~date_only.to_numpy(), captured.dt.normalize() + pd.Timedelta(hours=23, minutes=59))
    tags = raw.get("tags", pd.Series(None, index=raw.index))
    tags = tags.mask(tags == "[none]")
    mapped = pd.DataFrame(
        {
            "video_id": raw["video_id"],
            "title": raw["title"],
            "description": raw.get("description"),
            "channel_id": raw.get("channelId"),
            "channel_title": raw.get("channelTitle"),
            "category_id": raw.get("categoryId"),
            "tags": tags,
            "published_at": raw["publishedAt"],
            "captured_at": captured,
            "views": raw["view_count"],
            "likes": raw.get("likes"),
            "comments": raw.get("comment_count"),
            "thumbnail_url": raw.get("thumbnail_link"),
            "country": raw.get("country_code"),
            "source": "fedelux3_trending",
            "captured_at_is_date_only": date_only,
        }
    )
    mapped["_row"] = _row_labels(raw, prefix).to_numpy()
    quirks: Counter[str] = Counter()
    # DATA.md §1: a few stamps are hours behind publishedAt (undocumented time zone); not a data error.
    pub = _parse_time(mapped["published_at"])
    cap = _parse_time(mapped["captured_at"])
    skew = ((cap < pub) & (pub - cap <= pd.Timedelta(hours=12))).fillna(False)
    quirks["time-zone skew: snapshot before publishedAt (DATA.md §1)"] += int(skew.sum())
    mapped = mapped.loc[~skew.to_numpy()]
    dup = mapped.duplicated(["video_id", "captured_at"]).to_numpy()
    quirks["same video and time on several country lists"] += int(dup.sum())
    result = validate(mapped.loc[~dup].reset_index(drop=True), path)
    result.rows_read = len(raw)
    result.quirks = +quirks
    return result


# jp crawl windows (DATA.md §2): `time_duration` is whole days, so the capture time is estimated
# as publish + days + 12 h, kept inside the file's known collection window.
JP_WINDOWS = {"videos_complete": ("2025-07-15", "2025-07-17"), "videos_jp_bimonthly": ("2025-07-10", "2025-07-12")}


def read_jp_keyword(path: Path) -> ReadResult:
    raw, prefix = load_table(path)
    need = ["video_id", "title", "published_at", "views", "time_duration"]
    if missing := [c for c in need if c not in raw.columns]:
        raise InvalidInput(f"{path}: missing required column(s) for jp-keyword: {', '.join(missing)}")
    published = _parse_time(raw["published_at"])
    days = pd.to_numeric(raw["time_duration"], errors="coerce")
    captured = published + pd.to_timedelta(days, unit="D") + pd.Timedelta(hours=12)
    window = next((w for key, w in JP_WINDOWS.items() if path.name.startswith(key)), None)
    if window is not None:
        lo, hi = (pd.Timestamp(t, tz="UTC") for t in window)
        captured = captured.clip(lower=lo, upper=hi - pd.Timedelta(seconds=1))
        captured = captured.where(captured >= published, published)
    mapped = pd.DataFrame(
        {
            "video_id": raw["video_id"],
            "title": raw["title"],
            "category_id": raw.get("category_id"),
            "duration_s": raw.get("video_duration"),
            "published_at": published,
            "captured_at": captured,
            "views": raw["views"],
            "likes": raw.get("likes"),
            "comments": raw.get("comment_count"),
            "channel_subscribers": raw.get("subscribers"),
            "thumbnail_url": raw.get("thumbnail_link"),
            "country": "JP",
            "source": "jp_keyword_search_2025",
            "captured_at_is_date_only": True,
        }
    )
    mapped["_row"] = _row_labels(raw, prefix).to_numpy()
    result = validate(mapped, path)
    return result


def read_ytdlp_info(path: Path) -> ReadResult:
    """One yt-dlp ``.info.json`` (or a JSON Lines file of info dicts) -> snapshots."""
    text = path.read_bytes()
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{path}: not valid UTF-8 at byte {exc.start}") from exc
    try:
        infos = [json.loads(decoded)]
    except ValueError:
        try:
            infos = [json.loads(line) for line in decoded.splitlines() if line.strip()]
        except ValueError as exc:
            raise InvalidInput(f"{path}: not a yt-dlp info JSON file ({exc})") from exc
    fallback = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    records, rejected = [], []
    for i, info in enumerate(infos, start=1):
        label = "entry " + str(i)
        if not isinstance(info, dict):
            rejected.append(Rejection(str(path), label, "not a JSON object"))
            continue
        try:
            record, reason = info_to_record(info, captured_at=fallback)
        except (TypeError, ValueError, KeyError, IndexError, OverflowError, AttributeError) as exc:
            # A hand-edited or corrupted info dict (a list where yt-dlp writes a number, an infinite timestamp).
            rejected.append(Rejection(str(path), label, f"malformed yt-dlp info dict ({type(exc).__name__}: {exc})"))
            continue
        if record is None:
            rejected.append(Rejection(str(path), label, reason or "unusable info dict"))
        else:
            record["_row"] = label
            records.append(record)
    raw = pd.DataFrame.from_records(records) if records else pd.DataFrame(columns=[*SNAPSHOT_COLUMNS, "_row"])
    result = validate(raw, path)
    result.rejected = rejected + result.rejected
    result.rows_read = len(infos)
    return result
