"""Follow faces across frames and smooth their probabilities, so labels do not flicker."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from fer.detection import FaceDetector
from fer.types import FaceBox, FacePrediction

# The camera rate at which ``smoothing`` is the weight of the past over one frame: browsers' cameras
# (and the live bench's) send 30 frames/s.
NOMINAL_FPS = 30.0
# A reading due within half a camera frame is taken now: at 30 frames/s with the stream's timing
# jitter, a 0.1 s interval then reads every third frame, not every third or fourth.
DUE_SLACK_S = 0.5 / NOMINAL_FPS


@dataclass(frozen=True)
class ReadingPolicy:
    """When the live page reads a tracked face's emotion again (its box follows it on every frame).

    A new face is read at once. After that, a face whose two likeliest emotions are more than
    ``close_margin`` apart is read again ``interval_s`` after its last reading; one whose label is
    closer than that, on every frame, since its label may be about to change. On ``test.mp4``'s faces
    (``tests/test_live.py``) and the live bench's (``python -m bench.live --agreement``), the defaults
    show the label that reading every frame shows on at least 97% of frames.
    """

    interval_s: float = 0.1
    close_margin: float = 0.3

    def __post_init__(self) -> None:
        if self.interval_s < 0 or not 0.0 <= self.close_margin <= 1.0:
            raise ValueError("interval_s must be >= 0 and close_margin in [0, 1]")

    @classmethod
    def every_frame(cls) -> ReadingPolicy:
        """Every face read on every frame (the live page before 2026-12-07)."""
        return cls(interval_s=0.0, close_margin=0.0)

    @classmethod
    def per_second(cls, rate: float, close_margin: float = 0.3) -> ReadingPolicy:
        """``rate`` readings a second per face whose label is clear; ``rate`` >= NOMINAL_FPS: every frame."""
        return cls.every_frame() if rate >= NOMINAL_FPS else cls(1.0 / rate, close_margin)

    def due(self, probabilities: np.ndarray, elapsed_s: float) -> bool:
        """Whether a face read ``elapsed_s`` ago, with these smoothed probabilities, is read now."""
        if elapsed_s + DUE_SLACK_S >= self.interval_s:
            return True
        top, second = np.sort(probabilities)[-2:][::-1]
        return bool(top - second < self.close_margin)

    def describe(self) -> str:
        if self.interval_s == 0.0:
            return "Every face's emotion is read on every frame."
        return (f"Each face's emotion is read when it appears, then {1 / self.interval_s:.0f} times a second, "
                f"and on every frame while its two likeliest emotions are within {self.close_margin:.2f} of each other; "
                "its box follows it on every frame.")


@dataclass
class _Track:
    track_id: int
    box: FaceBox
    probabilities: np.ndarray
    missed: int = 0
    read_at: float = -math.inf  # seconds, on the caller's clock
    crop: np.ndarray | None = None  # the model's input at the last reading


Reader = Callable[[list[FaceBox]], list[FacePrediction]]


class FaceTracker:
    """Greedy IoU matching of each frame's faces to the last frame's, with an exponential moving
    average of probabilities per face.

    ``smoothing`` is the weight of the past: 0 shows each frame's own probabilities, 0.8 takes
    about five frames to follow a change. A face unseen for ``max_missed`` updates is forgotten.
    :meth:`update` smooths per frame (the videos page reads every analysed frame); :meth:`follow`
    per second, for a stream that reads faces less often than it shows them.
    """

    def __init__(self, smoothing: float = 0.6, iou_threshold: float = 0.3, max_missed: int = 10) -> None:
        if not 0.0 <= smoothing < 1.0:
            raise ValueError("smoothing must be in [0, 1)")
        self.smoothing = smoothing
        self.iou_threshold = iou_threshold
        self.max_missed = max_missed
        self._tracks: list[_Track] = []
        self._next_id = 0

    def update(self, faces: list[FacePrediction]) -> list[FacePrediction]:
        """The same faces, with a ``track_id`` and smoothed probabilities."""
        matches = self._match([face.box for face in faces])
        result: list[FacePrediction] = []
        for i, face in enumerate(faces):
            track = matches.get(i) or self._new_track(face)
            if i in matches:
                a = self.smoothing
                track.probabilities = a * track.probabilities + (1 - a) * face.probabilities
                track.box, track.missed = face.box, 0
            result.append(replace(face, probabilities=track.probabilities.copy(), track_id=track.track_id))
        self._forget_unseen({face.track_id for face in result})
        return result

    def follow(self, boxes: list[FaceBox], read: Reader, now: float, policy: ReadingPolicy) -> tuple[list[FacePrediction], int]:
        """This frame's faces at ``boxes``, tracked: new faces and those ``policy`` says are due are
        read with one call of ``read``, the others keep their smoothed probabilities. Returns the
        faces and how many were read."""
        matches = self._match(boxes)
        due = [i for i, box in enumerate(boxes)
               if i not in matches or policy.due(matches[i].probabilities, now - matches[i].read_at)]
        readings = dict(zip(due, read([boxes[i] for i in due]), strict=True)) if due else {}
        result: list[FacePrediction] = []
        for i, box in enumerate(boxes):
            track = matches.get(i)
            if track is None:
                track = self._new_track(readings[i])
            elif i in readings:
                w = self.past_weight(now - track.read_at)
                track.probabilities = w * track.probabilities + (1 - w) * readings[i].probabilities
            if i in readings:
                track.read_at, track.crop = now, readings[i].crop
            track.box, track.missed = box, 0
            result.append(FacePrediction(box, track.probabilities.copy(), track.track_id, track.crop))
        self._forget_unseen({face.track_id for face in result})
        return result, len(due)

    def past_weight(self, elapsed_s: float) -> float:
        """The weight of a face's past probabilities against a reading ``elapsed_s`` after the last:
        ``smoothing`` per frame of a NOMINAL_FPS camera, so ``exp(-elapsed_s / tau)`` with
        ``tau = -1 / (NOMINAL_FPS * ln(smoothing))``; a face read half as often follows a change as
        fast in seconds."""
        if self.smoothing == 0.0:
            return 0.0
        return float(self.smoothing ** (max(elapsed_s, 0.0) * NOMINAL_FPS))

    def _new_track(self, face: FacePrediction) -> _Track:
        track = _Track(self._next_id, face.box, face.probabilities.copy())
        self._next_id += 1
        self._tracks.append(track)
        return track

    def _forget_unseen(self, seen: set[int | None]) -> None:
        for track in self._tracks:
            if track.track_id not in seen:
                track.missed += 1
        self._tracks = [t for t in self._tracks if t.missed <= self.max_missed]

    def _match(self, boxes: list[FaceBox]) -> dict[int, _Track]:
        pairs = sorted(
            ((box.iou(track.box), i, j) for i, box in enumerate(boxes) for j, track in enumerate(self._tracks)),
            reverse=True,
        )
        matches: dict[int, _Track] = {}
        used: set[int] = set()
        for iou, i, j in pairs:
            if iou < self.iou_threshold:
                break
            if i not in matches and j not in used:
                matches[i] = self._tracks[j]
                used.add(j)
        return matches


class DetectionSchedule:
    """Run the face detector on every ``every``-th frame and reuse its boxes on the frames between.

    At 30 frames/s a face moves a few pixels from one frame to the next, less than the margin of
    its crop, so a box one or two frames old still frames it (``python -m bench.run``, "Fast paths",
    measures the overlap and the labels it gives). Where the last detection found no face, every
    frame is searched, so a face that comes into view is found at once.
    """

    def __init__(self, every: int = 1) -> None:
        if every < 1:
            raise ValueError("every must be >= 1")
        self.every = every
        self.detections = 0  # detector calls so far
        self._boxes: list[FaceBox] = []
        self._since_detection = 0

    def boxes(self, detector: FaceDetector, rgb: np.ndarray) -> list[FaceBox]:
        if not self._boxes or self._since_detection >= self.every - 1:
            self._boxes, self._since_detection = detector.detect(rgb), 0
            self.detections += 1
        else:
            self._since_detection += 1
        return self._boxes
