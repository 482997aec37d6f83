"""Follow faces across frames and smooth their probabilities, so labels do not flicker."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from fer.detection import FaceDetector
from fer.types import FaceBox, FacePrediction


@dataclass
class _Track:
    track_id: int
    box: FaceBox
    probabilities: np.ndarray
    missed: int = 0


class FaceTracker:
    """Greedy IoU matching of each frame's faces to the last frame's, with an exponential moving
    average of probabilities per face.

    ``smoothing`` is the weight of the past: 0 shows each frame's own probabilities, 0.8 takes
    about five frames to follow a change. A face unseen for ``max_missed`` updates is forgotten.
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
        matches = self._match(faces)
        seen: set[int] = set()
        result: list[FacePrediction] = []
        for i, face in enumerate(faces):
            track = matches.get(i)
            if track is None:
                track = _Track(self._next_id, face.box, face.probabilities.copy())
                self._next_id += 1
                self._tracks.append(track)
            else:
                a = self.smoothing
                track.probabilities = a * track.probabilities + (1 - a) * face.probabilities
                track.box, track.missed = face.box, 0
            seen.add(track.track_id)
            result.append(replace(face, probabilities=track.probabilities.copy(), track_id=track.track_id))
        for track in self._tracks:
            if track.track_id not in seen:
                track.missed += 1
        self._tracks = [t for t in self._tracks if t.missed <= self.max_missed]
        return result

    def _match(self, faces: list[FacePrediction]) -> dict[int, _Track]:
        pairs = sorted(
            ((face.box.iou(track.box), i, j) for i, face in enumerate(faces) for j, track in enumerate(self._tracks)),
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
        self._boxes: list[FaceBox] = []
        self._since_detection = 0

    def boxes(self, detector: FaceDetector, rgb: np.ndarray) -> list[FaceBox]:
        if not self._boxes or self._since_detection >= self.every - 1:
            self._boxes, self._since_detection = detector.detect(rgb), 0
        else:
            self._since_detection += 1
        return self._boxes
