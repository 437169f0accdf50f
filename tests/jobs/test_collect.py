"""The collector stage end to end: real yt-dlp against a local site, retries, failures, dedupe, thumbnails."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select
from tests.collect.fakeydl import fake_factory
from tests.collect.localsite import LocalSite, Route, png_bytes, rss_feed, video_page
from tests.jobs.conftest import FakeSleep, make_collector

from miles.config import Settings
from miles.jobs.collect import collect
from miles.store.db import session_scope
from miles.store.tables import JobRun, RawPayload, Thumbnail, TrackedVideo, Video, VideoSnapshot


def _serve_channel(site: LocalSite) -> str:
    site.add("/thumbs/one.png", Route(body=png_bytes(48, 27, (250, 200, 0)), content_type="image/png"))
    site.add("/thumbs/two.png", Route(body=png_bytes(48, 27, (0, 0, 0)), content_type="image/png"))
    one = site.add(
        "/v/one.html",
        Route(body=video_page(site.base, title="Pasta in 30 s", views=1234, thumbnail=site.url("/thumbs/one.png"))),
    )
    two = site.add(
        "/v/two.html",
        Route(
            body=video_page(
                site.base, title="Bread hack", views=56, upload="2026-02-01", thumbnail=site.url("/thumbs/two.png")
            )
        ),
    )
    return site.add(
        "/feed.xml",
        Route(body=rss_feed("Chef Local", [("one", one), ("two", two)]), content_type="application/rss+xml"),
    )


def test_real_ytdlp_collects_a_local_channel_into_the_store(db_settings: Settings, site: LocalSite) -> None:
    feed = _serve_channel(site)
    report = collect([feed], collector=make_collector(db_settings))
    assert report.status == "ok", report.as_dict()
    assert (report.counts.found, report.counts.new, report.counts.snapshots) == (2, 2, 2)
    assert report.counts.thumbnails_stored == 2
    with session_scope(db_settings) as s:
        videos = {v.id: v for v in s.scalars(select(Video))}
        assert set(videos) == {"one", "two"}
        assert videos["one"].title == "Pasta in 30 s" and videos["one"].duration_s == 31.0
        assert videos["two"].published_at_is_date_only is False  # yt-dlp turns the date into a timestamp
        snaps = {sn.video_id: sn for sn in s.scalars(select(VideoSnapshot))}
        assert snaps["one"].views == 1234 and snaps["two"].views == 56
        assert snaps["one"].source == "ytdlp:generic"
        thumbs = list(s.scalars(select(Thumbnail)))
        assert {(t.width, t.height) for t in thumbs} == {(48, 27)}
        bright = {t.url.rsplit("/", 1)[-1]: t.stats["brightness"] for t in thumbs}
        assert bright["two.png"] == 0.0 and bright["one.png"] > 150
        assert videos["one"].thumbnail_hash in {t.content_hash for t in thumbs}
        tracked = list(s.scalars(select(TrackedVideo)))
        assert {t.video_id for t in tracked} == {"one", "two"} and all(t.user_id is None for t in tracked)
        raws = list(s.scalars(select(RawPayload)))
        assert {r.key for r in raws} == {f"listing:{feed}", site.url("/v/one.html"), site.url("/v/two.html")}
        info = json.loads(next(r.payload for r in raws if r.key.endswith("one.html")))
        assert info["view_count"] == 1234 and info["extractor"] == "generic"
        run = s.get(JobRun, report.run_id)
        assert run is not None and run.status == "ok" and run.counts["new"] == 2 and run.finished_at is not None
    again = collect([feed], collector=make_collector(db_settings))
    assert (again.counts.known_not_due, again.counts.extracted) == (2, 0)  # known and not due: not re-extracted


def test_http_429_is_retried_with_backoff_then_recorded(sqlite_settings: Settings, site: LocalSite) -> None:
    busy = site.add("/v/busy.html", Route(429, b"slow down"))
    sleep = FakeSleep()
    report = collect([busy], collector=make_collector(sqlite_settings, retries=2, sleep=sleep))
    assert site.hits["/v/busy.html"] == 3  # one try + two retries
    assert report.status == "failed" and dict(report.counts.failed) == {"listing: http_429": 1}
    assert [p for p in sleep.pauses if p >= 1.0] == [1.0, 2.0]  # exponential backoff
    with session_scope(sqlite_settings) as s:
        run = s.get(JobRun, report.run_id)
        assert run is not None and run.status == "failed" and run.counts["failed"] == {"listing: http_429": 1}
        assert run.error == "nothing could be read (listing: http_429 ×1)"  # was null: the reason in the counts alone


def test_transient_error_then_success(sqlite_settings: Settings, site: LocalSite) -> None:
    page = video_page(site.base, title="Flaky but fine", views=7)
    url = site.add("/v/flaky.html", lambda hit: Route(503) if hit < 3 else Route(body=page))
    report = collect([url], collector=make_collector(sqlite_settings, retries=3))
    assert report.status == "ok" and report.counts.new == 1
    assert site.hits["/v/flaky.html"] == 3


def test_timeouts_and_refused_connections_fail_cleanly(sqlite_settings: Settings, site: LocalSite) -> None:
    settings = sqlite_settings.model_copy(update={"fetch_timeout_s": 0.3})
    slow = site.add("/v/slow.html", Route(body=video_page(site.base, title="late", views=1), delay_s=1.0))
    report = collect([slow, "http://127.0.0.1:9/v/none.html"], collector=make_collector(settings, retries=1))
    assert dict(report.counts.failed) == {"listing: timeout": 1, "listing: network": 1}
    assert site.hits["/v/slow.html"] == 2
    assert report.status == "failed"


def test_one_bad_video_never_stops_the_run(sqlite_settings: Settings, site: LocalSite) -> None:
    good = site.add("/v/good.html", Route(body=video_page(site.base, title="good", views=10)))
    gone = site.add("/v/gone.html", Route(404))
    no_views = site.add("/v/noviews.html", Route(body=b"<html><head><title>x</title></head></html>"))
    feed = site.add("/feed.xml", Route(body=rss_feed("mixed", [("a", gone), ("b", no_views), ("c", good)])))
    report = collect([feed], collector=make_collector(sqlite_settings, retries=0))
    assert report.status == "partial"
    assert report.counts.new == 1
    assert report.counts.failed["http_404"] == 1
    assert sum(report.counts.failed.values()) == 2


def test_dedupes_across_niches_and_skips_long_videos(sqlite_settings: Settings) -> None:
    from miles.collect.ytdlp import YouTubeSearch

    responses = dict(YouTubeSearch.EXAMPLES[0].responses)
    responses["ytsearch6:garlic pasta"] = "search_pasta_flat.json"  # the same results for a second niche
    calls: list[str] = []
    collector = make_collector(sqlite_settings, retries=0, ydl_factory=fake_factory(responses, calls))
    report = collect(["pasta recipe", "garlic pasta"], collector=collector, limit=3, thumbnails=False)
    counts = report.counts
    assert (counts.found, counts.duplicates, counts.new) == (6, 3, 2)
    assert dict(counts.skipped) == {"not_a_short": 2}
    assert dict(counts.failed) == {"rejected: missing required field view_count": 1}
    assert calls.count("https://www.youtube.com/shorts/pAsTa000001") == 1  # extracted once despite two niches
    with session_scope(sqlite_settings) as s:
        assert s.scalar(select(func.count()).select_from(Video)) == 2


@pytest.mark.xdist_group("encoders")
def test_new_thumbnails_get_image_embeddings(sqlite_settings: Settings, site: LocalSite) -> None:
    from miles.model.encoders import IMAGE_DIM
    from miles.store.tables import Embedding

    feed = _serve_channel(site)
    report = collect([feed], collector=make_collector(sqlite_settings, embed_thumbnails=True))
    assert report.counts.thumbnails_stored == 2 and report.counts.thumbnails_embedded == 2
    with session_scope(sqlite_settings) as s:
        thumbs = {t.content_hash for t in s.scalars(select(Thumbnail))}
        embeddings = list(s.scalars(select(Embedding)))
        assert {e.content_hash for e in embeddings} == thumbs  # keyed like the thumbnails: sha256 of the bytes
        assert all(e.dim == IMAGE_DIM and e.encoder_id.startswith("efficientnet-lite0") for e in embeddings)
