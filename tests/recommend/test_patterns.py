"""Pattern statistics on a hand-built niche whose answer is known."""

from __future__ import annotations

import numpy as np
import pandas as pd

from miles.recommend.patterns import find_patterns


def niche(n: int = 120, seed: int = 0) -> pd.DataFrame:
    """Questions triple the multiple; everything else is noise."""
    rng = np.random.default_rng(seed)
    question = np.arange(n) % 3 == 0
    titles = [f"Why is my bread flat {i}?" if q else f"Bread recipe number {i}" for i, q in enumerate(question)]
    multiple = np.where(question, 3.0, 1.0) * rng.lognormal(0.0, 0.1, n)
    return pd.DataFrame(
        {
            "video_id": [f"v{i}" for i in range(n)],
            "title": titles,
            "multiple": multiple,
            "duration_s": rng.uniform(10, 50, n),
            "published_at": pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(np.arange(n), "h"),
        }
    )


def test_question_effect_is_found_with_interval_and_counter_example() -> None:
    patterns = {p.key: p for p in find_patterns(niche())}
    q = patterns["question"]
    assert q.n_with == 40 and q.n_without == 80
    assert q.effect is not None and 2.5 < q.effect < 3.5
    assert q.ci_low is not None and q.ci_high is not None and q.ci_low > 2.0 and q.ci_high < 4.0
    assert q.is_finding
    assert q.counter_example is not None and "?" in q.counter_example["title"]
    # the weakest video *with* a helping pattern is the counter-example
    frame = niche()
    weakest = frame[frame.title.str.contains("?", regex=False)].multiple.min()
    assert abs(q.counter_example["multiple"] - weakest) < 1e-9
    assert not patterns["number"].enough_data  # every title has a digit: nothing to compare against


def test_small_sides_are_not_enough_data() -> None:
    frame = niche(n=12)
    patterns = {p.key: p for p in find_patterns(frame, min_count=8)}
    assert not patterns["question"].enough_data
    assert patterns["question"].effect is None and not patterns["question"].is_finding


def test_findings_come_first_and_are_deterministic() -> None:
    first = find_patterns(niche(), seed=3)
    again = find_patterns(niche(), seed=3)
    assert [p.as_dict() for p in first] == [p.as_dict() for p in again]
    assert first[0].is_finding
