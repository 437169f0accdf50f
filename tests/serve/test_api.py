"""Each route and its errors through TestClient, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from tests.serve.conftest import ENCODERS, ApiUser, png_bytes, serving

from miles.config import Settings
from miles.jobs.collect import records_frame
from miles.model.predict import HORIZONS_H, Predictor, packaged_default_dir
from miles.serve.app import create_app
from miles.serve.deps import get_predictor
from miles.serve.services.predict import horizon_label
from miles.serve.services.thumbnails import content_hash
from miles.store import migrate
from miles.store.db import session_scope
from miles.store.repos.predictions import inputs_hash
from miles.store.repos.snapshots import ingest_frame
from miles.store.tables import PredictionRecord

API = "/api/v1"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def seed_videos(settings: Settings) -> None:
    """Three uploads of channel C1 (each with snapshots at ~1 h, ~24 h and ~7 d) and one of C2."""
    rows = []
    for i, (vid, title) in enumerate(
        [("vidA", "Cheap pasta hack"), ("vidB", "Pasta in 60 seconds"), ("vidC", "Knife skills")]
    ):
        pub = T0 + timedelta(days=10 * i)
        for age_h, views in ((1, 100 * (i + 1)), (24, 1000 * (i + 1)), (168, 5000 * (i + 1))):
            rows.append(
                {
                    "video_id": vid,
                    "channel_id": "C1",
                    "title": title,
                    "category_id": 26,
                    "published_at": pub,
                    "captured_at": pub + timedelta(hours=age_h),
                    "views": views,
                    "channel_subscribers": 10_000,
                }
            )
    rows.append(
        {
            "video_id": "vidD",
            "channel_id": "C2",
            "title": "Gaming pasta",
            "category_id": 20,
            "published_at": T0 + timedelta(days=40),
            "captured_at": T0 + timedelta(days=41),
            "views": 7,
            "channel_subscribers": None,
        }
    )
    frame, rejected = records_frame([{**r, "source": "test"} for r in rows], where="seed videos")
    assert not rejected, rejected
    with session_scope(settings) as session:
        ingest_frame(session=session, frame=frame)


def test_health_reports_database_and_model(client: TestClient) -> None:
    body = client.get(f"{API}/health").json()
    assert body["ok"] is True
    assert body["database"] == {
        "ok": True,
        "revision": migrate.head_revision(client.app.state.settings),
        "migrated": True,
    }
    assert body["model"]["state"] == "not_loaded"


def test_health_is_503_while_the_database_is_not_migrated(client: TestClient, db_settings: Settings) -> None:
    """A health check that reads the status alone (compose's) saw an unmigrated store as healthy."""
    settings = db_settings  # the tables' owner, as `miles db downgrade` runs
    migrate.downgrade(settings)
    try:
        behind = client.get(f"{API}/health")
    finally:
        migrate.upgrade(settings)
    assert behind.status_code == 503 and behind.json()["ok"] is False
    assert behind.json()["database"]["migrated"] is False
    assert client.get(f"{API}/health").status_code == 200


def test_without_a_model_predict_and_model_are_503_with_a_clear_message(app: FastAPI, client: TestClient) -> None:
    """``app`` serves from an empty model directory: the loader refuses it and says which directory and why."""
    empty = str(app.state.settings.model_dir)
    for response in (client.post(f"{API}/predict", json={"title": "Hello"}), client.get(f"{API}/model")):
        assert response.status_code == 503
        error = response.json()["error"]
        assert error["code"] == "model_not_ready"
        assert empty in error["message"] and "not a model artifact" in error["message"], error
    model = client.get(f"{API}/health").json()["model"]
    assert model["state"] == "unavailable" and empty in model["message"]


def test_validation_errors_come_before_model_availability(client: TestClient) -> None:
    response = client.post(f"{API}/predict", json={"title": "", "duration_s": -1, "variants": [{"label": "x"}]})
    assert response.status_code == 422
    body = response.json()
    assert body["ok"] is False and body["error"]["code"] == "invalid_input"
    fields = {d["field"] for d in body["error"]["details"]}
    assert {"body.title", "body.duration_s", "body.variants[0]"} <= fields


def test_unknown_route_wrong_method_and_bad_json_use_the_envelope(client: TestClient) -> None:
    nf = client.get(f"{API}/nope")
    assert nf.status_code == 404 and nf.json()["error"]["code"] == "not_found"
    assert nf.json()["error"]["message"] == "nothing at GET /api/v1/nope; the API's routes are listed at /docs"
    na = client.put(f"{API}/predict", json={})
    assert na.status_code == 405 and na.json()["error"]["code"] == "method_not_allowed"
    bad = client.post(f"{API}/predict", content=b"{not json", headers={"content-type": "application/json"})
    assert bad.status_code == 422 and bad.json()["ok"] is False
    extra = client.post(f"{API}/predict", json={"title": "x", "views": 10})
    assert extra.status_code == 422
    assert extra.json()["error"]["details"][0]["field"] == "body.views"


def test_unexpected_errors_are_500_without_a_traceback(app: FastAPI) -> None:
    def broken() -> None:
        raise RuntimeError("secret internals /etc/passwd")

    app.dependency_overrides[get_predictor] = lambda: broken
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.post(f"{API}/predict", json={"title": "x"})
    assert response.status_code == 500
    body = response.json()
    assert body == {
        "ok": False,
        "error": {"code": "internal_error", "message": body["error"]["message"], "details": None},
    }
    assert "secret" not in response.text and "Traceback" not in response.text


def assert_sane(pred: dict[str, Any]) -> None:
    """What every prediction of any retrained model must satisfy."""
    hours = [h["horizon_h"] for h in pred["horizons"]]
    assert hours == sorted(set(hours)) and set(hours) <= set(HORIZONS_H), hours
    assert [h["label"] for h in pred["horizons"]] == [horizon_label(h) for h in hours]
    assert all(0 <= h["p10"] <= h["p50"] <= h["p90"] for h in pred["horizons"]), pred["horizons"]
    p50s = [h["p50"] for h in pred["horizons"]]
    assert p50s == sorted(p50s), f"views must not fall with age: {p50s}"
    assert 0 <= pred["viral_probability"] <= 1
    assert pred["model_version"] and "title" in pred["inputs_used"]
    weights = [abs(c["contribution"]) for c in pred["top_contributions"]]
    # reasons: the level's channel size / usual views and the trees' effects where cross-source validation gave them
    # weight; a draft with nothing that sets it apart from a typical channel's ordinary upload has none
    assert weights == sorted(weights, reverse=True)


def stored(settings: Settings, prediction_id: int) -> PredictionRecord:
    with session_scope(settings) as session:
        row = session.get(PredictionRecord, prediction_id)
        assert row is not None
        session.expunge(row)
        return row


@ENCODERS
def test_predict_returns_horizons_probability_and_reasons_and_is_stored(
    predictor_client: TestClient, db_settings: Settings, real_predictor: Predictor
) -> None:
    draft = {"title": "My best pasta", "duration_s": 30, "channel_subscribers": 5000, "tags": ["#food", " pasta "]}
    response = predictor_client.post(f"{API}/predict", json=draft)
    assert response.status_code == 200, response.text
    body = response.json()
    pred = body["prediction"]
    assert_sane(pred)
    assert pred["mode"] == "prepublish" and pred["model_version"] == real_predictor.version
    assert {"title", "duration_s", "channel_subscribers", "tags"} <= set(pred["inputs_used"])
    assert not {"thumbnail", "early_views", "description"} & set(pred["inputs_used"])
    assert {1.0, 24.0, 168.0} <= {h["horizon_h"] for h in pred["horizons"]}
    assert pred["outlier"] is None and body["variants"] == []  # no channel_id: no channel history to compare with
    assert "channels of 1k–10k subscribers" in pred["accuracy"] and "8 of 10 videos" in pred["accuracy"]
    assert pred["viral_definition"].startswith("the chance this video")
    row = stored(db_settings, body["prediction_id"])
    assert row.user_id is None and row.model_version == real_predictor.version
    assert row.inputs["tags"] == ["food", "pasta"]
    assert row.inputs_hash == inputs_hash(row.inputs)
    assert row.outputs["prediction"] == pred


@ENCODERS
def test_more_subscribers_and_titles_change_the_prediction(predictor_client: TestClient) -> None:
    """The model reads its inputs: the same draft on a far bigger channel is predicted more views."""
    small, big = (
        predictor_client.post(f"{API}/predict", json={"title": "My best pasta", "channel_subscribers": subs}).json()
        for subs in (100, 5_000_000)
    )
    assert big["prediction"]["horizons"][-1]["p50"] > small["prediction"]["horizons"][-1]["p50"]


@ENCODERS
def test_early_views_switch_mode(predictor_client: TestClient, db_settings: Settings) -> None:
    draft = {"title": "Live", "publish_at": "2026-01-01T10:00:00", "early_views": [{"age_h": 2, "views": 900}]}
    body = predictor_client.post(f"{API}/predict", json=draft).json()
    pred = body["prediction"]
    assert pred["mode"] == "early" and {"early_views", "publish_at"} <= set(pred["inputs_used"])
    assert_sane(pred)
    # Predictions never fall below the views already observed.
    assert all(h["horizon_h"] > 2 and h["p10"] >= 900 for h in pred["horizons"]), pred["horizons"]
    row = stored(db_settings, body["prediction_id"])
    assert row.inputs["publish_at"] == "2026-01-01T10:00:00" and row.inputs["early_views"] == [
        {"age_h": 2.0, "views": 900}
    ]
    # the text the Score page's box and `miles predict --early-views` take ("Input should be a valid list" before)
    typed = predictor_client.post(f"{API}/predict", json={**draft, "early_views": "2:900"}).json()["prediction"]
    assert typed["horizons"] == pred["horizons"]
    bad = predictor_client.post(f"{API}/predict", json={**draft, "early_views": "1:150, 900"})
    assert bad.status_code == 422 and "'900' is not AGE:VIEWS" in bad.text and "valid list" not in bad.text
    prepublish = predictor_client.post(f"{API}/predict", json={**draft, "early_views": []}).json()["prediction"]
    assert prepublish["mode"] == "prepublish" and "early_views" not in prepublish["inputs_used"]
    falling = [{"age_h": 1, "views": 50}, {"age_h": 6, "views": 20}]  # a count never falls: refused, nothing stored
    refused = predictor_client.post(f"{API}/predict", json={**draft, "early_views": falling})
    assert refused.status_code == 422 and "views fall from 50 at 1 h to 20 at 6 h" in refused.text, refused.text
    twice = [{"age_h": 1, "views": 50}, {"age_h": 1, "views": 50}]  # one age, one reading (even the same count)
    refused = predictor_client.post(f"{API}/predict", json={**draft, "early_views": twice})
    assert refused.status_code == 422 and "two early views at 1 h; give each age once" in refused.text, refused.text
    late = {**draft, "early_views": [{"age_h": 40 * 24, "views": 3000}]}  # views known past every horizon
    gone = predictor_client.post(f"{API}/predict", json=late)
    assert gone.status_code == 422 and "leaves no horizon to forecast" in gone.text, gone.text
    assert gone.json()["error"]["details"][0]["field"] == "body.early_views"  # the field, as every 422 names it
    five_hours_ago = (datetime.now(UTC) - timedelta(hours=5)).isoformat()  # a reading at 9 h is 4 h in the future
    soon = predictor_client.post(f"{API}/predict", json={**draft, "publish_at": five_hours_ago,
                                                          "early_views": [{"age_h": 9, "views": 50}]})  # fmt: skip
    assert soon.status_code == 422 and "the reading at 9 h after publishing lies in the future" in soon.text


@ENCODERS
def test_variants_are_scored_and_ranked_by_predicted_views(predictor_client: TestClient) -> None:
    draft = {
        "title": "Hi",
        "duration_s": 30,
        "variants": [{"label": "long title", "title": "A much longer and more descriptive title"}, {"duration_s": 90}],
    }
    body = predictor_client.post(f"{API}/predict", json=draft).json()
    variants = body["variants"]
    assert [v["rank"] for v in variants] == [1, 2, 3]
    assert {v["label"] for v in variants} == {"long title", "draft", "variant 2"}
    p50s = [v["prediction"]["horizons"][-1]["p50"] for v in variants]
    assert p50s == sorted(p50s, reverse=True)
    by_label = {v["label"]: v for v in variants}
    assert by_label["long title"]["changes"] == {"title": "A much longer and more descriptive title"}
    assert by_label["variant 2"]["changes"] == {"duration_s": 90}
    assert by_label["draft"]["prediction"] == body["prediction"]
    for v in variants:
        assert_sane(v["prediction"])


@ENCODERS
def test_outlier_multiple_when_the_channel_is_known(predictor_client: TestClient, db_settings: Settings) -> None:
    seed_videos(db_settings)
    known = {
        "title": "Pasta again",
        "channel_id": "C1",
        "channel_subscribers": 10_000,
        "publish_at": "2026-03-01T00:00:00Z",
    }
    pred = predictor_client.post(f"{API}/predict", json=known).json()["prediction"]
    outlier = pred["outlier"]
    assert outlier is not None and outlier["horizon_h"] == 168 and outlier["channel_videos"] == 3
    assert outlier["channel_median_views"] == pytest.approx(10_000)  # median of 5000, 10000, 15000 at 7 days
    seven_day = next(h["p50"] for h in pred["horizons"] if h["horizon_h"] == 168)
    assert all(round(h[q], 1) == h[q] for h in pred["horizons"] for q in ("p10", "p50", "p90"))  # not 35.13188642793597
    assert round(pred["viral_probability"], 4) == pred["viral_probability"]
    # as labels.outlier_multiples (the p50 shown is rounded to 0.1 view)
    assert outlier["multiple"] == pytest.approx((1 + seven_day) / (1 + 10_000), abs=1e-5)
    # Only uploads published before the draft count: none before 2026-01-01.
    early = {**known, "publish_at": "2025-12-01T00:00:00Z"}
    assert predictor_client.post(f"{API}/predict", json=early).json()["prediction"]["outlier"] is None
    unknown = {**known, "channel_id": "C-unknown"}
    assert predictor_client.post(f"{API}/predict", json=unknown).json()["prediction"]["outlier"] is None


@ENCODERS
def test_batch_scores_in_order_and_respects_the_limit(db_settings: Settings, real_predictor: Predictor) -> None:
    app = serving(create_app(db_settings.model_copy(update={"batch_max_items": 3})), real_predictor)
    with TestClient(app) as client:
        items = [
            {"title": title, "channel_subscribers": subs, "publish_at": "2026-06-01T12:00:00Z"}
            for title, subs in (("Video one", 100), ("Second video, longer title", 2_000_000), ("Third", 30_000))
        ]
        body = client.post(f"{API}/predict/batch", json={"items": items}).json()
        assert body["count"] == 3
        # In input order: each result is what the same draft gets alone.
        for item, result in zip(items, body["results"], strict=True):
            assert stored(db_settings, result["prediction_id"]).inputs["title"] == item["title"]
            alone = client.post(f"{API}/predict", json=item).json()["prediction"]
            assert [h["p50"] for h in result["prediction"]["horizons"]] == pytest.approx(
                [h["p50"] for h in alone["horizons"]], rel=1e-3
            )
        too_many = client.post(f"{API}/predict/batch", json={"items": [*items, items[0]]})
        assert too_many.status_code == 422 and "batch limit of 3" in too_many.json()["error"]["message"]
        empty = client.post(f"{API}/predict/batch", json={"items": []})
        assert empty.status_code == 422 and empty.json()["error"]["details"][0]["field"] == "body.items"


@ENCODERS
def test_thumbnail_as_base64_and_as_upload(predictor_client: TestClient, db_settings: Settings) -> None:
    image = png_bytes()
    b64 = base64.b64encode(image).decode()
    r1 = predictor_client.post(
        f"{API}/predict", json={"title": "t", "thumbnail_base64": f"data:image/png;base64,{b64}"}
    )
    # the default model checks and stores a thumbnail but does not use it (see its card), and says so honestly
    assert r1.status_code == 200 and "thumbnail" not in r1.json()["prediction"]["inputs_used"]
    echoed = r1.json()["prediction"]["draft"]["thumbnail"]
    assert echoed["status"] == "given" and "does not use thumbnails yet" in echoed["note"], echoed
    assert stored(db_settings, r1.json()["prediction_id"]).inputs["thumbnail_sha256"] == content_hash(image)
    r2 = predictor_client.post(
        f"{API}/predict/upload", data={"draft": '{"title": "t"}'}, files={"thumbnail": ("t.png", image, "image/png")}
    )
    assert r2.status_code == 200, r2.text
    assert r2.status_code == 200 and "thumbnail" not in r2.json()["prediction"]["inputs_used"]
    assert stored(db_settings, r2.json()["prediction_id"]).inputs["thumbnail_sha256"] == content_hash(image)
    bare = predictor_client.post(f"{API}/predict/upload", data={"draft": '{"title": "t"}'})
    assert bare.status_code == 200 and "thumbnail" not in bare.json()["prediction"]["inputs_used"]
    bad_draft = predictor_client.post(f"{API}/predict/upload", data={"draft": '{"title": 5}'})
    assert bad_draft.status_code == 422
    assert bad_draft.json()["error"]["details"][0]["field"] == "body.draft.title"
    not_json = predictor_client.post(f"{API}/predict/upload", data={"draft": "{title: 5}"})
    assert not_json.status_code == 422  # one position, said once ("... column 2 at line 1, column 1")
    assert not_json.json()["error"]["message"] == (
        "body.draft is not valid JSON: key must be a string at line 1 column 2"
    ), not_json.text
    both = predictor_client.post(
        f"{API}/predict/upload",
        data={"draft": json.dumps({"title": "t", "thumbnail_url": "https://i.ytimg.com/x.jpg"})},
        files={"thumbnail": ("t.png", image, "image/png")},
    )  # refused before the URL is fetched, as the JSON route refuses two thumbnails
    assert both.status_code == 422 and "either as a file or in the draft, not both" in both.text


@ENCODERS
def test_thumbnail_url_must_be_on_the_allow_list(predictor_client: TestClient) -> None:
    for url in ("http://127.0.0.1:8000/x.jpg", "https://evil.example/x.jpg", "file:///etc/passwd"):
        response = predictor_client.post(f"{API}/predict", json={"title": "t", "thumbnail_url": url})
        assert response.status_code == 422, url
        error = response.json()["error"]
        assert error["code"] == "fetch_refused" and error["message"].startswith("body.thumbnail_url: refused")


@ENCODERS
def test_anonymous_access_follows_the_setting(
    db_settings: Settings, real_predictor: Predictor, user_factory: Callable[[str], ApiUser]
) -> None:
    app = serving(create_app(db_settings.model_copy(update={"allow_anonymous": False})), real_predictor)
    alice = user_factory("alice@example.com")
    with TestClient(app) as client:
        anonymous = client.post(f"{API}/predict", json={"title": "t"})
        assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "unauthorized"
        assert client.get(f"{API}/videos").status_code == 401
        assert client.post(f"{API}/predict", json={"title": "t"}, headers=alice.headers).status_code == 200
        assert client.get(f"{API}/health").status_code == 200


@ENCODERS
def test_the_app_loads_the_packaged_model_itself(
    db_settings: Settings, encoder_cache_dir: Path, real_predictor: Predictor
) -> None:
    """No injection: the PredictorHolder finds the packaged default (encoders already built in the session cache)."""
    app = create_app(db_settings.model_copy(update={"cache_dir": encoder_cache_dir}))
    with TestClient(app) as client:
        assert client.get(f"{API}/health").json()["model"]["state"] == "not_loaded"
        response = client.post(f"{API}/predict", json={"title": "How I cook rice in 30 seconds"})
        assert response.status_code == 200, response.text
        assert response.json()["prediction"]["model_version"] == real_predictor.version
        model = client.get(f"{API}/health").json()["model"]
        assert model["state"] == "loaded" and model["version"] == real_predictor.version
        card = client.get(f"{API}/model").json()
        assert card["version"] == real_predictor.version and card["origin"] == "packaged default"
        private = str(packaged_default_dir())  # the server's directories are nobody's business
        assert private not in client.get(f"{API}/model").text and private not in client.get(f"{API}/health").text
        assert model["origin"] == "packaged default"
        assert card["metrics"] and card["model_card"]
        manifest = card["manifest"]  # a bundle: its record, then each task's features and training data
        assert manifest["version"] == real_predictor.version and set(manifest["tasks"]) == {"prepublish", "early"}
        assert "log_subscribers" in manifest["tasks"]["prepublish"]["features"]
        assert manifest["tasks"]["early"]["training"]["rows"] > 0


def test_bad_revoked_and_malformed_keys_are_401(
    client: TestClient, db_settings: Settings, user_factory: Callable[[str], ApiUser]
) -> None:
    alice = user_factory("alice@example.com")
    assert client.get(f"{API}/history", headers=alice.headers).status_code == 200
    for header in ("Bearer miles_wrong", "Basic abc", "Bearer ", alice.key):
        response = client.get(f"{API}/history", headers={"Authorization": header})
        assert response.status_code == 401, header
    from miles.store.repos import users

    with session_scope(db_settings) as session:
        users.revoke_api_key(
            session=session,
            user_id=alice.user_id,
            key_id=users.list_api_keys(session=session, user_id=alice.user_id)[0].id,
        )
    assert client.get(f"{API}/history", headers=alice.headers).status_code == 401


def test_the_api_takes_the_key_in_either_header_mcp_over_http_takes(
    db_settings: Settings, user_factory: Callable[[str], ApiUser]
) -> None:
    """MCP over HTTP took ``X-API-Key: <key>`` as well as ``Authorization: Bearer <key>``; the REST API read only
    the second, so the same key sent the MCP way was anonymous there (its own data: 401)."""
    alice, bob = user_factory("alice@example.com"), user_factory("bob@example.com")
    with TestClient(create_app(db_settings.model_copy(update={"allow_anonymous": False}))) as client:
        added = client.post(f"{API}/tracked", json={"url": "dQw4w9WgXcQ"}, headers={"X-API-Key": alice.key})
        assert added.status_code in (200, 201), added.text
        for headers in ({"X-API-Key": alice.key}, {"x-api-key": f" {alice.key} "}, alice.headers):
            mine = client.get(f"{API}/tracked", headers=headers)
            assert mine.status_code == 200 and mine.json()["total"] == 1, headers  # alice's, whichever header
        assert client.get(f"{API}/tracked", headers={"X-API-Key": bob.key}).json()["total"] == 0  # bob's own
        assert client.get(f"{API}/videos", headers={"X-API-Key": bob.key}).status_code == 200  # anonymous is off
        wrong = client.get(f"{API}/history", headers={"X-API-Key": "miles_wrong"})
        assert wrong.status_code == 401 and "unknown or revoked" in wrong.json()["error"]["message"]
        none = client.get(f"{API}/videos", headers={"X-API-Key": " "})  # a blank header is no key
        assert none.status_code == 401 and "X-API-Key: <key>" in none.json()["error"]["message"]


@ENCODERS
def test_history_lists_the_callers_predictions(
    predictor_client: TestClient, user_factory: Callable[[str], ApiUser], real_predictor: Predictor
) -> None:
    alice = user_factory("alice@example.com")
    for i in range(3):
        predictor_client.post(f"{API}/predict", json={"title": f"Draft {i}"}, headers=alice.headers)
    page = predictor_client.get(f"{API}/history", params={"limit": 2}, headers=alice.headers).json()
    assert page["total"] == 3 and page["next_offset"] == 2
    assert [item["inputs"]["title"] for item in page["items"]] == ["Draft 2", "Draft 1"]
    assert page["items"][0]["outputs"]["prediction"]["model_version"] == real_predictor.version
    rest = predictor_client.get(f"{API}/history", params={"offset": 2}, headers=alice.headers).json()
    assert [i["inputs"]["title"] for i in rest["items"]] == ["Draft 0"] and rest["next_offset"] is None


def test_videos_search_filters_and_pagination(client: TestClient, db_settings: Settings) -> None:
    seed_videos(db_settings)
    page = client.get(f"{API}/videos", params={"q": "pasta"}).json()
    assert page["total"] == 3
    assert [v["id"] for v in page["items"]] == ["vidD", "vidB", "vidA"]
    assert page["items"][1]["latest_views"] == 10_000
    assert client.get(f"{API}/videos", params={"q": "pasta", "category_id": 26}).json()["total"] == 2
    dated = client.get(f"{API}/videos", params={"published_from": "2026-01-05T00:00:00Z", "published_to": "2026-02-01"})
    assert [v["id"] for v in dated.json()["items"]] == ["vidC", "vidB"]
    assert client.get(f"{API}/videos", params={"channel_id": "C2"}).json()["total"] == 1
    first = client.get(f"{API}/videos", params={"limit": 3}).json()
    second = client.get(f"{API}/videos", params={"limit": 3, "offset": first["next_offset"]}).json()
    assert first["total"] == 4 and first["next_offset"] == 3 and second["next_offset"] is None
    assert {v["id"] for v in first["items"]} | {v["id"] for v in second["items"]} == {"vidA", "vidB", "vidC", "vidD"}
    # Search syntax in user input is treated as words, never as a query language.
    assert client.get(f"{API}/videos", params={"q": 'pasta" OR "knife'}).status_code == 200
    assert client.get(f"{API}/videos", params={"limit": 1000}).status_code == 422


@pytest.mark.parametrize(
    ("start", "end"),
    [("2026-02-01", "2026-01-01"), ("2026-01-05T12:00:00+02:00", "2026-01-05T10:00:00Z")],  # later; the same instant
)
def test_a_published_range_that_ends_before_it_starts_is_a_422_naming_both(
    client: TestClient, db_settings: Settings, start: str, end: str
) -> None:
    """`published_from` later than `published_to` answered 0 videos, as if nothing had been published."""
    seed_videos(db_settings)
    answer = client.get(f"{API}/videos", params={"published_from": start, "published_to": end})
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert [d["field"] for d in error["details"]] == ["query.published_from", "query.published_to"]
    assert error["message"].startswith("query.published_from, query.published_to: published_from (")
    assert "is not before published_to (" in error["message"] and "nothing can match" in error["message"]
    assert [d["message"] for d in error["details"]] == [error["message"].partition(": ")[2]] * 2


def test_video_detail_has_snapshots_with_ages(client: TestClient, db_settings: Settings) -> None:
    seed_videos(db_settings)
    body = client.get(f"{API}/videos/vidB").json()
    assert body["video"]["title"] == "Pasta in 60 seconds"
    assert [(s["age_h"], s["views"]) for s in body["snapshots"]] == [(1.0, 200), (24.0, 2000), (168.0, 10_000)]
    missing = client.get(f"{API}/videos/zzz")
    assert missing.status_code == 404 and "zzz" in missing.json()["error"]["message"]


def seed_channel(settings: Settings, channel_id: str, views_at_week: float, *, subscribers: int = 7_600) -> datetime:
    """40 earlier uploads of one channel, each seen at 1 h, 1 d, 7 d and 30 d; returns the next upload's time."""
    rows = []
    publish = T0 + timedelta(days=130)
    for i in range(40):
        pub = publish - timedelta(days=3 * (i + 1))
        for age_h in (1, 24, 168, 720):
            if pub + timedelta(hours=age_h) < publish:
                rows.append({"video_id": f"{channel_id}-{i}", "channel_id": channel_id, "title": f"Upload {i}",
                             "published_at": pub, "captured_at": pub + timedelta(hours=age_h),
                             "views": round(views_at_week * (age_h / 168) ** 0.3), "channel_subscribers": subscribers,
                             "source": "test"})  # fmt: skip
    frame, rejected = records_frame(rows, where=f"channel {channel_id}")
    assert not rejected, rejected
    with session_scope(settings) as session:
        ingest_frame(session=session, frame=frame)
    return publish


@ENCODERS
def test_the_creators_channel_history_moves_the_forecast(predictor_client: TestClient, db_settings: Settings) -> None:
    """Two channels of the same size: one whose uploads get ~80,000 views, one whose get ~60 (issue 13)."""
    publish = seed_channel(db_settings, "UChits", 80_000)
    seed_channel(db_settings, "UCquiet", 60)
    draft = {"title": "How I fixed my slow laptop in 5 minutes", "duration_s": 35, "publish_at": publish.isoformat()}
    got = {}
    for channel in ("UChits", "UCquiet"):
        response = predictor_client.post(f"{API}/predict", json={**draft, "channel_id": channel})
        assert response.status_code == 200, response.text
        pred = response.json()["prediction"]
        assert_sane(pred)
        assert "channel_history" in pred["inputs_used"] and "channel_subscribers" in pred["inputs_used"]
        assert pred["channel_history"]["channel_id"] == channel and pred["channel_history"]["uploads"] == 40
        got[channel] = {h["horizon_h"]: h["p50"] for h in pred["horizons"]}
    for horizon in (24.0, 168.0):
        assert got["UChits"][horizon] >= 10 * got["UCquiet"][horizon], got
    unknown = predictor_client.post(f"{API}/predict", json={**draft, "channel_id": "UCnobody"}).json()["prediction"]
    assert unknown["channel_history"] is None and "channel_history" not in unknown["inputs_used"]


HITS, QUIET = "UChits00000000000000000a", "UCquiet0000000000000000a"  # channel ids as YouTube spells them


@ENCODERS
def test_the_channel_field_takes_an_id_or_a_url_and_names_the_history(
    predictor_client: TestClient, db_settings: Settings
) -> None:
    """The same two-channel case through ``channel`` (not ``channel_id``): an id and a Shorts-tab URL both resolve,
    blank subscribers are read from the channel's snapshots, and the response names the history (issue 13)."""
    publish = seed_channel(db_settings, HITS, 80_000)
    seed_channel(db_settings, QUIET, 60)
    draft = {"title": "How I fixed my slow laptop in 5 minutes", "duration_s": 35, "publish_at": publish.isoformat()}
    got = {}
    for channel in (HITS, f"https://www.youtube.com/channel/{QUIET}/shorts"):
        response = predictor_client.post(f"{API}/predict", json={**draft, "channel": channel})
        assert response.status_code == 200, response.text
        pred = response.json()["prediction"]
        history = pred["channel_history"]
        assert history["channel_id"] in (HITS, QUIET) and history["uploads"] == 40
        assert history["first_published"] < history["last_published"] < publish.isoformat()
        assert {"channel_history", "channel_subscribers"} <= set(pred["inputs_used"])
        assert pred["channel_note"] is None and pred["channel_collection_run_id"] is None
        got[history["channel_id"]] = {h["horizon_h"]: h["p50"] for h in pred["horizons"]}
    ratio = got[HITS][168.0] / got[QUIET][168.0]
    assert ratio >= 10, (ratio, got)


@ENCODERS
def test_an_unknown_channel_is_queued_for_collection_and_used_once_collected(
    predictor_client: TestClient, db_settings: Settings
) -> None:
    """Web and API never collect inside a request: an unknown @handle is queued for the worker (the response says
    so and gives the run), the worker's collection maps the handle to the channel it found, the next forecast
    uses that channel's uploads."""
    from tests.collect.fakeydl import fake_factory
    from tests.jobs.conftest import make_collector

    from miles.collect.ytdlp import YouTubeChannel
    from miles.jobs.tasks import run_request

    draft = {"title": "Knife skills in 20 s", "duration_s": 20, "channel": "@miles_kitchen"}
    first = predictor_client.post(f"{API}/predict", json=draft).json()["prediction"]
    run_id = first["channel_collection_run_id"]
    assert first["channel_history"] is None and "channel_history" not in first["inputs_used"]
    assert run_id and f"run {run_id}" in first["channel_note"] and "queued for collection" in first["channel_note"]
    assert "nothing is collecting now" in first["channel_note"]  # no worker ran here: no "score again once…"
    again = predictor_client.post(f"{API}/predict", json=draft).json()["prediction"]
    assert again["channel_collection_run_id"] == run_id  # one queued request per channel
    token = first["channel_collection_token"]  # anonymous: the owner token shows the status
    assert token and f"token={token}" in first["channel_note"]
    assert predictor_client.get(f"{API}/collections/{run_id}").status_code == 404
    status = predictor_client.get(f"{API}/collections/{run_id}", params={"token": token}).json()
    assert status["status"] == "queued" and status["counts"]["query"] == "https://www.youtube.com/@miles_kitchen"
    recorded = {url.replace("@chefmiles", "@miles_kitchen"): name
                for url, name in YouTubeChannel.EXAMPLES[0].responses.items()}  # fmt: skip
    done = run_request(run_id, status["counts"]["query"], collector=make_collector(
        db_settings, ydl_factory=fake_factory(recorded)))  # fmt: skip
    assert done["status"] in {"ok", "partial"} and done["channel_id"] == "UCchefmiles0000000000000"
    after = predictor_client.post(f"{API}/predict", json=draft).json()["prediction"]
    assert after["channel_history"]["channel_id"] == "UCchefmiles0000000000000"
    assert after["channel_history"]["uploads"] == 2 and "channel_history" in after["inputs_used"]
    assert "channel_subscribers" in after["inputs_used"]  # 48,200, read from the collected snapshots
    assert after["channel_collection_run_id"] is None


@ENCODERS
def test_a_channel_that_is_not_a_channel_is_a_clear_error(predictor_client: TestClient) -> None:
    response = predictor_client.post(f"{API}/predict", json={"title": "Hello", "channel": "https://example.org/me"})
    assert response.status_code == 422, response.text
    assert "channel" in response.json()["error"]["message"]
    bare = predictor_client.post(f"{API}/predict", json={"title": "Hello", "channel": "somechannel"}).json()
    note = bare["prediction"]["channel_note"]  # an id Miles does not know and cannot collect from
    assert "does not know" in note and bare["prediction"]["channel_collection_run_id"] is None


@ENCODERS
def test_a_blank_title_is_refused_in_plain_words(predictor_client: TestClient) -> None:
    for title in ("", "   "):
        refused = predictor_client.post(f"{API}/predict", json={"title": title})
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["details"][0] == {
            "field": "body.title", "message": "is empty: type the title you plan to post", "type": "invalid_input"
        }  # fmt: skip  # the words of the Score form and `miles predict` (miles.inputs.parse_title)
        assert "String should have" not in refused.text


def test_model_origin_names_the_source_not_the_directory(tmp_path: Path) -> None:
    from miles.serve.services.model import model_origin

    settings = Settings(data_dir=tmp_path, model_dir=tmp_path / "mine")
    assert model_origin(settings, tmp_path / "mine") == "MILES_MODEL_DIR"
    assert model_origin(Settings(data_dir=tmp_path), packaged_default_dir()) == "packaged default"
    assert model_origin(Settings(data_dir=tmp_path), tmp_path / "models" / "v1").startswith("promoted")
    assert model_origin(settings, None) is None


def test_subscriber_counts_blank_or_past_the_biggest_channels_are_refused_clearly(client: TestClient) -> None:
    cases = (("", "is empty: leave the field out (or null)"), ("10000000000", "is more than 1,000,000,000"),
             (10**10, "10000000000 is more than 1,000,000,000"), (-3, "-3 is negative; give the channel's"),
             (2e9, "2000000000 is more than"), (1.5, "1.5 is not a whole number"))  # fmt: skip  # not pydantic's
    for value, problem in cases:
        response = client.post(f"{API}/predict", json={"title": "Hello", "channel_subscribers": value})
        assert response.status_code == 422, response.text
        detail = response.json()["error"]["details"][0]
        assert detail["field"] == "body.channel_subscribers" and problem in detail["message"], detail
    ideas = client.post(f"{API}/ideas", json={"topic": "bread", "channel_subscribers": "2e12"})
    assert ideas.status_code == 422 and "channel_subscribers" in ideas.text
