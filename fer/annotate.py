"""Draw predictions onto frames: a box per face, its emotion and confidence."""

from __future__ import annotations

import cv2
import numpy as np

from fer.types import FacePrediction

# One colour per emotion (RGB), readable on video and distinguishable from one another.
COLOURS: dict[str, tuple[int, int, int]] = {
    "angry": (230, 57, 70),
    "disgust": (106, 153, 78),
    "fear": (155, 93, 229),
    "happy": (255, 190, 11),
    "sad": (58, 134, 255),
    "surprise": (255, 0, 110),
    "neutral": (173, 181, 189),
}


def label_text(face: FacePrediction) -> str:
    prefix = f"#{face.track_id} " if face.track_id is not None else ""
    return f"{prefix}{face.emotion} {face.confidence:.0%}"


def annotate(rgb: np.ndarray, faces: list[FacePrediction], in_place: bool = False) -> np.ndarray:
    """The RGB frame with every face boxed and labelled (a copy, or the frame itself drawn on with
    ``in_place``); line widths follow the frame size."""
    out = rgb if in_place else rgb.copy()
    thickness = max(1, round(max(rgb.shape[:2]) / 400))
    font_scale = max(0.4, max(rgb.shape[:2]) / 1400)
    for face in faces:
        b, colour = face.box, COLOURS[face.emotion]
        cv2.rectangle(out, (b.x, b.y), (b.x + b.w, b.y + b.h), colour, thickness + 1)
        text = label_text(face)
        (tw, th), baseline = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, font_scale, thickness)
        top = b.y - th - baseline - 4 if b.y - th - baseline - 4 >= 0 else b.y + b.h
        cv2.rectangle(out, (b.x, top), (b.x + tw + 6, top + th + baseline + 4), colour, cv2.FILLED)
        cv2.putText(out, text, (b.x + 3, top + th + 2), cv2.FONT_HERSHEY_SIMPLEX, font_scale, (0, 0, 0),
                    thickness, cv2.LINE_AA)
    return out
