"""An adapter: what ``fer adapt`` fits on a user's own labelled faces, and how a classifier reads with it.

The shipped model stays as it is. Its embedding file (``models/emotion_cnn.embed.tflite``) gives,
beside the probabilities, each face's embedding: the last hidden layer of each of its networks,
concatenated. An adapter holds a standardisation of those embeddings, a multinomial logistic head on
them, and a blend weight ``w``; a face's adapted answer is

    log p = (1 - w) * log p_model + w * log p_head,   renormalised,

``w`` chosen by a k-fold on the user's faces (``fer.adapting``). Where the head was fit on some
emotions only, it shares out among them the probability the model gives to them, and leaves the
others' to the model: an emotion the user gave no faces of is still read.

The file is a NumPy ``.npz`` archive of plain arrays and one JSON entry, read with
``allow_pickle=False`` and checked entry by entry before use: a file from a stranger can be
opened safely, and anything else (a pickle, a truncated download, another model's adapter) is
refused with a message that says why.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fer.emotions import EMOTIONS, NUM_CLASSES

FORMAT = "fer-adapter"
VERSION = 1
SUFFIX = ".adapter"
# An adapter of the shipped model (512 numbers a face) is about 25 kB; a file far larger is not one,
# and is refused before it is unpacked.
MAX_BYTES = 2 * 1024**2
# The model's probabilities are floored before their logarithm, so that a float32 zero cannot veto
# an emotion the head is sure of.
PROBABILITY_FLOOR = 1e-9
ARRAYS = ("mean", "scale", "weights", "bias", "known")
META = "meta"
_SHA256 = re.compile(r"[0-9a-f]{64}")


class AdapterError(ValueError):
    """An adapter that cannot be used: malformed, of another format version, or of another model."""


@dataclass(frozen=True, eq=False)
class Adapter:
    """A head fit on a user's faces over the served model's embeddings, and how much it weighs."""

    model_sha256: str  # SHA-256 of the embedding file it was fit with: the only model it reads with
    mean: np.ndarray  # (D,) float32: the embeddings' mean over the faces it was fit on
    scale: np.ndarray  # (D,) float32: their standard deviation (1 where a feature never varied)
    weights: np.ndarray  # (D, 7) float32: the head, on standardised embeddings
    bias: np.ndarray  # (7,) float32
    known: np.ndarray  # (7,) bool: the emotions the head was fit on
    blend: float  # w: 0 is the model alone, 1 the head alone
    regularisation: float  # C, as scikit-learn's LogisticRegression's (smaller: stronger)
    faces: dict[str, int]  # faces per emotion it was fit on
    fitted: str  # the date it was fit, ISO
    model_name: str = ""  # the embedding file's name, for messages
    report: dict = field(default_factory=dict)  # the k-fold report it was chosen by (numbers, no file names)

    def __post_init__(self) -> None:
        _check(self)

    @property
    def embedding_size(self) -> int:
        return int(self.mean.shape[0])

    def apply(self, probabilities: np.ndarray, embeddings: np.ndarray) -> np.ndarray:
        """Adapted probabilities (N, 7) float32 from the model's (N, 7) and the faces' embeddings (N, D)."""
        x = (np.asarray(embeddings, dtype=np.float64) - self.mean) / self.scale
        logits = x @ self.weights.astype(np.float64) + self.bias
        return blend(probabilities, logits, self.known, self.blend)

    def check_model(self, sha256: str, name: str = "the loaded model") -> None:
        """AdapterError unless the adapter was fit with the model whose embedding file has ``sha256``."""
        if sha256 != self.model_sha256:
            fitted_on = f"{self.model_name} " if self.model_name else ""
            raise AdapterError(
                f"this adapter was fit with another model ({fitted_on}sha256 {self.model_sha256[:12]}…), not with "
                f"{name} (sha256 {sha256[:12]}…): an adapter reads only with the model it was fit on; fit one "
                "for this model with `python -m fer adapt`")

    def to_bytes(self) -> bytes:
        meta = {"format": FORMAT, "version": VERSION, "model_sha256": self.model_sha256, "model_name": self.model_name,
                "blend": self.blend, "regularisation": self.regularisation, "faces": self.faces,
                "fitted": self.fitted, "emotions": list(EMOTIONS), "report": self.report}
        buffer = io.BytesIO()
        np.savez(buffer, mean=self.mean, scale=self.scale, weights=self.weights, bias=self.bias, known=self.known,
                 meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8))
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes, source: str = "the adapter") -> Adapter:
        """An adapter from a file's bytes (an upload, a worker's copy); AdapterError, saying why, for
        anything that is not a well-formed adapter of this format version."""
        arrays, meta = _unpack(data, source)
        try:
            return cls(model_sha256=meta["model_sha256"], mean=arrays["mean"], scale=arrays["scale"],
                       weights=arrays["weights"], bias=arrays["bias"], known=arrays["known"], blend=meta["blend"],
                       regularisation=meta["regularisation"], faces=meta["faces"], fitted=meta["fitted"],
                       model_name=meta.get("model_name", ""), report=meta.get("report", {}))
        except KeyError as exc:
            raise AdapterError(f"{source} is not a complete adapter: its metadata has no {exc.args[0]!r}") from None
        except AdapterError as exc:
            raise AdapterError(f"{source}: {exc}") from None

    def save(self, path: str | Path) -> None:
        Path(path).write_bytes(self.to_bytes())

    @classmethod
    def load(cls, path: str | Path) -> Adapter:
        path = Path(path)
        if not path.is_file():
            raise AdapterError(f"no adapter at {path}; fit one with `python -m fer adapt --images DIR --out {path}`")
        if path.stat().st_size > MAX_BYTES:
            raise AdapterError(f"{path} is {path.stat().st_size:,} bytes: not an adapter (one is a few tens of kB)")
        return cls.from_bytes(path.read_bytes(), source=str(path))


def blend(probabilities: np.ndarray, logits: np.ndarray, known: np.ndarray, w: float) -> np.ndarray:
    """The adapted probabilities (N, 7) float32: the model's and the head's (``logits`` over the
    ``known`` emotions) blended in log space with weight ``w`` on the head, renormalised."""
    log_model = np.log(np.maximum(np.asarray(probabilities, dtype=np.float64), PROBABILITY_FLOOR))
    log_head = head_log_probabilities(log_model, logits, known)
    # At w = 1 the model's term is dropped, not multiplied by zero: a floored log is finite anyway,
    # but the head's answer then does not depend on it at all.
    mixed = log_head if w == 1 else (1 - w) * log_model + w * log_head
    mixed -= mixed.max(axis=1, keepdims=True)
    p = np.exp(mixed)
    return (p / p.sum(axis=1, keepdims=True)).astype(np.float32)


def head_log_probabilities(log_model: np.ndarray, logits: np.ndarray, known: np.ndarray) -> np.ndarray:
    """The head's log-probabilities over all seven emotions: the model's share of the ``known``
    emotions, divided among them by the head's softmax; the model's own for the others."""
    known = np.asarray(known, dtype=bool)
    z = np.where(known, logits, -np.inf)
    log_head = z - _logsumexp(z)
    if known.all():
        return log_head
    log_share = _logsumexp(np.where(known, log_model, -np.inf))
    return np.where(known, log_share + log_head, log_model)


def _logsumexp(z: np.ndarray) -> np.ndarray:
    top = z.max(axis=1, keepdims=True)
    return top + np.log(np.exp(z - top).sum(axis=1, keepdims=True))


def _unpack(data: bytes, source: str) -> tuple[dict[str, np.ndarray], dict]:
    """The archive's arrays and metadata, each checked before it is read."""
    if len(data) > MAX_BYTES:
        raise AdapterError(f"{source} is {len(data):,} bytes: not an adapter (one is a few tens of kB)")
    if data[:1] == b"\x80":
        raise AdapterError(f"{source} is a Python pickle, which an adapter never is: refused without opening it "
                           "(a pickle can run code)")
    if not data.startswith(b"PK\x03\x04"):
        raise AdapterError(f"{source} is not an adapter file (a .npz archive written by `python -m fer adapt`)")
    expected = {f"{name}.npy" for name in (*ARRAYS, META)}
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            names = {m.filename for m in members}
            unpacked = sum(m.file_size for m in members)
        if names != expected:
            raise AdapterError(f"{source} is not an adapter: it holds {sorted(names)[:8]}, where an adapter holds "
                               f"{sorted(expected)}")
        if unpacked > MAX_BYTES:
            raise AdapterError(f"{source} unpacks to {unpacked:,} bytes: not an adapter")
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in (*ARRAYS, META)}
    except AdapterError:
        raise
    except ValueError as exc:
        # NumPy refuses object arrays without allow_pickle (tests/test_adapter.py checks it never runs them).
        raise AdapterError(f"{source} is not an adapter: {exc}") from None
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError, RuntimeError) as exc:
        raise AdapterError(f"{source} is not a readable adapter file (truncated or corrupt: {exc})") from None
    meta_bytes = arrays.pop(META)
    if meta_bytes.dtype != np.uint8 or meta_bytes.ndim != 1:
        raise AdapterError(f"{source} is not an adapter: its metadata is not text")
    try:
        meta = json.loads(meta_bytes.tobytes().decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AdapterError(f"{source} is not an adapter: its metadata is not JSON ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise AdapterError(f"{source} is not an adapter: its metadata does not say format {FORMAT!r}")
    if meta.get("version") != VERSION:
        raise AdapterError(f"{source} is an adapter of format version {meta.get('version')!r}; this fer reads "
                           f"version {VERSION}: fit it again with `python -m fer adapt`")
    if meta.get("emotions", list(EMOTIONS)) != list(EMOTIONS):
        raise AdapterError(f"{source} orders its emotions {meta.get('emotions')}, not {list(EMOTIONS)}")
    return arrays, meta


def _check(adapter: Adapter) -> None:
    """AdapterError unless every field has its shape, type and range."""
    if not isinstance(adapter.model_sha256, str) or not _SHA256.fullmatch(adapter.model_sha256):
        raise AdapterError("its model_sha256 is not a SHA-256 in hex")
    for name in ("mean", "scale", "weights", "bias"):
        value = getattr(adapter, name)
        if not isinstance(value, np.ndarray) or value.dtype not in (np.float32, np.float64):
            raise AdapterError(f"its {name} is not an array of floats")
        if not np.isfinite(value).all():
            raise AdapterError(f"its {name} holds a value that is not finite")
    if not isinstance(adapter.known, np.ndarray) or adapter.known.dtype != np.bool_:
        raise AdapterError("its known emotions are not a mask of the seven")
    d = adapter.mean.shape[0] if adapter.mean.ndim == 1 else -1
    shapes = {"mean": (d,), "scale": (d,), "weights": (d, NUM_CLASSES), "bias": (NUM_CLASSES,), "known": (NUM_CLASSES,)}
    for name, shape in shapes.items():
        if d < 1 or getattr(adapter, name).shape != shape:
            raise AdapterError(f"its {name} has shape {getattr(adapter, name).shape}, where {shape} fits its mean "
                               f"{adapter.mean.shape}")
    if adapter.known.sum() < 2:
        raise AdapterError("its head knows fewer than two emotions")
    if (adapter.scale <= 0).any():
        raise AdapterError("its scale has a value that is not positive")
    if not isinstance(adapter.blend, int | float) or not 0 <= adapter.blend <= 1:
        raise AdapterError(f"its blend weight {adapter.blend!r} is not a number from 0 to 1")
    if not isinstance(adapter.regularisation, int | float) or not 0 < adapter.regularisation < float("inf"):
        raise AdapterError(f"its regularisation {adapter.regularisation!r} is not a positive number")
    if not isinstance(adapter.faces, dict) or set(adapter.faces) - set(EMOTIONS) or \
            not all(isinstance(n, int) and n >= 0 for n in adapter.faces.values()):
        raise AdapterError("its faces per emotion are not counts of the seven emotions")
    if not isinstance(adapter.fitted, str) or not isinstance(adapter.model_name, str) or \
            not isinstance(adapter.report, dict):
        raise AdapterError("its date, model name or report is not of the right type")
