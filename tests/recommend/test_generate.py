"""Idea generators: the offline one is deterministic; the LLM path goes through the real `openai` client over
real HTTP to a server on 127.0.0.1, including malformed replies, timeouts and a 500."""

from __future__ import annotations

import json

import pytest
from tests.recommend.conftest import FakeLLMState
from tests.recommend.test_patterns import niche

from miles.errors import SourceUnavailable
from miles.recommend.generate import LLMGenerator, NicheContext, OfflineGenerator, _fill, parse_ideas
from miles.recommend.patterns import TITLE_LENGTHS, Pattern
from miles.recommend.templates import TEMPLATES, TEMPLATES_FR

OUTLIERS = [
    {"video_id": "v1", "title": "Why is my sourdough bread flat?", "multiple": 6.0, "views": 90000, "duration_s": 40},
    {"video_id": "v2", "title": "3 bread mistakes beginners make", "multiple": 4.0, "views": 50000, "duration_s": 30},
    {"video_id": "v3", "title": "Sourdough starter in 7 days", "multiple": 2.5, "views": 20000, "duration_s": 55},
]


SHORT, LONG = TITLE_LENGTHS[0][2], TITLE_LENGTHS[-1][2]


def context() -> NicheContext:
    from miles.recommend.patterns import find_patterns

    return NicheContext(topic="bread", vibe="educational", outliers=OUTLIERS, patterns=find_patterns(niche()))


def test_offline_is_deterministic_for_a_seed_and_cites_outliers() -> None:
    first = OfflineGenerator().generate(context(), n=4, seed=11)
    again = OfflineGenerator().generate(context(), n=4, seed=11)
    other = OfflineGenerator().generate(context(), n=4, seed=12)
    assert [d.model_dump() for d in first] == [d.model_dump() for d in again]
    assert [d.model_dump() for d in first] != [d.model_dump() for d in other]
    assert len(first) == 12  # over-generates 3x for scoring and diversity to choose from
    # the topic draws too: with the seed alone every topic led with the same templates in the same order
    orders = {
        tuple(d.title.lower().replace(topic, "x") for d in OfflineGenerator(year=2026).generate(
            NicheContext(topic=topic, vibe="funny", outliers=[]), n=3, seed=0)[:3])
        for topic in ("cooking", "budget travel", "home workout", "pasta")
    }  # fmt: skip
    assert len(orders) > 1, orders
    known = {o["video_id"] for o in OUTLIERS}
    assert all(d.inspired_by and set(d.inspired_by) <= known for d in first)
    assert any("question" in d.reasoning for d in first)  # the niche's winning pattern is cited


def test_the_vibe_counts_as_much_as_a_winning_pattern() -> None:
    """A niche's winning pattern (questions here) came before the vibe: "cozy" got no cozy idea among the first."""
    evidence = context()
    cozy = NicheContext(topic="bread", vibe="cozy", outliers=evidence.outliers, patterns=evidence.patterns)
    firsts = [{d.format for d in OfflineGenerator(year=2026).generate(cozy, n=4, seed=seed)[:3]} for seed in range(8)]
    assert any(f & {"routine", "ASMR"} for f in firsts), firsts  # before: three questions first, every time
    assert any("question" in f for f in firsts), firsts  # the evidence still leads as often


def test_offline_titles_fill_typed_slots_and_say_what_they_rest_on() -> None:
    drafts = OfflineGenerator(year=2026).generate(context(), n=5, seed=3)
    fills = {
        _fill(t.title, "bread", n, 2026).lower(): t for t in TEMPLATES for n in (3, 5, 7)
    }  # every title is a template with the topic and a number, never words lifted from other titles
    assert all(d.title.lower() in fills for d in drafts)
    assert len({d.hook for d in drafts}) == len(drafts) and len({d.format for d in drafts}) >= 3
    first = fills[drafts[0].title.lower()]
    assert first.pattern == "question"  # the niche's winning pattern leads
    assert "question in the title" in drafts[0].reasoning and "Why is my sourdough bread flat?" in drafts[0].reasoning
    bare = OfflineGenerator().generate(NicheContext(topic="bread", vibe="", outliers=[]), n=3)
    assert all("no outlier" in d.reasoning and not d.inspired_by for d in bare)


