"""`miles predict --channel` (and `--collect`) as a user runs it, on SQLite and PostgreSQL, with the packaged model.

Collection replays recorded yt-dlp answers (``tests/collect/fakeydl.py``): the live site is the only thing mocked.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.collect.fakeydl import fake_factory
from tests.serve.conftest import ENCODERS
from tests.serve.test_api import HITS, QUIET, seed_channel
from typer.testing import CliRunner

from miles.cli.main import app
from miles.collect import ytdlp
from miles.collect.ytdlp import YouTubeChannel
from miles.config import Settings, get_settings
from miles.errors import InvalidInput

runner = CliRunner()
DRAFT = ["--title", "How I fixed my slow laptop in 5 minutes", "--duration", "35"]


@pytest.fixture
def cli_env(db_settings: Settings, encoder_cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    monkeypatch.setenv("MILES_DATA_DIR", str(db_settings.data_dir))
    monkeypatch.setenv("MILES_DATABASE_URL", db_settings.database_url)
    monkeypatch.setenv("MILES_CACHE_DIR", str(encoder_cache_dir))  # the ONNX encoders are exported once per run
    monkeypatch.setenv("MILES_COLLECT_DELAY_S", "0")
    monkeypatch.setenv("MILES_COLLECT_RETRIES", "0")
    monkeypatch.setenv("MILES_THUMBNAIL_HOSTS", '["thumbnails.invalid"]')  # no thumbnail fetch leaves the machine
    monkeypatch.delenv("MILES_MODEL_DIR", raising=False)
    get_settings.cache_clear()
    yield db_settings
    get_settings.cache_clear()


def predict(*args: str) -> dict:  # type: ignore[type-arg]
    result = runner.invoke(app, ["predict", *DRAFT, *args, "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


@ENCODERS
def test_predict_with_the_creators_channel(cli_env: Settings) -> None:
    publish = seed_channel(cli_env, HITS, 80_000)
    seed_channel(cli_env, QUIET, 60)
    when = ["--publish-at", publish.isoformat()]
    hits = predict("--channel", HITS, *when)
    quiet = predict("--channel", f"https://www.youtube.com/channel/{QUIET}/shorts", *when)
    for pred, channel in ((hits, HITS), (quiet, QUIET)):
        assert pred["channel_note"] is None and pred["channel_history"]["channel_id"] == channel
        assert pred["channel_history"]["uploads"] == 40
        assert {"channel_history", "channel_subscribers"} <= set(pred["inputs_used"])
    week = {p["channel_history"]["channel_id"]: p["horizons"][3]["p50"] for p in (hits, quiet)}
    assert hits["horizons"][3]["horizon_h"] == 168.0 and week[HITS] >= 10 * week[QUIET], week
    human = runner.invoke(app, ["predict", *DRAFT, *when, "--channel", HITS], catch_exceptions=False)
    assert human.exit_code == 0 and "channel history used: 40 earlier uploads of " + HITS in human.stdout
    chance = round(hits["viral_probability"] * 100)  # as the Score page shows it ("13.7%" beside the page's "14 %")
    assert f"viral chance: {chance} % - the chance this video" in " ".join(human.stdout.split()), human.stdout


@ENCODERS
def test_an_unknown_channel_is_collected_with_collect(cli_env: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    unknown = runner.invoke(app, ["predict", *DRAFT, "--channel", "@miles_kitchen"], catch_exceptions=False)
    assert unknown.exit_code == 0 and "Add --collect" in unknown.stderr
    assert "Add --collect" in predict("--channel", "@miles_kitchen")["channel_note"]
    recorded = {url.replace("@chefmiles", "@miles_kitchen"): name
                for url, name in YouTubeChannel.EXAMPLES[0].responses.items()}  # fmt: skip
    calls: list[str] = []
    monkeypatch.setattr(ytdlp, "_default_factory", fake_factory(recorded, calls))
    collected = predict("--channel", "@miles_kitchen", "--collect")
    assert "https://www.youtube.com/@miles_kitchen/shorts" in calls
    assert collected["channel_history"]["channel_id"] == "UCchefmiles0000000000000"
    assert collected["channel_history"]["uploads"] == 2 and "channel_subscribers" in collected["inputs_used"]
    calls.clear()
    again = predict("--channel", "https://www.youtube.com/@miles_kitchen")  # now known: no collection
    assert again["channel_history"]["channel_id"] == "UCchefmiles0000000000000" and calls == []
    with pytest.raises(InvalidInput, match="--collect needs --channel"):  # `miles` prints it as one red line
        runner.invoke(app, ["predict", *DRAFT, "--collect"], catch_exceptions=False)


@ENCODERS
def test_predict_reads_typed_numbers_and_echoes_the_draft(cli_env: Settings) -> None:
    typed = ["--title", "Sourdough in 90 seconds", "--subscribers", "12k", "--duration", "1:30"]
    as_json = runner.invoke(app, ["predict", *typed, "--early-views", "2:1.2k", "--json"], catch_exceptions=False)
    assert as_json.exit_code == 0, as_json.output
    out = json.loads(as_json.stdout)
    draft = out["draft"]
    assert all(round(h[q], 1) == h[q] for h in out["horizons"] for q in ("p10", "p50", "p90"))  # as the API
    assert round(out["viral_probability"], 4) == out["viral_probability"]
    assert [h["label"] for h in out["horizons"]][-1] == "30d" and out["viral_definition"]  # as /predict gives it
    assert {"top_contributions", "inputs_used", "accuracy", "mode", "model_version"} <= set(out)
    assert draft["channel_subscribers"] == {"value": 12000, "status": "given", "note": None}
    assert draft["duration_s"] == {"value": 90.0, "status": "given", "note": None}
    assert draft["early_views"]["value"] == [{"age_h": 2.0, "views": 1200}]
    publish = draft["publish_at"]
    assert (
        publish["status"] == "defaulted"
        and publish["note"] == "not given: the latest early view (2 h) is taken as counted now"
    )
    listed = runner.invoke(app, ["predict", *typed, "--early-views", "1:150, 6h:900", "--early-views", "1d:2k",
                                 "--json"], catch_exceptions=False)  # fmt: skip
    assert json.loads(listed.stdout)["draft"]["early_views"]["value"] == [
        {"age_h": 1.0, "views": 150}, {"age_h": 6.0, "views": 900}, {"age_h": 24.0, "views": 2000}
    ]  # fmt: skip  # the Score page's reading: commas or repeats, units on ages and counts
    both = "--duration: 'abc' is not a duration (try 45, 1:30 or 1m30s); --subscribers: '12q' is not a number"
    with pytest.raises(InvalidInput, match=re.escape(both)):  # every unreadable option at once
        runner.invoke(app, ["predict", "--title", "x", "--subscribers", "12q", "--duration", "abc"],
                      catch_exceptions=False)  # fmt: skip
    human = runner.invoke(app, ["predict", *typed], catch_exceptions=False)
    shown = " ".join(human.stdout.split())  # rich wraps at the terminal width
    # the date, then why: after the note it read as the "now" the note names
    read_as = r"read as: duration 1:30 \(90 s\); subscribers 12,000; publish time \S+ \S+ UTC \(not given: now\)"
    assert re.search(read_as, shown), shown
    assert "forecast before publishing · model" in shown and "prepublish prediction" not in shown  # creator words
    early = runner.invoke(app, ["predict", *typed, "--early-views", "20h:300"], catch_exceptions=False)
    said = " ".join(early.stdout.split())
    # the shipped early model serves its growth references alone: the reason is the views given, not "nothing"
    assert "what drove it: your views so far and how old they were" in said, said
    assert "forecast from the views so far · model" in said, said
    for option, value, message in (
        ("--subscribers", "12q", "--subscribers: '12q' is not a number (try 1200, 1,200 or 1.2k)"),
        ("--duration", "4:00", "--duration: '4:00' is 240 s; a YouTube Short is at most 3:00 (180 s)"),
        ("--duration", "-3", "--duration: -3 is negative; give the video's length in seconds (e.g. 35 or 0:35)"),
        ("--subscribers", "-3", "--subscribers: -3 is negative; give the channel's subscribers, 0 or more"),
        ("--category", "-3", "--category: -3 is negative; give a YouTube category id from 0 to 100"),
        ("--title", " ", "--title: is empty: type the title you plan to post"),
        ("--publish-at", "1990-01-01", "--publish-at: '1990-01-01' is before 2005"),
        ("--early-views", "6:20", "--early-views: views fall from 50 at 1 h to 20 at 6 h; views only grow"),  # 1:50
        (
            "--title",
            "x" * 301,
            "--title: 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…' is 301 characters; a title is at most 300",
        ),
        ("--thumbnail", __file__, f"--thumbnail {__file__}: "),  # not an image: the message names the file
        ("--early-views", "40d:3000", "the latest reading, 960 h after publishing, leaves no horizon to forecast"),
    ):
        with pytest.raises(InvalidInput, match=re.escape(message)):  # `miles` prints it as one red line
            runner.invoke(app, ["predict", "--title", "x", "--early-views", "1:50", option, value],
                          catch_exceptions=False)  # fmt: skip


@ENCODERS
def test_a_forecast_under_one_view_says_so(cli_env: Settings) -> None:
    """For a 50-subscriber channel the table's 1-hour row read "0 0 4": the forecast is a fraction of a view."""
    args = ["predict", "--title", "My cat learns a new trick", "--duration", "30", "--subscribers", "50"]
    as_json = predict("--subscribers", "50")
    assert as_json["horizons"][0]["p50"] < 1  # the premise; the JSON keeps the model's number
    table = runner.invoke(app, args, catch_exceptions=False, env={"COLUMNS": "120"})
    assert table.exit_code == 0, table.output
    first = next(line for line in table.stdout.splitlines() if "1 h" in line)
    cells = [c.strip() for c in first.split("│")[1:-1]]
    assert cells[1:3] == ["under 1", "under 1"] and cells[3] != "0", first


