"""`miles collect`, `miles track` and `miles worker` as a user runs them (real yt-dlp against a local site)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from tests.collect.localsite import LocalSite, Route, rss_feed, video_page
from typer.testing import CliRunner

from miles.cli.main import app
from miles.config import Settings, get_settings
from miles.errors import InvalidInput

runner = CliRunner()


@pytest.fixture
def cli_env(sqlite_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    monkeypatch.setenv("MILES_DATA_DIR", str(sqlite_settings.data_dir))
    monkeypatch.setenv("MILES_CACHE_DIR", str(sqlite_settings.cache_dir))
    monkeypatch.setenv("MILES_COLLECT_DELAY_S", "0")
    monkeypatch.setenv("MILES_COLLECT_RETRIES", "0")
    monkeypatch.setenv("MILES_NICHES", "[]")
    monkeypatch.delenv("MILES_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield sqlite_settings
    get_settings.cache_clear()


def invoke(*args: str) -> dict:  # type: ignore[type-arg]
    result = runner.invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_collect_track_and_worker_commands(cli_env: Settings, site: LocalSite) -> None:
    fresh = (datetime.now(UTC) - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")  # uploads with horizons ahead
    page = site.add("/v/cli.html", Route(body=video_page(site.base, title="CLI clip", views=5, upload=fresh)))
    other = site.add("/v/other.html", Route(body=video_page(site.base, title="Other clip", views=9, upload=fresh)))
    feed = site.add("/feed.xml", Route(body=rss_feed("c", [("a", page), ("b", other)])))
    video = invoke("collect", "video", page, "--json")
    assert (video["status"], video["new"], video["thumbnails_failed"]) == ("ok", 1, {})
    channel = invoke("collect", "channel", feed, "--json")
    assert (channel["found"], channel["new"], channel["known_not_due"]) == (2, 1, 1)
    tracked = invoke("track", "list", "--json")
    assert tracked["total"] == 2 and {i["video_id"] for i in tracked["items"]} == {"cli", "other"}
    # each with its title and latest views (the list named ids alone)
    assert {i["video_id"]: (i["title"], i["latest_views"]) for i in tracked["items"]} == {
        "cli": ("CLI clip", 5), "other": ("Other clip", 9)
    }  # fmt: skip
    shown = runner.invoke(app, ["track", "list"], catch_exceptions=False).output
    assert "CLI clip" in shown and "Other clip" in shown and max(len(line) for line in shown.splitlines()) <= 80
    assert tracked["next_offset"] is None and invoke("track", "list", "--json", "--limit", "1")["next_offset"] == 1
    reads = site.hits["/v/cli.html"]
    refused = runner.invoke(app, ["track", "add", page])  # `track add` takes what the API takes: YouTube, TikTok
    assert refused.exit_code != 0 and "not a YouTube video URL or id" in str(refused.exception)
    assert site.hits["/v/cli.html"] == reads  # refused before anything is read (tests/cli/test_track.py: the rest)
    run = invoke("track", "run", "--json")
    assert (run["status"], run["due"]) == ("ok", 0)  # nothing due an hour early
    runs = invoke("collect", "runs", "--json")
    assert [r["job"] for r in runs][:3] == ["track", "collect_channel", "collect_video"]
    worker = invoke("worker", "--once", "--job", "score_new", "--job", "poll_tracking")
    assert worker["poll_tracking"]["status"] == "ok"
    assert worker["score_new"]["status"] == "ok" and worker["score_new"]["scored"] == 2  # both collected videos
    again = invoke("worker", "--once", "--job", "score_new")
    assert again["score_new"]["scored"] == 0  # each video is scored once per model version
    human = runner.invoke(app, ["collect", "runs"], catch_exceptions=False)
    assert human.exit_code == 0 and "job runs" in human.output


def test_a_run_that_collects_nothing_exits_non_zero(cli_env: Settings, site: LocalSite) -> None:
    gone = site.add("/v/gone.html", Route(404))
    result = runner.invoke(app, ["collect", "video", gone, "--json"], catch_exceptions=False)
    assert result.exit_code == 1
    assert json.loads(result.output)["failed"] == {"listing: http_404": 1}


def test_the_entry_point_keeps_a_failed_runs_exit_code(
    cli_env: Settings, site: LocalSite, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`miles` (the console script) printed "failed" and exited 0: outside standalone mode Typer hands a command's
    Exit(1) back as a return value, which the entry point dropped."""
    from miles.cli.main import run

    gone = site.add("/v/gone2.html", Route(404))
    monkeypatch.setattr("sys.argv", ["miles", "collect", "video", gone, "--json"])
    with pytest.raises(SystemExit) as exited:
        run()
    assert exited.value.code == 1 and json.loads(capsys.readouterr().out)["status"] == "failed"


