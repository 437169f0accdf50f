"""What a creator reads on the Model card: intervals that read as ranges, counts with their thousands separators,
and an opening sentence the tables under it do not contradict."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from tests.web.test_pages import text_of

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