@ENCODERS
def test_a_blank_subscriber_count_is_read_from_the_known_channel(cli_env: Settings) -> None:
    publish = seed_channel(cli_env, HITS, 80_000, subscribers=7_600)
    pred = predict("--channel", HITS, "--publish-at", publish.isoformat())
    subs = pred["draft"]["channel_subscribers"]
    assert subs["value"] == 7600 and subs["status"] == "stored"
    assert subs["note"].startswith("not given: your channel's stored count on ")
    # a stored count is a known size: its forecasts are back-tested like a typed 7,600's (was "unknown size")
    typed = predict("--subscribers", "7600", "--publish-at", publish.isoformat())
    assert [h["back_tested"] for h in pred["horizons"]] == [h["back_tested"] for h in typed["horizons"]]
    assert pred["draft"]["channel_id"] == {"value": HITS, "status": "given", "note": None}


def test_the_read_as_line_keeps_a_given_inputs_note() -> None:
    from miles.cli.model import read_as_line

    note = "given, but this model does not use thumbnails yet: it moves no number"
    line = read_as_line({"thumbnail": {"value": "image", "status": "given", "note": note}})
    assert line == f"thumbnail image ({note})"


def test_the_read_as_line_shows_a_stored_subscriber_count() -> None:
    from miles.cli.model import read_as_line

    note = "not given: your channel's stored count on 2026-02-04"
    line = read_as_line({"channel_subscribers": {"value": 185000, "status": "stored", "note": note}})
    assert line == f"subscribers 185,000 ({note})"


def test_the_read_as_line_counts_a_description_in_the_singular_too() -> None:
    from miles.cli.model import read_as_line

    assert read_as_line({"description": {"value": "!", "status": "given"}}) == "description (1 character)"
    assert read_as_line({"description": {"value": "ok", "status": "given"}}) == "description (2 characters)"
