"""Safe HTTP fetching for thumbnails (DESIGN.md §1): used by ``collect``, ``jobs`` and ``serve`` alike.

A URL is fetched only when its scheme and host are allowed by a ``FetchPolicy`` and every address
the host resolves to is public (no loopback, private, link-local, multicast or reserved ranges).
The connection is pinned to the checked address (TLS still verifies the host name), so DNS cannot
change between the check and the request. Redirects are followed by hand and every hop is checked
again. Bodies are streamed and cut off at ``max_bytes``; images are checked for their pixel count
before Pillow decodes them (decompression-bomb guard).
"""

from __future__ import annotations

import io
import ipaddress
import socket
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

import httpx

from miles.errors import FetchRefused, SourceUnavailable

if TYPE_CHECKING:
    from PIL.Image import Image

    from miles.config import Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Sequence[str]]
TRANSIENT_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
USER_AGENT = "Miles/0.1 (+thumbnail fetcher)"


def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (IPv4 and IPv6)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise SourceUnavailable(f"cannot resolve host {host!r}: {exc.strerror}", details={"transient": True}) from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class FetchPolicy:
    """What the fetcher may reach. ``from_settings`` gives the production policy (HTTPS, public hosts only).

    ``allow_private`` and ``schemes={"http", "https"}`` exist for tests that serve from 127.0.0.1.
    """

    allowed_hosts: frozenset[str]
    schemes: frozenset[str] = frozenset({"https"})
    allow_private: bool = False
    max_bytes: int = 5_000_000
    max_pixels: int = 20_000_000
    timeout_s: float = 10.0
    max_redirects: int = 3
    resolver: Resolver = field(default=system_resolver, compare=False)
    deadline: float | None = None  # time.monotonic() after which the fetch stops, whatever the timeouts say

    def until(self, deadline: float) -> FetchPolicy:
        """This policy cut to end by ``deadline`` (a request's overall budget for its fetches)."""
        remaining = max(0.001, deadline - time.monotonic())
        return replace(self, timeout_s=min(self.timeout_s, remaining), deadline=deadline)

    def check_deadline(self, url: str) -> None:
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise SourceUnavailable(f"ran out of time fetching {url!r}", details={"transient": True})

    @classmethod
    def from_settings(cls, settings: Settings) -> FetchPolicy:
        return cls(
            allowed_hosts=frozenset(settings.thumbnail_hosts),
            max_bytes=settings.max_image_bytes,
            max_pixels=settings.max_image_pixels,
            timeout_s=settings.fetch_timeout_s,
        )


@dataclass(frozen=True)
class Fetched:
    url: str  # the final URL after redirects
    content: bytes
    content_type: str


@dataclass(frozen=True)
class FetchedImage:
    url: str
    content: bytes
    content_type: str
    width: int
    height: int
    format: str


def _ip_is_public(ip: IPAddress) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return _ip_is_public(ip.ipv4_mapped)
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def host_allowed(host: str, allowed: frozenset[str]) -> bool:
    """Exact host names, plus ``*.example.com`` entries for any subdomain of example.com (TikTok's numbered CDN
    hosts such as p16-sign-va.tiktokcdn.com); the bare domain itself must be listed on its own."""
    if host in allowed:
        return True
    labels = host.split(".")
    return any(f"*.{'.'.join(labels[i:])}" in allowed for i in range(1, len(labels) - 1))


