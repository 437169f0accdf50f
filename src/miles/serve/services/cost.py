"""What a scoring request costs, checked before any work and charged to the caller's rate-limit bucket.

A request is counted in scored rows (each draft and each of its variants is one row through the model) and in
thumbnail URLs the server must fetch. Over ``MILES_MAX_ROWS_PER_REQUEST`` or ``MILES_MAX_THUMBNAIL_FETCHES`` it is
refused with a 413 naming the limit. Within them it takes one token per ``ROWS_PER_TOKEN`` rows (at least one, the
token every request takes on arrival) plus one per fetch, so a batch of 1,000 drafts is not the price of one
draft. A request never takes more than a full bucket, so any request within the limits can go through.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from miles.config import Settings
from miles.errors import PayloadTooLarge
from miles.serve.limits import Limiter
from miles.serve.schemas import DraftIn

ROWS_PER_TOKEN = 50


@dataclass(frozen=True, slots=True)
class Cost:
    drafts: int
    rows: int
    fetches: int

    @property
    def tokens(self) -> int:
        return max(1, math.ceil(self.rows / ROWS_PER_TOKEN)) + self.fetches


def cost_of(drafts: Sequence[DraftIn]) -> Cost:
    rows = sum(1 + len(d.variants) for d in drafts)
    fetches = sum(1 for d in drafts if d.thumbnail_url is not None and d.thumbnail_base64 is None)
    return Cost(drafts=len(drafts), rows=rows, fetches=fetches)


def check(cost: Cost, settings: Settings, where: str = "body") -> None:
    if cost.rows > settings.max_rows_per_request:
        problem = (
            f"{cost.drafts:,} drafts with their variants are {cost.rows:,} rows to score; the limit is "
            f"{settings.max_rows_per_request:,} per request (MILES_MAX_ROWS_PER_REQUEST): split it into smaller "
            "requests"
        )
        limits = {"rows": cost.rows, "max_rows_per_request": settings.max_rows_per_request}
        raise PayloadTooLarge.at(where, problem, **limits)
    if cost.fetches > settings.max_thumbnail_fetches:
        problem = (
            f"{cost.fetches:,} thumbnail URLs to fetch; the limit is {settings.max_thumbnail_fetches:,} per request "
            "(MILES_MAX_THUMBNAIL_FETCHES): send the images as base64 or split the request"
        )
        limits = {"thumbnail_fetches": cost.fetches, "max_thumbnail_fetches": settings.max_thumbnail_fetches}
        raise PayloadTooLarge.at(where, problem, **limits)


def charge(cost: Cost, *, settings: Settings, limiter: Limiter, key: str, where: str = "body") -> None:
    """Refuse a request over the limits (413), else take its tokens beyond the one taken on arrival (429 with
    Retry-After when the bucket is short)."""
    check(cost, settings, where)
    extra = min(cost.tokens, int(limiter.capacity)) - 1
    if extra > 0:
        limiter.hit(key, extra, what=f"this request costs {cost.tokens} tokens ({cost.rows:,} rows, "
                    f"{cost.fetches} thumbnail fetches)")  # fmt: skip