def test_the_prompt_says_when_the_niche_gave_no_evidence(llm_server: tuple[str, FakeLLMState]) -> None:
    url, state = llm_server
    state.content = json.dumps(GOOD_REPLY)
    generator(url).generate(NicheContext(topic="bread", vibe="", outliers=[]), n=1)
    prompt = json.loads(state.requests[0]["messages"][1]["content"])
    assert prompt["outliers"] == [] and prompt["significant_patterns"] == [] and "guess" in prompt["rules"]
    assert prompt["language"] == "the topic's" and "given language" in prompt["rules"]


GOOD_REPLY = {
    "ideas": [
        {
            "title": "Flat sourdough? Fix it in 30 seconds",
            "hook": "Show the flat loaf",
            "format": "tutorial",
            "duration_s": 35,
            "reasoning": "questions win here",
            "inspired_by": ["v1", "not-a-real-id"],
        }
    ]
}


def generator(url: str, timeout_s: float = 10.0) -> LLMGenerator:
    return LLMGenerator(base_url=url, api_key="test-key", model="test-model", timeout_s=timeout_s, retries=1)


def test_llm_reply_is_validated_and_unknown_citations_dropped(llm_server: tuple[str, FakeLLMState]) -> None:
    url, state = llm_server
    state.content = "```json\n" + json.dumps(GOOD_REPLY) + "\n```"
    ideas = generator(url).generate(context(), n=1)
    assert ideas[0].title.startswith("Flat sourdough") and ideas[0].inspired_by == ["v1"]
    prompt = json.loads(state.requests[0]["messages"][1]["content"])
    assert prompt["topic"] == "bread" and prompt["outliers"][0]["video_id"] == "v1"
    significant = prompt["significant_patterns"]
    assert significant and all(p["ci95"][0] > 1 or p["ci95"][1] < 1 for p in significant)
    assert len(significant) < len([p for p in context().patterns if p.enough_data])  # the rest stay out


def test_malformed_reply_is_retried_then_fails_cleanly(llm_server: tuple[str, FakeLLMState]) -> None:
    url, state = llm_server
    state.content = '{"ideas": [{"title": "no other fields"}]}'
    with pytest.raises(SourceUnavailable, match="did not match the idea schema"):
        generator(url).generate(context(), n=1)
    assert len(state.requests) == 2  # one retry


def test_server_error_and_timeout_are_source_unavailable(llm_server: tuple[str, FakeLLMState]) -> None:
    url, state = llm_server
    state.mode = "error"
    with pytest.raises(SourceUnavailable, match="LLM endpoint failed"):
        generator(url).generate(context(), n=1)
    state.mode = "slow"
    state.content = json.dumps(GOOD_REPLY)
    with pytest.raises(SourceUnavailable, match="did not answer in time"):
        LLMGenerator(base_url=url, api_key="k", model="m", timeout_s=0.5, retries=0).generate(context(), n=1)


def test_parse_ideas_names_the_bad_field() -> None:
    with pytest.raises(ValueError, match=r"ideas\.0\.duration_s"):
        parse_ideas(json.dumps({"ideas": [{**GOOD_REPLY["ideas"][0], "duration_s": -1}]}), known_ids=set())
    with pytest.raises(ValueError, match="not JSON"):
        parse_ideas("Sure! Here are some ideas:", known_ids=set())


def test_offline_ideas_are_written_in_the_niches_language_when_it_has_templates_for_it() -> None:
    french = NicheContext(topic="astuces tech", vibe="", outliers=OUTLIERS, language="fr")
    drafts = OfflineGenerator(year=2026).generate(french, n=4, seed=2)
    titles = {_fill(t.title, "astuces tech", n, 2026) for t in TEMPLATES_FR for n in (3, 5, 7)}
    hooks = {_fill(t.hook, "astuces tech", n, 2026) for t in TEMPLATES_FR for n in (3, 5, 7)}
    assert all(d.title in titles and d.hook in hooks for d in drafts), [d.title for d in drafts]
    assert drafts[0].title.startswith("Astuces tech")  # the topic leads: French needs no article before it
    japanese = NicheContext(topic="パン", vibe="", outliers=OUTLIERS, language="ja")  # no Japanese set: English
    english = {_fill(t.title, "パン", n, 2026) for t in TEMPLATES for n in (3, 5, 7)}
    assert all(d.title in english for d in OfflineGenerator(year=2026).generate(japanese, n=3, seed=2))


