"""The emotion classifier as served: the shipped LiteRT file, loaded once, with no TensorFlow."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import numpy as np

from fer.emotions import FACE_SIZE, NUM_CLASSES
from fer.litert import LiteRTModel
from fer.views import tta_images

logger = logging.getLogger(__name__)

MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
# The model contract, what anyone scores with keras.models.load_model, and the file served from it
# (`python -m fer export`), kept in step by tests/test_export.py.
CONTRACT_MODEL = MODELS_DIR / "emotion_cnn.keras"
DEFAULT_MODEL = MODELS_DIR / "emotion_cnn.tflite"

# What evaluation can score a .keras model with (fer.training.evaluate): the LiteRT export with int8
# weights (what is served), with float weights, or Keras itself (the reference).
Runtime = Literal["litert-int8", "litert", "keras"]
RUNTIMES: tuple[Runtime, ...] = ("litert-int8", "litert", "keras")
DEFAULT_RUNTIME: Runtime = "litert-int8"

Predictor = Callable[[np.ndarray], np.ndarray]


class EmotionClassifier:
    """Runs a model taking (N, 48, 48, 1) float32 gray levels 0..255 to (N, 7) probabilities.

    ``run`` is the model (the served LiteRT file, or any predictor with that contract). With
    ``thorough`` each face is read over ten views (``fer.views``: the face and its four 2-pixel
    shifts, each also mirrored), ten passes of the model per face, for bulk labelling rather than
    live video. The shipped model's scores with it:
    ``models/metrics_thorough.json`` (``docs/model-card.md``).
    """

    def __init__(self, run: Predictor, thorough: bool = False) -> None:
        self.run = run
        self.thorough = thorough

    @classmethod
    def load(cls, path: str | Path = DEFAULT_MODEL, thorough: bool = False, threads: int = 2) -> EmotionClassifier:
        """A ``.tflite`` file as served; a ``.keras`` file is exported to LiteRT with int8 weights
        first, in memory (that needs the training half's TensorFlow: seconds, not milliseconds)."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no model at {path}; train one with `python -m fer train`, "
                                    "then `python -m fer export` it")
        if path.suffix == ".keras":
            from fer.training.export import litert_from_keras_file

            return cls(litert_from_keras_file(path), thorough)
        logger.info("loading %s (%d kB)", path, path.stat().st_size // 1024)
        return cls.from_litert(path.read_bytes(), thorough, threads, source=str(path))

    @classmethod
    def from_litert(cls, content: bytes, thorough: bool = False, threads: int = 2, source: str = "the model") -> EmotionClassifier:
        """A served LiteRT file's bytes (what a cluster's workers receive instead of a path)."""
        model = LiteRTModel(content, threads)
        if model.input_shape != (FACE_SIZE, FACE_SIZE, 1) or model.output_shape != (NUM_CLASSES,):
            raise ValueError(f"{source} maps {model.input_shape} -> {model.output_shape} per face; the contract is "
                             f"{(FACE_SIZE, FACE_SIZE, 1)} -> {(NUM_CLASSES,)}")
        return cls(model, thorough)

    def with_thorough(self, thorough: bool) -> EmotionClassifier:
        """The same loaded model, read over ten views per face or as it reads a face alone."""
        return EmotionClassifier(self.run, thorough)

    def predict(self, batch: np.ndarray) -> np.ndarray:
        """Probabilities (N, 7) for a (N, 48, 48, 1) float32 batch; empty in, empty out."""
        if len(batch) == 0:
            return np.zeros((0, NUM_CLASSES), dtype=np.float32)
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        if not self.thorough:
            return np.asarray(self.run(batch), dtype=np.float32)
        # One call for all views of all faces, then the mean over the views of each face.
        views = tta_images(batch, shifts=True)
        probabilities = np.asarray(self.run(np.concatenate(views)), dtype=np.float32)
        return probabilities.reshape(len(views), len(batch), NUM_CLASSES).mean(axis=0)
