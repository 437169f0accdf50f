"""`miles mcp` through the MCP SDK's own client: in process, over stdio (a spawned `python -m miles.cli mcp`)
and over streamable HTTP on loopback (`miles mcp --http` with real API keys). The tools answer with the same
numbers and messages as the JSON API, per user, within the same rate limit."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from tests.serve.conftest import ENCODERS, ApiUser, make_user, no_model, serving
from tests.web.conftest import csrf, model_dir, seed_niche

from miles.config import Settings
from miles.model.predict import Predictor
from miles.serve.app import create_app
from miles.serve.deps import key_from_headers
from miles.serve.mcp import build_server, headline_tables, http_app

TOOLS = {
    "score_drafts", "niche_ideas", "track_video", "tracked_videos", "record_views", "link_draft", "prediction_history",
    "model_card",
}  # fmt: skip
DRAFT: dict[str, Any] = {
    "title": "I baked sourdough every day for 30 days",
    "duration_s": 45,
    "channel_subscribers": 5000,
    "category_id": 26,
    "publish_at": "2026-11-20T18:00:00Z",
    "channel": "@no-such-channel-here",
    "tags": ["#bread", " sourdough "],
    "variants": [{"title": "30 days of sourdough: what changed", "label": "shorter"}],
}
VIDEO = "https://www.youtube.com/shorts/dQw4w9WgXcQ"


def run(main: Callable[[], Awaitable[None]]) -> None:
    async def bounded() -> None:
        with anyio.fail_after(240):  # a hung transport fails the test instead of stalling the run
            await main()

    anyio.run(bounded)


def assert_same(got: Any, want: Any, where: str = "") -> None:
    """Equal structures, with floats equal to 1e-9 (JSON round trips)."""
    if isinstance(want, dict):
        assert isinstance(got, dict) and got.keys() == want.keys(), where
        for key in want:
            assert_same(got[key], want[key], f"{where}.{key}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), where
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            assert_same(g, w, f"{where}[{i}]")
    elif isinstance(want, float):
        assert got == pytest.approx(want, rel=1e-9), where
    else:
        assert got == want, where


def text_of(result: Any) -> str:
    return " ".join(getattr(c, "text", "") for c in result.content)


def child_env(settings: Settings, **extra: str) -> dict[str, str]:
    env = {
        "MILES_DATA_DIR": str(settings.data_dir),
        "MILES_CACHE_DIR": str(settings.cache_dir),
        "MILES_ENV": "test",
        "HF_HUB_OFFLINE": "1",
        "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
    }
    if settings.database_url:
        env["MILES_DATABASE_URL"] = settings.database_url
    return {**env, **extra}


# --- in process (fast: no model) ---------------------------------------------------------------------------


def test_tracking_tools_are_per_user_and_errors_read_like_the_api(db_settings: Settings) -> None:
    alice, bob = make_user(db_settings, "alice@example.com"), make_user(db_settings, "bob@example.com")

    async def main() -> None:
        async with Client(build_server(db_settings, key=alice.key)) as client:
            tools = {t.name: t for t in (await client.list_tools()).tools}
            assert set(tools) == TOOLS
            ideas_schema = tools["niche_ideas"].output_schema or {}  # typed: the API's IdeasOut, not an open object
            assert {"ideas", "outliers", "patterns", "freshness", "notes"} <= set(ideas_schema.get("properties", {}))
            added = await client.call_tool("track_video", {"url": VIDEO})
            assert not added.is_error, text_of(added)
            assert added.structured_content["video_id"] == "dQw4w9WgXcQ"
            dup = await client.call_tool("track_video", {"url": "https://youtu.be/dQw4w9WgXcQ"})
            assert dup.is_error
            bad = await client.call_tool("track_video", {"url": "https://vimeo.com/12345678901"})
            assert bad.is_error and "body.url: not a YouTube video URL or id" in text_of(bad)
            short = await client.call_tool("track_video", {"url": "abc"})
            assert short.is_error and "url" in text_of(short)
            mine = await client.call_tool("tracked_videos", {"limit": 5})
            assert mine.structured_content["total"] == 1
            tracked_id = added.structured_content["id"]
            unread = await client.call_tool("record_views", {"tracked_id": tracked_id, "views": "15k"})
            said = text_of(unread)  # each missing detail named
            assert unread.is_error and "title: " in said and "give when it was published" in said
            lots = await client.call_tool(
                "record_views", {"tracked_id": tracked_id, "views": "lots", "read_at": "soon"}
            )
            assert lots.is_error and "views: 'lots' is not a number" in text_of(lots)  # was "Error executing tool"
            assert "read_at:" in text_of(lots)
            typed = {"tracked_id": tracked_id, "views": "15k", "title": "My sourdough starter",
                     "published_at": "2026-11-20T18:00:00Z", "read_at": "2026-11-21T18:00:00Z"}  # fmt: skip
            entered = await client.call_tool("record_views", typed)
            assert not entered.is_error, text_of(entered)
            video = entered.structured_content["video"]
            assert video["latest"]["views"] == 15_000 and video["latest"]["age_h"] == 24.0
            fall = await client.call_tool("record_views", {**typed, "views": 10, "read_at": "2026-11-22T18:00:00Z"})
            assert fall.is_error and "views only grow" in text_of(fall)
        async with Client(build_server(db_settings, key=bob.key)) as client:
            theirs = await client.call_tool("tracked_videos", {})
            assert theirs.structured_content["total"] == 0 and theirs.structured_content["items"] == []
            not_theirs = await client.call_tool("record_views", {"tracked_id": tracked_id, "views": 20_000})
            assert not_theirs.is_error and f"no tracked video with id {tracked_id}" in text_of(not_theirs)
            nothing = await client.call_tool("prediction_history", {})
            assert nothing.structured_content["total"] == 0
            unknown_draft = await client.call_tool("link_draft", {"prediction_id": 999, "video": VIDEO})
            assert unknown_draft.is_error and "999" in text_of(unknown_draft)
            too_short = await client.call_tool("link_draft", {"prediction_id": 1, "video": "abc"})
            assert too_short.is_error and "video" in text_of(too_short)
        async with Client(build_server(db_settings)) as client:  # anonymous: no own data to show
            anonymous = await client.call_tool("tracked_videos", {})
            assert anonymous.is_error and "needs an API key" in text_of(anonymous)
            assert "MILES_API_KEY" in text_of(anonymous)  # over stdio there is no header to set
        async with Client(build_server(db_settings, key="miles_not-a-key")) as client:
            unknown = await client.call_tool("tracked_videos", {})
            assert unknown.is_error and "API key is unknown or revoked" in text_of(unknown)

    run(main)


def test_anonymous_off_and_rate_limit(sqlite_settings: Settings) -> None:
    strict = sqlite_settings.model_copy(update={"allow_anonymous": False, "rate_limit_per_minute": 3})
    alice = make_user(strict, "alice@example.com")

    async def main() -> None:
        async with Client(build_server(strict)) as client:
            refused = await client.call_tool("score_drafts", {"drafts": [DRAFT]})
            assert refused.is_error and "anonymous access is off" in text_of(refused)
        async with Client(build_server(strict, key=alice.key)) as client:
            results = [await client.call_tool("tracked_videos", {}) for _ in range(4)]
            assert [r.is_error for r in results] == [False, False, False, True]
            assert "rate limit of 3 requests per minute exceeded" in text_of(results[-1])
            invalid = await client.call_tool("score_drafts", {"drafts": [{"title": ""}]})
            assert invalid.is_error and text_of(invalid).startswith("drafts.0.title: "), text_of(invalid)
            assert "errors.pydantic.dev" not in text_of(invalid)  # the API's wording, not pydantic's dump
            extra = await client.call_tool("score_drafts", {"drafts": [{"title": "ok", "views": 5}]})
            assert extra.is_error and "views" in text_of(extra)  # unknown fields are refused, as in the API
            typo = await client.call_tool("niche_ideas", {"topic": "budget cooking", "subscribers": 2000})
            # the API's hint for a misspelt field (it said "Extra inputs are not permitted")
            assert typo.is_error and text_of(typo) == (
                "subscribers: not an argument of this tool (did you mean 'channel_subscribers'?)"
            ), text_of(typo)
            card = await client.call_tool("model_card", {"task": "early"})
            assert card.is_error and text_of(card) == "task: not an argument of this tool (its input schema lists them)"
            schemas = {t.name: t.input_schema for t in (await client.list_tools()).tools}
            assert all(schema.get("additionalProperties") is False for schema in schemas.values()), schemas

    run(main)


def test_key_headers() -> None:
    assert key_from_headers({"Authorization": "Bearer abc"}) == "abc"
    assert key_from_headers({"x-api-key": " abc "}) == "abc"
    assert key_from_headers({}) is None


def test_headline_tables_come_from_the_packaged_card() -> None:
    card = (Path(__file__).parents[2] / "src/miles/assets/models/default/MODEL_CARD.md").read_text(encoding="utf-8")
    tables = headline_tables(card)
    assert {t.task for t in tables} == {"prepublish", "early"}
    assert all("| model" in t.markdown or "| held-out" in t.markdown for t in tables)


def test_tracked_videos_shows_what_the_track_page_shows(sqlite_settings: Settings, tmp_path: Path) -> None:
    """tracked_videos gave poll times only: no views, no forecast and no verdict on the forecast made before
    publishing, all of which the Track page (GET /track.json) shows from the same service."""
    settings = sqlite_settings.model_copy(update={"model_dir": model_dir()})
    seed_niche(settings)
    alice = make_user(settings, "alice@example.com")
    got: dict[str, Any] = {}

    async def main() -> None:
        async with Client(build_server(settings, key=alice.key)) as client:
            for url in ("https://youtu.be/sourdough05", VIDEO):  # read by Miles (views at 1 h and 24 h); not yet
                assert not (await client.call_tool("track_video", {"url": url})).is_error
            listed = await client.call_tool("tracked_videos", {})
            assert not listed.is_error, text_of(listed)
            got.update(listed.structured_content)
        async with Client(build_server(no_model(settings, tmp_path), key=alice.key)) as client:
            bare = (await client.call_tool("tracked_videos", {})).structured_content  # the list, saying why bare
            assert bare["model_message"] and [i["forecast"] for i in bare["items"]] == [None, None]
            assert bare["items"][1]["latest"]["views"] > 0

    run(main)
    with TestClient(create_app(settings)) as web:
        token = csrf(web)
        web.post("/login", data={"email": "alice@example.com", "password": "a-long-password", "csrf_token": token})
        page = web.get("/track.json").json()
    assert got["total"] == page["total"] == 2 and got["model_message"] is None
    unread, read = got["items"]  # newest first
    assert unread["video_id"] == VIDEO[-11:] and unread["latest"] is None and unread["forecast"] is None
    assert read["video_id"] == "sourdough05" and read["latest"]["views"] == page["items"][1]["snapshots"][-1]["views"]
    assert read["latest"]["age_h"] == pytest.approx(24.0, abs=0.01)
    assert read["forecast"]["mode"] == "early" and read["forecast_check"]["off"]
    for key in ("title", "forecast", "prepublish_forecast", "forecast_note"):
        assert_same(read[key], page["items"][1][key], key)
    assert read["forecast_check"] == pytest.approx(page["items"][1]["forecast_check"], abs=0.05)  # MCP rounds views


# --- over stdio, against POST /api/v1/predict ----------------------------------------------------------------


@ENCODERS
@pytest.mark.slow
@pytest.mark.timeout(300)
def test_stdio_tools_match_the_api(
    tmp_path: Path, sqlite_settings: Settings, encoder_cache_dir: Path, real_predictor: Predictor
) -> None:
    settings = sqlite_settings.model_copy(update={"cache_dir": encoder_cache_dir})
    alice = make_user(settings, "alice@example.com")
    with TestClient(serving(create_app(settings), real_predictor)) as api:
        expected = api.post("/api/v1/predict", json=DRAFT, headers=alice.headers)
        assert expected.status_code == 200, expected.text
        api_model = api.get("/api/v1/model", headers=alice.headers).json()
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "miles.cli", "mcp"],
        env=child_env(settings, MILES_API_KEY=alice.key),
        cwd=str(tmp_path),
    )
    errlog = (tmp_path / "mcp-stderr.log").open("w")

    async def main() -> None:
        async with Client(stdio_client(params, errlog=errlog)) as client:
            assert {t.name for t in (await client.list_tools()).tools} == TOOLS
            scored = await client.call_tool("score_drafts", {"drafts": [DRAFT]})
            assert not scored.is_error, text_of(scored)
            [got] = scored.structured_content["results"]
            want = expected.json()
            assert_same(got["prediction"], want["prediction"], "prediction")
            assert_same(got["variants"], want["variants"], "variants")
            assert got["prediction"]["channel_note"] and "no-such-channel-here" in got["prediction"]["channel_note"]
            assert got["draft"]["tags"] == ["bread", "sourdough"] and got["draft"]["title"] == DRAFT["title"]
            assert got["prediction_id"] != want["prediction_id"]  # stored in the same history
            card = await client.call_tool("model_card", {})
            assert card.structured_content["version"] == api_model["version"]
            assert "How far off" in card.structured_content["plain_words"]
            assert any(t["title"].startswith("Headline") for t in card.structured_content["headline_tables"])
            ideas = await client.call_tool("niche_ideas", {"topic": "sourdough", "vibe": "cozy", "n": 2})
            assert not ideas.is_error, text_of(ideas)
            assert len(ideas.structured_content["ideas"]) == 2
            assert {"outliers", "patterns", "freshness"} <= set(ideas.structured_content)
            typed = await client.call_tool("niche_ideas", {"topic": "sourdough", "n": 2, "channel_subscribers": "2k"})
            assert not typed.is_error, text_of(typed)  # a count as typed, as the API reads it ("2k" was refused)
            assert typed.structured_content["channel_subscribers"] == 2000
            tiktok = await client.call_tool("niche_ideas", {"topic": "sourdough", "n": 2, "platform": "tiktok"})
            assert not tiktok.is_error, text_of(tiktok)
            assert tiktok.structured_content["platform"] == "tiktok" and tiktok.structured_content["outliers"] == []
            assert all(i["prediction"] is None for i in tiktok.structured_content["ideas"])  # no TikTok model yet
            assert not (await client.call_tool("track_video", {"url": VIDEO})).is_error
            listed = await client.call_tool("tracked_videos", {})
            assert [i["video_id"] for i in listed.structured_content["items"]] == ["dQw4w9WgXcQ"]
            history = (await client.call_tool("prediction_history", {"limit": 5})).structured_content
            assert history["total"] == 2 and history["items"][0]["id"] == got["prediction_id"]
            link = await client.call_tool("link_draft", {"prediction_id": got["prediction_id"], "video": VIDEO})
            assert not link.is_error, text_of(link)
            assert link.structured_content["linked"] and not link.structured_content["tracking_started"]  # tracked

    try:
        run(main)
    finally:
        errlog.close()
    with TestClient(create_app(settings)) as api:
        history = api.get("/api/v1/history", headers=alice.headers).json()
    assert history["total"] == 2  # the API's and the MCP call, both in Alice's history


# --- over streamable HTTP on loopback ----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def http_server(tmp_path: Path, db_settings: Settings) -> Iterator[str]:
    port = free_port()
    log = (tmp_path / "mcp-http.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "miles.cli", "mcp", "--http", "--port", str(port)],
        env={**os.environ, **child_env(db_settings)},
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.post(url, timeout=2)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    pytest.fail(f"miles mcp --http did not start: {(tmp_path / 'mcp-http.log').read_text()}")
                time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@asynccontextmanager
async def http_client(url: str, user: ApiUser) -> AsyncIterator[Client]:
    """The SDK client over streamable HTTP with the user's key on every request (as docs/mcp.md shows)."""
    async with (
        httpx2.AsyncClient(headers=user.headers, timeout=httpx2.Timeout(30, read=300)) as http,
        Client(streamable_http_client(url, http_client=http)) as client,
    ):
        yield client


