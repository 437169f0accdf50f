"""Re-poll schedules with a controllable clock, and `poll_due` building a trajectory."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from tests.collect.fakeydl import fake_factory, load_fixture
from tests.jobs.conftest import T0, make_collector

from miles.config import Settings
from miles.errors import InvalidInput, NotFound, SourceUnavailable
from miles.jobs.track import add_tracking, poll_due
from miles.store.db import session_scope
from miles.store.repos import tracking, users
from miles.store.repos.users import create_user
from miles.store.tables import TrackedVideo, VideoSnapshot

SCHEDULE = [1.0, 3.0, 6.0, 24.0, 72.0, 168.0]
H = timedelta(hours=1)


def _row(settings: Settings, video_id: str = "v1") -> TrackedVideo:
    with session_scope(settings) as s:
        row = s.scalar(select(TrackedVideo).where(TrackedVideo.video_id == video_id))
        assert row is not None
        s.expunge(row)
        return row


def test_schedule_due_times_follow_the_clock(db_settings: Settings) -> None:
    with session_scope(db_settings) as s:
        tracking.schedule_video(session=s, video_id="v1", url="u", now=T0, schedule_h=SCHEDULE)
    with session_scope(db_settings) as s:
        assert tracking.due(session=s, now=T0 + timedelta(minutes=59)) == []
        assert [r.video_id for r in tracking.due(session=s, now=T0 + H)] == ["v1"]
        tracking.mark_polled(session=s, video_id="v1", now=T0 + H, schedule_h=SCHEDULE)
    assert _row(db_settings).next_poll_at == T0 + 3 * H
    with session_scope(db_settings) as s:  # a worker that was down for a day polls once, then waits for +72 h
        tracking.mark_polled(session=s, video_id="v1", now=T0 + 30 * H, schedule_h=SCHEDULE)
    row = _row(db_settings)
    assert (row.next_poll_at, row.poll_index, row.active) == (T0 + 72 * H, 4, True)
    with session_scope(db_settings) as s:
        tracking.mark_polled(session=s, video_id="v1", now=T0 + 72 * H, schedule_h=SCHEDULE)
        tracking.mark_polled(session=s, video_id="v1", now=T0 + 168 * H, schedule_h=SCHEDULE)
    row = _row(db_settings)
    assert (row.active, row.next_poll_at) == (False, None)


def test_errors_retry_or_stop(db_settings: Settings) -> None:
    with session_scope(db_settings) as s:
        tracking.schedule_video(session=s, video_id="v1", url="u", now=T0, schedule_h=SCHEDULE)
        tracking.schedule_video(session=s, video_id="v2", url="u2", now=T0, schedule_h=SCHEDULE)
    with session_scope(db_settings) as s:
        tracking.mark_polled(session=s, video_id="v1", now=T0 + H, schedule_h=SCHEDULE, error="429", transient=True)
        tracking.mark_polled(session=s, video_id="v2", now=T0 + H, schedule_h=SCHEDULE, error="removed")
    v1, v2 = _row(db_settings, "v1"), _row(db_settings, "v2")
    assert (v1.active, v1.next_poll_at, v1.last_error) == (True, T0 + H + timedelta(minutes=15), "429")
    assert (v2.active, v2.next_poll_at, v2.last_error) == (False, None, "removed")


def _growing_video(views: list[int], clock: list[Any]) -> Any:
    """A stand-in for the live site: each poll sees more views, captured at the test clock's time."""

    def respond() -> dict[str, Any]:
        info = load_fixture("video_pasta000001.json")
        info["view_count"] = views.pop(0)
        info["epoch"] = int(clock[0].timestamp())
        return info

    return respond


def test_track_add_then_poll_due_builds_a_trajectory(db_settings: Settings) -> None:
    clock = [T0]
    url = "https://www.youtube.com/watch?v=pAsTa000001"
    factory = fake_factory({url: _growing_video([100, 900, 4000], clock)})
    collector = make_collector(db_settings, ydl_factory=factory, clock=lambda: clock[0])
    with session_scope(db_settings) as s:
        user_id = create_user(session=s, email="maker@example.com", password="pw-long-enough-123").id
    row, created = add_tracking("https://youtu.be/pAsTa000001", collector=collector, user_email="maker@example.com")
    assert created and row.user_id == user_id and row.next_poll_at == T0 + H
    assert poll_due(collector=collector, now=T0 + 30 * timedelta(minutes=1)).due == 0
    clock[0] = T0 + H
    report = poll_due(collector=collector, now=clock[0])
    assert (report.due, report.counts.updated, report.counts.snapshots) == (1, 1, 1)
    clock[0] = T0 + 3 * H
    poll_due(collector=collector, now=clock[0])
    with session_scope(db_settings) as s:
        views = [v for (v,) in s.execute(select(VideoSnapshot.views).order_by(VideoSnapshot.captured_at))]
    assert views == [100, 900, 4000]
    assert _row(db_settings, "pAsTa000001").next_poll_at == T0 + 6 * H
    again, created = add_tracking(
        url,
        collector=make_collector(db_settings, ydl_factory=fake_factory({url: _growing_video([5000], clock)})),
        user_email="maker@example.com",
    )
    assert not created and again.id == row.id


