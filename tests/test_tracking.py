from __future__ import annotations

import numpy as np
import pytest

from fer.tracking import DetectionSchedule, FaceTracker
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


class CountingDetector:
    """Finds the faces it is given, in turn, and counts its calls."""

    framing = None

    def __init__(self, results: list[list[FaceBox]]) -> None:
        self.results, self.calls = results, 0

    def detect(self, rgb: np.ndarray) -> list[FaceBox]:
        self.calls += 1
        return self.results[min(self.calls - 1, len(self.results) - 1)]


def test_detection_schedule_reuses_boxes_between_detections() -> None:
    boxes = [[FaceBox(i, 0, 50, 50)] for i in range(10)]
    detector, schedule = CountingDetector(boxes), DetectionSchedule(every=3)
    frame = np.zeros((4, 4, 3), np.uint8)
    seen = [schedule.boxes(detector, frame)[0].x for _ in range(7)]
    assert seen == [0, 0, 0, 1, 1, 1, 2]  # frames 0, 3 and 6 were searched
    assert detector.calls == 3


def test_detection_schedule_searches_every_frame_while_no_face_is_found() -> None:
    detector = CountingDetector([[], [], [FaceBox(7, 0, 50, 50)]])
    schedule = DetectionSchedule(every=5)
    frame = np.zeros((4, 4, 3), np.uint8)
    found = [len(schedule.boxes(detector, frame)) for _ in range(4)]
    assert found == [0, 0, 1, 1] and detector.calls == 3  # the face is found on the frame it appears


def test_detection_schedule_of_one_detects_every_frame() -> None:
    detector = CountingDetector([[FaceBox(0, 0, 50, 50)]])
    schedule = DetectionSchedule()
    for _ in range(4):
        schedule.boxes(detector, np.zeros((4, 4, 3), np.uint8))
    assert detector.calls == 4
    with pytest.raises(ValueError):
        DetectionSchedule(every=0)
