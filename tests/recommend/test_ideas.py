"""The ideas service end to end on a real database: candidates, outliers, patterns, scored ideas, cache, users."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest

from miles.config import Settings
from miles.domain import utcnow
from miles.errors import InvalidInput
from miles.jobs.collect import records_frame
from miles.jobs.ingest import import_frame
from miles.recommend.generate import OfflineGenerator
from miles.recommend.ideas import SAME_FORECAST_NOTE, IdeasDeps, past_queries, run_ideas
from miles.store.db import session_scope
from miles.store.repos.users import create_user


def bread_niche(
    now: pd.Timestamp, n_channels: int = 6, per_channel: int = 12, titles: tuple[str, str] | None = None
) -> pd.DataFrame:
    """Channels posting bread videos daily; question titles get 3x the views at every age. ``titles``: the
    (question, other) title shapes, with ``{c}-{v}`` made unique per video."""
    question_title, other_title = titles or ("Why is my bread flat {c}-{v}?", "Bread recipe {c}-{v}")
    rows = []
    rng = np.random.default_rng(0)
    for c in range(n_channels):
        for v in range(per_channel):
            question = v % 3 == 0
            published = now - pd.Timedelta(days=per_channel - v, hours=c)
            title = (question_title if question else other_title).format(c=c, v=v)
            for age_h in (2, 24, 72):
                captured = published + pd.Timedelta(hours=age_h)
                if captured > now:
                    continue
                views = int(100 * (c + 1) * age_h**0.5 * (3 if question else 1) * rng.lognormal(0, 0.1))
                rows.append(
                    {
                        "video_id": f"{'f' if titles else 'b'}{c:02d}{v:03d}xxxxx",
                        "title": title,
                        "channel_id": f"UCbread{c}{'fr' if titles else ''}",
                        "published_at": published,
                        "captured_at": captured,
                        "views": views,
                        "channel_subscribers": 1000 * (c + 1),
                        "duration_s": 20 + v,
                        "category_id": 26,
                    }
                )
    frame, rejected = records_frame(rows, where="bread niche")  # the importer's validation fills the rest
    assert not rejected, rejected
    return frame


def title_length_scorer(drafts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """TEST DOUBLE for the predictor (another component): longer titles score higher, deterministically."""
    return [
        {
            "views": {
                "7d": {
                    "age_h": 168,
                    "p10": 10.0 * len(d["title"]),
                    "p50": 100.0 * len(d["title"]),
                    "p90": 1000.0 * len(d["title"]),
                }
            },
            "viral_probability": 0.1,
            "model_version": "test",
        }
        for d in drafts
    ]


@pytest.fixture
def niche_settings(sqlite_settings: Settings) -> Settings:
    import_frame(bread_niche(pd.Timestamp(utcnow())), settings=sqlite_settings)
    return sqlite_settings


def deps() -> IdeasDeps:
    return IdeasDeps(score=title_length_scorer, model_version="test", generator=OfflineGenerator())


def test_ideas_have_outliers_patterns_and_ranked_cited_ideas(niche_settings: Settings) -> None:
    result = run_ideas(settings=niche_settings, deps=deps(), topic="bread", vibe="educational", n=4, seed=1)
    assert result["candidates"] == 72 and not result["cached"]
    by_channel = [o for o in result["outliers"] if o["basis"] == "channel"]
    assert by_channel and "?" in by_channel[0]["title"]  # the question titles beat their own channel's median
    assert all(o["multiple"] is not None and o["age_h"] > 0 for o in result["outliers"])
    question = next(p for p in result["patterns"] if p["key"] == "question")
    assert question["is_finding"] and 2.0 < question["effect"] < 4.5
    ideas = result["ideas"]
    assert len(ideas) == 4
    assert [i["score"] for i in ideas] != sorted(i["score"] for i in ideas)  # ranked best first
    assert ideas[0]["score"] == max(i["score"] for i in ideas)
    assert all(i["inspired_by"] and i["inspired_by_titles"] for i in ideas)
    assert len({i["title"] for i in ideas}) == 4
    assert SAME_FORECAST_NOTE not in result["notes"]


def test_ideas_the_model_cannot_tell_apart_say_so(niche_settings: Settings) -> None:
    """A model whose forecast ignores the title gives every idea the same numbers: the page says the order is not
    the forecast's, instead of presenting a tie as a ranking."""

    def same_for_all(drafts: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{**title_length_scorer([{"title": "x" * 40}])[0]} for _ in drafts]

    flat = IdeasDeps(score=same_for_all, model_version="flat", generator=OfflineGenerator())
    result = run_ideas(settings=niche_settings, deps=flat, topic="bread", vibe="educational", n=4, seed=1)
    assert len(result["ideas"]) == 4 and len({i["score"] for i in result["ideas"]}) == 1
    assert SAME_FORECAST_NOTE in result["notes"]


