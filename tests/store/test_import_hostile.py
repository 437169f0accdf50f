"""Malformed and hostile import files are refused with the file, row and reason (exit 1), never an internal error,
on SQLite and PostgreSQL; control characters are stripped before storing (docs/import.md)."""

from __future__ import annotations

import json
import math
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from tests.cli.test_cli_foundation import miles
from tests.store.test_import import GOOD, HEADER, SMALL, counts

from miles.collect.files import read_file
from miles.config import Settings
from miles.errors import InvalidInput, MilesError
from miles.jobs.ingest import import_paths
from miles.store.db import session_scope
from miles.store.repos.snapshots import load_snapshot_frame

GOOD_ROW = {
    "video_id": "good0000001",
    "title": "Fine title",
    "published_at": "2026-01-01T00:00:00Z",
    "captured_at": "2026-01-02T00:00:00Z",
    "views": 10,
}
FUTURE = (datetime.now(UTC) + timedelta(days=2)).isoformat()

# (field, value, reason): each as the second row of a JSON Lines file, so the reason names "line 2".
BAD_VALUES = [
    ("views", math.inf, "views is not a number"),
    ("views", "NaN", "views is not a number"),
    ("views", 10**30, "views out of range"),
    ("views", 2**63, "views out of range"),
    ("views", True, "views is not a number"),
    ("views", [1, 2], "views is not a number"),
    ("likes", -math.inf, "likes is not a number"),
    ("category_id", 1e300, "category_id out of range"),
    ("duration_s", math.inf, "duration_s is not a number"),
    ("duration_s", 1e12, "duration_s out of range"),
    ("duration_s", "long", "duration_s is not a number"),
    ("title", {"a": 1}, "title is not text"),
    ("published_at", "1990-01-01T00:00:00Z", "published_at before 2005"),
    ("published_at", "0001-01-01T00:00:00+14:00", "published_at before 2005"),
    ("published_at", 1e20, "unparseable timestamp in column published_at"),
    ("captured_at", FUTURE, "captured_at is in the future"),
    ("captured_at", "9999-12-31T23:59:59-14:00", "captured_at is in the future"),
    # An identifier with a control character is refused, not stripped (that would store another id).
    ("video_id", "bad\x000000001", "video_id contains a control character (U+0000) at position 4"),
    ("channel_id", "UC\x1bchan", "channel_id contains a control character (U+001B) at position 3"),
    ("video_id", None, "missing required value in column video_id"),
]


def _jsonl(tmp_path: Path, rows: list[dict[str, object]]) -> Path:
    path = tmp_path / "bad.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.mark.parametrize(
    ("field", "value", "reason"), BAD_VALUES, ids=[f"{f}-{i}" for i, (f, _v, _r) in enumerate(BAD_VALUES)]
)
def test_bad_values_name_file_row_and_reason(
    db_settings: Settings, tmp_path: Path, field: str, value: object, reason: str
) -> None:
    path = _jsonl(tmp_path, [GOOD_ROW, {**GOOD_ROW, "video_id": "bad00000001", field: value}])
    with pytest.raises(InvalidInput) as err:
        import_paths([path], settings=db_settings)
    assert f"{path}, line 2: {reason}" in err.value.message
    assert counts(db_settings)["video_snapshots"] == 0
    summary = import_paths([path], settings=db_settings, skip_invalid=True)
    assert summary.counts.snapshots_added == 1 and summary.rejected == {reason: 1}


def _parquet_bytes(tmp_path: Path) -> bytes:
    path = tmp_path / "ok.parquet"
    pd.read_csv(SMALL).to_parquet(path)
    return path.read_bytes()


MALFORMED = {
    "empty.csv": b"",
    "header-only-garbage.csv": b"\x00\x01\x02",
    "open-quote.csv": (HEADER + GOOD + 'bad00000001,"never closed,2026-01-01T00:00:00Z,x,1\n').encode(),
    "truncated.jsonl": (json.dumps(GOOD_ROW) + "\n" + json.dumps(GOOD_ROW)[:25]).encode(),
    "array.jsonl": b"[1, 2, 3]\n",
    "binary.jsonl": b"\xff\xfe\x00\x01{",
}


