"""The draft as read (``draft`` in every result), counts and durations as people type them, clear errors for what
cannot be read, and "too close to call" on what-if rows - through the API with the packaged model."""

from __future__ import annotations

from fastapi.testclient import TestClient
from tests.serve.conftest import ENCODERS

from miles.serve.schemas import HorizonOut
from miles.serve.services.predict import too_close_to_call

API = "/api/v1"
TITLE = "How I bake bread in 90 seconds"


def predict(client: TestClient, **fields: object) -> dict:  # type: ignore[type-arg]
    response = client.post(f"{API}/predict", json={"title": TITLE, **fields})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


@ENCODERS
def test_typed_counts_and_durations_read_as_numbers_and_echoed(predictor_client: TestClient) -> None:
    typed = predict(predictor_client, channel_subscribers="12k", duration_s="1:30", publish_at="2026-12-01 17:00")
    numbers = predict(predictor_client, channel_subscribers=12000, duration_s=90, publish_at="2026-12-01T17:00:00Z")
    assert typed["prediction"]["horizons"] == numbers["prediction"]["horizons"]  # the same draft, however typed
    draft = typed["prediction"]["draft"]
    assert draft["channel_subscribers"] == {"value": 12000, "status": "given", "note": None}
    assert draft["duration_s"] == {"value": 90.0, "status": "given", "note": None}
    assert draft["publish_at"] == {"value": "2026-12-01T17:00:00+00:00", "status": "given", "note": None}
    assert draft["title"]["value"] == TITLE and draft["title"]["status"] == "given"
    assert draft["description"] == {"value": None, "status": "defaulted", "note": "none"}
    assert draft["early_views"]["status"] == "defaulted"
    assert (
        predict(predictor_client, channel_subscribers="1,200")["prediction"]["draft"]["channel_subscribers"]["value"]
        == 1200
    )


@ENCODERS
def test_blanks_are_echoed_as_defaulted_with_what_stood_in(predictor_client: TestClient) -> None:
    draft = predict(predictor_client)["prediction"]["draft"]
    publish = draft["publish_at"]
    assert publish["status"] == "defaulted" and publish["note"] == "not given: now" and publish["value"]
    subs = draft["channel_subscribers"]
    assert subs["status"] == "defaulted" and subs["value"] > 0
    assert subs["note"] == (
        f"not given: the middle-sized channel of Miles' data ({subs['value']:,} subscribers; "
        "most channels are far smaller)"
    )
    # the typical channel is what the model really used: typing that count gives the same forecast
    blank = predict(predictor_client)["prediction"]["horizons"]
    typical = predict(predictor_client, channel_subscribers=subs["value"])["prediction"]["horizons"]
    assert [h["p50"] for h in blank] == [h["p50"] for h in typical]


@ENCODERS
def test_early_views_without_a_publish_time_were_counted_now(predictor_client: TestClient) -> None:
    """A creator reading a live video's counts types them without a publish time: the latest is from now, so the
    video went up that long ago (not now, which would put its early views in the future)."""
    from datetime import UTC, datetime, timedelta

    before = datetime.now(UTC)
    got = predict(predictor_client, early_views=[{"age_h": 2, "views": 150}, {"age_h": 5, "views": 400}])
    publish = got["prediction"]["draft"]["publish_at"]
    assert (
        publish["status"] == "defaulted"
        and publish["note"] == "not given: the latest early view (5 h) is taken as counted now"
    )
    published = datetime.fromisoformat(publish["value"])
    assert (
        before - timedelta(hours=5, seconds=2)
        <= published
        <= datetime.now(UTC) - timedelta(hours=5) + timedelta(seconds=1)
    )


@ENCODERS
def test_zero_subscribers_means_zero_not_unknown(predictor_client: TestClient) -> None:
    zero = predict(predictor_client, channel_subscribers="0")["prediction"]
    blank = predict(predictor_client)["prediction"]
    note = "read as 15: the smallest channel the model has data for"  # not extrapolated below the data
    assert zero["draft"]["channel_subscribers"] == {"value": 0, "status": "given", "note": note}
    assert "channel_subscribers" in zero["inputs_used"] and "channel_subscribers" not in blank["inputs_used"]
    assert zero["horizons"][-1]["p50"] < blank["horizons"][-1]["p50"]  # 0 subscribers is a tiny channel