def test_cache_hit_miss_and_expiry(niche_settings: Settings) -> None:
    now = utcnow()
    first = run_ideas(settings=niche_settings, deps=deps(), topic="Bread", vibe="cozy", now=now)
    hit = run_ideas(settings=niche_settings, deps=deps(), topic="bread ", vibe="Cozy", now=now + timedelta(hours=1))
    assert not first["cached"] and hit["cached"] and hit["ideas"] == first["ideas"]
    later = now + timedelta(seconds=niche_settings.ideas_cache_ttl_s + 1)
    expired = run_ideas(settings=niche_settings, deps=deps(), topic="bread", vibe="cozy", now=later)
    assert not expired["cached"]
    other_vibe = run_ideas(settings=niche_settings, deps=deps(), topic="bread", vibe="funny", now=now)
    assert not other_vibe["cached"]


def test_new_videos_are_a_new_answer(sqlite_settings: Settings) -> None:
    """A niche answered "no video yet" was still answered so from the cache, for hours, after the import it advised."""
    empty = run_ideas(settings=sqlite_settings, deps=deps(), topic="bread", vibe="cozy")
    assert empty["candidates"] == 0 and not empty["cached"]
    assert run_ideas(settings=sqlite_settings, deps=deps(), topic="bread", vibe="cozy")["cached"]
    import_frame(bread_niche(pd.Timestamp(utcnow())), settings=sqlite_settings)
    after = run_ideas(settings=sqlite_settings, deps=deps(), topic="bread", vibe="cozy")
    assert not after["cached"] and after["candidates"] == 72


def test_queries_are_per_user(niche_settings: Settings) -> None:
    with session_scope(niche_settings) as session:
        alice = create_user(session=session, email="alice@example.com", password="correct horse battery").id
        bob = create_user(session=session, email="bob@example.com", password="correct horse battery").id
    run_ideas(settings=niche_settings, deps=deps(), topic="bread", user_id=alice)
    run_ideas(settings=niche_settings, deps=deps(), topic="bread", vibe="hype", user_id=alice)
    run_ideas(settings=niche_settings, deps=deps(), topic="sourdough", user_id=bob)
    mine = past_queries(settings=niche_settings, user_id=alice)
    assert mine["total"] == 2 and {q["vibe"] for q in mine["items"]} == {"", "hype"}
    assert [q["topic"] for q in past_queries(settings=niche_settings, user_id=bob)["items"]] == ["sourdough"]
    assert past_queries(settings=niche_settings, user_id=None)["total"] == 0


def test_bad_requests_are_clear(sqlite_settings: Settings) -> None:
    with pytest.raises(InvalidInput, match="topic"):
        run_ideas(settings=sqlite_settings, deps=deps(), topic="  ")
    with pytest.raises(InvalidInput, match="n: must be between"):
        run_ideas(settings=sqlite_settings, deps=deps(), topic="bread", n=0)


def test_unknown_topic_still_answers_with_a_note(sqlite_settings: Settings) -> None:
    result = run_ideas(settings=sqlite_settings, deps=deps(), topic="zzzz unknown", n=2)
    assert result["candidates"] == 0 and result["ideas"]
    assert any("no stored video mentions" in n for n in result["notes"])


