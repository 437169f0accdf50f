"""The model card's tables print metrics people can read: three decimals, separators for big values, a dash for none."""

from __future__ import annotations

from miles.model.card import metrics_table


def test_big_and_missing_values_read_plainly() -> None:
    report = {
        "metrics": {
            "model (lightgbm)": {"spearman": {"value": 0.6241, "lo": 0.557, "hi": 0.686}},
            "pinto": {"spearman": {"value": 16703862.98, "lo": float("nan"), "hi": None}},
        }
    }
    table = metrics_table(report)
    assert "| model (lightgbm) | 0.624 [0.557, 0.686] |" in table
    assert "16,703,863 [–, –]" in table and "e+07" not in table and "nan" not in table