def test_commands_reject_bad_input(cli_env: Settings) -> None:
    with pytest.raises(InvalidInput, match="is a URL"):
        runner.invoke(app, ["collect", "search", "https://x.org/a"], catch_exceptions=False)
    with pytest.raises(InvalidInput, match="not a URL"):
        runner.invoke(app, ["collect", "video", "pasta"], catch_exceptions=False)
    with pytest.raises(InvalidInput, match="not a channel URL"):
        runner.invoke(app, ["collect", "channel", "https://youtu.be/pAsTa000001"], catch_exceptions=False)
    with pytest.raises(InvalidInput, match="no niches configured"):
        runner.invoke(app, ["collect", "niches"], catch_exceptions=False)
    with pytest.raises(InvalidInput, match="unknown job"):
        runner.invoke(app, ["worker", "--once", "--job", "nope"], catch_exceptions=False)
    result = runner.invoke(app, ["collect", "--help"])
    assert all(cmd in result.output for cmd in ("search", "channel", "video", "niches", "runs"))


def test_an_empty_track_list_says_so_and_model_show_defaults_to_the_served_model(cli_env: Settings) -> None:
    empty = runner.invoke(app, ["track", "list"], catch_exceptions=False)
    assert empty.exit_code == 0 and "no tracked videos (0 in all)" in empty.output and "1-0" not in empty.output
    shown = runner.invoke(app, ["model", "show"], catch_exceptions=False)
    assert shown.exit_code == 0 and json.loads(shown.output)["version"].startswith("bundle-"), shown.output


def test_history_lists_a_users_scored_drafts(cli_env: Settings) -> None:
    from miles.store.db import session_scope
    from miles.store.repos import predictions
    from miles.store.repos.users import create_user

    week = {"horizon_h": 168.0, "label": "7d", "p10": 120.0, "p50": 1500.0, "p90": 9000.0}
    with session_scope(cli_env) as session:
        ana = create_user(session=session, email="ana@example.com", password="a-long-password").id
        create_user(session=session, email="bob@example.com", password="a-long-password")
        for title in ("First draft", "Second draft", "Third draft"):
            outputs = {"prediction": {"mode": "prepublish", "horizons": [week], "viral_probability": 0.12}}
            predictions.record_prediction(session=session, user_id=ana, model_version="m1", inputs={"title": title},
                                          outputs=outputs)  # fmt: skip
    page = invoke("history", "--user", "ana@example.com", "--json", "--limit", "2")
    assert page["total"] == 3 and page["next_offset"] == 2
    assert [i["inputs"]["title"] for i in page["items"]] == ["Third draft", "Second draft"]  # newest first
    shown = runner.invoke(app, ["history", "--user", "ana@example.com", "--limit", "2"], catch_exceptions=False)
    text = " ".join(shown.output.split())  # lines wrap at the terminal's width
    assert shown.exit_code == 0 and '"Third draft": 7 d 1,500 views (120–9,000), viral 12 %' in text
    assert "miles history --user ana@example.com --offset 2" in text
    bob = runner.invoke(app, ["history", "--user", "bob@example.com"], catch_exceptions=False)
    assert bob.exit_code == 0 and "no scored drafts for bob@example.com (0 in all)" in bob.output
    nobody = runner.invoke(app, ["history", "--user", "nobody@example.com"])
    assert nobody.exit_code != 0 and "no user with e-mail nobody@example.com" in str(nobody.exception)


def test_a_track_run_whose_every_poll_failed_exits_non_zero(cli_env: Settings, site: LocalSite) -> None:
    """`miles track run` printed "failed ... network" and exited 0 (`collect` exits 1 when nothing was read)."""
    from sqlalchemy import update

    from miles.store.db import session_scope
    from miles.store.tables import TrackedVideo

    fresh = (datetime.now(UTC) - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    page = site.add("/v/gone.html", Route(body=video_page(site.base, title="Soon gone", views=5, upload=fresh)))
    assert invoke("collect", "video", page, "--json")["new"] == 1  # tracked from here on
    site.add("/v/gone.html", Route(404))
    with session_scope(cli_env) as session:
        session.execute(update(TrackedVideo).values(next_poll_at=datetime.now(UTC) - timedelta(minutes=1)))
    result = runner.invoke(app, ["track", "run", "--json"], catch_exceptions=False)
    assert result.exit_code == 1 and json.loads(result.output)["status"] == "failed", result.output
    listed = " ".join(runner.invoke(app, ["track", "list"], catch_exceptions=False).output.split())
    assert " stopped " in listed and "stopped, the site has no such video" in listed  # in words, not yt-dlp's text
    assert "HTTP Error" not in listed