def test_english_titles_read_right_for_a_plural_topic() -> None:
    """The topic "laptop tips" gave "Is laptop tips worth it in 2026?", "My first laptop tips went completely wrong"
    and "Rating 3 viral laptop tips hacks": the topic is never a verb's subject or a noun's modifier now."""
    import re

    titles = [_fill(t.title, "laptop tips", 3, 2026).lower() for t in TEMPLATES]
    wrong = re.compile(r"\b(is|this|first|a|the) laptop tips\b|laptop tips (tips|hacks|trick|mistakes?|detail|session"
                       r"|myths)\b")  # fmt: skip
    assert not [t for t in titles if wrong.search(t)], [t for t in titles if wrong.search(t)]
    assert len(set(titles)) == len(TEMPLATES)


def test_a_topic_typed_in_lower_case_is_spelt_as_the_niche_spells_it() -> None:
    """Typed "iphone tricks" gave "Iphone tricks speedrun" and "... never skip in iphone tricks"."""
    from miles.recommend.generate import niche_casing

    titles = ["5 iPhone tricks", "iPhone 16 camera test", "IPHONE HACK!!", "Best iPhone tips", "SSD vs HDD", "my ssd"]
    assert niche_casing("iphone tricks", titles) == "iPhone tricks"  # most titles: iPhone; TRICKS stays typed
    assert niche_casing("ssd upgrade", titles) == "ssd upgrade"  # one SSD, one ssd: not most of them
    assert niche_casing("best pasta", ["Best Pasta Ever", "BEST PASTA"]) == "best pasta"  # title case is no spelling
    assert niche_casing("Iphone", titles) == "Iphone"  # the creator's own capitals are kept
    # capitals are shouting, not spelling, past an acronym's length or in a title mostly in capitals ("PASTA against
    # the clock: beat my time" copied "FRESH PASTA Recipe Relay Challenge")
    shouted = ["FRESH PASTA Recipe Relay Challenge", "PASTA time", "GENIUS FOOD HACKS AND FUNNY TRICKS", "FOOD art"]
    assert niche_casing("pasta", shouted) == "pasta" and niche_casing("food", shouted) == "food"
    assert niche_casing("nasa", ["NASA launch", "NASA news", "nasa"]) == "NASA"  # an acronym still is one
    # a word no title uses is spelt as usual ("Budget gaming pc in 2026: worth it?"); titles say otherwise: theirs
    assert niche_casing("budget gaming pc", ["Gaming laptop under $500"]) == "budget gaming PC"
    assert niche_casing("pc build", ["my pc build", "pc build tips", "Pc"]) == "pc build"
    hashtags = ["Budget PC build #pc #gaming", "My PC setup #pc #setup", "cheap #pc #budget"]  # tags count no vote
    assert niche_casing("budget gaming pc", hashtags) == "budget gaming PC"

    x = "iPhone tricks"
    assert _fill("{X}: the detail pros never skip", x, 3, 2026) == "iPhone tricks: the detail pros never skip"
    assert _fill("{n} mistakes beginners make with {x}", x, 3, 2026) == "3 mistakes beginners make with iPhone tricks"
    drafts = OfflineGenerator(year=2026).generate(
        NicheContext(topic="iphone tricks", vibe="", outliers=OUTLIERS, titles=titles), n=8, seed=1
    )
    assert not any("Iphone" in d.title or "iphone" in d.title for d in drafts)


def test_the_vibe_takes_its_article() -> None:
    """ "Format: secret, for a honest feel." """
    from miles.recommend.generate import _article

    assert [_article(w) for w in ("honest", "eerie", "cozy", "unique", "one-pot", "upbeat", "hour-long")] == [
        "an", "an", "a", "a", "a", "an", "an"]  # fmt: skip


