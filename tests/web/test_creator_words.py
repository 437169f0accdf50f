"""What a creator reads on the pages: counts that agree with their nouns, a "saved" line that is true for who is
asking, the forecast's mode in words, History rows that say how they were scored."""

from __future__ import annotations

import copy
from typing import Any

from fastapi.testclient import TestClient
from tests.web.conftest import csrf, sign_up
from tests.web.test_pages import text_of

from miles.serve.pages.common import TEMPLATES

DRAFT = {"title": "Sourdough in 60 seconds", "duration_s": "45", "channel": "UCsourdough03"}


def scored(web: TestClient, **form: str) -> dict[str, Any]:
    response = web.post("/score.json", data={**DRAFT, **form, "csrf_token": csrf(web)})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def result_text(data: dict[str, Any], **context: Any) -> str:
    """The Score page's result block rendered for ``data`` (the JSON twin's answer) as the page would."""
    html = TEMPLATES.get_template("_score_result.html").render(
        result=data["result"], figure=data["figure"], live=data["live"], current_user=None, **context
    )
    return text_of(html)


def test_a_count_of_one_reads_in_the_singular(web: TestClient) -> None:
    data = scored(web)
    one = copy.deepcopy(data)
    prediction = one["result"]["prediction"]
    prediction["outlier"] = {**(prediction.get("outlier") or {}), "multiple": 2.0, "channel_videos": 1}
    prediction["channel_history"]["uploads"] = 1
    one["live"] = {"videos": 1, "mae_log10": 0.3, "coverage_p10_p90": 1.0}
    shown = result_text(one)
    assert "vs 1 earlier upload " in shown and "record: 1 earlier upload published" in shown, shown
    assert "1 video Miles scored with this model got its views;" in shown  # "got their views" for one video
    assert "earlier uploads" not in shown and "1 videos" not in shown
    prediction["channel_history"]["uploads"] = 5
    assert "record: 5 earlier uploads published" in result_text(one)


def test_a_logged_out_forecast_says_how_to_keep_it_not_a_number_it_cannot_open(web: TestClient) -> None:
    page = web.post("/score", data={**DRAFT, "csrf_token": csrf(web)}, headers={"HX-Request": "true"}).text
    shown = text_of(page)
    assert "prediction #" not in shown and "Saved" not in shown  # "Saved (prediction #10)": nothing to open
    assert "saved in your History" in shown
    assert '<a href="/login?next=/score">log in</a>' in page and '<a href="/signup?next=/score">sign up</a>' in page


def test_a_signed_in_forecast_says_it_is_in_history_once(web: TestClient) -> None:
    sign_up(web)
    page = web.post("/score", data={**DRAFT, "csrf_token": csrf(web)}, headers={"HX-Request": "true"})
    newest = web.get("/history.json").json()["predictions"]["items"][0]["id"]
    assert "Saved in your history" in text_of(page.text)
    assert f'<a href="/history/{newest}">prediction #{newest}</a>' in page.text  # the number opens the draft
    opened = text_of(web.get(f"/history/{newest}").text)
    assert f"prediction #{newest}" in opened  # the page's header names it
    assert "Saved in your history" not in opened  # not "saved" again each time it is opened


def test_the_chart_caption_says_how_the_forecast_was_made_in_words(web: TestClient) -> None:
    before = result_text(scored(web))
    assert "Mode:" not in before and "prepublish" not in before
    assert "before publishing" in before
    early = result_text(scored(web, early_views="1:120, 6:900"))
    assert "Mode:" not in early and "from the views so far" in early


def test_the_model_and_quality_pages_speak_to_creators_and_explain_commands(web: TestClient) -> None:
    page = web.get("/model").text
    above_card = text_of(page.split('<details class="card"><summary>The full model card')[0])
    assert "short-t_i" not in above_card and "t_i <" not in above_card and "t_i table" not in above_card
    assert "under 6 h" in above_card and "by how old the views were" in above_card
    assert "No forecast of this model has been graded yet" in above_card
    assert "For whoever runs Miles: the background worker, miles worker" in above_card  # the command, explained
    quality = text_of(web.get("/quality").text)
    assert "Miles checks the new data after every collection" in quality
    assert "For whoever runs Miles" in quality and "miles quality runs them now" in quality


def test_history_rows_say_which_were_scored_from_views_and_what_the_badge_counts(web: TestClient) -> None:
    sign_up(web)
    scored(web, alt_title="Sourdough in one minute")
    scored(web, early_views="1:120, 6:900", subscribers="12k")
    page = web.get("/history").text
    rows = [text_of(r) for r in page.split("<tr>")[2:]]
    early, ranked = rows
    assert "from views so far" in early and "from views so far" not in ranked
    assert "2 versions compared" in ranked and "ranked" not in ranked
    # the same title scored twice is told apart by what it was scored with
    assert "0:45 · 12,000 subscribers" in early and "0:45" in ranked and "subscriber" not in ranked


def test_a_horizon_no_test_video_measured_is_marked_on_the_page(web: TestClient) -> None:
    """The 30-day forecast looked as sure as the 7-day one while the accuracy sentence said nobody measured it."""
    data = scored(web, subscribers="7600")
    horizons = data["result"]["prediction"]["horizons"]
    untested = [h["label"] for h in horizons if h["back_tested"] is False]
    assert untested and any(h["back_tested"] for h in horizons), horizons  # 1k-10k: measured at some ages only
    shown = result_text(data)
    assert f"Not back-tested: no test video from a channel of this size was measured at {', '.join(untested)}" in shown
    assert shown.count("not back-tested") == len(untested), shown
    blank = scored(web, channel="")  # no size given: the accuracy table's "channels of unknown size", not "this size"
    assert any(h["back_tested"] is False for h in blank["result"]["prediction"]["horizons"])  # 1 h at least
    assert "from a channel of unknown size was measured" in result_text(blank)
    stored = copy.deepcopy(data)  # a forecast stored before the field existed shows no mark and no note
    for h in stored["result"]["prediction"]["horizons"]:
        h["back_tested"] = None
    assert "back-tested" not in result_text(stored)
