from __future__ import annotations

import numpy as np
import pytest

from fer.tracking import FaceTracker
from fer.types import FaceBox, FacePrediction


def face(x: int, emotion_index: int) -> FacePrediction:
    p = np.full(7, 0.05, np.float32)
    p[emotion_index] = 0.7
    return FacePrediction(FaceBox(x, 100, 80, 80), p)


def test_ids_follow_faces_that_move_a_little() -> None:
    tracker = FaceTracker(smoothing=0.0)
    first = tracker.update([face(100, 3), face(400, 6)])
    second = tracker.update([face(410, 6), face(105, 3)])  # order swapped, both moved
    assert [f.track_id for f in first] == [0, 1]
    assert [f.track_id for f in second] == [1, 0]


def test_smoothing_is_an_exponential_moving_average() -> None:
    tracker = FaceTracker(smoothing=0.5)
    tracker.update([face(100, 3)])  # happy
    (smoothed,) = tracker.update([face(100, 0)])  # a single angry frame
    assert smoothed.emotion in ("happy", "angry")
    assert smoothed.probabilities[0] == pytest.approx(0.5 * 0.05 + 0.5 * 0.7)
    assert smoothed.probabilities[3] == pytest.approx(0.5 * 0.7 + 0.5 * 0.05)


def test_a_face_gone_too_long_comes_back_as_new() -> None:
    tracker = FaceTracker(max_missed=2)
    tracker.update([face(100, 3)])
    for _ in range(3):
        tracker.update([])
    (again,) = tracker.update([face(100, 3)])
    assert again.track_id == 1


def test_smoothing_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError):
        FaceTracker(smoothing=1.0)