def test_a_winning_length_sets_the_ideas_length_and_cited_titles_are_cut_at_a_word() -> None:
    """The niche's only finding was "≤ 15 s" at 5.1x while every idea said 22 s; a cited title ended "...I pac"."""
    from miles.recommend.generate import shortened
    from miles.recommend.patterns import Pattern

    short = Pattern("duration:≤ 15 s", "≤ 15 s", "duration", 12, 30, 5.0, 1.0, 5.1, 2.0, 9.0, None, True)
    ctx = NicheContext(topic="bread", vibe="", outliers=OUTLIERS, patterns=[short])
    drafts = OfflineGenerator().generate(ctx, n=3, seed=1)
    assert {d.duration_s for d in drafts} == {12.0}
    assert all("(6.0×)" in d.reasoning and "x)" not in d.reasoning for d in drafts)  # as the page writes 6.0×
    long = "Taking our kids on a 14 hour road trip! What activties I packed 🚘 #familyvacation #traveling"
    assert shortened(long) == "Taking our kids on a 14 hour road trip! What activties I…"
    assert shortened("Short title") == "Short title"


def test_ideas_are_written_in_the_language_of_the_outliers_that_hold_the_topics_words() -> None:
    """Typed "iphone tricks" (too short to tell) got French ideas: most of its outliers were French iPhone videos, while
    the ones about iPhone tricks were English."""
    from types import SimpleNamespace

    from miles.recommend.ideas import ideas_language

    found = SimpleNamespace(language=None, topic_language=None)
    outliers = [{"title": f"Astuce iPhone {i}", "language": "fr"} for i in range(4)] + [
        {"title": "5 iPhone tricks you missed", "language": "en"},
        {"title": "iPhone tricks for photos", "language": "en"},
    ]
    assert ideas_language(found, outliers, "iphone tricks") == "en"  # type: ignore[arg-type]
    assert ideas_language(found, outliers, "iphone") == "fr"  # type: ignore[arg-type]  # most of them, as before
    # none holds the topic's words: most of the niche's outliers in French are no evidence (the tester got French)
    assert ideas_language(found, outliers[:4], "iphone tricks") is None  # type: ignore[arg-type]
    # a hashtag is not the title's words: French titles tagged #iphonetricks wrote "iphone tricks" ideas in French
    tagged = [{"title": f"Astuce iPhone {i} #iphonetricks", "language": "fr"} for i in range(3)]
    assert ideas_language(found, tagged, "iphone tricks") is None  # type: ignore[arg-type]
    japanese = [{"title": "簡単な料理レシピ 3選", "language": "ja"}]
    assert ideas_language(found, japanese, "料理レシピ") == "ja"  # type: ignore[arg-type]  # CJK: anywhere in the title


def _title_length_pattern(label: str, effect: float = 1.74) -> Pattern:
    return Pattern(f"title_length:{label}", label, "title length", 29, 52, 2.0, 1.1, effect, 1.1, 4.1, None, True)


def test_a_winning_title_length_sets_the_ideas_title_length() -> None:
    """The niche's finding "long title (> 60 characters)" beat the rest at 1.74x while every idea was 41-51
    characters long; the length a niche rewards now shapes the titles, as a winning duration sets the ideas' length."""
    for topic in ("ssd upgrade", "iphone tricks", "budget travel tips"):
        long = NicheContext(topic=topic, vibe="", outliers=OUTLIERS, patterns=[_title_length_pattern(LONG)])
        drafts = OfflineGenerator(year=2026).generate(long, n=5, seed=4)
        assert len(drafts) >= 5 and all(60 < len(d.title) <= 100 for d in drafts), [d.title for d in drafts]
        assert all("long title (> 60 characters)" in d.reasoning for d in drafts)
    short = NicheContext(topic="sourdough", vibe="", outliers=OUTLIERS, patterns=[_title_length_pattern(SHORT)])
    drafts = OfflineGenerator(year=2026).generate(short, n=3, seed=4)
    assert len(drafts) >= 3 and all(len(d.title) <= 30 for d in drafts), [d.title for d in drafts]


def test_english_titles_read_right_for_a_singular_topic() -> None:
    """ "What happens if you get SSD upgrade wrong?", "Getting started with SSD upgrade", "My first try at SSD
    upgrade": a singular noun after a verb or preposition needs an article the template cannot know. The topic
    now stands as the title's heading or after a word that takes a bare noun phrase."""
    import re

    needs_article = re.compile(r"\b(get|with|for|at|about|of|behind|trying|tried|to|best) ssd upgrade\b")
    for topic in ("ssd upgrade", "budget travel tips", "iphone tricks"):
        titles = [_fill(t.title + longer, topic, 3, 2026).lower() for t in TEMPLATES for longer in ("", t.longer)]
        assert not [t for t in titles if needs_article.search(t.replace(topic, "ssd upgrade"))], topic
