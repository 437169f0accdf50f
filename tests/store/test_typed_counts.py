"""A view count a user types on Track is theirs alone (migration 0008, ``video_snapshots.entered_by``): on SQLite and
PostgreSQL, written as the web app writes it (PostgreSQL: the application role, under row-level security)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from miles.config import Settings
from miles.errors import InvalidInput
from miles.store.db import session_scope
from miles.store.repos import tracked, videos
from miles.store.repos.users import create_user, set_current_user

PUBLISHED = datetime.now(UTC) - timedelta(days=3)


def _users(settings: Settings, *names: str) -> tuple[Settings, list[int]]:
    """(the web app's settings, the ids of new users ``names``)."""
    with session_scope(settings) as session:
        ids = [create_user(session=session, email=f"{n}@example.com", password="a-long-password").id for n in names]
    return settings.for_app(), ids


def _track(settings: Settings, user_id: int) -> int:
    with session_scope(settings) as session:
        set_current_user(session=session, user_id=user_id)
        row = tracked.add_tracked(session=session, user_id=user_id, video_id="tYpEdViEw01",
                                     url="https://youtu.be/tYpEdViEw01", schedule_h=(1.0,))  # fmt: skip
        return row.id


def _type(settings: Settings, user_id: int, tracked_id: int, views: int, hours: float, **extra: object) -> None:
    with session_scope(settings) as session:
        set_current_user(session=session, user_id=user_id)
        tracked.record_views(session=session, user_id=user_id, tracked_id=tracked_id, views=views,
                             captured_at=PUBLISHED + timedelta(hours=hours), **extra)  # type: ignore[arg-type]  # fmt: skip


def _seen(settings: Settings, user_id: int | None) -> list[int]:
    with session_scope(settings) as session:
        set_current_user(session=session, user_id=user_id)
        found = videos.get_video(session=session, video_id="tYpEdViEw01", user_id=user_id)
        return [s.views for s in found[1]] if found else []


def test_a_typed_count_is_seen_and_checked_by_its_user_only(db_settings: Settings) -> None:
    app, (alice, bob) = _users(db_settings, "alice", "bob")
    alice_row, bob_row = _track(app, alice), _track(app, bob)
    _type(app, alice, alice_row, 50_000, 24, title="Typed only", published_at=PUBLISHED)
    assert _seen(app, alice) == [50_000] and _seen(app, bob) == [] and _seen(app, None) == []
    with pytest.raises(InvalidInput, match="title, published_at: Miles has not read this video yet"):
        _type(app, bob, bob_row, 20_000, 48)  # Alice's title and time are hers: Bob gives his own
    _type(app, bob, bob_row, 20_000, 48, title="Bob's title", published_at=PUBLISHED)
    # below Alice's count a day earlier: Bob's own series, not vetoed
    assert _seen(app, bob) == [20_000] and _seen(app, alice) == [50_000]
    with pytest.raises(InvalidInput, match="views only grow"):
        _type(app, alice, alice_row, 40_000, 30)  # her own count still binds her
    _type(app, alice, alice_row, 60_000, 48)  # the minute Bob's count holds: stored (it was refused, telling her of it)
    assert _seen(app, alice) == [50_000, 60_000] and _seen(app, bob) == [20_000]
    _type(app, alice, alice_row, 60_000, 48)  # a retry of the same count: stored once, no error
    assert _seen(app, alice) == [50_000, 60_000]
    with pytest.raises(InvalidInput, match="already stored"):
        _type(app, alice, alice_row, 70_000, 48)  # another count at her own minute: refused, not dropped


def test_views_for_an_unread_video_take_the_linked_drafts_title_and_time(db_settings: Settings) -> None:
    from miles.store.repos import predictions

    with session_scope(db_settings) as session:
        ana = create_user(session=session, email="ana@example.com", password="a-long-password").id
    app = db_settings.for_app()
    row = _track(app, ana)
    with session_scope(app) as session:
        set_current_user(session=session, user_id=ana)
        inputs = {"title": "My draft's title", "publish_at": PUBLISHED.isoformat()}
        draft = predictions.record_prediction(session=session, user_id=ana, model_version="m", inputs=inputs,
                                              outputs={})  # fmt: skip
        predictions.link_prediction(session=session, user_id=ana, prediction_id=draft.id, video_id="tYpEdViEw01",
                                    platform="youtube")  # fmt: skip
        draft_id = draft.id
    with session_scope(app) as session:
        set_current_user(session=session, user_id=ana)
        notes, _ = tracked.record_views(session=session, user_id=ana, tracked_id=row, views=900,
                                     captured_at=PUBLISHED + timedelta(hours=20))  # fmt: skip
    assert notes == [f"the title and publish time came from your linked draft #{draft_id}"]  # asked for again before
    with session_scope(app) as session:
        set_current_user(session=session, user_id=ana)
        found = videos.get_video(session=session, video_id="tYpEdViEw01", user_id=ana)
        assert found is not None and found[0].title == "My draft's title" and [s.views for s in found[1]] == [900]


def _details(settings: Settings, user_id: int | None) -> tuple[str, datetime] | None:
    with session_scope(settings) as session:
        set_current_user(session=session, user_id=user_id)
        found = videos.get_video(session=session, video_id="tYpEdViEw01", user_id=user_id)
        return (found[0].title, found[0].published_at) if found else None


def test_an_export_leaves_out_the_counts_users_typed(db_settings: Settings, tmp_path: Path) -> None:
    """A typed count is its user's alone: an export carried it (with the title they typed) into another store as a
    public row."""
    from miles.jobs.export import export_snapshots

    app, (alice,) = _users(db_settings, "alice")
    _type(app, alice, _track(app, alice), 5_000, 24, title="Alice's secret title", published_at=PUBLISHED)
    assert _details(app, alice) == ("Alice's secret title", PUBLISHED)  # stored, and hers
    out = tmp_path / "all.jsonl"
    assert export_snapshots(out, settings=app).written == 0
    assert "secret" not in out.read_text()


def test_the_title_and_time_typed_for_an_unread_video_are_their_users_alone(db_settings: Settings) -> None:
    app, (alice, bob) = _users(db_settings, "alice", "bob")
    alice_row, bob_row = _track(app, alice), _track(app, bob)
    _type(app, alice, alice_row, 5_000, 24, title="Alice's secret title", published_at=PUBLISHED)
    assert _details(app, alice) == ("Alice's secret title", PUBLISHED)
    assert _details(app, bob) is None and _details(app, None) is None  # unread for Bob and the public API
    bob_published = PUBLISHED - timedelta(hours=5)
    _type(app, bob, bob_row, 9_000, 30, title="Bob's title", published_at=bob_published)
    assert _details(app, bob) == ("Bob's title", bob_published)  # his forecasts count ages from his time
    assert _details(app, alice) == ("Alice's secret title", PUBLISHED)
    # Alice corrects her own publish time (an hour earlier): her page and forecasts move, Bob's do not
    corrected = PUBLISHED - timedelta(hours=1)
    with session_scope(app) as session:
        set_current_user(session=session, user_id=alice)
        notes, _ = tracked.record_views(session=session, user_id=alice, tracked_id=alice_row, views=6_000,
                                     captured_at=PUBLISHED + timedelta(hours=26), published_at=corrected)  # fmt: skip
    assert notes == [f"Your publish time for this video is now {corrected:%Y-%m-%d %H:%M} UTC (it was "
                     f"{PUBLISHED:%Y-%m-%d %H:%M} UTC)."]  # fmt: skip
    assert _details(app, alice) == ("Alice's secret title", corrected)
    assert _details(app, bob) == ("Bob's title", bob_published)
    with pytest.raises(InvalidInput, match=r"published_at: .* is after your earliest count of this video"):
        _type(app, alice, alice_row, 7_000, 27, published_at=PUBLISHED + timedelta(hours=25))
    assert _details(app, alice) == ("Alice's secret title", corrected)  # the refused correction changed nothing


def test_stopping_and_tracking_again_keeps_a_typed_video(db_settings: Settings) -> None:
    """Stop tracking, track again: the counts and the title and time typed for the video are still the user's (their
    counts were hidden but still refused new ones, "does not fit 2,000", and they were asked for the title again)."""
    app, (fay,) = _users(db_settings, "fay")
    first = _track(app, fay)
    _type(app, fay, first, 2_000, 20, title="Fay's video", published_at=PUBLISHED)
    with session_scope(app) as session:
        set_current_user(session=session, user_id=fay)
        tracked.delete_tracked(session=session, user_id=fay, tracked_id=first)
    again = _track(app, fay)
    assert _details(app, fay) == ("Fay's video", PUBLISHED) and _seen(app, fay) == [2_000]
    _type(app, fay, again, 2_500, 30)  # no title or time asked again
    assert _seen(app, fay) == [2_000, 2_500]


def test_migration_0009_gives_a_typed_videos_details_to_each_user_who_typed_counts(sqlite_settings: Settings) -> None:
    from sqlalchemy import text

    from miles.store import migrate
    from miles.store.db import get_engine

    migrate.downgrade(sqlite_settings, "0008")
    with get_engine(sqlite_settings).begin() as conn:
        for uid, email in ((1, "typist@example.com"), (2, "watcher@example.com")):
            user = {"id": uid, "e": email, "t": datetime(2026, 1, 1)}
            conn.execute(text("INSERT INTO users (id, email, password_hash, is_active, created_at) "
                              "VALUES (:id, :e, 'x', 1, :t)"), user)  # fmt: skip
        conn.execute(text("INSERT INTO videos (id, platform, title, tags, published_at, published_at_is_date_only, "
                          "source, created_at, updated_at) VALUES ('tYpEdViEw01', 'youtube', 'Typist title', '[]', "
                          ":p, 0, 'web-entry', :p, :p)"), {"p": datetime(2026, 1, 2)})  # fmt: skip
        for uid in (1, 2):
            conn.execute(text("INSERT INTO tracked_videos (id, user_id, video_id, url, added_at, anchor_at, "
                              "poll_index, active) VALUES (:id, :id, 'tYpEdViEw01', 'u', :t, :t, 0, 1)"),
                         {"id": uid, "t": datetime(2026, 1, 2)})  # fmt: skip
        conn.execute(text("INSERT INTO video_snapshots (video_id, captured_at, captured_at_is_date_only, views, "
                          "source, view_metric, entered_by) VALUES ('tYpEdViEw01', :t, 0, 10, 'web-entry', 'views', "
                          "1)"), {"t": datetime(2026, 1, 3)})  # fmt: skip
    migrate.upgrade(sqlite_settings)
    with get_engine(sqlite_settings).connect() as conn:
        rows = conn.execute(text("SELECT user_id, video_id, title, published_at IS NOT NULL FROM typed_videos")).all()
    assert [tuple(r) for r in rows] == [(1, "tYpEdViEw01", "Typist title", 1)]  # user 2 typed no count