def test_what_cannot_be_read_is_refused_naming_field_and_text(client: TestClient) -> None:
    cases = {
        "channel_subscribers": ("12q", "'12q' is not a number (try 1200, 1,200 or 1.2k)"),
        "duration_s": ("4:00", "'4:00' is 240 s; a YouTube Short is at most 3:00 (180 s)"),
    }
    for name, (typed, message) in cases.items():
        body = client.post(f"{API}/predict", json={"title": TITLE, name: typed}).json()
        assert body["ok"] is False and body["error"]["code"] == "invalid_input"
        assert body["error"]["details"] == [{"field": f"body.{name}", "message": message, "type": "invalid_input"}]
        assert f"body.{name}: {message}" in body["error"]["message"]
    too_long = client.post(f"{API}/predict", json={"title": TITLE, "duration_s": 86_400}).json()
    assert too_long["error"]["details"][0]["field"] == "body.duration_s"
    assert too_long["error"]["details"][0]["message"] == "86400 is too long; a YouTube Short is at most 3:00 (180 s)"
    old = client.post(f"{API}/predict", json={"title": TITLE, "publish_at": "1990-01-01T00:00:00Z"}).json()
    assert "before 2005" in old["error"]["message"]
    variant = client.post(f"{API}/predict", json={"title": TITLE, "variants": [{"duration_s": "1:75"}]}).json()
    assert variant["error"]["details"][0]["field"] == "body.variants[0].duration_s"
    early = client.post(f"{API}/predict", json={"title": TITLE, "early_views": [{"age_h": 2, "views": "1.2k"}]})
    assert early.status_code != 422  # views as typed are read too (503 here: this client has no model)
    for age in ("2h", "30min", "1d", "1.5"):  # ages as AGE:VIEWS reads them on the CLI and the Score page
        typed = client.post(f"{API}/predict", json={"title": TITLE, "early_views": [{"age_h": age, "views": 9}]})
        assert typed.status_code != 422, (age, typed.text)
    for reading, field, words in (
        ({"age_h": 2, "views": -5}, "views", "-5 is negative; a count is 0 or more (e.g. 1200 or 1.2k)"),
        (
            {"age_h": -2, "views": 5},
            "age_h",
            "-2 is negative; give the time since publishing (e.g. 6, 6h, 30min or 2d)",
        ),
        (
            {"age_h": "2 hours ago", "views": 5},
            "age_h",
            "is not an age; give the time since publishing (e.g. 6, 6h, 30min or 2d)",
        ),
    ):
        body = client.post(f"{API}/predict", json={"title": TITLE, "early_views": [reading]}).json()
        assert body["error"]["details"][0]["field"] == f"body.early_views[0].{field}", body
        assert words in body["error"]["details"][0]["message"], body
    for body in ({"channel_subscribers": True}, {"duration_s": False}, {"early_views": [{"age_h": 2, "views": True}]},
                 {"early_views": [{"age_h": True, "views": 5}]}, {"category_id": True}):  # fmt: skip
        refused = client.post(f"{API}/predict", json={"title": TITLE, **body})
        assert refused.status_code == 422, body  # JSON true is not 1 subscriber, 0 seconds or 1 view
        assert "not true/false" in refused.json()["error"]["message"]


@ENCODERS
def test_batch_results_each_echo_their_draft(predictor_client: TestClient) -> None:
    items = [{"title": "Kettle pasta", "channel_subscribers": "1.2M"}, {"title": "Risotto", "duration_s": "45s"}]
    body = predictor_client.post(f"{API}/predict/batch", json={"items": items}).json()
    drafts = [r["prediction"]["draft"] for r in body["results"]]
    assert drafts[0]["channel_subscribers"]["value"] == 1_200_000 and drafts[0]["duration_s"]["status"] == "defaulted"
    assert drafts[1]["duration_s"]["value"] == 45.0 and drafts[1]["channel_subscribers"]["status"] == "defaulted"


def h(p10: float, p50: float, p90: float) -> HorizonOut:
    return HorizonOut(horizon_h=168.0, label="7d", p10=p10, p50=p50, p90=p90)


def test_too_close_to_call_rule() -> None:
    # the example: 145 vs 158 views inside a 52-561 band is a tie
    assert too_close_to_call(h(52, 158, 561), h(48, 145, 520))
    # a median three times higher than the other's lies outside its middle half: not a tie
    assert not too_close_to_call(h(52, 158, 561), h(150, 480, 1700))
    # a narrow forecast (early views) separates medians 1.5x apart
    assert not too_close_to_call(h(900, 1000, 1100), h(1400, 1500, 1600))
    assert too_close_to_call(h(100, 1000, 10_000), h(150, 1500, 15_000))  # the same medians, wide bands
    assert too_close_to_call(h(52, 158, 561), h(52, 158, 561))


@ENCODERS
def test_variants_are_marked_too_close_to_call_by_the_rule(predictor_client: TestClient) -> None:
    body = predict(
        predictor_client,
        duration_s=30,
        channel_subscribers=500,
        variants=[{"title": "How I bake bread in 90 seconds!"}, {"duration_s": 170}, {"title": "bread"}],
    )
    rows = body["variants"]
    best = HorizonOut(**rows[0]["prediction"]["horizons"][-1])
    assert rows[0]["rank"] == 1 and rows[0]["too_close_to_call"] is False
    for row in rows[1:]:
        assert row["too_close_to_call"] == too_close_to_call(best, HorizonOut(**row["prediction"]["horizons"][-1]))
    assert any(row["too_close_to_call"] for row in rows[1:])  # a punctuation mark is no real difference
    assert all(row["prediction"]["draft"]["title"]["status"] == "given" for row in rows)
