"""Fusion MLP: overfits 32 rows on CPU, masks missing modalities, round-trips through safetensors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from miles.model.fusion import FusionConfig, FusionModel, pinball, train_fusion  # noqa: E402


def _rows(n: int = 32, seed: int = 0) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    arrays = {
        "text": rng.normal(size=(n, 8)).astype(np.float32),
        "thumb": rng.normal(size=(n, 3)).astype(np.float32),
        "tab": rng.normal(size=(n, 5)).astype(np.float32),
    }
    arrays["thumb"][::2] = np.nan  # half the rows have no thumbnail
    log_views = 5 + arrays["tab"][:, 0] * 2 + arrays["text"][:, 1]
    viral = (log_views > np.median(log_views)).astype(float)
    return arrays, log_views.astype(float), viral


def test_overfits_32_rows() -> None:
    arrays, y, viral = _rows()
    cfg = FusionConfig(inputs={"text": 8, "thumb": 3, "tab": 5}, epochs=300, batch_size=32, dropout=0.0, lr=1e-2)
    model, history = train_fusion(cfg, arrays, y, viral)
    p_viral, q = model.predict(arrays)
    assert history[-1] < 0.1 * history[0]
    assert np.mean(np.abs(q[:, 1] - y)) < 0.15
    assert ((p_viral > 0.5) == (viral > 0.5)).all()
    assert (np.diff(q, axis=1) >= 0).all()  # quantiles never cross


def test_missing_modality_is_masked_not_zero() -> None:
    cfg = FusionConfig(inputs={"text": 2, "thumb": 2}, dropout=0.0)
    model = FusionModel(cfg).eval()
    text = np.ones((1, 2), dtype=np.float32)
    missing = model.predict({"text": text, "thumb": np.full((1, 2), np.nan, dtype=np.float32)})
    zeros = model.predict({"text": text, "thumb": np.zeros((1, 2), dtype=np.float32)})
    assert not np.allclose(missing[1], zeros[1])


def test_save_load_identical(tmp_path: Path) -> None:
    arrays, y, viral = _rows(seed=1)
    model, _ = train_fusion(FusionConfig(inputs={"text": 8, "thumb": 3, "tab": 5}, epochs=3), arrays, y, viral)
    model.save(tmp_path / "fusion")
    again = FusionModel.load(tmp_path / "fusion")
    for a, b in zip(model.predict(arrays), again.predict(arrays), strict=True):
        np.testing.assert_array_equal(a, b)


def test_pinball_is_zero_at_truth() -> None:
    y = torch.tensor([1.0, 2.0])
    assert float(pinball(torch.stack([y, y, y], dim=1), y, (0.1, 0.5, 0.9))) == 0.0
