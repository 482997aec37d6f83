"""Knowledge distillation (Hinton et al., 2015): one network trained towards an ensemble's answers.

Averaging networks trained apart is worth half a point or more on PublicTest
(docs/experiments.md), but costs a pass per member per face, which the live app's budget does not
allow. Distillation keeps one network's cost: each training face's target blends its label with
what the teachers (averaged) say about it. Their probabilities tell the student which faces are
ambiguous and between which emotions (a fearful face that looks surprised), the knowledge a
one-hot label throws away.

The teachers see each training face once, un-augmented, with its mirror image (the flip TTA every
shipped model uses); the student then learns those targets under its own augmentation.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np

from fer.emotions import NUM_CLASSES
from fer.training.model import with_tta


def teacher_probabilities(teachers: Sequence[keras.Model], images: np.ndarray, batch_size: int = 512) -> np.ndarray:
    """The teachers' mean flip-TTA probabilities for ``(N, 48, 48, 1)`` faces in 0..255."""
    if not teachers:
        raise ValueError("distillation needs at least one teacher")
    total = np.zeros((len(images), NUM_CLASSES), np.float32)
    for teacher in teachers:
        total += with_tta(teacher).predict(images, batch_size=batch_size, verbose=0)
    return total / len(teachers)


def distilled_targets(one_hot: np.ndarray, teacher: np.ndarray, weight: float) -> np.ndarray:
    """``weight`` of the teachers' probabilities, the rest the label: still a distribution per row."""
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"distill_weight must lie in 0..1, got {weight}")
    if one_hot.shape != teacher.shape:
        raise ValueError(f"targets {one_hot.shape} and teacher probabilities {teacher.shape} differ in shape")
    return ((1.0 - weight) * one_hot + weight * teacher).astype(np.float32)
