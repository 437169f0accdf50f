"""Thumbnails from a request: base64, multipart upload or URL, checked before any model sees them.

URLs go through the foundation's SSRF-safe fetcher (``miles.net``: allow-listed hosts, HTTPS only,
public addresses, size cap); every image is decoded by ``miles.model.images.decode_image``, which checks
the byte size and the pixel count (decompression bombs) and rejects non-images and truncated files.
"""

from __future__ import annotations

import base64
import binascii
import hashlib

from miles import net
from miles.config import Settings
from miles.errors import FetchRefused, InvalidInput, PayloadTooLarge
from miles.model.images import decode_image


def checked_image(data: bytes, *, settings: Settings, field: str) -> bytes:
    """``data`` if it is a decodable image within the size and pixel limits; InvalidInput naming ``field``."""
    if len(data) > settings.max_image_bytes:
        raise PayloadTooLarge(
            f"{field}: image is {len(data):,} bytes; the limit is {settings.max_image_bytes:,}",
            details={"field": field, "max_image_bytes": settings.max_image_bytes},
        )
    try:
        decode_image(data, max_pixels=settings.max_image_pixels, max_bytes=settings.max_image_bytes)
    except InvalidInput as exc:
        raise InvalidInput(f"{field}: {exc.message}", details={"field": field}) from exc
    return data


def from_base64(text: str, *, settings: Settings, field: str = "body.thumbnail_base64") -> bytes:
    if text.startswith("data:"):
        text = text.partition(",")[2]
    if len(text) * 3 // 4 > settings.max_image_bytes + 3:
        raise PayloadTooLarge(
            f"{field}: image is larger than the limit of {settings.max_image_bytes:,} bytes",
            details={"field": field, "max_image_bytes": settings.max_image_bytes},
        )
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidInput(f"{field}: not valid base64 ({exc})", details={"field": field}) from exc
    return checked_image(data, settings=settings, field=field)


def from_url(url: str, *, settings: Settings, field: str = "body.thumbnail_url") -> bytes:
    try:
        fetched = net.fetch(url, policy=net.FetchPolicy.from_settings(settings))
    except FetchRefused as exc:
        raise FetchRefused(f"{field}: {exc.message}", details={"field": field}) from exc
    return checked_image(fetched.content, settings=settings, field=field)


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
