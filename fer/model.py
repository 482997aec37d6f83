"""The expression CNN: a VGG-style network sized for 48x48 gray faces, in Keras 3 layers only.

The saved classifier honours the model contract: input ``(N, 48, 48, 1)`` float32 gray levels
in 0..255, output ``(N, 7)`` probabilities. Normalisation lives inside the graph, so the file
is self-contained; augmentation wraps the classifier during training only and is never saved.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
from keras import layers

from fer.emotions import FACE_SIZE, NUM_CLASSES


@dataclass(frozen=True)
class ArchConfig:
    widths: tuple[int, ...] = (32, 64, 128, 256)
    convs_per_block: int = 2
    dense_units: int = 256
    dropout: float = 0.4


@dataclass(frozen=True)
class AugmentConfig:
    translate: float = 0.1  # fraction of the side; FER2013 crops are loosely centred
    rotate_degrees: float = 10.0
    zoom: float = 0.1
    erase_probability: float = 0.0


def build_classifier(arch: ArchConfig) -> keras.Model:
    """VGG-style blocks (conv-BN-ReLU x n, then max-pool) ending in a small dense head."""
    inputs = keras.Input((FACE_SIZE, FACE_SIZE, 1), name="gray_0_255")
    # Map 0..255 to -1..1 inside the graph so no caller can forget or repeat it.
    x = layers.Rescaling(1.0 / 127.5, offset=-1.0, name="normalise")(inputs)
    for block, filters in enumerate(arch.widths):
        for conv in range(arch.convs_per_block):
            # No bias: the following BatchNorm's beta does that job.
            x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"b{block}_conv{conv}")(x)
            x = layers.BatchNormalization(name=f"b{block}_bn{conv}")(x)
            x = layers.ReLU(name=f"b{block}_relu{conv}")(x)
        x = layers.MaxPooling2D(name=f"b{block}_pool")(x)
    # Flatten keeps where a feature fired (mouth vs brows), which global pooling would discard.
    x = layers.Flatten()(x)
    x = layers.Dropout(arch.dropout)(x)
    x = layers.Dense(arch.dense_units, use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    x = layers.Dropout(arch.dropout)(x)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="fer_vgg")


def build_augmenter(aug: AugmentConfig, seed: int) -> keras.Sequential:
    """Random geometry on 0..255 gray faces; every layer is a no-op at inference."""
    steps: list[keras.Layer] = [
        layers.RandomFlip("horizontal", seed=seed),
        layers.RandomTranslation(aug.translate, aug.translate, fill_mode="reflect", seed=seed + 1),
        layers.RandomRotation(aug.rotate_degrees / 360.0, fill_mode="reflect", seed=seed + 2),
        layers.RandomZoom(aug.zoom, aug.zoom, fill_mode="reflect", seed=seed + 3),
    ]
    if aug.erase_probability > 0:
        steps.append(layers.RandomErasing(factor=aug.erase_probability, scale=(0.02, 0.2), seed=seed + 4))
    return keras.Sequential(steps, name="augment")


def build_trainer(classifier: keras.Model, aug: AugmentConfig, seed: int) -> keras.Model:
    """The model that is fitted: augmentation in front of the classifier that is saved."""
    inputs = keras.Input((FACE_SIZE, FACE_SIZE, 1))
    return keras.Model(inputs, classifier(build_augmenter(aug, seed)(inputs)), name="trainer")


def with_flip_tta(classifier: keras.Model) -> keras.Model:
    """The classifier averaged over the face and its mirror image: same contract, one graph.

    Expressions are close to left-right symmetric, so the mirror is a second opinion for free;
    ``keras.ops.flip`` keeps the file loadable by plain ``keras.models.load_model`` on any backend.
    """
    inputs = keras.Input((FACE_SIZE, FACE_SIZE, 1), name="gray_0_255")
    mirrored = keras.ops.flip(inputs, axis=2)
    outputs = layers.Average(name="probabilities")([classifier(inputs), classifier(mirrored)])
    return keras.Model(inputs, outputs, name=f"{classifier.name}_flip_tta")
