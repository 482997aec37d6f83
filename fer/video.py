"""Video files: decode frames, analyse every k-th one, write an annotated H.264 mp4 (PyAV/FFmpeg)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Self

import av
import numpy as np

from fer.annotate import annotate
from fer.pipeline import EmotionPipeline
from fer.tracking import FaceTracker
from fer.types import FacePrediction, FrameResult

logger = logging.getLogger(__name__)

VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".avi", ".webm", ".mkv", ".m4v"})
Progress = Callable[[int, int], None]  # (frames done, frames in total or 0 if unknown)


class VideoError(ValueError):
    """A video that cannot be analysed; the message says why, for the user."""


@dataclass(frozen=True)
class VideoInfo:
    width: int
    height: int
    fps: float
    frame_count: int  # from the container; 0 where it does not say


@dataclass
class VideoAnalysis:
    info: VideoInfo
    frames: list[FrameResult] = field(default_factory=list)  # the analysed frames only
    frames_decoded: int = 0


def probe_video(path: str | Path) -> VideoInfo:
    with _open(path) as container:
        return _info(container.streams.video[0])


def iter_frames(path: str | Path) -> Iterator[tuple[int, float, np.ndarray]]:
    """(index, time in seconds, RGB uint8 frame) for every decodable frame."""
    with _open(path) as container:
        yield from _decode(container, path)


def _info(stream: av.video.stream.VideoStream) -> VideoInfo:
    fps = float(stream.average_rate or stream.guessed_rate or 25)
    return VideoInfo(stream.codec_context.width, stream.codec_context.height, fps, stream.frames or 0)


def _decode(container: av.container.InputContainer, path: str | Path) -> Iterator[tuple[int, float, np.ndarray]]:
    stream = container.streams.video[0]
    fps = _info(stream).fps
    try:
        for index, frame in enumerate(container.decode(stream)):
            time_s = float(frame.time) if frame.time is not None else index / fps
            yield index, time_s, frame.to_ndarray(format="rgb24")
    except av.FFmpegError as exc:
        # A damaged tail still leaves the frames before it usable.
        logger.warning("%s: decoding stopped early: %s", path, exc)


def _open(path: str | Path) -> av.container.InputContainer:
    try:
        container = av.open(str(path), mode="r")
    except (av.FFmpegError, OSError) as exc:
        raise VideoError(f"not a video we can open ({exc.__class__.__name__})") from None
    if not container.streams.video:
        container.close()
        raise VideoError("the file has no video stream")
    return container


class AnnotatedVideoWriter:
    """An H.264 (yuv420p) mp4 that browsers play; frames are RGB uint8 of one size."""

    def __init__(self, path: str | Path, fps: float) -> None:
        self._container = av.open(str(path), mode="w")
        self._stream = self._container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1000))
        self._stream.pix_fmt = "yuv420p"
        self._stream.options = {"crf": "23", "preset": "veryfast"}
        self._size: tuple[int, int] | None = None

    def write(self, rgb: np.ndarray) -> None:
        if self._size is None:
            # yuv420p needs even sides: drop a last odd row/column rather than rescale.
            self._size = (rgb.shape[1] // 2 * 2, rgb.shape[0] // 2 * 2)
            self._stream.width, self._stream.height = self._size
        w, h = self._size
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb[:h, :w]), format="rgb24")
        self._container.mux(self._stream.encode(frame))

    def close(self) -> None:
        if self._size is not None:
            self._container.mux(self._stream.encode(None))
        self._container.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


def analyse_video(
    path: str | Path,
    pipeline: EmotionPipeline,
    every: int = 1,
    annotated_path: str | Path | None = None,
    on_progress: Progress | None = None,
    tracker: FaceTracker | None = None,
) -> VideoAnalysis:
    """Analyse every ``every``-th frame; the annotated video keeps every frame, each showing the
    latest analysed result. Faces carry track ids from ``tracker`` (a fresh one by default)."""
    if every < 1:
        raise ValueError("every must be >= 1")
    tracker = tracker or FaceTracker(smoothing=0.0)
    container = _open(path)  # once: its header gives the info, its packets the frames
    info = _info(container.streams.video[0])
    analysis = VideoAnalysis(info)
    writer = AnnotatedVideoWriter(annotated_path, info.fps) if annotated_path else None
    latest: list[FacePrediction] = []
    try:
        for index, time_s, rgb in _decode(container, path):
            if index % every == 0:
                latest = tracker.update(pipeline.analyse(rgb))
                analysis.frames.append(FrameResult(latest, index, time_s))
            if writer is not None:
                writer.write(annotate(rgb, latest))
            analysis.frames_decoded = index + 1
            if on_progress is not None:
                on_progress(index + 1, info.frame_count)
    finally:
        container.close()
        if writer is not None:
            writer.close()
    if analysis.frames_decoded == 0:
        raise VideoError("no decodable frame in the video")
    return analysis
