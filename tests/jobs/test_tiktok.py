"""TikTok examples replayed through the collector, tracking and the store (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from tests.collect.fakeydl import fake_factory, load_fixture
from tests.jobs.conftest import T0, make_collector

from miles.collect.tiktok import TikTokHashtag, TikTokUser
from miles.config import Settings
from miles.errors import InvalidInput
from miles.jobs.collect import collect
from miles.jobs.track import add_tracking, poll_due
from miles.store.db import session_scope
from miles.store.tables import Channel, ChannelSnapshot, TrackedVideo, Video, VideoSnapshot

H = timedelta(hours=1)
VIDEO = "https://www.tiktok.com/@chefmiles.tt/video/7451234567890123456"


def test_user_and_hashtag_examples_collect_into_the_store(db_settings: Settings) -> None:
    user, tag = TikTokUser.EXAMPLES[0], TikTokHashtag.EXAMPLES[0]
    calls: list[str] = []
    collector = make_collector(
        db_settings, retries=0, ydl_factory=fake_factory({**user.responses, **tag.responses}, calls)
    )
    report = collect([user.target, tag.target], collector=collector, job="collect_tiktok", limit=10)
    counts = report.as_dict()
    assert (counts["found"], counts["new"], counts["snapshots"]) == (5, 4, 4), counts
    assert counts["failed"] == {"unavailable": 1} and report.status == "partial"
    # listed videos carry their counts: only the incomplete entry costs a second request
    assert calls == [user.target, tag.target, "https://www.tiktok.com/@chefmiles.tt/video/7451234567890123458"]
    # covers are on tiktokcdn.com, which the test policy (127.0.0.1 only) refuses: nothing leaves the machine
    assert counts["thumbnails_failed"] == {"refused": 4}
    with session_scope(db_settings) as s:
        videos = {v.id: v for v in s.scalars(select(Video))}
        assert {v.platform for v in videos.values()} == {"tiktok"}
        first = videos["7451234567890123456"]
        assert first.channel_id == "7012345678901234567" and first.tags == ["pasta", "pastatok", "easyrecipe", "fyp"]
        assert first.source == "ytdlp:tiktok_user" and first.duration_s == 34.0
        assert first.thumbnail_url is not None and "tiktokcdn.com" in first.thumbnail_url
        channels = {c.id: c for c in s.scalars(select(Channel))}
        assert channels["7012345678901234567"].platform == "tiktok"
        assert channels["7012345678901234567"].title == "chefmiles.tt"
        assert channels["6800000000000000001"].title == "nonna.rosa"
        snaps = {sn.video_id: sn for sn in s.scalars(select(VideoSnapshot))}
        assert snaps["7459000000000000001"].views == 1_204_000 and snaps["7459000000000000001"].comments == 2_140
        tracked = {t.video_id: t.url for t in s.scalars(select(TrackedVideo))}
        assert tracked["7459000000000000002"] == "https://www.tiktok.com/@_/video/7459000000000000002"


def _growing(views: list[int], clock: list[Any]) -> Any:
    def respond() -> dict[str, Any]:
        info = load_fixture("tiktok_video_7451234567890123456.json")
        info["view_count"] = views.pop(0)
        info["epoch"] = int(clock[0].timestamp())
        return info

    return respond


@pytest.mark.parametrize("given", [VIDEO + "?is_from_webapp=1&sender_device=pc", "https://vm.tiktok.com/ZMhQx7AbC/"])
def test_track_add_tiktok_then_poll_builds_a_trajectory(db_settings: Settings, given: str) -> None:
    clock = [T0]
    views = [5_000, 21_000, 64_000]
    responder = _growing(views, clock)
    factory = fake_factory({VIDEO: responder, "https://vm.tiktok.com/ZMhQx7AbC/": responder})
    collector = make_collector(db_settings, ydl_factory=factory, clock=lambda: clock[0])
    row, created = add_tracking(given, collector=collector)
    assert created and row.video_id == "7451234567890123456"
    assert row.url == VIDEO  # the canonical address, also for a short link (followed by yt-dlp)
    for hours in (1, 3):
        clock[0] = T0 + hours * H
        report = poll_due(collector=collector, now=clock[0])
        assert (report.due, report.counts.snapshots) == (1, 1), report.as_dict()
    with session_scope(db_settings) as s:
        got = [v for (v,) in s.execute(select(VideoSnapshot.views).order_by(VideoSnapshot.captured_at))]
        assert s.get(Video, "7451234567890123456").platform == "tiktok"  # type: ignore[union-attr]
        assert s.scalars(select(ChannelSnapshot)).all() == []  # yt-dlp reports no follower count for TikTok
    assert got == [5_000, 21_000, 64_000]


def test_track_add_refuses_an_unavailable_tiktok_video(sqlite_settings: Settings) -> None:
    url = "https://www.tiktok.com/@chefmiles.tt/video/7451234567890123458"
    collector = make_collector(
        sqlite_settings, retries=0, ydl_factory=fake_factory({url: "tiktok_video_7451234567890123458_unavailable.json"})
    )
    with pytest.raises(InvalidInput, match=r"cannot track .*status code 10204"):
        add_tracking(url, collector=collector)