@pytest.mark.timeout(180)
def test_http_needs_a_key_and_keeps_users_apart(http_server: str, db_settings: Settings) -> None:
    no_key = httpx.post(http_server, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, timeout=10)
    assert no_key.status_code == 401 and no_key.json()["error"]["code"] == "unauthorized"
    wrong = httpx.post(http_server, json={}, headers={"Authorization": "Bearer miles_nope"}, timeout=10)
    assert wrong.status_code == 401 and "unknown or revoked" in wrong.json()["error"]["message"]
    alice, bob = make_user(db_settings, "alice@example.com"), make_user(db_settings, "bob@example.com")

    async def main() -> None:
        async with http_client(http_server, alice) as client:
            assert {t.name for t in (await client.list_tools()).tools} == TOOLS
            added = await client.call_tool("track_video", {"url": VIDEO})
            assert not added.is_error, text_of(added)
            bad = await client.call_tool("tracked_videos", {"limit": 0})
            assert bad.is_error and "limit" in text_of(bad)
        async with http_client(http_server, bob) as client:
            theirs = await client.call_tool("tracked_videos", {})
            assert theirs.structured_content["total"] == 0
        async with http_client(http_server, alice) as client:
            mine = await client.call_tool("tracked_videos", {})
            assert [i["video_id"] for i in mine.structured_content["items"]] == ["dQw4w9WgXcQ"]

    run(main)


def test_http_gate_throttles_refused_keys(sqlite_settings: Settings) -> None:
    app = http_app(sqlite_settings.model_copy(update={"rate_limit_per_minute": 2}), host="127.0.0.1")

    async def main() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            answers = [await client.post("/mcp", headers={"X-API-Key": "miles_guess"}) for _ in range(3)]
            assert [a.status_code for a in answers] == [401, 401, 429]
            for answer in answers:  # the API's envelope and serializer (a hand-made json.dumps spaced it apart)
                assert answer.content == JSONResponse(answer.json()).body
            assert answers[0].headers["www-authenticate"] == "Bearer" and int(answers[2].headers["retry-after"]) >= 1

    run(main)


def test_cli_refuses_an_unknown_stdio_key(tmp_path: Path, sqlite_settings: Settings) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "miles.cli", "mcp"],
        env={**os.environ, **child_env(sqlite_settings, MILES_API_KEY="miles_nope")},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert "the API key (--key or MILES_API_KEY) is unknown or revoked" in done.stderr and done.stdout == ""
