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
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from fer.annotate import annotate
from fer.emotions import EMOTIONS
from fer.pipeline import EmotionPipeline
from fer.tracking import DetectionSchedule, FaceTracker
from fer.types import FacePrediction

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


@dataclass
class _Buffer:
    samples: deque[LiveSample] = field(default_factory=deque)
    frame_times: deque[float] = field(default_factory=deque)
    # Whole session, for the log: per second, faces seen and the sum of their probabilities.
    per_second: dict[int, tuple[int, np.ndarray]] = field(default_factory=dict)
    frames: int = 0


class LiveSession:
    """One camera stream's state. ``pipeline`` and ``tracker`` may be swapped between frames."""

    def __init__(self, pipeline: EmotionPipeline, smoothing: float = 0.6, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._start = clock()
        self._buffer = _Buffer()
        self.pipeline = pipeline
        self.tracker = FaceTracker(smoothing=smoothing)
        self.schedule = DetectionSchedule()
        self.min_confidence = 0.0

    def set_smoothing(self, smoothing: float) -> None:
        if smoothing != self.tracker.smoothing:
            self.tracker = FaceTracker(smoothing=smoothing)

    def set_detect_every(self, every: int) -> None:
        if every != self.schedule.every:
            self.schedule = DetectionSchedule(every)

    def process(self, rgb: np.ndarray) -> np.ndarray:
        """Detect, classify, smooth and annotate one frame; record it for the charts."""
        boxes = self.schedule.boxes(self.pipeline.detector, rgb)
        faces = self.tracker.update(self.pipeline.classify(rgb, boxes))
        shown = [f for f in faces if f.confidence >= self.min_confidence]
        now = self._clock() - self._start
        with self._lock:
            self._record(LiveSample(now, tuple(shown)))
        return annotate(rgb, shown)

    def _record(self, sample: LiveSample) -> None:
        buffer = self._buffer
        buffer.frames += 1
        buffer.samples.append(sample)
        buffer.frame_times.append(sample.time_s)
        while buffer.samples and buffer.samples[0].time_s < sample.time_s - TIMELINE_SECONDS:
            buffer.samples.popleft()
        while buffer.frame_times and buffer.frame_times[0] < sample.time_s - FPS_WINDOW_SECONDS:
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
            frames = self._buffer.frames
        fps = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 and times[-1] > times[0] else 0.0
        latest = samples[-1].faces if samples else ()
        mean = np.mean([f.probabilities for f in latest], axis=0) if latest else np.zeros(len(EMOTIONS))
        rows = [
            {"time_s": s.time_s, "track": f.track_id, "emotion": f.emotion, "confidence": f.confidence}
            for s in _thinned(samples, TIMELINE_RATE) for f in s.faces
        ]
        timeline = pd.DataFrame(rows, columns=["time_s", "track", "emotion", "confidence"])
        return LiveSnapshot(fps, len(latest), dict(zip(EMOTIONS, map(float, mean), strict=True)), timeline, frames)

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


def session_summary(log: pd.DataFrame) -> pd.Series:
    """Share of the seconds with a face in which each emotion was dominant, largest first."""
    dominant = log["dominant"].dropna()
    return dominant.value_counts(normalize=True) if len(dominant) else pd.Series(dtype=float)