def test_track_add_of_a_video_already_tracked_answers_with_its_row_without_reading_it_again(
    db_settings: Settings,
) -> None:
    """`miles track add VIDEO_ID --user X` twice downloaded the video again (and failed if it had since gone)."""
    calls: list[str] = []
    url = "https://www.youtube.com/watch?v=pAsTa000001"
    collector = make_collector(db_settings, ydl_factory=fake_factory({url: "video_pasta000001.json"}, calls))
    with session_scope(db_settings) as s:
        create_user(session=s, email="again@example.com", password="pw-long-enough-123")
    row, created = add_tracking("pAsTa000001", collector=collector, user_email="again@example.com")  # a bare id
    assert created and row.url == url and calls == [url]
    for given in ("pAsTa000001", "https://youtube.com/shorts/pAsTa000001"):
        again, created = add_tracking(given, collector=collector, user_email="again@example.com")
        assert (again.id, created) == (row.id, False)
    assert calls == [url]  # read once, when it was added
    mine, created = add_tracking(url, collector=collector)  # Miles' own tracking of it is another row
    assert created and mine.id != row.id and calls == [url, url]


def test_track_add_errors_are_clear(sqlite_settings: Settings) -> None:
    url = "https://www.youtube.com/watch?v=cHeF0000003"
    collector = make_collector(
        sqlite_settings, retries=0, ydl_factory=fake_factory({url: "video_chef0000003_unavailable.json"})
    )
    with pytest.raises(InvalidInput, match=r"cannot track .*Video unavailable"):
        add_tracking(url, collector=collector)
    with pytest.raises(NotFound, match="no user with e-mail"):
        add_tracking(url, collector=collector, user_email="nobody@example.com")


def test_track_add_without_a_network_says_so_in_words(sqlite_settings: Settings) -> None:
    """yt-dlp's own text named a Python exception two levels deep ("... (caused by TransportError(...))")."""
    from yt_dlp.networking.exceptions import TransportError
    from yt_dlp.utils import DownloadError

    url = "https://www.youtube.com/watch?v=cHeF0000003"
    offline = DownloadError("ERROR: [youtube] cHeF0000003: Unable to download API page: HTTPSConnection(host="
                            "'www.youtube.com', port=443): Failed to resolve (caused by TransportError('no dns'))",
                            exc_info=(TransportError, TransportError("no dns"), None))  # fmt: skip
    collector = make_collector(sqlite_settings, retries=0, ydl_factory=fake_factory({url: offline}))
    with pytest.raises(SourceUnavailable) as caught:
        add_tracking(url, collector=collector)
    message = caught.value.message
    assert message.startswith(f"cannot track {url}: the site could not be reached (no network, or it is down); "
                              "nothing was tracked: try again later (")  # fmt: skip
    assert "caused by" not in message and caught.value.expected


def test_two_requests_tracking_one_video_at_once_end_with_one_row(db_settings: Settings) -> None:
    """A double click: the second transaction looks before the first commits, then its insert meets the first's row
    (uq_tracked_user_video). It was a 500; now it answers with the first's row."""
    with session_scope(db_settings) as s:
        user_id = create_user(session=s, email="double@example.com", password="a-long-password").id
    results: list[tuple[int, bool]] = []

    def second() -> None:
        with session_scope(db_settings) as s:
            users.set_current_user(session=s, user_id=user_id)
            row, created = tracking.schedule_video(
                session=s, video_id="v1", url="u", now=T0, schedule_h=SCHEDULE, user_id=user_id
            )
            results.append((row.id, created))

    with session_scope(db_settings) as s:
        users.set_current_user(session=s, user_id=user_id)
        first, created = tracking.schedule_video(
            session=s, video_id="v1", url="u", now=T0, schedule_h=SCHEDULE, user_id=user_id
        )
        assert created
        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(0.5)  # the second transaction has looked (nothing) and waits on the unique index
        first_id = first.id
    thread.join(timeout=30)
    assert results == [(first_id, False)]
