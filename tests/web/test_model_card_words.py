"""What a creator reads on the Model card: intervals that read as ranges, counts with their thousands separators,
and an opening sentence the tables under it do not contradict."""

from __future__ import annotations

import html as html_text
import re

from fastapi.testclient import TestClient
from tests.web.test_live_quote import grade_videos
from tests.web.test_pages import text_of

from miles.config import Settings
from miles.serve.pages.common import TEMPLATES

REP = {
    "columns": [{"key": "r2", "label": "R² ↑"}, {"key": "mae_log10", "label": "MAE log10 ↓"}],
    "n_rows": 5041,
    "videos": 1324,
    "groups": 1,
    "viral_rate": 0.89,
    "rows": [
        {"name": "model", "is_model": True, "cells": [{"value": 0.45, "lo": 0.176, "hi": 0.599}, None]},
        {"name": "age", "is_model": False, "cells": [{"value": -0.247, "lo": -0.382, "hi": -0.176}, None]},
        {"name": "size", "is_model": False, "cells": [{"value": 0.036, "lo": -0.03, "hi": 0.112}, None]},
    ],
}


def metrics_text() -> str:
    return text_of(TEMPLATES.get_template("_metrics_table.html").render(caption="Held-out test", rep=REP))


def test_an_interval_with_a_negative_bound_reads_as_a_range_not_a_subtraction() -> None:
    shown = metrics_text()
    assert "−0.382 to −0.176" in shown and "−0.030 to 0.112" in shown, shown  # was "-0.382–-0.176"
    assert "0.176–0.599" in shown  # positive bounds keep the short form
    assert not re.search(r"\d–-", shown), shown
    assert "−0.247" in shown and "-0.247" not in shown  # the value beside its interval has the same minus sign
    html = TEMPLATES.get_template("_metrics_table.html").render(caption="Held-out test", rep=REP)
    assert '<span class="muted small nowrap">−0.382 to −0.176</span>' in html  # one line: it wrapped at "to" or "–"


def test_the_test_fold_counts_have_thousands_separators_and_agree_with_their_nouns() -> None:
    shown = metrics_text()
    assert "5,041 rows, 1,324 videos, 1 channel," in shown, shown  # was "5041 rows, 1324 videos, 1 channels"


def test_the_model_page_does_not_say_every_number_is_on_unseen_channels_above_its_warm_table(web: TestClient) -> None:
    page = text_of(web.get("/model").text)
    assert "Warm channels (seen in training)" in page
    assert "Every number is measured forward in time on channels the model never saw" not in page
    assert "the held-out test on channels the model never saw in training, the warm table" in page
    rows = web.get("/model.json").json()["tasks"][0]["training"]["sources"]
    big = next(s["rows"] for s in rows.values() if s["rows"] >= 1000)
    assert f"{big:,}" in page and f" {big} " not in page  # the training-data table's rows, as its total line


def test_the_model_page_counts_agree_with_their_nouns(web: TestClient, web_settings: Settings) -> None:
    """The live section said "1 video Miles scored later got their views"."""
    version = web.get("/model.json").json()["version"]
    grade_videos(web_settings, version, 1)
    one = text_of(web.get("/model").text)
    assert "1 video Miles scored later got its views: the median" in one, one
    assert "with 2 tasks: prepublish and early" in one
    training = web.get("/model.json").json()["tasks"][0]["training"]
    assert f"{training['rows']:,} rows from {training['videos']:,} videos of {training['groups']:,} channels." in one
    grade_videos(web_settings, version, 1, start=1)
    assert "2 videos Miles scored later got their views: the median" in text_of(web.get("/model").text)


def _section(html: str, anchor: str, levels: str = "1-3") -> str:
    """The page's text from the element with id ``anchor`` to the next heading of ``levels``."""
    start = html.index(f'id="{anchor}"')
    end = re.search(rf"<h[{levels}][ >]", html[start + 1 :])
    text = html_text.unescape(text_of(html[start : start + 1 + end.start()] if end else html[start:]))
    return text.replace("\xa0", " ")  # as read: a percentage's no-break space is a space


def test_the_tables_the_cards_words_point_to_are_on_the_page(web: TestClient) -> None:
    """The boxes at the top quote the card: 'the coverage column of the leave-one-source-out table' and 'row counts by
    reading age, t_i, in the early task's table' pointed to tables only the collapsed full card had. The page shows
    them, from the bundle's metrics.json."""
    data = web.get("/model.json").json()
    shown = f"{data['plain_words']}\n{data['unknowns']}"
    assert "the coverage column of the leave-one-source-out table" in shown  # the shipped card says so
    assert "row counts by reading age, t_i, in the early task's table" in shown
    assert "the publish ranges per source are listed below" in shown
    html = web.get("/model").text
    metrics = web.get("/api/v1/model").json()["metrics"]
    for task in data["tasks"]:
        loso = metrics[task["task"]]["leave_one_source_out"]
        table = _section(html, f"loso-{task['task']}")
        assert "p10–p90 coverage" in table and "Held-out source (trained on the others)" in table
        for source, report in loso.items():
            model = next(iter(report["metrics"]))
            mae = report["metrics"][model]["mae_log10"]["value"]
            cells = f"{source} {report['rows']:,} {report['coverage_p10_p90'] * 100:.0f} % {model}: {mae:.2f}"
            assert cells in table, (cells, table)
    early = next(t for t in data["tasks"] if t["task"] == "early")
    counts = metrics["early"]["headline"]["t_i_counts"]
    assert early["t_i_counts"] == counts
    row = "Rows read at that age " + " ".join(f"{n:,}" for n in [sum(counts.values()), *counts.values()])
    assert row in _section(html, "task-early", "12"), row
    page = text_of(html)
    assert page.index("Published from") > page.index("What the model does not know")  # "listed below"