def check_url(url: str, policy: FetchPolicy) -> tuple[str, str, int]:
    """(scheme, host, port) of an allowed URL; ``FetchRefused`` naming the rule it breaks otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise FetchRefused(f"malformed URL {url!r}: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in policy.schemes:
        allowed = ", ".join(sorted(policy.schemes))
        raise FetchRefused(f"refused {url!r}: scheme {scheme or '(none)'!r} is not allowed (allowed: {allowed})")
    host = (parts.hostname or "").lower().rstrip(".")
    if not host:
        raise FetchRefused(f"refused {url!r}: no host")
    if parts.username or parts.password:
        raise FetchRefused(f"refused {url!r}: credentials in URLs are not allowed")
    if not host_allowed(host, policy.allowed_hosts):
        raise FetchRefused(f"refused {url!r}: host {host!r} is not on the thumbnail host allow-list")
    return scheme, host, port or (443 if scheme == "https" else 80)


def resolve_public(host: str, port: int, policy: FetchPolicy) -> str:
    """The first address of ``host``, after checking that none of its addresses is private or reserved."""
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        addresses = list(policy.resolver(host, port))
    if not addresses:
        raise SourceUnavailable(f"host {host!r} resolved to no address")
    if not policy.allow_private:
        for addr in addresses:
            if not _ip_is_public(ipaddress.ip_address(addr.split("%", 1)[0])):
                raise FetchRefused(f"refused host {host!r}: it resolves to non-public address {addr}")
    return addresses[0]


def _pinned_url(url: str, address: str) -> str:
    parts = urlsplit(url)
    netloc = f"[{address}]" if ":" in address else address
    if parts.port:
        netloc += f":{parts.port}"
    return parts._replace(netloc=netloc).geturl()


def _read_capped(response: httpx.Response, url: str, max_bytes: int, policy: FetchPolicy | None = None) -> bytes:
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise FetchRefused(f"refused {url!r}: body of {int(declared):,} bytes exceeds the {max_bytes:,}-byte limit")
    chunks: list[bytes] = []
    total = 0
    for chunk in response.iter_bytes():
        total += len(chunk)
        if total > max_bytes:
            raise FetchRefused(f"refused {url!r}: body exceeds the {max_bytes:,}-byte limit")
        if policy is not None:
            policy.check_deadline(url)  # a server dripping bytes cannot hold the request past its deadline
        chunks.append(chunk)
    return b"".join(chunks)


def fetch(url: str, *, policy: FetchPolicy, client: httpx.Client | None = None) -> Fetched:
    """GET ``url`` under ``policy``: checked scheme, host and address on every hop, capped body, timeouts."""
    own = client is None
    http = client or httpx.Client(timeout=policy.timeout_s, follow_redirects=False, trust_env=False)
    try:
        current = url
        for _hop in range(policy.max_redirects + 1):
            policy.check_deadline(current)
            scheme, host, port = check_url(current, policy)
            address = resolve_public(host, port, policy)
            default_port = port == (443 if scheme == "https" else 80)
            headers = {"Host": host if default_port else f"{host}:{port}", "User-Agent": USER_AGENT}
            request = http.build_request(
                "GET", _pinned_url(current, address), headers=headers, extensions={"sni_hostname": host}
            )
            try:
                response = http.send(request, stream=True)
            except httpx.TimeoutException as exc:
                raise SourceUnavailable(f"timed out fetching {current!r}", details={"transient": True}) from exc
            except httpx.HTTPError as exc:
                raise SourceUnavailable(f"cannot fetch {current!r}: {exc}", details={"transient": True}) from exc
            try:
                if response.is_redirect:
                    location = response.headers.get("location", "")
                    current = urljoin(current, location)
                    continue
                return _finish(response, current, policy)
            finally:
                response.close()
        raise FetchRefused(f"refused {url!r}: more than {policy.max_redirects} redirects")
    finally:
        if own:
            http.close()


def _finish(response: httpx.Response, url: str, policy: FetchPolicy) -> Fetched:
    if response.status_code >= 400:
        transient = response.status_code in TRANSIENT_STATUSES
        raise SourceUnavailable(
            f"fetching {url!r} failed with HTTP {response.status_code}",
            details={"transient": transient, "status": response.status_code},
        )
    try:
        body = _read_capped(response, url, policy.max_bytes, policy)
    except httpx.TimeoutException as exc:
        raise SourceUnavailable(f"timed out reading {url!r}", details={"transient": True}) from exc
    except httpx.HTTPError as exc:
        raise SourceUnavailable(f"cannot read {url!r}: {exc}", details={"transient": True}) from exc
    content_type = response.headers.get("content-type", "application/octet-stream").split(";")[0].strip().lower()
    return Fetched(url=url, content=body, content_type=content_type)


def check_image(data: bytes, *, max_pixels: int, where: str = "image") -> Image:
    """Decode ``data`` as an image after checking its declared size; ``FetchRefused`` for bombs and non-images."""
    from PIL import Image as PILImage
    from PIL import UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PILImage.DecompressionBombWarning)
            img = PILImage.open(io.BytesIO(data))
            width, height = img.size
            if width * height > max_pixels:
                raise FetchRefused(
                    f"refused {where}: {width}x{height} = {width * height:,} pixels exceeds the limit of {max_pixels:,}"
                )
            img.load()
    except FetchRefused:
        raise
    except (PILImage.DecompressionBombError, PILImage.DecompressionBombWarning) as exc:
        raise FetchRefused(f"refused {where}: decompression bomb ({exc})") from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise FetchRefused(f"refused {where}: not a readable image ({exc})") from exc
    return img


def fetch_image(url: str, *, policy: FetchPolicy, client: httpx.Client | None = None) -> tuple[FetchedImage, Image]:
    """Fetch and decode an image under ``policy``; returns the bytes with their size and the decoded image."""
    got = fetch(url, policy=policy, client=client)
    img = check_image(got.content, max_pixels=policy.max_pixels, where=repr(url))
    image = FetchedImage(
        url=got.url,
        content=got.content,
        content_type=got.content_type,
        width=img.size[0],
        height=img.size[1],
        format=(img.format or "unknown").lower(),
    )
    return image, img
