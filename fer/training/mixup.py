"""Mixup (Zhang et al., 2018): train on blends of two faces, with their targets blended alike.

A face that is 70% "happy" and 30% "sad" asks the network for 70/30 probabilities instead of
certainty, a check on the over-confidence behind FER2013's train/validation gap (whether it pays
here is measured in docs/experiments.md: not in a 12-epoch cycle). Blending needs
the labels, which a layer inside the model never sees, so it happens here, where batches are made;
the geometric augmentation inside the trainer then applies to the blend.
"""

from __future__ import annotations

import math

import keras
import numpy as np


class MixupBatches(keras.utils.PyDataset):
    """Shuffled batches of ``(images, one-hot targets)``, each sample blended with another of its
    batch by a weight drawn from Beta(alpha, alpha).

    Every batch is a pure function of ``(seed, epoch, index)``, so the batches do not depend on the
    order Keras asks for them in, and a run that resumes with a fresh seed draws fresh ones.
    """

    def __init__(self, images: np.ndarray, targets: np.ndarray, batch_size: int, alpha: float, seed: int) -> None:
        super().__init__()
        if alpha <= 0:
            raise ValueError(f"mixup needs alpha > 0, got {alpha}")
        if len(images) != len(targets):
            raise ValueError(f"{len(images)} images but {len(targets)} targets")
        self.images = images.astype(np.float32, copy=False)
        self.targets = targets.astype(np.float32, copy=False)
        self.batch_size = batch_size
        self.alpha = alpha
        self.seed = seed
        self.epoch = 0
        self.order = self._shuffled()

    def __len__(self) -> int:
        return math.ceil(len(self.images) / self.batch_size)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        rows = self.order[index * self.batch_size : (index + 1) * self.batch_size]
        rng = np.random.default_rng((self.seed, self.epoch, index + 1))
        weight = rng.beta(self.alpha, self.alpha, size=len(rows)).astype(np.float32)
        partner = rows[rng.permutation(len(rows))]
        images = _blend(self.images[rows], self.images[partner], weight)
        targets = _blend(self.targets[rows], self.targets[partner], weight)
        return images, targets

    def on_epoch_end(self) -> None:
        self.epoch += 1
        self.order = self._shuffled()

    def _shuffled(self) -> np.ndarray:
        return np.random.default_rng((self.seed, self.epoch)).permutation(len(self.images))


def _blend(first: np.ndarray, second: np.ndarray, weight: np.ndarray) -> np.ndarray:
    weight = weight.reshape((-1,) + (1,) * (first.ndim - 1))
    return weight * first + (1 - weight) * second