def test_every_metric_the_page_shows_is_explained_in_plain_words(web: TestClient) -> None:
    """Spearman, MAE log10, ECE, mRSE, AUROC, precision@k stood bare in the tables; one glossary (METRIC_WORDS) says
    what each means, under the page's 'What the numbers in the tables mean' and in each column header's title."""
    data = web.get("/model.json").json()
    words = {m["key"]: m for m in data["metric_words"]}
    html = web.get("/model").text
    glossary = _section(html, "metric-words", "12")
    shown = {c["key"] for t in data["tasks"] for r in t["reports"].values() for c in r["columns"]}
    shown |= {"mrse"} if any(t["mrse_by_t_i"] for t in data["tasks"]) else set()
    shown |= {"coverage_p10_p90"} if any(t["interval_coverage"] is not None for t in data["tasks"]) else set()
    assert {"spearman", "mae_log10", "ece", "auroc", "precision_at_k", "mrse"} <= shown
    for key in shown:
        assert f"{words[key]['name']} {words[key]['means']}" in glossary, key
    assert "0.6 = by ×4 (forecasts are typically within ×4 of the real views)" in words["mae_log10"]["means"]
    assert f'title="{words["ece"]["means"]}"><a href="#metric-ece">ECE ↓</a></th>' in html_text.unescape(html)


def test_big_numbers_read_with_separators_or_millions_never_as_exponents(web: TestClient) -> None:
    """The early table showed a baseline's mRSE of 16,703,862.98 as '1.67e+07'."""
    from miles.serve.pages.common import _metric_number

    assert [_metric_number(v) for v in (0.5971, -2.512, 2186.3, 16703862.98, None, float("nan"))] == [
        "0.597", "−2.512", "2,186", "16.7M", "–", "–"]  # fmt: skip
    assert _metric_number(1.517, "%.3g") == "1.52" and _metric_number(800.075, "%.3g") == "800"
    html = web.get("/model").text
    assert not re.search(r"\de[+-]\d", html_text.unescape(text_of(html)))
    early = _section(html, "task-early", "12")
    assert "age 16.7M 177.8M 70.4M 18.3M 8M 9.6M" in early, early


def test_precision_at_k_says_how_many_rows_it_rests_on_and_what_a_random_pick_scores(web: TestClient) -> None:
    """precision@k read '1.000 [1.000, 1.000]' like a perfect score: it is the top 10 % of the test rows (504 of
    5,041), 89 % of which are viral, so a random pick scores 0.890."""
    data = web.get("/model.json").json()
    head = data["tasks"][0]["reports"]["headline"]
    assert head["k"] == 504 and head["n_rows"] == 5041
    page = _section(web.get("/model").text, "task-prepublish", "12")
    assert "precision@k on the top k = 504 rows (a random pick of them would score 0.890, the viral rate)" in page
    assert "1.000 1.000–1.000 504 of top 504 viral" in page, page  # the model's: every one of the 504 went viral


def test_table_captions_stay_above_the_sideways_scroller(web: TestClient) -> None:
    """On a 390 px phone a caption inside the scrolling .table-wrap was as wide as its table and cut at the screen's
    edge; each caption now sits above its scroller and names its table (aria-labelledby)."""
    html = web.get("/model").text
    assert "<caption" not in html
    captions = list(re.finditer(r'<figcaption class="table-caption" id="([^"]+)">', html))
    assert len(captions) >= 5  # headline and warm tables of both tasks, the early table
    for caption in captions:
        after = html[caption.end() :]
        wrap, labelled = after.index('<div class="table-wrap">'), after.index(f'aria-labelledby="{caption.group(1)}"')
        assert after.index("</figcaption>") < wrap < labelled < after.index("</figure>")


def test_the_what_if_header_stays_on_one_line_and_the_table_scrolls_sideways() -> None:
    """On a phone the What-if header wrapped a word per line ('80 % / range / at / 30d'), four lines tall."""
    from miles.serve.pages.common import STATIC_DIR

    css = (STATIC_DIR / "miles.css").read_text(encoding="utf-8")
    assert re.search(r"table\.variants thead th[^{]*\{ white-space: nowrap; \}", css)
    template = TEMPLATES.get_template("_score_result.html").filename or ""
    with open(template, encoding="utf-8") as fh:
        assert '<div class="table-wrap">\n  <table class="variants' in fh.read()
