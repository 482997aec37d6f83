"""Training throughput on this CPU: is XLA worth turning on, and what does augmentation cost?

    python -m bench.training --config configs/vgg-wide-erase.yaml

Fits one epoch of random faces per variant (after a warm-up epoch that pays for tracing) and
prints images per second. Nothing else should be running: the numbers are wall-clock.

Why it exists: Keras's ``jit_compile="auto"`` leaves XLA off for our trainer, because the random
translation, rotation and zoom layers do not support it. Turning it on would mean moving
augmentation out of the fitted graph; this measures whether that could pay.
"""

from __future__ import annotations

import argparse
import time

import keras
import numpy as np

from fer.model import build_classifier, build_trainer
from fer.training import TrainConfig


def images_per_second(model: keras.Model, jit: bool, images: np.ndarray, targets: np.ndarray,
                      batch_size: int) -> float:
    model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9, nesterov=True),
                  loss="categorical_crossentropy", jit_compile=jit)
    model.fit(images[: 2 * batch_size], targets[: 2 * batch_size], batch_size=batch_size, verbose=0)
    start = time.perf_counter()
    model.fit(images, targets, batch_size=batch_size, verbose=0)
    return len(images) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="configs/vgg-wide-erase.yaml")
    parser.add_argument("--batches", type=int, default=16, help="batches per measured epoch")
    args = parser.parse_args()
    config = TrainConfig.from_yaml(args.config)
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, (config.batch_size * args.batches, 48, 48, 1)).astype("float32")
    targets = keras.utils.to_categorical(rng.integers(0, 7, len(images)), 7)

    variants = {
        "classifier only, no XLA": lambda: (build_classifier(config.arch), False),
        "classifier only, XLA": lambda: (build_classifier(config.arch), True),
        "as trained: augmentation + classifier, no XLA": lambda: (
            build_trainer(build_classifier(config.arch), config.augment, config.seed), False),
    }
    print(f"{config.name}, batch {config.batch_size}, {len(images)} images per measured epoch")
    for name, make in variants.items():
        model, jit = make()
        print(f"{name:48s} {images_per_second(model, jit, images, targets, config.batch_size):6.0f} img/s",
              flush=True)


if __name__ == "__main__":
    main()
