from __future__ import annotations

import keras
import numpy as np
import pytest
from conftest import TINY_ARCH

from fer.emotions import NUM_CLASSES
from fer.training.distill import distilled_targets, teacher_probabilities
from fer.training.model import build_classifier


def faces(n: int) -> np.ndarray:
    return np.random.default_rng(0).uniform(0, 255, (n, 48, 48, 1)).astype(np.float32)


@pytest.mark.slow
def test_teachers_are_averaged_over_members_and_mirror_images(tiny_model: keras.Model) -> None:
    keras.utils.set_random_seed(1)
    other = build_classifier(TINY_ARCH)
    images = faces(5)
    mirrored = images[:, :, ::-1]

    both = teacher_probabilities([tiny_model, other], images)

    def flip_averaged(model: keras.Model) -> np.ndarray:
        return (model.predict(images, verbose=0) + model.predict(mirrored, verbose=0)) / 2

    np.testing.assert_allclose(both, (flip_averaged(tiny_model) + flip_averaged(other)) / 2, atol=1e-5)
    np.testing.assert_allclose(both.sum(axis=1), 1.0, atol=1e-5)
    # A mirrored face gets the same target: the student's random flips cannot contradict it.
    np.testing.assert_allclose(teacher_probabilities([tiny_model, other], mirrored), both, atol=1e-5)


def test_no_teacher_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one teacher"):
        teacher_probabilities([], faces(2))


def test_distilled_targets_blend_label_and_teachers() -> None:
    one_hot = keras.utils.to_categorical([3, 0], NUM_CLASSES)
    teacher = np.full((2, NUM_CLASSES), 1 / NUM_CLASSES, np.float32)

    blended = distilled_targets(one_hot, teacher, 0.5)

    assert blended[0, 3] == pytest.approx(0.5 + 0.5 / NUM_CLASSES)
    assert blended[0, 0] == pytest.approx(0.5 / NUM_CLASSES)
    np.testing.assert_allclose(blended.sum(axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(distilled_targets(one_hot, teacher, 0.0), one_hot)
    np.testing.assert_allclose(distilled_targets(one_hot, teacher, 1.0), teacher)


def test_a_weight_outside_0_to_1_or_mismatched_shapes_are_refused() -> None:
    one_hot = keras.utils.to_categorical([1], NUM_CLASSES)
    with pytest.raises(ValueError, match="0..1"):
        distilled_targets(one_hot, one_hot, 1.5)
    with pytest.raises(ValueError, match="differ in shape"):
        distilled_targets(one_hot, np.ones((2, NUM_CLASSES), np.float32), 0.5)
