"""The emotion classifier as served: the shipped LiteRT file, loaded once, with no TensorFlow."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from fer.adapter import Adapter, AdapterError
from fer.emotions import FACE_SIZE, NUM_CLASSES
from fer.litert import PROBABILITIES, LiteRTModel
from fer.views import tta_images

logger = logging.getLogger(__name__)

MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
# The model contract, what anyone scores with keras.models.load_model, and the file served from it
# (`python -m fer export`), kept in step by tests/test_export.py.
CONTRACT_MODEL = MODELS_DIR / "emotion_cnn.keras"
DEFAULT_MODEL = MODELS_DIR / "emotion_cnn.tflite"
# Beside each served file, the same model giving each face's embedding too (what an adapter reads).
EMBEDDING_SUFFIX = ".embed.tflite"
EMBEDDING = "embedding"  # the embedding file's second output

# What evaluation can score a .keras model with (fer.training.evaluate): the LiteRT export with int8
# weights (what is served), with float weights, or Keras itself (the reference).
Runtime = Literal["litert-int8", "litert", "keras"]
RUNTIMES: tuple[Runtime, ...] = ("litert-int8", "litert", "keras")
DEFAULT_RUNTIME: Runtime = "litert-int8"

Predictor = Callable[[np.ndarray], np.ndarray]


def embedding_file(model: str | Path) -> Path:
    """The embedding file served beside ``model`` (``emotion_cnn.tflite`` -> ``emotion_cnn.embed.tflite``)."""
    model = Path(model)
    return model if model.name.endswith(EMBEDDING_SUFFIX) else model.with_suffix(EMBEDDING_SUFFIX)


@dataclass(frozen=True)
class FaceFeatures:
    """What one pass of the embedding file gives for a batch of faces, for each view read."""

    probabilities: np.ndarray  # (views, N, 7) float32: the model's own, as ``predict`` serves them without an adapter
    embeddings: np.ndarray  # (views, N, D) float32: the last hidden layer of each network, concatenated


class Embedder:
    """The served embedding file, or any ``run`` giving a batch's probabilities (N, 7) and
    embeddings (N, ``size``) in one pass; ``sha256`` names the file, which adapters check."""

    def __init__(self, run: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]], size: int, sha256: str,
                 name: str = "") -> None:
        self.run = run
        self.size = size
        self.sha256 = sha256
        self.name = name

    @classmethod
    def from_litert(cls, model: LiteRTModel, sha256: str, name: str = "") -> Embedder:
        if set(model.output_shapes) != {PROBABILITIES, EMBEDDING} or len(model.output_shapes[EMBEDDING]) != 1:
            raise ValueError(f"an embedding file has outputs {PROBABILITIES!r} and {EMBEDDING!r} (one vector a face); "
                             f"{name or 'this one'} has {model.output_shapes}")

        def run(batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            outputs = model.outputs(batch)
            return outputs[PROBABILITIES], outputs[EMBEDDING]

        return cls(run, model.output_shapes[EMBEDDING][0], sha256, name)

    def __call__(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.run(batch)


class EmotionClassifier:
    """Runs a model taking (N, 48, 48, 1) float32 gray levels 0..255 to (N, 7) probabilities.

    ``run`` is the model (the served LiteRT file, or any predictor with that contract). With
    ``thorough`` each face is read over ten views (``fer.views``: the face and its four 2-pixel
    shifts, each also mirrored), ten passes of the model per face, for bulk labelling rather than
    live video. The shipped model's scores with it:
    ``models/metrics_thorough.json`` (``docs/model-card.md``).

    ``embedder`` (the served embedding file, loaded with ``embeddings=True`` or an adapter) gives
    each face's embedding too (``features``); with ``adapter`` (``fer.adapter``) every answer is the
    adapted one, each view's read by one pass of the embedding file.
    """

    def __init__(self, run: Predictor, thorough: bool = False, embedder: Embedder | None = None,
                 adapter: Adapter | None = None) -> None:
        self.run = run
        self.thorough = thorough
        self.embedder = embedder
        self.adapter = adapter
        if adapter is not None:
            _check_fits(adapter, embedder)

    @classmethod
    def load(cls, path: str | Path = DEFAULT_MODEL, thorough: bool = False, threads: int = 2,
             adapter: Adapter | None = None, embeddings: bool = False) -> EmotionClassifier:
        """A ``.tflite`` file as served; a ``.keras`` file is exported to LiteRT with int8 weights
        first, in memory (that needs the training half's TensorFlow: seconds, not milliseconds).
        With ``adapter`` or ``embeddings`` the embedding file beside ``path`` is loaded instead."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no model at {path}; train one with `python -m fer train`, "
                                    "then `python -m fer export` it")
        if path.suffix == ".keras":
            if adapter is not None or embeddings:
                raise ValueError(f"embeddings and adapters are read from a served embedding file: run "
                                 f"`python -m fer export --model {path}` and load its {EMBEDDING_SUFFIX} file")
            from fer.training.export import litert_from_keras_file

            return cls(litert_from_keras_file(path), thorough)
        if adapter is not None or embeddings:
            path = embedding_file(path)
            if not path.is_file():
                raise FileNotFoundError(f"no embedding file at {path}, which adapters and embeddings need: "
                                        "`python -m fer export` writes it beside the served file")
        logger.info("loading %s (%d kB)", path, path.stat().st_size // 1024)
        return cls.from_litert(path.read_bytes(), thorough, threads, source=str(path), adapter=adapter)

    @classmethod
    def from_litert(cls, content: bytes, thorough: bool = False, threads: int = 2, source: str = "the model",
                    adapter: Adapter | None = None) -> EmotionClassifier:
        """A served LiteRT file's bytes (what a cluster's workers receive instead of a path); an
        embedding file gives embeddings too, and may read with ``adapter``."""
        model = LiteRTModel(content, threads)
        if model.input_shape != (FACE_SIZE, FACE_SIZE, 1) or model.output_shape != (NUM_CLASSES,):
            raise ValueError(f"{source} maps {model.input_shape} -> {model.output_shape} per face; the contract is "
                             f"{(FACE_SIZE, FACE_SIZE, 1)} -> {(NUM_CLASSES,)}")
        embedder = None
        if EMBEDDING in model.output_shapes:
            embedder = Embedder.from_litert(model, hashlib.sha256(content).hexdigest(), Path(source).name)
        return cls(model, thorough, embedder, adapter)

    def with_thorough(self, thorough: bool) -> EmotionClassifier:
        """The same loaded model, read over ten views per face or as it reads a face alone."""
        return EmotionClassifier(self.run, thorough, self.embedder, self.adapter)

    def with_adapter(self, adapter: Adapter | None) -> EmotionClassifier:
        """The same loaded model reading with ``adapter`` (None: without one); AdapterError where the
        adapter was fit on another model, ValueError where this one was loaded without embeddings."""
        return EmotionClassifier(self.run, self.thorough, self.embedder, adapter)

    def predict(self, batch: np.ndarray) -> np.ndarray:
        """Probabilities (N, 7) for a (N, 48, 48, 1) float32 batch; empty in, empty out."""
        if len(batch) == 0:
            return np.zeros((0, NUM_CLASSES), dtype=np.float32)
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        if self.adapter is not None:
            features = self.features(batch)
            adapted = [self.adapter.apply(p, e) for p, e in zip(features.probabilities, features.embeddings, strict=True)]
            return np.stack(adapted).mean(axis=0) if self.thorough else adapted[0]
        if not self.thorough:
            return np.asarray(self.run(batch), dtype=np.float32)
        # One call for all views of all faces, then the mean over the views of each face.
        views = tta_images(batch, shifts=True)
        probabilities = np.asarray(self.run(np.concatenate(views)), dtype=np.float32)
        return probabilities.reshape(len(views), len(batch), NUM_CLASSES).mean(axis=0)

    def features(self, batch: np.ndarray) -> FaceFeatures:
        """The model's probabilities and the embeddings of a (N, 48, 48, 1) batch, for the face as
        read (one view) or, thorough, for each of its ten views: one pass of the embedding file."""
        if self.embedder is None:
            raise ValueError("this classifier was loaded without its embedding file: load it with embeddings=True")
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        views = tta_images(batch, shifts=True) if self.thorough else [batch]
        probabilities, embeddings = self.embedder(np.concatenate(views) if len(views) > 1 else batch)
        n = len(batch)
        return FaceFeatures(probabilities.reshape(len(views), n, NUM_CLASSES).astype(np.float32, copy=False),
                            embeddings.reshape(len(views), n, self.embedder.size).astype(np.float32, copy=False))


def _check_fits(adapter: Adapter, embedder: Embedder | None) -> None:
    if embedder is None:
        raise ValueError("an adapter reads the embedding file's embeddings: load the classifier with the adapter "
                         f"(EmotionClassifier.load(..., adapter=...)), which loads the {EMBEDDING_SUFFIX} file")
    adapter.check_model(embedder.sha256, embedder.name or "the loaded model")
    if adapter.embedding_size != embedder.size:
        raise AdapterError(f"this adapter reads {adapter.embedding_size} numbers a face; {embedder.name or 'the model'} "
                           f"gives {embedder.size}")
