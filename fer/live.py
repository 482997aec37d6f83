"""A live camera session: per-frame processing on the stream's thread, lock-guarded results for the UI.

:meth:`LiveSession.process` runs in the WebRTC callback thread; :meth:`LiveSession.snapshot`
runs in the page's script thread. They share nothing but :class:`_Buffer`, behind one lock.
Frames that arrive while one is processing are dropped by the caller (streamlit-webrtc's
``async_processing``), never queued, so the delay from camera to screen stays bounded.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import pandas as pd

from fer.annotate import annotate
from fer.emotions import EMOTIONS
from fer.pipeline import EmotionPipeline
from fer.tracking import NOMINAL_FPS, DetectionSchedule, FaceTracker, ReadingPolicy
from fer.types import FaceBox, FacePrediction

TIMELINE_SECONDS = 60.0
FPS_WINDOW_SECONDS = 2.0
# The timeline chart's dots per second: a minute of 30 frames/s is 1,800 dots per face, more than
# the chart's width shows and, redrawn every second, a cost the stream's thread pays for too.
TIMELINE_RATE = 10


@dataclass(frozen=True)
class LiveSample:
    """The faces of one processed frame, seconds after the session started."""

    time_s: float
    faces: tuple[FacePrediction, ...]


@dataclass(frozen=True)
class LiveSnapshot:
    fps: float
    faces_now: int
    distribution: dict[str, float]  # mean probabilities over the faces of the latest frame
    timeline: pd.DataFrame  # time_s, track, emotion columns: the last minute, per face
    frames: int
    readings_per_s: float = 0.0  # faces read by the classifier a second, over the fps window
    faces_read: int = 0  # since the session started
    detections: int = 0  # detector calls since the session started


@dataclass
class _Buffer:
    samples: deque[LiveSample] = field(default_factory=deque)
    frame_times: deque[tuple[float, int]] = field(default_factory=deque)  # (time_s, faces read then)
    # Whole session, for the log: per second, faces seen and the sum of their probabilities.
    per_second: dict[int, tuple[int, np.ndarray]] = field(default_factory=dict)
    frames: int = 0
    faces_read: int = 0
    detections: int = 0


class LiveSession:
    """One camera stream's state. ``pipeline``, ``tracker`` and ``reading`` may be swapped between
    frames. Boxes are found on every frame (or every ``set_detect_every``-th); emotions are read as
    ``reading`` (a ``fer.tracking.ReadingPolicy``) says, and smoothed over time."""

    def __init__(self, pipeline: EmotionPipeline, smoothing: float = 0.6, clock: Callable[[], float] = time.monotonic,
                 reading: ReadingPolicy | None = None) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._start = clock()
        self._buffer = _Buffer()
        self.pipeline = pipeline
        self.tracker = FaceTracker(smoothing=smoothing)
        self.schedule = DetectionSchedule()
        self.reading = reading or ReadingPolicy()
        self.min_confidence = 0.0

    def set_smoothing(self, smoothing: float) -> None:
        if smoothing != self.tracker.smoothing:
            self.tracker = FaceTracker(smoothing=smoothing)

    def set_detect_every(self, every: int) -> None:
        if every != self.schedule.every:
            self.schedule = DetectionSchedule(every)

    def set_reading(self, reading: ReadingPolicy) -> None:
        self.reading = reading

    def process(self, rgb: np.ndarray) -> np.ndarray:
        """Detect, classify the faces that are due, smooth and annotate one frame; record it for the charts."""
        now = self._clock() - self._start
        pipeline, schedule = self.pipeline, self.schedule  # the page's thread may swap either mid-frame
        detections = schedule.detections
        boxes = schedule.boxes(pipeline.detector, rgb)
        faces, read = self.tracker.follow(boxes, lambda due: pipeline.classify(rgb, due), now, self.reading)
        shown = [f for f in faces if f.confidence >= self.min_confidence]
        with self._lock:
            self._record(LiveSample(now, tuple(shown)), read, schedule.detections - detections)
        return annotate(rgb, shown)

    def _record(self, sample: LiveSample, read: int, detected: int) -> None:
        buffer = self._buffer
        buffer.frames += 1
        buffer.faces_read += read
        buffer.detections += detected
        buffer.samples.append(sample)
        buffer.frame_times.append((sample.time_s, read))
        while buffer.samples and buffer.samples[0].time_s < sample.time_s - TIMELINE_SECONDS:
            buffer.samples.popleft()
        while buffer.frame_times and buffer.frame_times[0][0] < sample.time_s - FPS_WINDOW_SECONDS:
            buffer.frame_times.popleft()
        if sample.faces:
            count, total = buffer.per_second.get(int(sample.time_s), (0, np.zeros(len(EMOTIONS))))
            added = np.sum([face.probabilities for face in sample.faces], axis=0)
            buffer.per_second[int(sample.time_s)] = (count + len(sample.faces), total + added)
        else:
            buffer.per_second.setdefault(int(sample.time_s), (0, np.zeros(len(EMOTIONS))))

    def snapshot(self) -> LiveSnapshot:
        with self._lock:
            samples = list(self._buffer.samples)
            times = list(self._buffer.frame_times)
            frames, faces_read, detections = self._buffer.frames, self._buffer.faces_read, self._buffer.detections
        span = times[-1][0] - times[0][0] if times else 0.0
        # Rates over the span from the window's first frame to its last; the first frame's readings precede it.
        fps = (len(times) - 1) / span if span > 0 else 0.0
        readings_per_s = sum(read for _, read in times[1:]) / span if span > 0 else 0.0
        latest = samples[-1].faces if samples else ()
        mean = np.mean([f.probabilities for f in latest], axis=0) if latest else np.zeros(len(EMOTIONS))
        rows = [
            {"time_s": s.time_s, "track": f.track_id, "emotion": f.emotion, "confidence": f.confidence}
            for s in _thinned(samples, TIMELINE_RATE) for f in s.faces
        ]
        timeline = pd.DataFrame(rows, columns=["time_s", "track", "emotion", "confidence"])
        distribution = dict(zip(EMOTIONS, map(float, mean), strict=True))
        return LiveSnapshot(fps, len(latest), distribution, timeline, frames, readings_per_s, faces_read, detections)

    def per_second_log(self) -> pd.DataFrame:
        """One row per second of the session: faces seen, mean probabilities, dominant emotion."""
        with self._lock:
            seconds = dict(self._buffer.per_second)  # the tuples are replaced, never changed in place
        rows = []
        for second in sorted(seconds):
            count, total = seconds[second]
            mean = total / count if count else np.full(len(EMOTIONS), np.nan)
            row: dict[str, object] = {"second": second, "face_observations": count}
            row["dominant"] = EMOTIONS[int(np.argmax(mean))] if count else None
            row.update({f"p_{name}": round(float(p), 4) for name, p in zip(EMOTIONS, mean, strict=True)})
            rows.append(row)
        return pd.DataFrame(rows, columns=["second", "face_observations", "dominant"] + [f"p_{e}" for e in EMOTIONS])


def _thinned(samples: list[LiveSample], rate: float) -> list[LiveSample]:
    """The first sample of every 1/``rate`` s."""
    kept, last_bin = [], None
    for sample in samples:
        current = int(sample.time_s * rate)
        if current != last_bin:
            kept.append(sample)
            last_bin = current
    return kept


@dataclass(frozen=True)
class Agreement:
    """How often a reading policy shows the label that reading every face on every frame shows."""

    frames: int
    faces: int  # faces compared, over all frames
    agreeing: int
    readings: int  # faces the policy read

    @property
    def share(self) -> float:
        return self.agreeing / self.faces if self.faces else float("nan")

    @property
    def readings_per_face(self) -> float:
        """Readings per face shown: 1.0 reads every face on every frame."""
        return self.readings / self.faces if self.faces else float("nan")


def label_agreement(frames: Iterable[np.ndarray], pipeline: EmotionPipeline, policy: ReadingPolicy,
                    smoothing: float = 0.6, fps: float = NOMINAL_FPS) -> Agreement:
    """Play ``frames`` as a ``fps`` camera, every one processed, through two trackers: one reading
    every face on every frame, one reading as ``policy`` says; count the faces whose shown labels agree."""
    every, sparing = FaceTracker(smoothing), FaceTracker(smoothing)
    counts = np.zeros(4, int)  # frames, faces, agreeing, readings
    for index, rgb in enumerate(frames):
        boxes = pipeline.detector.detect(rgb)
        # Both trackers get the same readings of this frame: one classifier call serves both.
        lookup = partial(_picked, dict(zip(map(id, boxes), pipeline.classify(rgb, boxes), strict=True)))
        reference, _ = every.follow(boxes, lookup, index / fps, ReadingPolicy.every_frame())
        shown, readings = sparing.follow(boxes, lookup, index / fps, policy)
        agreeing = sum(a.emotion == b.emotion for a, b in zip(reference, shown, strict=True))
        counts += (1, len(boxes), agreeing, readings)
    return Agreement(*map(int, counts))


def _picked(readings: dict[int, FacePrediction], boxes: list[FaceBox]) -> list[FacePrediction]:
    return [readings[id(box)] for box in boxes]


def session_summary(log: pd.DataFrame) -> pd.Series:
    """Share of the seconds with a face in which each emotion was dominant, largest first."""
    dominant = log["dominant"].dropna()
    return dominant.value_counts(normalize=True) if len(dominant) else pd.Series(dtype=float)
