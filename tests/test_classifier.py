from __future__ import annotations

import keras
import numpy as np
import pytest

from fer.classifier import DEFAULT_MODEL, EmotionClassifier


def test_predict_returns_probabilities(tiny_model: keras.Model) -> None:
    classifier = EmotionClassifier(tiny_model)
    batch = np.random.default_rng(0).uniform(0, 255, (5, 48, 48, 1)).astype(np.float32)
    p = classifier.predict(batch)
    assert p.shape == (5, 7) and p.dtype == np.float32
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-5)
    assert classifier.predict(batch[:0]).shape == (0, 7)


def test_a_model_breaking_the_contract_is_refused() -> None:
    wrong = keras.Sequential([keras.Input((64, 64, 3)), keras.layers.Flatten(), keras.layers.Dense(7)])
    with pytest.raises(ValueError, match="contract"):
        EmotionClassifier(wrong)


def test_missing_model_file_says_how_to_get_one(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="python -m fer train"):
        EmotionClassifier.load(tmp_path / "none.keras")


def test_shipped_model_is_self_contained_and_honours_the_contract() -> None:
    # Plain Keras, no project code: what anyone evaluating the file would do.
    model = keras.models.load_model(DEFAULT_MODEL)
    assert tuple(model.input_shape) == (None, 48, 48, 1) and tuple(model.output_shape) == (None, 7)
    assert getattr(model, "optimizer", None) is None  # shipped without optimizer state
    gray = np.random.default_rng(1).uniform(0, 255, (3, 48, 48, 1)).astype(np.float32)
    p = model.predict(gray, verbose=0)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-5)
    # Normalisation is inside the graph: scaling the input by 1/255 changes the answer.
    assert not np.allclose(p, model.predict(gray / 255.0, verbose=0), atol=1e-3)
