"""The safe fetcher against a real local HTTP server: allow-list, scheme, addresses, size and pixel limits."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.collect.localsite import LocalSite, Route, png_bytes
from tests.conftest import make_settings

from miles.errors import ConfigError, FetchRefused, SourceUnavailable
from miles.net import FetchPolicy, check_image, check_url, fetch, fetch_image


@pytest.fixture
def site() -> Iterator[LocalSite]:
    with LocalSite().running() as s:
        yield s


def local_policy(**overrides: object) -> FetchPolicy:
    base: dict[str, object] = {
        "allowed_hosts": frozenset({"127.0.0.1"}),
        "schemes": frozenset({"http", "https"}),
        "allow_private": True,
        "max_bytes": 100_000,
        "max_pixels": 1_000_000,
        "timeout_s": 2.0,
    }
    base.update(overrides)
    return FetchPolicy(**base)  # type: ignore[arg-type]


def test_fetches_an_image_with_its_size(site: LocalSite) -> None:
    url = site.add("/t.png", Route(body=png_bytes(64, 36), content_type="image/png"))
    image, img = fetch_image(url, policy=local_policy())
    assert (image.width, image.height, image.format, image.content_type) == (64, 36, "png", "image/png")
    assert img.size == (64, 36)


def test_production_policy_refuses_http_and_unlisted_hosts(tmp_path: object) -> None:
    policy = FetchPolicy.from_settings(make_settings(tmp_path))  # type: ignore[arg-type]
    with pytest.raises(FetchRefused, match="scheme 'http' is not allowed"):
        check_url("http://i.ytimg.com/vi/x/hq720.jpg", policy)
    with pytest.raises(FetchRefused, match="not on the thumbnail host allow-list"):
        check_url("https://evil.example.com/x.jpg", policy)
    with pytest.raises(FetchRefused, match="credentials"):
        check_url("https://user:pw@i.ytimg.com/x.jpg", policy)
    assert check_url("https://i.ytimg.com/vi/x/hq720.jpg", policy) == ("https", "i.ytimg.com", 443)


def test_production_policy_allows_tiktok_cdn_subdomains_over_https_only(tmp_path: object) -> None:
    policy = FetchPolicy.from_settings(make_settings(tmp_path))  # type: ignore[arg-type]
    cover = "https://p16-sign-va.tiktokcdn.com/tos-maliva-p-0068/abc~tplv-tiktokx-cover:300:400.jpeg?x-expires=1"
    assert check_url(cover, policy)[1] == "p16-sign-va.tiktokcdn.com"
    assert check_url("https://p19-common-sign.tiktokcdn-us.com/obj/x.webp", policy)[0] == "https"
    with pytest.raises(FetchRefused, match="scheme 'http' is not allowed"):
        check_url(cover.replace("https://", "http://"), policy)
    # the wildcard covers subdomains only: not the bare domain, not look-alikes
    for url in (
        "https://tiktokcdn.com/x.jpg",
        "https://p16.tiktokcdn.com.evil.example/x.jpg",
        "https://p16-eviltiktokcdn.com/x.jpg",
        "https://www.tiktok.com/x.jpg",
    ):
        with pytest.raises(FetchRefused, match="not on the thumbnail host allow-list"):
            check_url(url, policy)


@pytest.mark.parametrize("bad", ["*", "*.com", "p16.*.tiktokcdn.com", "*tiktokcdn.com"])
def test_thumbnail_host_wildcards_must_name_a_domain(tmp_path: object, bad: str) -> None:
    with pytest.raises(ConfigError, match=r"MILES_THUMBNAIL_HOSTS.*wildcard must look like"):
        make_settings(tmp_path, thumbnail_hosts=[bad])  # type: ignore[arg-type]


def test_refuses_private_addresses_even_for_allowed_hosts(site: LocalSite) -> None:
    url = site.add("/t.png", Route(body=png_bytes(), content_type="image/png"))
    with pytest.raises(FetchRefused, match=r"non-public address 127\.0\.0\.1"):
        fetch(url, policy=local_policy(allow_private=False))
    # an allow-listed name that resolves to a private or metadata address (DNS rebinding)
    for addr in ("10.1.2.3", "169.254.169.254", "::1", "::ffff:192.168.0.1", "0.0.0.0"):
        policy = local_policy(
            allowed_hosts=frozenset({"i.ytimg.com"}), allow_private=False, resolver=lambda h, p, a=addr: [a]
        )
        with pytest.raises(FetchRefused, match="non-public address"):
            fetch("https://i.ytimg.com/vi/x/hq.jpg", policy=policy)


def test_redirects_are_checked_on_every_hop(site: LocalSite) -> None:
    site.add("/ok.png", Route(body=png_bytes(), content_type="image/png"))
    url = site.add("/hop", Route(302, headers={"Location": "/ok.png"}))
    assert fetch(url, policy=local_policy()).url.endswith("/ok.png")
    evil = site.add("/evil", Route(302, headers={"Location": "http://169.254.169.254/latest/meta-data"}))
    with pytest.raises(FetchRefused, match=r"169\.254\.169\.254"):
        fetch(evil, policy=local_policy())
    loop = site.add("/loop", Route(302, headers={"Location": "/loop"}))
    with pytest.raises(FetchRefused, match="more than 3 redirects"):
        fetch(loop, policy=local_policy())


def test_oversized_bodies_are_refused_with_and_without_content_length(site: LocalSite) -> None:
    big = b"x" * 300_000
    declared = site.add("/big", Route(body=big, content_type="image/jpeg"))
    streamed = site.add("/big-chunked", Route(body=big, content_type="image/jpeg", chunked=True))
    with pytest.raises(FetchRefused, match="exceeds the 100,000-byte limit"):
        fetch(declared, policy=local_policy())
    with pytest.raises(FetchRefused, match="exceeds the 100,000-byte limit"):
        fetch(streamed, policy=local_policy())


def test_pixel_bomb_is_refused_before_decoding(site: LocalSite) -> None:
    bomb = png_bytes(4000, 4000, (0, 0, 0))  # 16 Mpx, a few kB compressed
    assert len(bomb) < 100_000
    url = site.add("/bomb.png", Route(body=bomb, content_type="image/png"))
    with pytest.raises(FetchRefused, match="16,000,000 pixels exceeds the limit of 1,000,000"):
        fetch_image(url, policy=local_policy())
    with pytest.raises(FetchRefused, match="not a readable image"):
        check_image(b"<html>nope</html>", max_pixels=10)


def test_http_errors_and_timeouts_are_source_unavailable(site: LocalSite) -> None:
    url = site.add("/busy", Route(429, b"slow down"))
    with pytest.raises(SourceUnavailable, match="HTTP 429") as info:
        fetch(url, policy=local_policy())
    assert info.value.details == {"transient": True, "status": 429}
    gone = site.add("/gone", Route(404))
    with pytest.raises(SourceUnavailable, match="HTTP 404") as info:
        fetch(gone, policy=local_policy())
    assert info.value.details["transient"] is False
    slow = site.add("/slow", Route(body=b"x", delay_s=1.5))
    with pytest.raises(SourceUnavailable, match="timed out"):
        fetch(slow, policy=local_policy(timeout_s=0.3))
