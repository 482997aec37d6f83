from __future__ import annotations

import numpy as np
import pytest

from fer.tracking import DUE_SLACK_S, NOMINAL_FPS, DetectionSchedule, FaceTracker, ReadingPolicy
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


class CountingReader:
    """Reads each box as the emotion given for its x, like a classifier that sees one expression per
    face, and records every call's boxes."""

    def __init__(self, emotions: dict[int, int]) -> None:
        self.emotions, self.calls = emotions, []

    def __call__(self, boxes: list[FaceBox]) -> list[FacePrediction]:
        self.calls.append([box.x for box in boxes])
        return [face(box.x, self.emotions[box.x]) for box in boxes]


def test_a_new_face_is_read_at_once_with_the_others_due_in_one_call() -> None:
    tracker, reader = FaceTracker(), CountingReader({100: 3, 400: 6})
    policy = ReadingPolicy(interval_s=0.1)
    box_a, box_b = FaceBox(100, 100, 80, 80), FaceBox(400, 100, 80, 80)
    tracker.follow([box_a], reader, 0.0, policy)
    tracker.follow([box_a], reader, 1 / 30, policy)  # clear and read 33 ms ago: not due
    faces, read = tracker.follow([box_a, box_b], reader, 2 / 30, policy)  # a second face comes into view
    assert reader.calls == [[100], [400]] and read == 1
    assert [f.emotion for f in faces] == ["happy", "neutral"] and [f.track_id for f in faces] == [0, 1]
    tracker.follow([box_a, box_b], reader, 3 / 30, policy)
    assert reader.calls[-1] == [100]  # 0.1 s after its reading; the new face is not due yet


def test_a_clear_face_is_read_no_more_often_than_the_interval_and_its_box_follows_every_frame() -> None:
    rng = np.random.default_rng(0)
    for fps, interval in ((30, 0.1), (120, 0.1), (30, 0.2), (60, 1 / 15)):
        tracker, reader = FaceTracker(), CountingReader({x: 3 for x in range(100, 400)})
        read_at = []
        for i in range(int(3 * fps)):
            now = i / fps + rng.uniform(-0.25, 0.25) / fps  # the stream's timing jitter
            box = FaceBox(100 + i // 4, 100, 80, 80)  # moving slowly
            (shown,), read = tracker.follow([box], reader, now, ReadingPolicy(interval_s=interval))
            assert shown.box == box  # the box is this frame's, read or not
            if read:
                read_at.append(now)
        gaps = np.diff(read_at)
        # Due within half a camera frame (DUE_SLACK_S) counts as due: never sooner than that.
        assert gaps.min() >= interval - DUE_SLACK_S - 0.5 / fps, (fps, interval)
        assert 3 / interval <= len(read_at) <= 3 / (interval - DUE_SLACK_S) + 1, (fps, interval)
    # A 30 frames/s camera with a 0.1 s interval: every third frame, despite the jitter.
    tracker, reader = FaceTracker(), CountingReader({100: 3})
    reads = [tracker.follow([FaceBox(100, 100, 80, 80)], reader, i / 30 + rng.uniform(-0.005, 0.005),
                            ReadingPolicy(interval_s=0.1))[1] for i in range(30)]
    assert reads == [1, 0, 0] * 10


def test_a_face_whose_label_is_close_to_changing_is_read_every_frame() -> None:
    p = np.full(7, 0.05, np.float32)
    p[3], p[6] = 0.40, 0.35  # happy just ahead of neutral
    policy = ReadingPolicy(interval_s=0.1, close_margin=0.3)
    assert policy.due(p, 1 / 30)
    p[3], p[6] = 0.70, 0.05
    assert not policy.due(p, 1 / 30) and policy.due(p, 0.1)
    tracker = FaceTracker()
    close = [FacePrediction(FaceBox(100, 100, 80, 80), np.array([0.05, 0.05, 0.05, 0.4, 0.05, 0.05, 0.35]))]
    reads = [tracker.follow([close[0].box], lambda boxes: close, i / 30, policy)[1] for i in range(6)]
    assert reads == [1] * 6


def test_every_frame_policy_reads_every_face_on_every_frame() -> None:
    assert ReadingPolicy.per_second(30) == ReadingPolicy.every_frame()
    assert ReadingPolicy.per_second(10) == ReadingPolicy(interval_s=0.1, close_margin=0.3)
    tracker, reader = FaceTracker(), CountingReader({100: 3, 400: 6})
    boxes = [FaceBox(100, 100, 80, 80), FaceBox(400, 100, 80, 80)]
    for i in range(5):
        tracker.follow(boxes, reader, i / 30, ReadingPolicy.every_frame())
    assert reader.calls == [[100, 400]] * 5
    with pytest.raises(ValueError):
        ReadingPolicy(interval_s=-1.0)


def test_time_based_smoothing_equals_the_frame_based_at_the_nominal_rate() -> None:
    rng = np.random.default_rng(1)
    readings = rng.dirichlet(np.ones(7), size=40).astype(np.float32)
    box = FaceBox(100, 100, 80, 80)
    for smoothing in (0.0, 0.3, 0.6, 0.95):
        by_frame, by_time = FaceTracker(smoothing), FaceTracker(smoothing)
        for i, p in enumerate(readings):
            (framed,) = by_frame.update([FacePrediction(box, p)])
            (timed,), _ = by_time.follow([box], lambda boxes, p=p: [FacePrediction(box, p)], i / NOMINAL_FPS,
                                         ReadingPolicy.every_frame())
            np.testing.assert_allclose(timed.probabilities, framed.probabilities, rtol=1e-5, atol=1e-6)
    assert FaceTracker(0.6).past_weight(2 / NOMINAL_FPS) == pytest.approx(0.36)  # two frames' worth


def test_reading_less_often_follows_a_change_as_fast_in_seconds() -> None:
    """A face turns from happy to angry at 1 s: read every frame or three times less often, the shown
    label turns within one reading interval of the same moment."""
    box = FaceBox(100, 100, 80, 80)

    def turned_at(policy: ReadingPolicy) -> float:
        tracker = FaceTracker(0.6)
        for i in range(60):
            now = i / NOMINAL_FPS
            p = face(100, 3 if now < 1.0 else 0).probabilities
            (shown,), _ = tracker.follow([box], lambda boxes, p=p: [FacePrediction(box, p)], now, policy)
            if shown.emotion == "angry":
                return now
        raise AssertionError("never turned")

    every = turned_at(ReadingPolicy.every_frame())
    sparing = turned_at(ReadingPolicy(interval_s=0.1, close_margin=0.0))
    assert every == pytest.approx(1.0 + 1 / NOMINAL_FPS)  # one frame's reading weighs 0.4: the second turns it
    assert every - 1 / NOMINAL_FPS <= sparing <= every + 0.1


def test_the_policy_says_its_rate() -> None:
    assert "10 times a second" in ReadingPolicy(interval_s=0.1).describe()
    assert "every frame" in ReadingPolicy.every_frame().describe()
