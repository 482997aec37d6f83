"""Augmentation that imitates cameras and films: what a face from a webcam, a phone or a movie frame
has that FER2013's web images rarely do.

FER2013's faces are sharp, evenly exposed 48x48 crops. A user's faces are blurred by motion or focus,
noisy in low light, upscaled from a few dozen pixels and lit too dark or too flat. This layer draws
each of those per face, during training only, in ``keras.ops`` alone so it runs on every backend;
like the rest of the augmenter it is never saved with the classifier.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops


def gaussian_kernel(sigma: float, size: int = 5) -> np.ndarray:
    """A normalised ``(size, size, 1, 1)`` Gaussian, as ``ops.depthwise_conv`` takes it."""
    axis = np.arange(size) - (size - 1) / 2
    g = np.exp(-(axis**2) / (2 * sigma**2))
    kernel = np.outer(g, g)
    return (kernel / kernel.sum()).astype("float32")[:, :, None, None]


class CameraDegradation(keras.layers.Layer):
    """Per face, on 0..255 gray images: with probability ``blur``, a Gaussian blur of random
    strength; with probability ``low_res``, the face seen at half its resolution (a distant or
    small face upscaled to 48x48); and sensor noise of up to ``noise`` gray levels (standard
    deviation, drawn per face). An identity at inference."""

    def __init__(self, blur: float = 0.0, low_res: float = 0.0, noise: float = 0.0, seed: int | None = None,
                 **kwargs: object) -> None:
        super().__init__(**kwargs)
        for name, p in (("blur", blur), ("low_res", low_res)):
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"{name} is a probability in 0..1, got {p}")
        if noise < 0:
            raise ValueError(f"noise is a standard deviation in gray levels, got {noise}")
        self.blur, self.low_res, self.noise = blur, low_res, noise
        self.seed = seed
        self.generator = keras.random.SeedGenerator(seed)
        self.kernel = gaussian_kernel(sigma=1.2)

    def call(self, images: keras.KerasTensor, training: bool | None = None) -> keras.KerasTensor:
        if not training:
            return images
        x = images
        if self.blur > 0:
            # A random share of the blurred face: sigma from 0 up to about 1.2 pixels.
            strength = self._draw(x, self.blur) * keras.random.uniform(self._per_face(x), seed=self.generator)
            blurred = ops.depthwise_conv(x, self.kernel, padding="same")
            x = x + strength * (blurred - x)
        if self.low_res > 0:
            half = ops.average_pool(x, pool_size=2, strides=2, padding="valid")
            coarse = ops.image.resize(half, ops.shape(x)[1:3], interpolation="bilinear")
            x = x + self._draw(x, self.low_res) * (coarse - x)
        if self.noise > 0:
            sigma = self.noise * keras.random.uniform(self._per_face(x), seed=self.generator)
            x = x + sigma * keras.random.normal(ops.shape(x), seed=self.generator)
        return ops.clip(x, 0.0, 255.0)

    def _per_face(self, x: keras.KerasTensor) -> tuple:
        return (ops.shape(x)[0], 1, 1, 1)

    def _draw(self, x: keras.KerasTensor, probability: float) -> keras.KerasTensor:
        """1.0 for a ``probability`` share of the faces, else 0.0, one draw per face."""
        u = keras.random.uniform(self._per_face(x), seed=self.generator)
        return ops.cast(u < probability, x.dtype)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "blur": self.blur, "low_res": self.low_res, "noise": self.noise,
                "seed": self.seed}
