"""The emotion classifier: a Keras model honouring the model contract, loaded once."""

from __future__ import annotations

import logging
from pathlib import Path

import keras
import numpy as np

from fer.emotions import FACE_SIZE, NUM_CLASSES

logger = logging.getLogger(__name__)

MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
DEFAULT_MODEL = MODELS_DIR / "emotion_cnn.keras"


class EmotionClassifier:
    """Wraps a model taking (N, 48, 48, 1) float32 gray levels 0..255 and returning (N, 7) probabilities."""

    def __init__(self, model: keras.Model) -> None:
        expected_in, expected_out = (None, FACE_SIZE, FACE_SIZE, 1), (None, NUM_CLASSES)
        if tuple(model.input_shape) != expected_in or tuple(model.output_shape) != expected_out:
            raise ValueError(
                f"model maps {model.input_shape} -> {model.output_shape}; "
                f"the contract is {expected_in} -> {expected_out}"
            )
        self.model = model

    @classmethod
    def load(cls, path: str | Path = DEFAULT_MODEL) -> EmotionClassifier:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no model at {path}; train one with `python -m fer train`")
        logger.info("loading %s", path)
        return cls(keras.models.load_model(path, compile=False))

    def predict(self, batch: np.ndarray) -> np.ndarray:
        """Probabilities (N, 7) for a (N, 48, 48, 1) float32 batch; empty in, empty out."""
        if len(batch) == 0:
            return np.zeros((0, NUM_CLASSES), dtype=np.float32)
        # predict_on_batch reuses one compiled function; predict() rebuilds a dataset per call,
        # which costs ~25 ms: more than the network itself for a handful of faces.
        return np.asarray(self.model.predict_on_batch(batch), dtype=np.float32)
