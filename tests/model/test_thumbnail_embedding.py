"""The thumbnail-embedding features: EfficientNet-Lite0 vectors of real photographs (the real ONNX encoder) projected on
a PCA fitted on the training fold, saved inside the artifact and applied by the served predictor - the same code, the
same numbers; a draft without a thumbnail gets missing components (like a training video without an image).

No development source has thumbnail images (DATA.md: the jp set kept only two statistics, the images were never
published), so the images are 60 thumbnail-sized crops of the three photographs that ship inside installed packages
(scikit-learn's china.jpg and flower.jpg, matplotlib's grace_hopper.jpg), each attached to one real video of the
ordinary-uploads set. Real pixels through the real encoder; the pairing with outcomes is arbitrary, so this checks the
mechanism, not whether thumbnails predict views. Embedding them takes about a second on one core.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from tests.conftest import make_settings

from miles.config import Settings
from miles.errors import InvalidInput
from miles.features.draft import DraftInput
from miles.model.embed_features import THUMB_EMBED_GROUP, THUMB_EMBEDDING, THUMB_PC_COLUMNS
from miles.model.encoders import ImageEncoder
from miles.model.gbdt import GBDTModel
from miles.model.predict import Predictor, _parse
from miles.model.train import TrainConfig, train

pytestmark = pytest.mark.xdist_group("encoders")
MFTN = "mftn_tech_channels_2026/recent_uploads_snapshots.parquet"
PHOTOS = ("sklearn/datasets/images/china.jpg", "sklearn/datasets/images/flower.jpg",
          "matplotlib/mpl-data/sample_data/grace_hopper.jpg")  # fmt: skip


def real_thumbnails(n: int = 60) -> list[bytes]:
    """``n`` distinct 480x360 JPEG thumbnails cut from the photographs shipped in installed packages."""
    import matplotlib
    import sklearn

    site = Path(sklearn.__file__).parent.parent
    assert Path(matplotlib.__file__).parent.parent == site
    out: list[bytes] = []
    for k in range(n):
        photo = Image.open(site / PHOTOS[k % len(PHOTOS)]).convert("RGB")
        scale = 1.0 + 0.25 * ((k // len(PHOTOS)) % 4)  # 1x to 1.75x, then a different window
        big = photo.resize((round(photo.width * scale), round(photo.height * scale)))
        w, h = min(480, big.width), min(360, big.height)
        step = k // (len(PHOTOS) * 4)
        x = (step * 37) % max(big.width - w, 1)
        y = (step * 23) % max(big.height - h, 1)
        buf = io.BytesIO()
        big.crop((x, y, x + w, y + h)).resize((480, 360)).save(buf, format="JPEG", quality=90)
        out.append(buf.getvalue())
    assert len(set(out)) == n
    return out


@pytest.fixture(scope="module")
def encoders_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("encoders")


@pytest.fixture(scope="module")
def encoder(encoders_dir: Path) -> ImageEncoder:
    return ImageEncoder.load(encoders_dir)


@pytest.fixture
def settings(tmp_path: Path, encoders_dir: Path, encoder: ImageEncoder) -> Settings:
    """Settings whose encoder cache already holds the exported image encoder (no second export)."""
    out = make_settings(tmp_path / "settings")
    shutil.copytree(encoders_dir, out.cache_dir / "encoders")
    return out


def test_served_thumbnail_features_are_the_trained_ones(
    shared_data: Path, tmp_path: Path, encoder: ImageEncoder, settings: Settings
) -> None:
    frame = pd.read_parquet(shared_data / MFTN)
    frame = frame.loc[frame["channel_id"].isin(sorted(frame["channel_id"].dropna().unique())[:80])]
    blobs = real_thumbnails(60)
    vectors = encoder.encode_bytes(blobs, max_pixels=20_000_000, max_bytes=5_000_000)
    assert vectors.shape == (60, 1280) and np.isfinite(vectors).all()
    videos = sorted(frame["video_id"].unique())[::7][:60]  # spread over channels, so every fold holds some
    image_of = dict(zip(videos, range(60), strict=True))
    frame[THUMB_EMBEDDING] = pd.Series([vectors[image_of[v]] if v in image_of else None for v in frame["video_id"]],
                                       index=frame.index, dtype=object)  # fmt: skip
    cfg = TrainConfig(task="prepublish", text_embedding=False, thumbnail=True, thumbnail_embedding=True,
                      leave_one_source_out=False, cross_source_weight=False, n_boot=10)  # fmt: skip
    result = train(frame, cfg, tmp_path / "model")
    model = result.model
    assert THUMB_EMBED_GROUP in cfg.feature_groups() and set(THUMB_PC_COLUMNS) <= set(model.features)
    assert model.thumb_projector is not None and model.thumb_projector.encoder_id == encoder.encoder_id
    built = result.data.X.assign(video_id=result.data.meta["video_id"]).drop_duplicates("video_id")
    built = built.set_index("video_id")[list(THUMB_PC_COLUMNS)]
    assert built.loc[[v for v in built.index if v not in image_of]].isna().all().all()  # no image: missing
    assert built.loc[[v for v in videos if v in built.index]].notna().all().all()

    predictor = Predictor.load(tmp_path / "model", settings=settings)
    loaded = predictor.prepublish.model
    assert loaded.thumb_projector is not None  # the PCA is inside the artifact
    np.testing.assert_allclose(loaded.thumb_projector.components, model.thumb_projector.components)
    video = next(v for v in videos if v in built.index)
    row = frame.loc[frame["video_id"] == video].iloc[-1]
    draft = {"title": str(row["title"]), "duration_s": float(row["duration_s"]),
             "channel_subscribers": float(row["channel_subscribers"])}  # fmt: skip
    served = predictor._extra([predictor_input(draft, blobs[image_of[video]]), predictor_input(draft, None)], loaded)
    np.testing.assert_allclose([served[c][0] for c in THUMB_PC_COLUMNS], built.loc[video].to_numpy(), rtol=1e-4,
                               atol=1e-4)  # fmt: skip
    assert all(np.isnan(served[c][1]) for c in THUMB_PC_COLUMNS)  # without a thumbnail: missing, never zero
    evaluated = GBDTModel.load(tmp_path / "model" / "model").prepare_frame(frame.loc[frame["video_id"] == video])
    np.testing.assert_allclose(evaluated[list(THUMB_PC_COLUMNS)].iloc[0].to_numpy(), built.loc[video].to_numpy(),
                               rtol=1e-4, atol=1e-4)  # fmt: skip

    with_image, without = predictor.predict([{**draft, "thumbnail": blobs[image_of[video]]}, draft])
    assert "thumbnail" in with_image.inputs_used and "thumbnail" in without.inputs_missing
    for pred in (with_image, without):
        assert all(np.isfinite([h.p10, h.p50, h.p90]).all() and h.p10 <= h.p50 <= h.p90 for h in pred.horizons)
    with pytest.raises(InvalidInput, match="not a readable image"):
        predictor.predict([{**draft, "thumbnail": b"GIF89a not really"}])


def predictor_input(draft: dict[str, object], thumbnail: bytes | None) -> DraftInput:
    return _parse(DraftInput.from_mapping({**draft, "thumbnail": thumbnail}, 0), 0)
