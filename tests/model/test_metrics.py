"""Each metric against a small example computed by hand."""

from __future__ import annotations

import numpy as np
import pytest

from miles.model import metrics as m


def test_spearman_by_hand() -> None:
    # rank differences 0, 1, 1, 0 -> 1 - 6 * 2 / (4 * 15) = 0.8
    assert m.spearman([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(0.8)
    assert np.isnan(m.spearman([1, 1, 1], [1, 2, 3]))


def test_r2_and_mae_log10_by_hand() -> None:
    assert m.r2([1, 2, 3], [1, 2, 4]) == pytest.approx(1 - 1 / 2)
    # log1p(99) vs log1p(9): one order of magnitude; the other row is exact
    assert m.mae_log10([np.log1p(99), 1.0], [np.log1p(9), 1.0]) == pytest.approx(0.5)


def test_auroc_by_hand() -> None:
    # positives 0.35 and 0.8 beat negatives 0.1/0.4 in 3 of 4 pairs
    assert m.auroc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.75)
    assert m.auroc([0, 1], [0.5, 0.5]) == pytest.approx(0.5)  # a tie counts half
    assert np.isnan(m.auroc([1, 1], [0.2, 0.3]))


def test_pr_auc_by_hand() -> None:
    # ranked: 0.8 (pos), 0.4 (neg), 0.35 (pos), 0.1 (neg): precision 1 at recall 1/2, 2/3 at recall 1
    assert m.pr_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)
    # tied scores form one threshold: both rows enter together, precision 1/2 at recall 1
    assert m.pr_auc([1, 0], [0.5, 0.5]) == pytest.approx(0.5)


def test_precision_at_k_by_hand() -> None:
    assert m.precision_at_k([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], 2) == pytest.approx(0.5)
    assert m.precision_at_k([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], 1) == pytest.approx(1.0)


def test_precision_at_k_shares_the_places_left_among_tied_rows() -> None:
    # two places, one taken by the 0.9; the three rows tied at 0.5 (two positive) share the other: 1 + 2/3 of 1
    labels, scores = [1, 0, 1, 1, 0], [0.9, 0.5, 0.5, 0.5, 0.1]
    assert m.precision_at_k(labels, scores, 2) == pytest.approx((1 + 2 / 3) / 2)
    order = [3, 0, 4, 1, 2]  # the same rows in another order: the same value (row order decided it before)
    assert m.precision_at_k([labels[i] for i in order], [scores[i] for i in order], 2) == pytest.approx((1 + 2 / 3) / 2)
    assert m.precision_at_k([1, 0, 0], [float("nan"), 0.2, 0.1], 1) == pytest.approx(0.0)  # unscored ranks last


def test_ece_and_reliability_by_hand() -> None:
    labels, probs = [0, 1, 1, 1], [0.1, 0.1, 0.9, 0.9]
    # bin 0.1: observed 1/2 vs 0.1 -> 0.4; bin 0.9: observed 1 vs 0.9 -> 0.1; each holds half the rows
    assert m.ece(labels, probs) == pytest.approx(0.25)
    curve = m.reliability_curve(labels, probs)
    assert [c["count"] for c in curve] == [0, 2, 0, 0, 0, 0, 0, 0, 0, 2]
    assert curve[1]["observed"] == pytest.approx(0.5) and curve[9]["mean_prob"] == pytest.approx(0.9)


def test_mrse_by_hand() -> None:
    # (110/100 - 1)^2 = 0.01, (100/200 - 1)^2 = 0.25; a row with 0 true views is skipped
    assert m.mrse([100, 200, 0], [110, 100, 5]) == pytest.approx(0.13)


def test_bootstrap_resamples_whole_groups() -> None:
    groups = np.array(["a", "a", "b"])
    bounds = m.bootstrap(lambda rows: {"n": float(len(rows))}, groups, n_boot=400, seed=1)
    # drawing groups {a,a}, {a,b} or {b,b} gives 4, 3 or 2 rows; drawing rows would always give 3
    assert bounds["n"] == (2.0, 4.0)
    single = m.bootstrap(lambda rows: {"n": float(len(rows))}, np.array(["a", "a"]), n_boot=10)
    assert all(np.isnan(v) for v in single["n"])