def test_stale_niche_queues_a_background_collection(niche_settings: Settings) -> None:
    from miles.serve.services.collections import collection_status
    from miles.serve.services.ideas import queue_collection
    from miles.store.repos.jobs import Requester

    stale = IdeasDeps(
        score=title_length_scorer,
        model_version="test",
        generator=OfflineGenerator(),
        request_refresh=queue_collection(niche_settings, Requester(None, "ip:203.0.113.9")),
    )
    later = utcnow() + timedelta(days=2)  # every stored snapshot is now older than the fresh window
    result = run_ideas(settings=niche_settings, deps=stale, topic="bread", now=later)
    run_id, token = result["freshness"]["refresh_run_id"], result["freshness"]["refresh_token"]
    assert run_id is not None and token and any("background" in n for n in result["notes"])
    status = collection_status(settings=niche_settings, run_id=run_id, user_id=None, token=token)
    assert status["status"] == "queued"
    cached = run_ideas(settings=niche_settings, deps=stale, topic="bread", now=later)
    assert cached["cached"] and cached["freshness"]["refresh_run_id"] == run_id  # the same request, reused


@pytest.mark.xdist_group("encoders")
def test_real_text_encoder_ranks_candidates_and_diversifies(
    niche_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from tests.conftest import make_settings

    from miles.recommend.scoring import default_embedder

    settings = make_settings(niche_settings.data_dir.parent, cache_dir=tmp_path_factory.getbasetemp() / "encoders")
    embed = default_embedder(settings)
    assert embed is not None
    deps_with_text = IdeasDeps(
        score=title_length_scorer, model_version="test", generator=OfflineGenerator(), embed=embed
    )
    result = run_ideas(settings=settings, deps=deps_with_text, topic="bread", vibe="educational", n=3)
    assert result["candidates"] == 72 and len(result["ideas"]) == 3
    vectors = embed([i["title"] for i in result["ideas"]])
    assert vectors.shape == (3, 384) and np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)


def test_a_caller_cannot_queue_one_collection_per_topic_without_bound(niche_settings: Settings) -> None:
    from miles.serve.services.ideas import queue_collection
    from miles.store.repos.jobs import Requester

    settings = niche_settings.model_copy(update={"max_queued_collections": 2})
    stale = IdeasDeps(
        score=title_length_scorer,
        model_version="test",
        generator=OfflineGenerator(),
        request_refresh=queue_collection(settings, Requester(None, "ip:203.0.113.10")),
    )
    later = utcnow() + timedelta(days=2)
    results = [run_ideas(settings=settings, deps=stale, topic=f"bread {i}", n=1, now=later) for i in range(3)]
    assert [r["freshness"]["refresh_run_id"] is not None for r in results] == [True, True, False]
    assert any("2 collections waiting" in note for note in results[2]["notes"]) and results[2]["ideas"]


def test_a_french_niche_gets_french_ideas(sqlite_settings: Settings) -> None:
    from miles.recommend.generate import _fill
    from miles.recommend.templates import TEMPLATES_FR

    titles = ("Astuces tech : pourquoi mon ordinateur rame autant {c}-{v} ?",
              "Astuces tech pour garder son téléphone rapide {c}-{v}")  # fmt: skip
    import_frame(bread_niche(pd.Timestamp(utcnow()), titles=titles), settings=sqlite_settings)
    # "astuces tech" is too short for the language guesser: the niche's videos say French
    result = run_ideas(settings=sqlite_settings, deps=deps(), topic="astuces tech", vibe="", n=4, seed=1)
    assert result["niche"]["topic_language"] is None and result["ideas_language"] == "fr"
    told = [n for n in result["notes"] if "could not be told" in n]
    written = "most of its outliers about “astuces tech” are in fr, so the ideas are written in it"
    assert told and written in told[0], result["notes"]
    french = {_fill(t.title, "astuces tech", n, utcnow().year) for t in TEMPLATES_FR for n in (3, 5, 7)}
    assert len(result["ideas"]) == 4 and all(i["title"] in french for i in result["ideas"]), result["ideas"]


def test_a_thin_niche_says_how_many_outliers_it_has_in_words(sqlite_settings: Settings) -> None:
    """'0 outlier(s)' was shown: the count reads with its noun."""
    import_frame(bread_niche(pd.Timestamp(utcnow()), n_channels=1, per_channel=3), settings=sqlite_settings)
    result = run_ideas(settings=sqlite_settings, deps=deps(), topic="bread", vibe="", n=2, seed=1)
    thin = [n for n in result["notes"] if n.startswith("too little evidence")]
    assert thin and "(s)" not in thin[0] and re.search(r": \d+ outliers? with", thin[0]), result["notes"]
