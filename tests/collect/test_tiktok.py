"""TikTok sources: URL matching, the info dict mapping and the `miles collect tiktok` commands' input checks."""

from __future__ import annotations

import io
import socket
from datetime import UTC, datetime
from typing import Any

import pytest
from tests.collect.fakeydl import load_fixture
from typer.testing import CliRunner

from miles.cli.main import app
from miles.collect import ytdlp
from miles.collect.base import Failure, SourceError
from miles.collect.registry import source_class
from miles.collect.tiktok import TikTokHashtag, TikTokUser, TikTokVideo
from miles.collect.ytdlp import GenericPage, YouTubeSearch, YtDlpSource, hashtags, info_to_record, platform_of
from miles.domain import tiktok_tag_url, tiktok_user_url, tiktok_video_ref
from miles.errors import InvalidInput

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("target", "cls"),
    [
        ("https://www.tiktok.com/@chefmiles.tt/video/7451234567890123456", TikTokVideo),
        ("https://tiktok.com/@chefmiles.tt/video/7451234567890123456?lang=en", TikTokVideo),
        ("https://www.tiktok.com/share/video/7451234567890123456/", TikTokVideo),
        ("https://vm.tiktok.com/ZMhQx7AbC/", TikTokVideo),
        ("https://www.tiktok.com/t/ZTRC5xgJp", TikTokVideo),
        ("https://www.tiktok.com/@chefmiles.tt", TikTokUser),
        ("https://www.tiktok.com/@chefmiles.tt/?lang=en", TikTokUser),
        ("https://www.tiktok.com/tag/pastatok", TikTokHashtag),
        ("@chefmiles.tt", YouTubeSearch),  # not a URL: the CLI turns @name into the profile URL first
        ("https://www.tiktok.com/music/some-sound-6956990112127585029", GenericPage),
    ],
)
def test_tiktok_source_matching(target: str, cls: type[YtDlpSource]) -> None:
    assert source_class(target) is cls


def test_tiktok_url_helpers() -> None:
    assert tiktok_video_ref("https://www.tiktok.com/share/video/7451234567890123456") == (
        "7451234567890123456",
        "https://www.tiktok.com/@_/video/7451234567890123456",
    )
    assert tiktok_video_ref("https://www.youtube.com/shorts/pAsTa000001") is None
    assert tiktok_video_ref("https://evil.example/@x/video/7451234567890123456") is None
    assert tiktok_user_url("@chef.miles") == "https://www.tiktok.com/@chef.miles"
    assert tiktok_user_url("chef miles") is None
    assert tiktok_tag_url("#pastatok") == tiktok_tag_url("https://www.tiktok.com/tag/pastatok?lang=en")
    assert tiktok_tag_url("two words") is None


def test_tiktok_info_dict_maps_with_platform_handle_and_caption_hashtags() -> None:
    info = load_fixture("tiktok_video_7451234567890123456.json")
    record, reason = info_to_record(info, captured_at=NOW)
    assert reason is None and record is not None
    assert record["platform"] == "tiktok" and record["category_name"] is None
    assert record["published_at"] == datetime.fromtimestamp(1767330000, UTC)
    assert record["captured_at"] == datetime.fromtimestamp(1767400000, UTC)
    assert record["thumbnail_url"].startswith("https://p16-sign-va.tiktokcdn.com/")
    # followers are the channel size when yt-dlp gives them (its TikTok extractor does not today)
    info["channel_follower_count"] = 48_000
    assert info_to_record(info, captured_at=NOW)[0]["channel_subscribers"] == 48_000  # type: ignore[index]
    assert platform_of(load_fixture("video_pasta000001.json")) == "youtube"
    assert platform_of({"webpage_url": "https://www.tiktok.com/@a/video/1"}) == "tiktok"
    assert hashtags("so good #PastaTok #fyp and #fyp again, not a&#35;b") == ["PastaTok", "fyp"]


def test_collect_tiktok_commands_refuse_bad_input_before_any_request() -> None:
    runner = CliRunner()
    for args, message in (
        (["search", "easy pasta"], "yt-dlp has no TikTok search"),
        (["user", "https://www.youtube.com/@chefmiles"], "is not a TikTok user"),
        (["video", "https://www.tiktok.com/@chefmiles.tt"], "is not a TikTok video URL"),
        (["tag", "two words"], "is not a hashtag"),
    ):
        result = runner.invoke(app, ["collect", "tiktok", *args])
        assert isinstance(result.exception, InvalidInput) and message in result.exception.message, args


def _unreachable_network(params: dict[str, Any]) -> Any:
    """Real yt-dlp whose every request goes to a closed port on this machine: the network is down, offline."""
    with socket.socket() as probe:  # a port nothing listens on once the probe is closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return ytdlp._default_factory({**params, "proxy": f"http://127.0.0.1:{port}"})


def test_a_tiktok_user_without_network_fails_as_network() -> None:
    # yt-dlp's TikTok user extractor reads the profile page with fatal=False and then fails with "Unable to
    # extract secondary user ID ... try tiktokuser:channel_id", hiding the network error that caused it.
    source = TikTokUser(ydl_factory=_unreachable_network)
    with pytest.raises(SourceError) as caught:
        source.list_entries("https://www.tiktok.com/@chef")
    failure = caught.value.failure
    assert (failure.reason, failure.transient) == ("network", True), failure
    assert "secondary user ID" not in failure.message and "tiktokuser:" not in failure.message


def test_swallowed_network_errors_count_only_when_the_error_names_no_cause() -> None:
    from yt_dlp.networking.common import Response
    from yt_dlp.networking.exceptions import HTTPError, TransportError
    from yt_dlp.utils import DownloadError

    hidden = DownloadError("ERROR: [tiktok:user] chef: Unable to extract secondary user ID")
    refused = TransportError("Failed to resolve 'www.tiktok.com'")
    assert ytdlp.classify(hidden, [refused]) == Failure("network", str(refused), transient=True)
    assert ytdlp.classify(hidden).reason == "unavailable"  # no network error seen: as before
    not_found = HTTPError(Response(io.BytesIO(b""), "https://www.tiktok.com/embed/@chef", {}, status=404))
    assert ytdlp.classify(hidden, [not_found]).reason == "unavailable"  # a missing embed page: not the network
    blocked = DownloadError("ERROR: [youtube] x: Sign in to confirm you're not a bot")
    assert ytdlp.classify(blocked, [refused]).reason == "blocked"  # the error's own reason comes first
