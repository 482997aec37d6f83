from __future__ import annotations

import numpy as np

from fer.annotate import COLOURS, annotate, label_text
from fer.emotions import EMOTIONS
from fer.types import FaceBox, FacePrediction


def test_every_emotion_has_a_colour() -> None:
    assert set(COLOURS) == set(EMOTIONS)


def test_annotate_draws_box_and_label_without_touching_the_input() -> None:
    frame = np.zeros((240, 320, 3), np.uint8)
    p = np.zeros(7, np.float32)
    p[3] = 0.93
    face = FacePrediction(FaceBox(100, 80, 60, 60), p, track_id=2)
    out = annotate(frame, [face])
    assert frame.max() == 0 and out.shape == frame.shape
    assert tuple(out[110, 100]) == COLOURS["happy"]  # left edge of the box
    assert out[60:80, 100:160].any()  # label above the box
    assert label_text(face) == "#2 happy 93%"
