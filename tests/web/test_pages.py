"""The pages' JSON twins (same URL + ``.json``, same data function), accounts, CSRF, and errors on pages."""

from __future__ import annotations

import html
import io
import re

from fastapi.testclient import TestClient
from PIL import Image
from tests.web.conftest import NICHE_VIDEOS, csrf, niche_frame, sign_up

from miles.config import Settings
from miles.domain import utcnow
from miles.jobs.tasks import mark_worker_alive
from miles.serve.app import create_app
from miles.store.db import session_scope
from miles.store.repos.jobs import start_run
from miles.store.repos.snapshots import ingest_frame


def png(size: tuple[int, int] = (320, 180)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (220, 120, 30)).save(buf, format="PNG")
    return buf.getvalue()


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_pages_that_show_your_own_data_need_a_login(web: TestClient) -> None:
    for path in ("/history", "/track", "/keys"):
        page = web.get(path, follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"] == f"/login?next=%2F{path[1:]}"
        twin = web.get(f"{path}.json")
        assert twin.status_code == 401 and twin.json()["ok"] is False
        assert "log in" in twin.json()["error"]["message"]


def test_sign_up_log_out_and_log_in(web: TestClient) -> None:
    sign_up(web, "cook@example.com")
    assert web.get("/login.json").json()["user"]["email"] == "cook@example.com"
    assert "cook@example.com" in web.get("/").text
    out = web.post("/logout", data={"csrf_token": csrf(web)}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"].startswith("/login")
    assert web.get("/login.json").json()["user"] is None
    wrong = web.post(
        "/login", data={"email": "cook@example.com", "password": "nope-nope-nope", "csrf_token": csrf(web)}
    )
    assert wrong.status_code == 401 and "e-mail or password is wrong" in wrong.text
    good = web.post(
        "/login",
        data={"email": "cook@example.com", "password": "a-long-password", "csrf_token": csrf(web), "next": "/track"},
        follow_redirects=False,
    )
    assert good.status_code == 303 and good.headers["location"] == "/track"
    assert web.get("/login.json").json()["user"]["email"] == "cook@example.com"


def test_sign_up_errors_are_shown_on_the_form(web: TestClient) -> None:
    token = csrf(web)
    short = web.post(
        "/signup", data={"email": "a@example.com", "password": "short", "confirm": "short", "csrf_token": token}
    )
    assert short.status_code == 422 and "at least 10 characters" in short.text
    differ = web.post(
        "/signup",
        data={
            "email": "a@example.com",
            "password": "a-long-password",
            "confirm": "b-long-password",
            "csrf_token": token,
        },
    )
    assert differ.status_code == 422 and "passwords differ" in differ.text


def test_form_posts_without_the_csrf_token_are_refused(web: TestClient) -> None:
    csrf(web)  # the browser has a session cookie, but the form below does not carry its token
    refused = web.post(
        "/signup",
        data={
            "email": "x@example.com",
            "password": "a-long-password",
            "confirm": "a-long-password",
            "csrf_token": "forged",
        },
    )
    assert refused.status_code == 403 and "CSRF" in refused.text
    assert web.post("/login.json", data={}).status_code in (404, 405)  # twins of form posts are read-only


def test_external_next_targets_are_ignored(web: TestClient) -> None:
    token = csrf(web)
    response = web.post(
        "/signup",
        data={
            "email": "n@example.com",
            "password": "a-long-password",
            "confirm": "a-long-password",
            "csrf_token": token,
            "next": "//evil.example.com/",
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/"


def test_session_cookie_is_httponly_and_samesite_lax(web: TestClient) -> None:
    cookie = web.get("/").headers["set-cookie"]
    assert "miles_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")


def test_api_accepts_the_session_cookie_but_writes_need_the_csrf_header(web: TestClient) -> None:
    token = sign_up(web)
    assert web.get("/api/v1/history").status_code == 200
    anonymous_write = web.post("/api/v1/tracked", json={"url": "sourdough01"})
    assert anonymous_write.status_code == 401
    write = web.post("/api/v1/tracked", json={"url": "sourdough01"}, headers={"X-CSRF-Token": token})
    assert write.status_code == 201


def test_score_twin_returns_what_the_page_shows_and_lands_in_history(web: TestClient) -> None:
    token = sign_up(web)
    form = {
        "title": "Sourdough in 60 seconds",
        "duration_s": "45",
        "subscribers": "2000",
        "tags": "bread, baking",
        "alt_title": "Why is my sourdough dense?",
        "alt_hour": "9",
        "alt_duration": "20",
    }
    twin = web.post(
        "/score.json", data=form, files={"thumbnail": ("t.png", png(), "image/png")}, headers={"X-CSRF-Token": token}
    )
    assert twin.status_code == 200, twin.text
    result = twin.json()["result"]
    horizons = result["prediction"]["horizons"]
    assert len(horizons) >= 3 and all(h["p10"] <= h["p50"] <= h["p90"] for h in horizons)
    assert "thumbnail" not in result["prediction"]["inputs_used"] and twin.json()["thumbnail_unused"] is True
    assert [v["rank"] for v in result["variants"]] == [1, 2, 3, 4]
    assert {v["label"] for v in result["variants"]} >= {"draft", "posted at 09:00 UTC", "duration: 0:20"}
    page = web.post("/score", data={**form, "csrf_token": token}, headers={"HX-Request": "true"})
    shown = text_of(page.text)
    assert "Forecast" in shown and "What drove it" in shown and "What if…" in shown
    assert 'class="chart" data-figure=' in page.text
    from miles.model.predict import effect_multiple

    medians = {tuple(round(h["p50"], 6) for h in v["prediction"]["horizons"]) for v in result["variants"]}
    assert twin.json()["variants_alike"] == (len(medians) == 1)  # title, length and hour moved nothing: said so
    assert ("Every version gets the same forecast" in shown) == (len(medians) == 1)
    ranked = '<th scope="col" role="columnheader">Rank</th>' in page.text
    assert ("What if… ranked" in shown) == ranked == (len(medians) > 1)
    last = horizons[-1]  # each version's range is in the table: the medians alone hid what does differ
    assert f"80 % range at {last['label']}" in shown
    assert re.search(r'<td class="range"[^>]*>[^<]+–[^<]+</td>', page.text), "no range cell in the What if table"
    assert result["prediction"]["top_contributions"]  # 2,000 subscribers: a smaller channel than the typical one
    for c in result["prediction"]["top_contributions"]:  # each reason as the factor it multiplies the views by
        assert f"{c['label']} {effect_multiple(c['contribution'])}" in shown, c
    history = web.get("/history.json").json()
    assert history["predictions"]["total"] == 2
    assert history["predictions"]["items"][0]["title"] == "Sourdough in 60 seconds"
    assert history["predictions"]["items"][1]["had_thumbnail"] is True
    assert "Sourdough in 60 seconds" in web.get("/history").text


def test_score_form_errors_name_the_field(web: TestClient) -> None:
    token = csrf(web)
    bad = web.post(
        "/score", data={"title": "x", "duration_s": "long", "csrf_token": token}, headers={"HX-Request": "true"}
    )
    assert bad.status_code == 422 and "duration" in bad.text and "error-box" in bad.text
    not_image = web.post(
        "/score", data={"title": "x", "csrf_token": token}, files={"thumbnail": ("t.png", b"not an image", "image/png")}
    )
    assert not_image.status_code == 422 and "thumbnail" in not_image.text


def test_score_page_says_when_the_model_is_not_ready(sqlite_settings: Settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    empty = tmp_path / "no-model"
    empty.mkdir()
    with TestClient(create_app(sqlite_settings.model_copy(update={"model_dir": empty}))) as client:
        token = csrf(client)
        response = client.post("/score", data={"title": "Bread", "csrf_token": token}, headers={"HX-Request": "true"})
        assert response.status_code == 503 and "The model is not ready" in response.text
        assert client.get("/model.json").json()["available"] is False
        assert "The model is not ready" in client.get("/model").text


def test_explore_twin_counts_the_videos_behind_each_chart(web: TestClient) -> None:
    data = web.get("/explore.json", params={"topic": "sourdough"}).json()
    assert data["videos"] == NICHE_VIDEOS
    assert data["counts"]["views_by_age"] == NICHE_VIDEOS
    # a channel's first upload has no earlier one to compare with: no multiple, so not on the multiple charts
    measured = [p for p in data["points"] if p["multiple"] is not None]
    assert 0 < len(measured) < NICHE_VIDEOS and data["counts"]["duration_vs_multiple"] == len(measured)
    assert sum(h["count"] for h in data["by_hour"]) == data["counts"]["posting_hours"] == len(measured)
    # trusted first, then the flagged ones, then those of unknown basis; each part by multiple
    ranks = [(not t["trusted"], t["multiple"] is None, -(t["multiple"] or 0.0)) for t in data["top"]]
    assert ranks == sorted(ranks) and all(isinstance(t["trusted"], bool) for t in data["top"])
    below = [p for p in measured if p["multiple"] <= 1.0]  # not outliers: the best at 0.84x was listed as one
    assert below and all(t["multiple"] > 1.0 for t in data["top"] if t["multiple"] is not None)
    page = web.get("/explore", params={"topic": "sourdough"}).text
    assert f"{NICHE_VIDEOS} videos" in page and page.count('class="chart"') == 3
    first = data["top"][0]  # an old video's views read at "2 days" read as trending now: its date is beside them
    assert f'published <span class="nowrap">{first["published_at"][:10]}</span></span>' in page
    empty = web.get("/explore.json", params={"topic": "zzzunknowntopic"}).json()
    assert empty["videos"] == 0 and "No stored videos match" in web.get("/explore?topic=zzzunknowntopic").text


def test_model_twin_shows_metrics_beside_baselines(web: TestClient) -> None:
    data = web.get("/model.json").json()
    assert data["available"] is True and data["version"]
    task = data["tasks"][0]
    rows = task["reports"]["headline"]["rows"]
    assert any(r["is_model"] for r in rows) and any(not r["is_model"] for r in rows)
    assert task["training"]["rows"] > 0
    page = text_of(web.get("/model").text)
    assert "Metrics beside the baselines" in page and "(baseline)" in page and "Training data" in page
    assert data["plain_words"] and "In plain words" in page and "How far off it usually is." in page  # as MCP has
    assert "What it does not know" not in data["unknowns"]  # the box has its own heading: not a second one inside
    assert "hits by selection" in page  # the test fold's viral rate is explained, not left to contradict "top 20 %"


def test_track_twin_shows_snapshots_and_a_forecast_band(web: TestClient) -> None:
    token = sign_up(web)
    assert web.get("/track.json").json()["items"] == []
    assert "not tracking any videos yet" in web.get("/track").text
    added = web.post(
        "/track",
        data={"url": "https://www.youtube.com/shorts/sourdough20", "csrf_token": token},
        follow_redirects=False,
    )
    assert added.status_code == 303
    web.post("/track", data={"url": "https://youtu.be/AAAAAAAAAAA", "csrf_token": token})
    items = {i["video_id"]: i for i in web.get("/track.json").json()["items"]}
    known, waiting = items["sourdough20"], items["AAAAAAAAAAA"]
    assert len(known["snapshots"]) == 3 and known["forecast"]["mode"] == "early"
    assert waiting["snapshots"] == [] and waiting["forecast"] is None
    assert "miles track run" in web.get("/track").text
    assert known["linked_prediction_id"] is None and known["prepublish_forecast"]["mode"] == "prepublish"
    form = {"title": "Sourdough in 20 seconds", "duration_s": "20", "subscribers": "2000"}
    draft = web.post("/score.json", data=form, headers={"X-CSRF-Token": token}).json()["result"]
    pid = draft["prediction_id"]
    linked = web.post(f"/history/{pid}/link", data={"video": "sourdough20", "csrf_token": token})
    assert linked.status_code in (200, 303), linked.text
    now = {i["video_id"]: i for i in web.get("/track.json").json()["items"]}["sourdough20"]
    assert now["linked_prediction_id"] == pid  # compared with the creator's own forecast, for their channel size
    assert now["prepublish_forecast"]["horizons"] == draft["prediction"]["horizons"]
    assert now["forecast_check"]["forecast_p50"] != known["forecast_check"]["forecast_p50"]
    assert f"your scored draft #{pid}" in web.get("/track").text
    bad = web.post("/track", data={"url": "https://example.com/video", "csrf_token": token})
    assert bad.status_code == 422 and "not a YouTube video URL" in bad.text
    stop = web.post(
        f"/track/{waiting['id']}/delete", data={"csrf_token": token, "confirm": "yes"}, follow_redirects=False
    )
    assert stop.status_code == 303 and web.get("/track.json").json()["total"] == 1


def test_keys_are_shown_once_listed_and_revocable(web: TestClient) -> None:
    token = sign_up(web)
    created = web.post("/keys", data={"name": "laptop", "csrf_token": token})
    key = re.search(r'id="new-key">(miles_[^<]+)<', created.text)
    assert key, "the new key is shown once"
    listed = web.get("/keys.json").json()["keys"]
    assert [k["name"] for k in listed] == ["laptop"] and key.group(1) not in web.get("/keys").text
    bearer = {"Authorization": f"Bearer {key.group(1)}"}
    with TestClient(web.app) as other:
        assert other.get("/api/v1/history", headers=bearer).status_code == 200
        web.post(f"/keys/{listed[0]['id']}/revoke", data={"csrf_token": token, "confirm": "yes"})
        assert other.get("/api/v1/history", headers=bearer).status_code == 401
    assert web.get("/keys.json").json()["keys"][0]["active"] is False


def test_ideas_twin_and_page(web: TestClient) -> None:
    token = sign_up(web)
    assert web.get("/ideas.json").json()["result"] is None
    twin = web.post(
        "/ideas.json", data={"topic": "sourdough", "vibe": "funny", "n": "3"}, headers={"X-CSRF-Token": token}
    )
    assert twin.status_code == 200, twin.text
    result = twin.json()["result"]
    assert result["candidates"] == NICHE_VIDEOS and result["outliers"] and result["patterns"]
    assert len(result["ideas"]) == 3 and all(i["prediction"]["views"] for i in result["ideas"])
    page = web.post(
        "/ideas",
        data={"topic": "sourdough", "vibe": "funny", "n": "3", "csrf_token": token},
        headers={"HX-Request": "true"},
    )
    shown = text_of(page.text)
    assert "Outliers in this niche" in shown and "Patterns" in shown and "views" in shown
    thin = [p for p in result["patterns"] if not p["enough_data"]]  # listed once, folded: not a row each
    assert "finding" in shown or "Effect" in shown
    assert not thin or f"{len(thin)} pattern{'s' if len(thin) != 1 else ''} with too few niche videos" in shown
    assert "not enough data" not in shown
    assert "Niche:" in shown and "Topic language:" in shown and "captured" in shown and "imported (test-niche)" in shown
    assert "Short" in shown and "aged" in shown
    assert web.get("/history.json").json()["queries"]["total"] == 2
    home = web.get("/ideas").text
    assert 'name="language"' in home and 'name="shorts"' in home and 'name="include_long"' in home
    assert 'name="subscribers"' in home and "No subscriber count given" in shown  # forecast for a typical channel
    mine = web.post("/ideas", data={"topic": "sourdough", "n": "3", "subscribers": "1.2k", "csrf_token": token},
                    headers={"HX-Request": "true"})  # fmt: skip
    assert "forecast for a channel of 1,200 subscribers" in text_of(mine.text)
    assert "No subscriber count given" not in text_of(mine.text)
    assert 'name="include_ads"' in home


def test_score_this_opens_the_score_page_filled_in(web: TestClient) -> None:
    token = sign_up(web)
    page = web.post(
        "/ideas", data={"topic": "sourdough", "n": "3", "csrf_token": token}, headers={"HX-Request": "true"}
    )
    links = re.findall(r'href="(/score\?[^"]+)"', page.text)
    assert len(links) == 3
    idea = web.post("/ideas.json", data={"topic": "sourdough", "n": "3"}, headers={"X-CSRF-Token": token})
    first = idea.json()["result"]["ideas"][0]
    form = web.get(html.unescape(links[0]).replace("/score?", "/score.json?")).json()["prefill"]
    assert form["title"] == first["title"] and "description" not in form  # the hook is not a video description
    assert float(form["duration_s"]) == first["duration_s"] and "subscribers" not in form
    shown = web.get(html.unescape(links[0])).text
    assert f'value="{html.escape(first["title"], quote=True)}"' in shown
    # ideas forecast for the creator's channel are scored for it too (the link used to drop the count: 18x higher)
    mine = web.post("/ideas", data={"topic": "sourdough", "n": "3", "subscribers": "2k", "csrf_token": token},
                    headers={"HX-Request": "true"})  # fmt: skip
    link = html.unescape(re.findall(r'href="(/score\?[^"]+)"', mine.text)[0])
    assert web.get(link.replace("/score?", "/score.json?")).json()["prefill"]["subscribers"] == "2000"


def test_static_files_and_plotly_are_served_locally(web: TestClient) -> None:
    plotly = web.get("/assets/plotly.min.js")
    assert plotly.status_code == 200 and "javascript" in plotly.headers["content-type"] and len(plotly.content) > 1e6
    assert web.get("/static/miles.css").status_code == 200 and web.get("/static/miles.js").status_code == 200
    home = web.get("/").text
    assert "cdn" not in home.lower() and "/static/miles.js" in home
    icon = web.get("/favicon.ico")  # asked for whatever the page links: it was a 404 in every log
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/svg+xml" and b"<svg" in icon.content


def test_unknown_pages_get_an_html_error_and_api_keeps_json(web: TestClient) -> None:
    page = web.get("/no-such-page")
    assert page.status_code == 404 and "Not found" in page.text and "<html" in page.text
    api = web.get("/api/v1/no-such-route")
    assert api.status_code == 404 and api.json()["ok"] is False


def test_score_page_takes_the_creators_channel(web: TestClient, web_settings: Settings) -> None:
    """A channel Miles knows: the page says whose record it used; one it does not: it says it is being collected."""
    token = csrf(web)
    form = {"title": "Sourdough in 60 seconds", "duration_s": "45", "csrf_token": token}
    known = web.post("/score.json", data={**form, "channel": "UCsourdough03"})
    assert known.status_code == 200, known.text
    pred = known.json()["result"]["prediction"]
    assert pred["channel_history"]["channel_id"] == "UCsourdough03" and pred["channel_history"]["uploads"] == 5
    assert "channel_subscribers" in pred["inputs_used"]  # read from the channel's latest snapshot
    page = html.unescape(
        text_of(web.post("/score", data={**form, "channel": "UCsourdough03"}, headers={"HX-Request": "true"}).text)
    )
    assert "Used your channel's record: 5 earlier uploads" in page
    stored = pred["draft"]["channel_subscribers"]
    assert stored["status"] == "stored"  # its count is shown, and its size is not "unknown"
    assert f"subscribers {stored['value']:,} (not given: your channel's stored count on" in page
    assert "unknown size" not in page
    assert "Baker 3 Subscribe" in page and "UCsourdough03 Subscribe" not in page  # the feed shows its name
    unknown = html.unescape(
        text_of(web.post("/score", data={**form, "channel": "@new_baker"}, headers={"HX-Request": "true"}).text)
    )
    assert "does not know the channel '@new_baker'" in unknown and "queued for collection" in unknown
    assert "nothing is collecting now" in unknown and "score again" not in unknown  # no worker: no promise
    assert "give your subscriber count" in unknown  # until then a typical channel stands in for it
    with session_scope(web_settings) as session:  # a one-off `miles track run` is no worker
        start_run(session=session, job="track", now=utcnow())
    once = html.unescape(
        text_of(web.post("/score", data={**form, "channel": "@new_baker"}, headers={"HX-Request": "true"}).text)
    )
    assert "nothing is collecting now" in once
    mark_worker_alive(web_settings)  # what each job a running worker's scheduler starts does first
    form["subscribers"] = "900"
    running = html.unescape(
        text_of(web.post("/score", data={**form, "channel": "@new_baker"}, headers={"HX-Request": "true"}).text)
    )
    assert "collected in the background" in running and "score again once it has finished" in running
    assert "give your subscriber count" not in running
    bad = web.post("/score", data={**form, "channel": "https://example.org/x"}, headers={"HX-Request": "true"})
    assert bad.status_code == 422 and "channel" in bad.text


def test_recent_queries_without_an_account_say_they_are_shared(web: TestClient) -> None:
    """Visitors who are not logged in share one history: the list must not call another visitor's topics 'yours'."""
    web.post("/ideas", data={"topic": "sourdough", "n": "2", "csrf_token": csrf(web)}, headers={"HX-Request": "true"})
    anonymous = text_of(web.get("/ideas").text)
    assert "sourdough" in anonymous and "Your recent queries" not in anonymous
    assert "Everyone who is not logged in shares this list" in anonymous
    token = sign_up(web)
    web.post("/ideas", data={"topic": "kettle pasta", "n": "2", "csrf_token": token}, headers={"HX-Request": "true"})
    mine = text_of(web.get("/ideas").text)
    assert "Your recent queries" in mine and "kettle pasta" in mine and "shares this list" not in mine


def test_multiples_are_shown_with_the_digits_that_mean_something() -> None:
    from miles.serve.pages.common import _multiple

    assert [_multiple(v) for v in (0.953, 2.5, 3.44, 27.2, 10927.31, None)] == [
        "0.95×", "2.50×", "3.4×", "27×", "10,927×", "–"]  # fmt: skip


def test_explore_reads_the_niche_ideas_reads(web: TestClient, web_settings: Settings) -> None:
    """A long-form video that shares the topic's word is not in the niche, on Explore as on Ideas (Explore showed
    every full-text match: a Samsung video at 10,927x for "iphone")."""
    long_form = niche_frame().query("video_id == 'sourdough00'").assign(video_id="sdLongForm1", duration_s=1500.0)
    with session_scope(web_settings) as session:
        ingest_frame(session=session, frame=long_form)
    explore = web.get("/explore.json", params={"topic": "sourdough"}).json()
    ideas = web.post("/api/v1/ideas", json={"topic": "sourdough", "n": 1}).json()
    assert explore["videos"] == ideas["candidates"] == NICHE_VIDEOS  # the long one is left out of both
    assert "sdLongForm1" not in {p["video_id"] for p in explore["points"]}


def test_a_note_shows_code_as_code_and_escapes_the_rest() -> None:
    """Ideas notes came through as raw backticks ("start one with `miles worker`") and in lower case."""
    from miles.serve.pages.common import TEMPLATES

    note = TEMPLATES.env.filters["note"]
    assert str(note("no worker: start one with `miles worker` <b>now</b>")) == (
        "No worker: start one with <code>miles worker</code> &lt;b&gt;now&lt;/b&gt;"
    )


def test_every_page_names_its_icon_and_the_icon_is_served(web: TestClient) -> None:
    """Every page asked for /favicon.ico and got a 404."""
    assert 'rel="icon" href="/static/favicon.svg"' in web.get("/").text
    icon = web.get("/static/favicon.svg")
    assert icon.status_code == 200 and icon.text.startswith("<svg")


def test_the_score_form_takes_a_category(web: TestClient) -> None:
    """The form had no category although the API and CLI take one and it sets the viral chance's comparison."""
    token = csrf(web)
    form = {"title": "Sourdough in 60 seconds", "duration_s": "45", "subscribers": "5000", "csrf_token": token}
    page = web.get("/score").text
    assert '<select id="category_id" name="category_id"' in page and '<option value="26">Howto &amp; Style' in page
    given = web.post("/score.json", data={**form, "category_id": "26"})
    assert given.status_code == 200, given.text
    blank = web.post("/score.json", data=form).json()["result"]["prediction"]
    assert "category_id" in given.json()["result"]["prediction"]["inputs_used"]
    assert "category_id" not in blank["inputs_used"]
    bad = web.post("/score", data={**form, "category_id": "abc"})
    assert bad.status_code == 422 and "Category: &#39;abc&#39; is not a category id" in bad.text
    again = web.post("/score", data={**form, "category_id": "26", "subscribers": "-1"})
    assert again.status_code == 422 and '<option value="26" selected>' in again.text  # kept as chosen
    shown = web.post("/score", data={**form, "category_id": "26"}, headers={"HX-Request": "true"}).text
    assert "category <b>Howto &amp; Style</b>" in shown  # read as its name
    long_title = "Sourdough " * 12  # 120 characters: scored, but YouTube takes 100
    noted = web.post("/score", data={**form, "title": long_title}, headers={"HX-Request": "true"}).text
    assert "Title: 119 characters: YouTube takes at most 100, so this title cannot be posted as typed." in noted


def test_an_explore_chart_with_nothing_to_draw_says_so_in_the_page(web: TestClient, web_settings: Settings) -> None:
    """One video whose channel has no earlier upload: no multiple, so two charts have nothing to draw. Their bare
    axes said nothing, and the chart's own note overflowed a phone's width."""
    lone = (
        niche_frame()
        .query("video_id == 'sourdough00'")
        .assign(video_id="kombucha001", channel_id="UCkombucha01", title="Kombucha second ferment fizz check")
    )
    with session_scope(web_settings) as session:
        ingest_frame(session=session, frame=lone)
    data = web.get("/explore.json", params={"topic": "kombucha"}).json()
    assert data["videos"] == 1 and data["counts"]["duration_vs_multiple"] == data["counts"]["posting_hours"] == 0
    page = web.get("/explore", params={"topic": "kombucha"}).text
    assert page.count('class="chart"') == 1 and "No video here has an outlier multiple yet" in page
    assert "No video here has both a known duration and an outlier multiple" in page


def test_the_ideas_page_states_both_relevance_bars(web: TestClient) -> None:
    """The page said "cosine ≥ 0.40" while it cited a video at 0.36 (a title holding every topic word passes at
    0.30): both bars are stated."""
    page = html.unescape(web.post("/ideas", data={"topic": "sourdough", "csrf_token": sign_up(web)}).text)
    assert "cosine ≥ 0.40 (≥ 0.30 when it holds every topic word)" in page
