"""Fixtures for the web pages: a small "sourdough" niche with known numbers, the packaged default model, and
helpers that sign up and read the CSRF token the way a browser would."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from tests.conftest import skip_or_fail

from miles.config import Settings
from miles.domain import SNAPSHOT_COLUMNS
from miles.serve.app import create_app
from miles.serve.services.model import packaged_default_dir
from miles.store.db import session_scope
from miles.store.repos.snapshots import ingest_frame

NOW = datetime.now(UTC).replace(microsecond=0)
NICHE_VIDEOS = 60
NICHE_CHANNELS = 12
TITLES = (
    "My sourdough starter after {n} days",
    "Why is my sourdough so dense?",
    "Sourdough bread in 60 seconds 🍞",
    "EASY sourdough for beginners",
    "I tried the viral sourdough hack",
    "Sourdough vs yeast bread: which wins?",
)


def niche_frame(now: datetime = NOW) -> pd.DataFrame:
    """60 sourdough videos of 12 channels (ids ``sourdough00``..``sourdough59``, 11 characters like YouTube's),
    each with snapshots at about 1 h, 24 h and 7 d of age as far as its age allows."""
    rng = np.random.default_rng(7)
    rows = []
    for i in range(NICHE_VIDEOS):
        published = now - timedelta(hours=float(6 + i * 11))
        channel = f"UCsourdough{i % NICHE_CHANNELS:02d}"
        base = 10 ** rng.uniform(2.3, 4.5) * (3.0 if "?" in TITLES[i % len(TITLES)] else 1.0)
        for age_h in (1.0, 24.0, 168.0):
            captured = published + timedelta(hours=age_h)
            if captured > now:
                break
            rows.append(
                {
                    "video_id": f"sourdough{i:02d}",
                    "platform": "youtube",
                    "channel_id": channel,
                    "channel_title": f"Baker {i % NICHE_CHANNELS}",
                    "title": TITLES[i % len(TITLES)].format(n=i + 3),
                    "description": "Bread baking at home #sourdough",
                    "tags": "sourdough|bread|baking",
                    "category_id": 26,
                    "duration_s": float(15 + (i * 7) % 50),
                    "published_at": published,
                    "captured_at": captured,
                    "views": int(base * (age_h / 24.0) ** 0.35),
                    "likes": None,
                    "comments": None,
                    "channel_subscribers": 1000 * (1 + i % NICHE_CHANNELS),
                    "thumbnail_url": f"https://i.ytimg.com/vi/sourdough{i:02d}/hqdefault.jpg",
                    "country": None,
                    "source": "test-niche",
                    "published_at_is_date_only": False,
                    "captured_at_is_date_only": False,
                }
            )
    return pd.DataFrame(rows, columns=list(SNAPSHOT_COLUMNS))


def model_dir() -> Path:
    """The model that ships with the package (wherever the package keeps it)."""
    for candidate in (packaged_default_dir(), Path(str(resources.files("miles") / "assets" / "models" / "default"))):
        if candidate.is_dir():
            return candidate
    skip_or_fail("no packaged default model under miles/assets")
    raise AssertionError("unreachable")


def seed_niche(settings: Settings) -> None:
    with session_scope(settings) as session:
        ingest_frame(session=session, frame=niche_frame())


@pytest.fixture
def web_settings(sqlite_settings: Settings) -> Settings:
    seed_niche(sqlite_settings)
    return sqlite_settings.model_copy(update={"model_dir": model_dir()})


@pytest.fixture
def web(web_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(web_settings)) as client:
        yield client


def csrf(client: TestClient) -> str:
    """The page's CSRF token, as a browser sees it in the <meta> tag."""
    html = client.get("/login").text
    found = re.search(r'<meta name="csrf-token" content="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def sign_up(client: TestClient, email: str = "baker@example.com", password: str = "a-long-password") -> str:
    token = csrf(client)
    response = client.post(
        "/signup",
        data={"email": email, "password": password, "confirm": password, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return csrf(client)  # logging in starts a new session with a new token
