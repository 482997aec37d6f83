"""Training throughput on this CPU: is XLA or bfloat16 worth turning on, and what does augmentation cost?

    python -m bench.training --config configs/experiments/vgg-wide-erase.yaml

Fits epochs of random faces with each variant, in turn, for a few rounds (the first epoch of each
variant is a warm-up that pays for tracing and oneDNN's kernel choice), and prints each variant's
best images per second. Nothing else should be running: the numbers are wall-clock.

Why it exists: Keras's ``jit_compile="auto"`` leaves XLA off for our trainer, because the random
translation, rotation and zoom layers do not support it. Turning it on would mean moving
augmentation out of the fitted graph; this measures whether that could pay.
"""

from __future__ import annotations

import argparse
import time

import keras
import numpy as np

from fer.training.model import build_classifier, build_trainer, precision
from fer.training.trainer import TrainConfig


def compiled(model: keras.Model, jit: bool) -> keras.Model:
    model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9, nesterov=True),
                  loss="categorical_crossentropy", jit_compile=jit)
    return model


def bfloat16_classifier(config: TrainConfig) -> keras.Model:
    with precision("mixed_bfloat16"):  # as fer.training.trainer.train builds it for `precision: mixed_bfloat16`
        return build_classifier(config.arch)


def images_per_second(model: keras.Model, images: np.ndarray, targets: np.ndarray, batch_size: int) -> float:
    start = time.perf_counter()
    model.fit(images, targets, batch_size=batch_size, verbose=0)
    return len(images) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="configs/experiments/vgg-wide-erase.yaml")
    parser.add_argument("--batches", type=int, default=16, help="batches per measured epoch")
    parser.add_argument("--rounds", type=int, default=4, help="a multiple of 4 puts each variant first equally often")
    args = parser.parse_args()
    config = TrainConfig.from_yaml(args.config)
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, (config.batch_size * args.batches, 48, 48, 1)).astype("float32")
    targets = keras.utils.to_categorical(rng.integers(0, 7, len(images)), 7)

    variants = {
        "classifier only, no XLA": compiled(build_classifier(config.arch), jit=False),
        "classifier only, XLA": compiled(build_classifier(config.arch), jit=True),
        "as trained: augmentation + classifier, no XLA": compiled(
            build_trainer(build_classifier(config.arch), config.augment, config.seed), jit=False),
        "as trained, mixed_bfloat16": compiled(
            build_trainer(bfloat16_classifier(config), config.augment, config.seed), jit=False),
    }
    for model in variants.values():  # warm-up: tracing and oneDNN's kernel choice
        images_per_second(model, images, targets, config.batch_size)
    speeds: dict[str, list[float]] = {name: [] for name in variants}
    names = list(variants)
    for round_ in range(args.rounds):
        # Interleaved, so a slow spell of the machine hits every variant, and rotated, because the
        # variant that runs first in a round was measured slower whichever it was.
        for name in names[round_ % len(names):] + names[: round_ % len(names)]:
            speeds[name].append(images_per_second(variants[name], images, targets, config.batch_size))
    print(f"{config.name}, batch {config.batch_size}, {len(images)} images per epoch, best of {args.rounds} rounds")
    for name, measured in speeds.items():
        print(f"{name:48s} {max(measured):6.0f} img/s")


if __name__ == "__main__":
    main()
