"""The expression CNN: a VGG- or ResNet-style network sized for 48x48 gray faces, in Keras 3
layers only.

The saved classifier honours the model contract: input ``(N, 48, 48, 1)`` float32 gray levels
in 0..255, output ``(N, 7)`` probabilities. Normalisation lives inside the graph, so the file
is self-contained; augmentation wraps the classifier during training only and is never saved.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import keras
from keras import layers

from fer.emotions import FACE_SIZE, NUM_CLASSES
from fer.training.camera import CameraDegradation
from fer.views import TTA_SHIFT, tta_offsets


@dataclass(frozen=True)
class ArchConfig:
    widths: tuple[int, ...] = (32, 64, 128, 256)
    convs_per_block: int = 2
    dense_units: int = 256
    dropout: float = 0.4
    # ResNet-style: each block's convolutions go in pairs, each pair a basic residual block
    # (He et al., 2016) whose input is added to its output. The shortcut lets a block be deeper
    # at the same cost per face as a shallow, wide one.
    residual: bool = False
    # The side the network works at. Above 48 the face is upsampled inside the graph, so the
    # contract's 48x48 input stays: more positions for every convolution to look at (Barsoum et
    # al. trained on FER+ at 64x64) for more compute per face. Up to 63, the four-stage networks here
    # still end in 3x3 maps, so a 48x48 network's weights fit unchanged and can be fine-tuned at the
    # larger side.
    input_size: int = FACE_SIZE

    def __post_init__(self) -> None:
        if self.residual and self.convs_per_block % 2:
            raise ValueError(f"a residual network needs convs_per_block in pairs, got {self.convs_per_block}")
        if self.input_size < FACE_SIZE:
            raise ValueError(f"input_size below the {FACE_SIZE}-pixel faces would throw pixels away, got {self.input_size}")


@dataclass(frozen=True)
class AugmentConfig:
    translate: float = 0.1  # fraction of the side; FER2013 crops are loosely centred
    rotate_degrees: float = 10.0
    zoom: float = 0.1
    # Keras's RandomErasing `factor`: each face is erased with a probability drawn from 0..this.
    erase_probability: float = 0.0
    # Mixup's Beta(alpha, alpha) blending weight; 0 turns it off. Applied where batches are made
    # (fer.training.mixup), since it blends the targets too.
    mixup_alpha: float = 0.0
    # Cameras and films (fer.training.camera): contrast and brightness factors (Keras's
    # RandomContrast / RandomBrightness), the share of faces blurred and seen at half resolution,
    # and the most sensor noise in gray levels. All 0 (off) by default: the shipped recipes predate them.
    contrast: float = 0.0
    brightness: float = 0.0
    blur: float = 0.0
    low_res: float = 0.0
    noise: float = 0.0


def build_classifier(arch: ArchConfig) -> keras.Model:
    """Blocks of 3x3 convolutions, each block ending in a max-pool, then a small dense head.

    VGG-style by default (conv-BN-ReLU x n); with ``arch.residual``, the same convolutions in
    residual pairs.
    """
    inputs = keras.Input((FACE_SIZE, FACE_SIZE, 1), name="gray_0_255")
    # Map 0..255 to -1..1 inside the graph so no caller can forget or repeat it.
    x = layers.Rescaling(1.0 / 127.5, offset=-1.0, name="normalise")(inputs)
    if arch.input_size != FACE_SIZE:
        x = layers.Resizing(arch.input_size, arch.input_size, interpolation="bilinear", name="upsample")(x)
    for block, filters in enumerate(arch.widths):
        if arch.residual:
            for pair in range(arch.convs_per_block // 2):
                x = _residual_pair(x, filters, f"b{block}_pair{pair}")
        else:
            for conv in range(arch.convs_per_block):
                x = _conv_bn(x, filters, f"b{block}", conv)
                x = layers.ReLU(name=f"b{block}_relu{conv}")(x)
        x = layers.MaxPooling2D(name=f"b{block}_pool")(x)
    # Flatten keeps where a feature fired (mouth vs brows), which global pooling would discard.
    x = layers.Flatten()(x)
    x = layers.Dropout(arch.dropout)(x)
    x = layers.Dense(arch.dense_units, use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    x = layers.Dropout(arch.dropout)(x)
    # float32 even in a mixed-precision run: bfloat16's 8-bit mantissa cannot hold probabilities
    # near 0 and 1 finely enough for the loss's logarithm.
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", name="probabilities", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="fer_resnet" if arch.residual else "fer_vgg")


def _conv_bn(x: keras.KerasTensor, filters: int, prefix: str, conv: int) -> keras.KerasTensor:
    # No bias: the following BatchNorm's beta does that job.
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{prefix}_conv{conv}")(x)
    return layers.BatchNormalization(name=f"{prefix}_bn{conv}")(x)


def _residual_pair(x: keras.KerasTensor, filters: int, prefix: str) -> keras.KerasTensor:
    """relu(x + BN(conv(relu(BN(conv(x)))))), the shortcut projected by a 1x1 conv where the
    width changes (ResNet v1's basic block)."""
    shortcut = x
    if x.shape[-1] != filters:
        shortcut = layers.Conv2D(filters, 1, use_bias=False, name=f"{prefix}_project")(x)
        shortcut = layers.BatchNormalization(name=f"{prefix}_project_bn")(shortcut)
    x = layers.ReLU(name=f"{prefix}_relu0")(_conv_bn(x, filters, prefix, 0))
    x = _conv_bn(x, filters, prefix, 1)
    return layers.ReLU(name=f"{prefix}_relu1")(layers.Add(name=f"{prefix}_add")([shortcut, x]))


PRECISIONS = ("float32", "mixed_bfloat16")


@contextmanager
def precision(policy: str) -> Iterator[None]:
    """Layers made inside compute in ``policy`` (Keras reads the global dtype policy when a layer is
    made); their weights stay float32 either way."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def build_augmenter(aug: AugmentConfig, seed: int) -> keras.Sequential:
    """Random geometry, then light and camera, on 0..255 gray faces; every layer is a no-op at inference."""
    steps: list[keras.Layer] = [
        layers.RandomFlip("horizontal", seed=seed),
        layers.RandomTranslation(aug.translate, aug.translate, fill_mode="reflect", seed=seed + 1),
        layers.RandomRotation(aug.rotate_degrees / 360.0, fill_mode="reflect", seed=seed + 2),
        layers.RandomZoom(aug.zoom, aug.zoom, fill_mode="reflect", seed=seed + 3),
    ]
    if aug.contrast > 0:
        steps.append(layers.RandomContrast(aug.contrast, value_range=(0, 255), seed=seed + 5))
    if aug.brightness > 0:
        steps.append(layers.RandomBrightness(aug.brightness, value_range=(0, 255), seed=seed + 6))
    if aug.blur or aug.low_res or aug.noise:
        steps.append(CameraDegradation(aug.blur, aug.low_res, aug.noise, seed=seed + 7))
    # Erasing last: an occluder (a hand, a microphone) is not blurred with the face.
    if aug.erase_probability > 0:
        steps.append(layers.RandomErasing(factor=aug.erase_probability, scale=(0.02, 0.2), seed=seed + 4))
    return keras.Sequential(steps, name="augment")


def build_trainer(classifier: keras.Model, aug: AugmentConfig, seed: int) -> keras.Model:
    """The model that is fitted: augmentation in front of the classifier that is saved."""
    inputs = keras.Input((FACE_SIZE, FACE_SIZE, 1))
    return keras.Model(inputs, classifier(build_augmenter(aug, seed)(inputs)), name="trainer")


_FLIP_SUFFIX, _SHIFT_SUFFIX = "_flip_tta", "_flip_shift_tta"  # with_tta's names, which tta_network reads


def tta_views(shifts: bool) -> int:
    """Network passes per face of ``with_tta(..., shifts)``: each offset, and its mirror image."""
    return 2 * len(tta_offsets(shifts))


def with_tta(classifier: keras.Model, shifts: bool = False) -> keras.Model:
    """The classifier averaged over the face and its mirror image (and, with ``shifts``, over the
    four 2-pixel shifts of both): same contract, one graph, one call.

    Expressions are close to left-right symmetric and FER2013's crops are loosely centred, so each
    view is a second opinion for free. Built from ``keras.ops`` only, so the file stays loadable by
    plain ``keras.models.load_model`` on any backend.
    """
    inputs = keras.Input((FACE_SIZE, FACE_SIZE, 1), name="gray_0_255")
    views = tta_view_batch(inputs, shifts)
    # One batch of all views: one pass through the network instead of one per view.
    probabilities = classifier(views)
    outputs = keras.ops.mean(keras.ops.reshape(probabilities, (tta_views(shifts), -1, NUM_CLASSES)), axis=0)
    return keras.Model(inputs, outputs, name=classifier.name + (_SHIFT_SUFFIX if shifts else _FLIP_SUFFIX))


def tta_view_batch(inputs: keras.KerasTensor, shifts: bool) -> keras.KerasTensor:
    """The views ``with_tta`` averages over, one batch after another in one tensor (views x N faces)."""
    s = TTA_SHIFT
    padded = keras.ops.pad(inputs, [[0, 0], [s, s], [s, s], [0, 0]], mode="reflect")
    views = [padded[:, s + dy : s + dy + FACE_SIZE, s + dx : s + dx + FACE_SIZE, :] for dx, dy in tta_offsets(shifts)]
    views += [keras.ops.flip(view, axis=2) for view in views]
    return keras.ops.concatenate(views, axis=0)


def tta_shifts(model: keras.Model) -> bool | None:
    """Whether a ``with_tta`` wrapper averages the shifted views too; None where ``model`` is not one."""
    if tta_network(model) is model:
        return None
    return model.name.endswith(_SHIFT_SUFFIX)


def average(members: list[keras.Model], name: str = "fer_ensemble") -> keras.Model:
    """One model, same contract, whose probabilities are the mean of its members' (an ensemble)."""
    inputs = keras.Input((FACE_SIZE, FACE_SIZE, 1), name="gray_0_255")
    outputs = keras.ops.mean(keras.ops.stack([member(inputs) for member in members], axis=0), axis=0)
    return keras.Model(inputs, outputs, name=name)


def ensemble_members(model: keras.Model) -> list[keras.Model]:
    """The networks whose answers ``model`` (not in a TTA wrapper) averages: an ensemble's members,
    or ``model`` itself, one network."""
    return [layer for layer in model.layers if isinstance(layer, keras.Model)] or [model]


def tta_network(model: keras.Model) -> keras.Model:
    """The network a ``with_tta`` wrapper holds; ``model`` itself where it is not such a wrapper."""
    nested = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    wrapper = model.name.endswith((_FLIP_SUFFIX, _SHIFT_SUFFIX)) and len(nested) == 1
    return nested[0] if wrapper else model


def with_shift_tta(model: keras.Model) -> keras.Model:
    """``model`` averaged over ``TEN_VIEWS``, for bulk labelling, where milliseconds matter less.

    A saved TTA model hands over the network inside it, so each view is one pass; any other
    model honouring the contract (a bare network, an ensemble) is wrapped whole.
    """
    return with_tta(tta_network(model), shifts=True)
