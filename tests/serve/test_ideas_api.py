"""POST /ideas, GET /queries and GET /collections/{id} with the real model on the demo data."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.serve.conftest import ENCODERS, ApiUser, make_user, serving

from miles.config import Settings
from miles.domain import utcnow
from miles.jobs.ingest import import_demo_data
from miles.jobs.tasks import mark_worker_alive
from miles.model.predict import Predictor
from miles.serve.app import create_app
from miles.store.db import session_scope
from miles.store.repos.jobs import start_run

API = "/api/v1"


@pytest.fixture
def ideas_client(db_settings: Settings, encoder_cache_dir: Path, real_predictor: Predictor) -> Iterator[TestClient]:
    settings = db_settings.model_copy(update={"cache_dir": encoder_cache_dir})
    import_demo_data(settings=settings)
    with TestClient(serving(create_app(settings), real_predictor)) as client:
        yield client


@ENCODERS
def test_ideas_queue_a_collection_for_a_stale_niche_and_are_stored_per_user(
    ideas_client: TestClient, db_settings: Settings
) -> None:
    alice: ApiUser = make_user(db_settings, "alice@example.com")
    body = ideas_client.post(f"{API}/ideas", json={"topic": "music", "vibe": "hype", "n": 3}, headers=alice.headers)
    assert body.status_code == 200, body.text
    result = body.json()
    assert result["ok"] and result["candidates"] > 0 and len(result["ideas"]) == 3
    assert all(i["prediction"]["views"] for i in result["ideas"])
    cited = {o["video_id"] for o in result["outliers"] if o["trusted"]}  # never one whose channel usual is unknown
    assert all(set(i["inspired_by"]) <= cited for i in result["ideas"])
    run_id = result["freshness"]["refresh_run_id"]  # the 2019–20 demo snapshots are not fresh
    assert run_id is not None and result["freshness"]["worker_running"] is False
    waits = [note for note in result["notes"] if "not being refreshed" in note]  # said in a creator's words first
    assert waits and "whoever runs Miles" in waits[0] and "miles worker" in waits[0], result["notes"]
    with session_scope(db_settings) as session:  # a one-off `miles track run` is no worker: nothing will collect
        start_run(session=session, job="track", now=utcnow())
    once = ideas_client.post(f"{API}/ideas", json={"topic": "music", "vibe": "funny", "n": 3}).json()
    assert once["freshness"]["worker_running"] is False
    mark_worker_alive(db_settings)  # what each job a running worker's scheduler starts does first
    again = ideas_client.post(f"{API}/ideas", json={"topic": "music", "vibe": "calm", "n": 3}).json()
    assert again["freshness"]["worker_running"] is True
    assert any("collected in the background" in note for note in again["notes"])
    status = ideas_client.get(f"{API}/collections/{run_id}", headers=alice.headers).json()
    assert status["status"] == "queued" and status["counts"]["query"] == "music"
    mine = ideas_client.get(f"{API}/queries", headers=alice.headers).json()
    assert mine["total"] == 1 and mine["items"][0]["ideas"] == result["ideas"]
    bad = ideas_client.post(f"{API}/ideas", json={"topic": "music", "shorts": "sometimes"})
    assert bad.status_code == 422 and "shorts" in bad.text
    bob = make_user(db_settings, "bob@example.com")
    assert ideas_client.get(f"{API}/queries", headers=bob.headers).json()["total"] == 0
    assert ideas_client.get(f"{API}/collections/{run_id}", headers=bob.headers).status_code == 404  # alice's
    assert ideas_client.get(f"{API}/collections/{run_id}").status_code == 404
    assert ideas_client.get(f"{API}/collections/999999").status_code == 404


@ENCODERS
def test_ideas_are_forecast_for_the_creators_channel_size(ideas_client: TestClient) -> None:
    """Without a subscriber count the ideas are forecast for the model's typical channel, and a note says so; with
    one, for that channel: the same ideas, lower for a small channel, never lower for a bigger one."""
    ask = {"topic": "music", "vibe": "hype", "n": 3}
    typical = ideas_client.post(f"{API}/ideas", json=ask).json()
    assert typical["channel_subscribers"] is None and any("no subscriber count given" in n for n in typical["notes"])
    sized = {}
    for subs in ("800", "12k", "2M"):
        body = ideas_client.post(f"{API}/ideas", json={**ask, "channel_subscribers": subs}).json()
        assert body["channel_subscribers"] == {"800": 800, "12k": 12_000, "2M": 2_000_000}[subs]
        assert not any("no subscriber count given" in n for n in body["notes"]) and not body["cached"]
        sized[subs] = {i["title"]: i["prediction"]["views"]["30d"]["p50"] for i in body["ideas"]}
        shown = [v[q] for i in body["ideas"] for v in i["prediction"]["views"].values() for q in ("p10", "p50", "p90")]
        assert all(round(v, 1) == v for v in shown)  # rounded as /predict rounds them
    assert set(sized["800"]) == set(sized["2M"])  # the same ideas, scored for another channel
    for title, small in sized["800"].items():
        assert small <= sized["12k"][title] <= sized["2M"][title] and small < sized["2M"][title], title
    assert ideas_client.post(f"{API}/ideas", json={**ask, "channel_subscribers": "800"}).json()["cached"]
    bad = ideas_client.post(f"{API}/ideas", json={**ask, "channel_subscribers": "lots"})
    assert bad.status_code == 422 and "channel_subscribers" in bad.text
    misspelt = ideas_client.post(f"{API}/ideas", json={**ask, "subscribers": "800"})  # the web form's field name
    assert misspelt.status_code == 422 and "body.subscribers" in misspelt.text  # not ideas for a typical channel


@ENCODERS
def test_ideas_say_how_accurate_their_forecasts_are_as_predict_does(ideas_client: TestClient) -> None:
    """An idea's forecast carries the sentence a draft's does (the ideas showed numbers with no word on how far off
    such forecasts were), and the viral chance's meaning."""
    body = ideas_client.post(f"{API}/ideas", json={"topic": "music", "n": 2, "channel_subscribers": "12k"}).json()
    idea = body["ideas"][0]
    asked = {"title": idea["title"], "channel_subscribers": 12_000}
    draft = ideas_client.post(f"{API}/predict", json=asked).json()["prediction"]
    assert idea["prediction"]["accuracy"] and idea["prediction"]["accuracy"] == draft["accuracy"]
    assert idea["prediction"]["viral_definition"] == draft["viral_definition"]


@ENCODERS
def test_ideas_json_on_the_command_line_is_the_apis_answer(
    ideas_client: TestClient, db_settings: Settings, encoder_cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`miles ideas --json` printed the service's dict without the API's `"ok": true` (nor its shape)."""
    from typer.testing import CliRunner

    from miles.cli.main import app
    from miles.config import get_settings

    monkeypatch.setenv("MILES_DATA_DIR", str(db_settings.data_dir))
    monkeypatch.setenv("MILES_DATABASE_URL", db_settings.database_url)
    monkeypatch.setenv("MILES_CACHE_DIR", str(encoder_cache_dir))
    get_settings.cache_clear()
    try:
        run = CliRunner().invoke(app, ["ideas", "music", "--vibe", "hype", "-n", "3", "--json"], catch_exceptions=False)
    finally:
        get_settings.cache_clear()
    assert run.exit_code == 0, run.output
    cli = json.loads(run.stdout)
    api = ideas_client.post(f"{API}/ideas", json={"topic": "music", "vibe": "hype", "n": 3}).json()
    assert cli["ok"] is True and list(cli) == list(api)  # the same fields, in the same order
    assert cli["ideas"] == api["ideas"] and cli["outliers"] == api["outliers"]
