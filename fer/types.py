"""The typed records that pass between the pipeline's stages."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from fer.emotions import EMOTIONS


@dataclass(frozen=True)
class FaceBox:
    """A face in pixel coordinates of the frame it was found in.

    ``keypoints`` maps names to (x, y); BlazeFace gives ``right_eye`` and ``left_eye`` (the
    subject's), ``nose``, ``mouth``, ``right_ear`` and ``left_ear``; Haar gives none.
    """

    x: int
    y: int
    w: int
    h: int
    score: float = 1.0
    keypoints: dict[str, tuple[float, float]] = field(default_factory=dict)

    @property
    def area(self) -> int:
        return self.w * self.h

    @property
    def centre(self) -> tuple[float, float]:
        return self.x + self.w / 2, self.y + self.h / 2

    def iou(self, other: FaceBox) -> float:
        ix = max(0, min(self.x + self.w, other.x + other.w) - max(self.x, other.x))
        iy = max(0, min(self.y + self.h, other.y + other.h) - max(self.y, other.y))
        inter = ix * iy
        union = self.area + other.area - inter
        return inter / union if union else 0.0


@dataclass(frozen=True)
class Framing:
    """How to turn a detector's box into a FER2013-like crop (measured by ``python -m bench.framing``).

    ``scale``: crop side / box width. ``shift_y``: crop centre offset in box heights (negative: up).
    """

    scale: float = 1.0
    shift_y: float = 0.0


@dataclass(frozen=True)
class FacePrediction:
    """One classified face: where it is, the winning emotion, and all seven probabilities."""

    box: FaceBox
    probabilities: np.ndarray  # (7,) float32, in EMOTIONS order, summing to 1
    track_id: int | None = None  # stable across video frames once a FaceTracker has seen it
    crop: np.ndarray | None = None  # the 48x48 gray input the model saw, kept for corrections

    @property
    def emotion(self) -> str:
        return EMOTIONS[int(np.argmax(self.probabilities))]

    @property
    def confidence(self) -> float:
        return float(np.max(self.probabilities))


@dataclass(frozen=True)
class FrameResult:
    """All faces of one frame; ``index`` and ``time_s`` are set for video frames."""

    faces: list[FacePrediction]
    index: int = 0
    time_s: float = 0.0
