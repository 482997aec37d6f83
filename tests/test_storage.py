from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

from fer.training.model import ArchConfig, build_classifier
from fer.training.storage import save_half_precision


def test_half_precision_file_loads_with_plain_keras_at_half_the_size(tmp_path: Path) -> None:
    model = build_classifier(ArchConfig(widths=(16, 32), dense_units=64))
    model.save(tmp_path / "full.keras")
    save_half_precision(model, tmp_path / "half.keras")

    loaded = keras.models.load_model(tmp_path / "half.keras")  # plain Keras, safe mode
    assert all(v.dtype == "float32" for v in loaded.weights)  # computes as before
    for saved, original in zip(loaded.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(saved, original.astype(np.float16).astype(np.float32))
    faces = np.random.default_rng(0).uniform(0, 255, (4, 48, 48, 1)).astype(np.float32)
    np.testing.assert_allclose(loaded.predict_on_batch(faces), model.predict_on_batch(faces), atol=2e-3)
    full, half = (tmp_path / "full.keras").stat().st_size, (tmp_path / "half.keras").stat().st_size
    assert 0.45 < half / full < 0.6, (half, full)
