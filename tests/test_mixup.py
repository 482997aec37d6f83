from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import keras
import numpy as np
import pytest
from test_training import TINY, synthetic_data

from fer.training import trainer as training
from fer.training.mixup import MixupBatches
from fer.training.model import AugmentConfig
from fer.training.trainer import train


def black_and_white_faces(n: int = 50) -> tuple[np.ndarray, np.ndarray]:
    """Angry faces all black, happy faces all white: a blend's gray level tells its happy share."""
    labels = np.arange(n) % 2 * 3
    images = np.repeat((labels == 3).astype(np.float32) * 255, 48 * 48).reshape(n, 48, 48, 1)
    return images, keras.utils.to_categorical(labels, 7)


def test_images_and_targets_are_blended_by_the_same_weight() -> None:
    images, targets = black_and_white_faces()
    batches = MixupBatches(images, targets, batch_size=16, alpha=0.4, seed=1)
    assert len(batches) == 4  # 50 faces in batches of 16, the last one short
    blended = [batches[i] for i in range(len(batches))]
    assert sum(len(x) for x, _ in blended) == 50
    x, y = (np.concatenate(parts) for parts in zip(*blended, strict=True))
    np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(x.mean(axis=(1, 2, 3)) / 255, y[:, 3], atol=1e-5)
    assert ((y[:, 3] > 0.05) & (y[:, 3] < 0.95)).any(), "some faces must actually be blends"


def test_batches_depend_on_seed_and_epoch_only() -> None:
    images, targets = black_and_white_faces()
    first, again = (MixupBatches(images, targets, 16, 0.4, seed=1) for _ in range(2))
    np.testing.assert_array_equal(first[2][1], again[2][1])
    first.on_epoch_end()
    assert not np.array_equal(first[2][1], again[2][1])
    assert not np.array_equal(MixupBatches(images, targets, 16, 0.4, seed=2)[2][1], again[2][1])


def test_mixup_needs_a_positive_alpha() -> None:
    images, targets = black_and_white_faces()
    with pytest.raises(ValueError, match="alpha > 0"):
        MixupBatches(images, targets, 16, 0.0, seed=1)


@pytest.mark.slow
def test_a_run_with_mixup_trains_on_blended_batches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    served: list[np.ndarray] = []

    class Recorded(MixupBatches):
        def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
            images, targets = super().__getitem__(index)
            served.append(targets)
            return images, targets

    monkeypatch.setattr(training, "MixupBatches", Recorded)
    config = replace(TINY, epochs=3, augment=AugmentConfig(mixup_alpha=0.2))
    report = train(config, synthetic_data(), tmp_path)
    assert len(served) >= 3 * 6  # 96 faces in batches of 16, for three epochs
    assert any(((t > 0.05) & (t < 0.95)).any() for t in served)
    assert report["private_test"]["accuracy"] > 0.75
    assert "mixup_alpha: 0.2" in (tmp_path / "config.yaml").read_text()
    assert json.loads((tmp_path / "metrics.json").read_text())["config"] == "tiny"