@pytest.mark.parametrize("name", [*MALFORMED, "truncated.parquet", "garbled.parquet", "not.parquet"])
def test_malformed_files_are_an_expected_error(db_settings: Settings, tmp_path: Path, name: str) -> None:
    if name.endswith(".parquet"):
        data = _parquet_bytes(tmp_path)
        data = {"truncated.parquet": data[: len(data) // 2], "garbled.parquet": data[:8] + bytes(64) + data[72:]}.get(
            name, b"this is not parquet"
        )
    else:
        data = MALFORMED[name]
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(InvalidInput) as err:
        import_paths([path], settings=db_settings)
    assert err.value.expected and str(path) in err.value.message
    assert counts(db_settings)["video_snapshots"] == 0


def test_fuzzed_files_never_fail_unexpectedly(tmp_path: Path) -> None:
    """Random truncation, byte flips and hostile insertions of the small CSV and its JSONL/Parquet twins."""
    rng = random.Random(17)
    base = {".csv": SMALL.read_bytes(), ".parquet": _parquet_bytes(tmp_path)}
    base[".jsonl"] = "".join(json.dumps(r) + "\n" for r in pd.read_csv(SMALL).to_dict("records")).encode()
    inserts = [b"\x00", b'"', b",", b"\n", b"\r", b"\xff", b"NaN", b"Infinity", b"1e400", b"-1", b"9" * 30, b"{", b"]"]
    for i in range(240):
        suffix = (".csv", ".jsonl", ".parquet")[i % 3]
        data = bytearray(base[suffix])
        op = rng.choice(("truncate", "flip", "insert"))
        if op == "truncate":
            data = data[: rng.randrange(len(data))]
        elif op == "flip":
            for _ in range(rng.randint(1, 5)):
                data[rng.randrange(len(data))] = rng.randrange(256)
        else:
            at = rng.randrange(len(data))
            data[at:at] = rng.choice(inserts)
        path = tmp_path / f"fuzz{i}{suffix}"
        path.write_bytes(bytes(data))
        try:
            result = read_file(path)
        except MilesError as exc:
            assert exc.expected, f"{path.name} ({op}): {exc.message}"
            continue
        assert all(r.file == str(path) and r.row and r.reason for r in result.rejected)


def test_control_characters_are_stripped_before_storing(db_settings: Settings, tmp_path: Path) -> None:
    row = {
        **GOOD_ROW,
        "title": "Bread\x00 in\r\n60\tseconds\x07\x1b[31m",
        "description": "line one\nline two\x00\x7f\ttab",
        "tags": ["sour\x00dough", "bread\nbaking"],
        "channel_id": "UCchan",
        "channel_title": "Chef\x00 Ann",
    }
    path = _jsonl(tmp_path, [row])
    assert import_paths([path], settings=db_settings).counts.snapshots_added == 1
    with session_scope(db_settings) as session:
        stored = load_snapshot_frame(session=session).iloc[0]
    assert stored.title == "Bread in 60 seconds[31m"
    assert stored.description == "line one\nline two\ttab"
    assert stored.tags == "sourdough|bread baking"
    assert stored.channel_title == "Chef Ann"


def test_a_json_array_file_says_the_file_is_read_as_json_lines(tmp_path: Path) -> None:
    path = tmp_path / "drafts.json"
    path.write_text(json.dumps([{"video_id": None}]))
    with pytest.raises(InvalidInput) as err:
        read_file(path)
    assert err.value.message == (
        f"{path}, line 1: a JSON array, not a JSON object: the file is read as JSON Lines, one snapshot object per "
        'line ({"video_id": ..., "title": ..., ...}), with no enclosing [ ]'
    )


def test_a_binary_parquet_column_is_read_as_utf8_or_refused(tmp_path: Path) -> None:
    path = tmp_path / "binary.parquet"
    frame = pd.DataFrame([GOOD_ROW, {**GOOD_ROW, "video_id": "bad00000001"}])
    frame["video_id"] = [b"good0000001", b"\xff\xfebad"]  # a binary column (was an internal UnicodeDecodeError)
    frame.to_parquet(path)
    result = read_file(path)
    assert [str(r) for r in result.rejected] == [f"{path}, row 2: video_id is not valid UTF-8"]
    assert list(result.frame["video_id"]) == ["good0000001"]


def test_a_repeated_csv_column_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "twice.csv"
    path.write_text("video_id,video_id,title,published_at,captured_at,views\na,b,t,2026-01-01,2026-01-02,1\n")
    with pytest.raises(InvalidInput, match=r"twice.csv, line 1: column\(s\) video_id appear more than once"):
        read_file(path)


def test_only_control_characters_leave_a_required_field_missing(db_settings: Settings, tmp_path: Path) -> None:
    path = _jsonl(tmp_path, [GOOD_ROW, {**GOOD_ROW, "video_id": "bad00000001", "title": "\x00\x01"}])
    with pytest.raises(InvalidInput, match=r"line 2: missing required value in column title"):
        import_paths([path], settings=db_settings)


def test_cli_refuses_a_malformed_file_with_exit_1(db_settings: Settings, tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.parquet"
    corrupt.write_bytes(b"PAR1 not really")
    out = miles(db_settings, "import", str(corrupt))
    assert out.returncode == 1, out.stderr
    assert "internal error" not in out.stderr and str(corrupt) in " ".join(out.stderr.split())
    bad = _jsonl(tmp_path, [GOOD_ROW, {**GOOD_ROW, "views": math.inf}])
    out = miles(db_settings, "import", str(bad))
    assert out.returncode == 1 and "line 2: views is not a number" in " ".join(out.stderr.split())


YTDLP_VIDEO = Path(__file__).resolve().parents[1] / "fixtures" / "ytdlp" / "video_pasta000001.json"


@pytest.mark.parametrize(
    "change", [{"timestamp": 1e20}, {"view_count": math.inf}, {"tags": 5}, {"categories": True}, {"thumbnails": 7}]
)
def test_a_malformed_ytdlp_info_file_names_the_entry(tmp_path: Path, change: dict[str, object]) -> None:
    info = {**json.loads(YTDLP_VIDEO.read_text()), **change}
    path = tmp_path / "video.info.json"
    path.write_text(json.dumps(info))
    result = read_file(path)
    assert result.frame.empty and len(result.rejected) == 1
    assert result.rejected[0].file == str(path) and result.rejected[0].row == "entry 1"
