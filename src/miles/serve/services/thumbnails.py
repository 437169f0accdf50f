"""Thumbnails from a request: base64, multipart upload or URL, checked before any model sees them.

URLs go through the foundation's SSRF-safe fetcher (``miles.net``: allow-listed hosts, HTTPS only,
public addresses, size cap); every image is decoded by ``miles.model.images.decode_image``, which checks
the byte size and the pixel count (decompression bombs) and rejects non-images and truncated files.

A request's thumbnail URLs are fetched one after another by one ``Fetcher`` under one overall deadline
(``MILES_THUMBNAIL_DEADLINE_S``): each fetch's timeouts are cut to what is left, and once it has passed the
request stops with a 422 naming the field it reached, instead of fetching on for minutes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import time

from PIL import Image

from miles import net
from miles.config import Settings
from miles.errors import FetchRefused, InvalidInput, PayloadTooLarge, SourceUnavailable
from miles.model.images import decode_image


def image_too_large(field: str, max_bytes: int) -> PayloadTooLarge:
    problem = f"the image is larger than the limit of {max_bytes:,} bytes (MILES_MAX_IMAGE_BYTES)"
    return PayloadTooLarge.at(field, problem, max_image_bytes=max_bytes)


def checked_image(data: bytes, *, settings: Settings, field: str) -> bytes:
    """``data`` if it is a decodable image within the size and pixel limits; InvalidInput naming ``field``."""
    if len(data) > settings.max_image_bytes:
        raise image_too_large(field, settings.max_image_bytes)
    try:
        decode_image(data, max_pixels=settings.max_image_pixels, max_bytes=settings.max_image_bytes)
    except InvalidInput as exc:
        raise InvalidInput(f"{field}: {exc.message}", details={"field": field}) from exc
    return data


def from_base64(text: str, *, settings: Settings, field: str = "body.thumbnail_base64") -> bytes:
    if text.startswith("data:"):
        text = text.partition(",")[2]
    if len(text) * 3 // 4 > settings.max_image_bytes + 3:
        raise image_too_large(field, settings.max_image_bytes)
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidInput(f"{field}: not valid base64 ({exc})", details={"field": field}) from exc
    return checked_image(data, settings=settings, field=field)


def from_url(
    url: str, *, settings: Settings, field: str = "body.thumbnail_url", policy: net.FetchPolicy | None = None
) -> bytes:
    try:
        fetched = net.fetch(url, policy=policy or net.FetchPolicy.from_settings(settings))
    except FetchRefused as exc:
        raise FetchRefused(f"{field}: {exc.message}", details={"field": field}) from exc
    return checked_image(fetched.content, settings=settings, field=field)


class Fetcher:
    """One request's thumbnails: base64 decoded, URLs fetched under the request's overall deadline."""

    def __init__(self, settings: Settings, policy: net.FetchPolicy | None = None) -> None:
        self.settings = settings
        self.policy = policy or net.FetchPolicy.from_settings(settings)
        self.deadline = time.monotonic() + settings.thumbnail_deadline_s

    def __call__(self, *, base64_text: str | None, url: str | None, where: str) -> bytes | None:
        if base64_text is not None:
            return from_base64(base64_text, settings=self.settings, field=f"{where}.thumbnail_base64")
        if url is None:
            return None
        field = f"{where}.thumbnail_url"
        budget = self.settings.thumbnail_deadline_s
        late = InvalidInput(
            f"{field}: not fetched: this request's thumbnails took longer than its {budget:g} s budget "
            "(MILES_THUMBNAIL_DEADLINE_S); send fewer thumbnail URLs per request, or the images as base64",
            details={"field": field, "thumbnail_deadline_s": budget},
        )
        if time.monotonic() >= self.deadline:
            raise late
        try:
            return from_url(url, settings=self.settings, field=field, policy=self.policy.until(self.deadline))
        except SourceUnavailable:
            if time.monotonic() >= self.deadline:
                raise late from None
            raise


def preview_data_uri(data: bytes, *, width: int = 480) -> str:
    """A small JPEG of a checked image as a ``data:`` URI, for the page's feed preview (the page never links to
    the upload itself)."""
    with Image.open(io.BytesIO(data)) as opened:
        img = opened.convert("RGB")
        img.thumbnail((width, width))
        buf = io.BytesIO()
        img.save(buf, format="JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
