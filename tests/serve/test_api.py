"""Each route and its errors through TestClient, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pandas as pd
from fastapi import FastAPI
from fastapi.testclient import TestClient
from tests.serve.conftest import ApiUser, FormulaPredictor, png_bytes, with_predictor

from miles.config import Settings
from miles.serve.app import create_app
from miles.serve.deps import get_predictor
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
    frame = pd.DataFrame(rows)
    for col in ("platform",):
        frame[col] = "youtube"
    for col in (
        "channel_title",
        "description",
        "tags",
        "duration_s",
        "likes",
        "comments",
        "thumbnail_url",
        "country",
        "source",
    ):
        frame[col] = None
    frame["source"] = "test"
    frame["published_at_is_date_only"] = False
    frame["captured_at_is_date_only"] = False
    with session_scope(settings) as session:
        ingest_frame(session=session, frame=frame)


def test_health_reports_database_and_model(client: TestClient) -> None:
    body = client.get(f"{API}/health").json()
    assert body["ok"] is True
    assert body["database"] == {"ok": True, "revision": "0003", "migrated": True}
    assert body["model"]["state"] == "not_loaded"


def test_without_a_model_predict_and_model_are_503_with_a_clear_message(client: TestClient) -> None:
    for response in (client.post(f"{API}/predict", json={"title": "Hello"}), client.get(f"{API}/model")):
        assert response.status_code == 503
        error = response.json()["error"]
        assert error["code"] == "model_not_ready"
        assert "model" in error["message"]
    assert client.get(f"{API}/health").json()["model"]["state"] == "unavailable"


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


def test_predict_returns_horizons_probability_and_reasons_and_is_stored(
    predictor_client: TestClient, db_settings: Settings
) -> None:
    """uses_formula_predictor"""
    draft = {"title": "My best pasta", "duration_s": 30, "channel_subscribers": 5000, "tags": ["#food", " pasta "]}
    response = predictor_client.post(f"{API}/predict", json=draft)
    assert response.status_code == 200, response.text
    body = response.json()
    pred = body["prediction"]
    assert pred["mode"] == "prepublish" and pred["model_version"] == "formula-test-1"
    assert [h["label"] for h in pred["horizons"]] == ["1h", "1d", "7d"]
    assert all(h["p10"] <= h["p50"] <= h["p90"] for h in pred["horizons"])
    assert 0 <= pred["viral_probability"] <= 1
    assert pred["top_contributions"][0]["feature"] == "log_subscribers"
    assert pred["outlier"] is None and body["variants"] == []
    with session_scope(db_settings) as session:
        row = session.get(PredictionRecord, body["prediction_id"])
        assert row is not None and row.user_id is None and row.model_version == "formula-test-1"
        assert row.inputs["tags"] == ["food", "pasta"]
        assert row.inputs_hash == inputs_hash(row.inputs)
        assert row.outputs["prediction"] == pred


def test_early_views_switch_mode(predictor_client: TestClient, predictor: FormulaPredictor) -> None:
    """uses_formula_predictor"""
    draft = {"title": "Live", "publish_at": "2026-01-01T10:00:00", "early_views": [{"age_h": 2, "views": 900}]}
    pred = predictor_client.post(f"{API}/predict", json=draft).json()["prediction"]
    assert pred["mode"] == "early" and "early_views" in pred["inputs_used"]
    row = predictor.calls[-1][0]
    assert row["published_at"] == datetime(2026, 1, 1, 10, tzinfo=UTC)
    assert row["early_views"] == [{"age_h": 2.0, "views": 900}]


def test_variants_are_scored_in_one_call_and_ranked(predictor_client: TestClient, predictor: FormulaPredictor) -> None:
    """uses_formula_predictor"""
    draft = {
        "title": "Hi",
        "duration_s": 30,
        "variants": [{"label": "long title", "title": "A much longer and more descriptive title"}, {"duration_s": 90}],
    }
    body = predictor_client.post(f"{API}/predict", json=draft).json()
    assert len(predictor.calls) == 1 and len(predictor.calls[0]) == 3
    ranking = [(v["rank"], v["label"]) for v in body["variants"]]
    assert ranking == [(1, "long title"), (2, "draft"), (3, "variant 2")]
    assert body["variants"][0]["changes"] == {"title": "A much longer and more descriptive title"}


def test_outlier_multiple_when_the_channel_is_known(predictor_client: TestClient, db_settings: Settings) -> None:
    """uses_formula_predictor"""
    seed_videos(db_settings)
    known = {
        "title": "Pasta again",
        "channel_id": "C1",
        "channel_subscribers": 10_000,
        "publish_at": "2026-03-01T00:00:00Z",
    }
    pred = predictor_client.post(f"{API}/predict", json=known).json()["prediction"]
    outlier = pred["outlier"]
    assert outlier["horizon_h"] == 168 and outlier["channel_videos"] == 3
    assert outlier["channel_median_views"] == 10_000  # median of 5000, 10000, 15000
    seven_day = pred["horizons"][-1]["p50"]
    assert abs(outlier["multiple"] - seven_day / 10_000) < 1e-9
    # Only uploads published before the draft count: none before 2026-01-01.
    early = {**known, "publish_at": "2025-12-01T00:00:00Z"}
    assert predictor_client.post(f"{API}/predict", json=early).json()["prediction"]["outlier"] is None


def test_batch_scores_in_order_and_respects_the_limit(db_settings: Settings, predictor: FormulaPredictor) -> None:
    """uses_formula_predictor"""
    app = with_predictor(create_app(db_settings.model_copy(update={"batch_max_items": 3})), predictor)
    with TestClient(app) as client:
        items = [{"title": f"Video {i}", "channel_subscribers": 100 * (i + 1)} for i in range(3)]
        body = client.post(f"{API}/predict/batch", json={"items": items}).json()
        assert body["count"] == 3 and len(predictor.calls) == 1
        p50s = [r["prediction"]["horizons"][0]["p50"] for r in body["results"]]
        assert p50s == sorted(p50s)
        too_many = client.post(f"{API}/predict/batch", json={"items": [*items, items[0]]})
        assert too_many.status_code == 422 and "batch limit of 3" in too_many.json()["error"]["message"]
        empty = client.post(f"{API}/predict/batch", json={"items": []})
        assert empty.status_code == 422 and empty.json()["error"]["details"][0]["field"] == "body.items"


def test_thumbnail_as_base64_and_as_upload(predictor_client: TestClient, predictor: FormulaPredictor) -> None:
    """uses_formula_predictor"""
    image = png_bytes()
    b64 = base64.b64encode(image).decode()
    r1 = predictor_client.post(
        f"{API}/predict", json={"title": "t", "thumbnail_base64": f"data:image/png;base64,{b64}"}
    )
    assert r1.status_code == 200 and "thumbnail" in r1.json()["prediction"]["inputs_used"]
    assert predictor.calls[-1][0]["thumbnail"] == image
    r2 = predictor_client.post(
        f"{API}/predict/upload", data={"draft": '{"title": "t"}'}, files={"thumbnail": ("t.png", image, "image/png")}
    )
    assert r2.status_code == 200, r2.text
    assert predictor.calls[-1][0]["thumbnail"] == image
    bad_draft = predictor_client.post(f"{API}/predict/upload", data={"draft": '{"title": 5}'})
    assert bad_draft.status_code == 422
    assert bad_draft.json()["error"]["details"][0]["field"] == "body.draft.title"


def test_thumbnail_url_must_be_on_the_allow_list(predictor_client: TestClient) -> None:
    """uses_formula_predictor"""
    for url in ("http://127.0.0.1:8000/x.jpg", "https://evil.example/x.jpg", "file:///etc/passwd"):
        response = predictor_client.post(f"{API}/predict", json={"title": "t", "thumbnail_url": url})
        assert response.status_code == 422, url
        error = response.json()["error"]
        assert error["code"] == "fetch_refused" and error["message"].startswith("body.thumbnail_url: refused")


def test_anonymous_access_follows_the_setting(
    db_settings: Settings, predictor: FormulaPredictor, user_factory: Callable[[str], ApiUser]
) -> None:
    """uses_formula_predictor"""
    app = with_predictor(create_app(db_settings.model_copy(update={"allow_anonymous": False})), predictor)
    alice = user_factory("alice@example.com")
    with TestClient(app) as client:
        anonymous = client.post(f"{API}/predict", json={"title": "t"})
        assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "unauthorized"
        assert client.get(f"{API}/videos").status_code == 401
        assert client.post(f"{API}/predict", json={"title": "t"}, headers=alice.headers).status_code == 200
        assert client.get(f"{API}/health").status_code == 200


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


def test_history_lists_the_callers_predictions(
    predictor_client: TestClient, user_factory: Callable[[str], ApiUser]
) -> None:
    """uses_formula_predictor"""
    alice = user_factory("alice@example.com")
    for i in range(3):
        predictor_client.post(f"{API}/predict", json={"title": f"Draft {i}"}, headers=alice.headers)
    page = predictor_client.get(f"{API}/history", params={"limit": 2}, headers=alice.headers).json()
    assert page["total"] == 3 and page["next_offset"] == 2
    assert [item["inputs"]["title"] for item in page["items"]] == ["Draft 2", "Draft 1"]
    assert page["items"][0]["outputs"]["prediction"]["model_version"] == "formula-test-1"
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


def test_video_detail_has_snapshots_with_ages(client: TestClient, db_settings: Settings) -> None:
    seed_videos(db_settings)
    body = client.get(f"{API}/videos/vidB").json()
    assert body["video"]["title"] == "Pasta in 60 seconds"
    assert [(s["age_h"], s["views"]) for s in body["snapshots"]] == [(1.0, 200), (24.0, 2000), (168.0, 10_000)]
    missing = client.get(f"{API}/videos/zzz")
    assert missing.status_code == 404 and "zzz" in missing.json()["error"]["message"]
