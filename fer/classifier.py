"""The emotion classifier: a Keras model honouring the model contract, loaded once."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import keras
import numpy as np

from fer.emotions import FACE_SIZE, NUM_CLASSES
from fer.model import with_shift_tta

logger = logging.getLogger(__name__)

MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
DEFAULT_MODEL = MODELS_DIR / "emotion_cnn.keras"

Runtime = Literal["litert-int8", "litert", "keras"]
RUNTIMES: tuple[Runtime, ...] = ("litert-int8", "litert", "keras")
# By measurement (docs/benchmarks.md): LiteRT takes about half the time of predict_on_batch for one
# face, and with int8 weights a third of that again, at the same PublicTest accuracy.
DEFAULT_RUNTIME: Runtime = "litert-int8"


class EmotionClassifier:
    """Wraps a model taking (N, 48, 48, 1) float32 gray levels 0..255 and returning (N, 7) probabilities.

    ``runtime`` says what runs it: ``"litert"``, the same graph exported to LiteRT, or
    ``"keras"``, Keras's ``predict_on_batch``, which give the same probabilities to float precision;
    or ``"litert-int8"``, the LiteRT export with int8 weights, whose probabilities differ from those
    by a few hundredths at most.
    """

    def __init__(self, model: keras.Model, runtime: Runtime = DEFAULT_RUNTIME) -> None:
        expected_in, expected_out = (None, FACE_SIZE, FACE_SIZE, 1), (None, NUM_CLASSES)
        if tuple(model.input_shape) != expected_in or tuple(model.output_shape) != expected_out:
            raise ValueError(
                f"model maps {model.input_shape} -> {model.output_shape}; "
                f"the contract is {expected_in} -> {expected_out}"
            )
        if runtime not in RUNTIMES:
            raise ValueError(f"unknown runtime {runtime!r}; choose one of {', '.join(RUNTIMES)}")
        self.model = model
        self.runtime = runtime
        self._run: Callable[[np.ndarray], np.ndarray] = (
            model.predict_on_batch if runtime == "keras" else _litert_runner(model, runtime == "litert-int8")
        )

    @classmethod
    def load(
        cls, path: str | Path = DEFAULT_MODEL, runtime: Runtime = DEFAULT_RUNTIME, thorough: bool = False
    ) -> EmotionClassifier:
        """The model file as saved, or with ``thorough`` averaged over ten views of each face
        (``fer.model.with_shift_tta``): about four times the time per face, for bulk labelling
        rather than live video. Measured on the shipped model: 0.6 points better on PublicTest,
        level on PrivateTest (README, model card)."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no model at {path}; train one with `python -m fer train`")
        logger.info("loading %s%s", path, " with ten views per face" if thorough else "")
        model = keras.models.load_model(path, compile=False)
        return cls(with_shift_tta(model) if thorough else model, runtime)

    def predict(self, batch: np.ndarray) -> np.ndarray:
        """Probabilities (N, 7) for a (N, 48, 48, 1) float32 batch; empty in, empty out."""
        if len(batch) == 0:
            return np.zeros((0, NUM_CLASSES), dtype=np.float32)
        # Never model.predict(): it rebuilds a dataset and a loop per call, ~25 ms, more than the
        # network itself for a handful of faces.
        return np.asarray(self._run(np.ascontiguousarray(batch, dtype=np.float32)), dtype=np.float32)


def _litert_runner(model: keras.Model, int8_weights: bool) -> Callable[[np.ndarray], np.ndarray]:
    from fer.litert import LiteRTModel

    return LiteRTModel.from_keras(model, int8_weights=int8_weights)
