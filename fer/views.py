"""Test-time views of a face, shared by both halves so that they cannot drift apart.

A shipped model may answer over the face and its mirror image inside its own graph (one network)
or over the face alone (an ensemble, whose members' passes already fill the time budget). Thorough
mode reads ten views: the face and its four 2-pixel shifts, each also mirrored. Training builds
them in Keras (``fer.training.model.with_tta``); serving builds all ten here, in NumPy, and runs
each through the shipped model, which gives the same ten-view mean for either kind (a model that
averages the mirror image inside answers a view and its mirror alike, so it repeats passes, not
the answer).
"""

from __future__ import annotations

import numpy as np

from fer.emotions import FACE_SIZE

TTA_SHIFT = 2  # pixels, ~4% of the side: FER2013's framing varies by about that much
TTA_SHIFTS = [(TTA_SHIFT, 0), (-TTA_SHIFT, 0), (0, TTA_SHIFT), (0, -TTA_SHIFT)]  # (dx, dy)
TEN_VIEWS = "ten views per face: the face, its four 2-pixel shifts, and the mirror image of each"


def tta_offsets(shifts: bool) -> list[tuple[int, int]]:
    """The (dx, dy) offsets of the views: the face itself, then with ``shifts`` its four shifts."""
    return [(0, 0)] + (TTA_SHIFTS if shifts else [])


def _shifted(batch: np.ndarray) -> list[np.ndarray]:
    """The batch at each of ``tta_offsets(True)``, edges reflected (as ``with_tta``'s
    ``keras.ops.pad(mode="reflect")``): one (N, 48, 48, 1) batch per offset."""
    s = TTA_SHIFT
    padded = np.pad(batch, [(0, 0), (s, s), (s, s), (0, 0)], mode="reflect")
    return [np.ascontiguousarray(padded[:, s + dy : s + dy + FACE_SIZE, s + dx : s + dx + FACE_SIZE, :])
            for dx, dy in tta_offsets(True)]


def tta_images(batch: np.ndarray, shifts: bool = False) -> list[np.ndarray]:
    """The views ``with_tta(..., shifts)`` averages over, each as a batch like ``batch`` (N, 48, 48,
    1): the face at each offset (edges reflected, as ``with_tta`` pads), then each one's mirror image."""
    offsets = _shifted(batch) if shifts else [batch]
    return offsets + [np.ascontiguousarray(view[:, :, ::-1]) for view in offsets]
