"""The live callback's library code, driven with real frames decoded from test.mp4."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from fer.classifier import EmotionClassifier
from fer.detection import make_detector
from fer.live import LiveSession, label_agreement, session_summary
from fer.pipeline import EmotionPipeline
from fer.tracking import ReadingPolicy
from fer.video import iter_frames


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def frames(media: Path) -> list[np.ndarray]:
    return [rgb for _, _, rgb in iter_frames(media / "test.mp4")][:48]


def test_live_session_annotates_real_frames_and_reports(frames: list[np.ndarray], tiny_model) -> None:
    clock = FakeClock()
    session = LiveSession(EmotionPipeline(make_detector(), EmotionClassifier(tiny_model.predict_on_batch)), smoothing=0.5, clock=clock)
    for i, rgb in enumerate(frames):
        clock.now = i * 0.1  # a 10 fps stream
        out = session.process(rgb)
        assert out.shape == rgb.shape and not np.array_equal(out, rgb)  # a face was boxed
    snapshot = session.snapshot()
    assert snapshot.frames == 48 and snapshot.faces_now == 1
    assert snapshot.fps == pytest.approx(10.0, rel=0.01)
    assert sum(snapshot.distribution.values()) == pytest.approx(1.0, abs=1e-4)
    assert set(snapshot.timeline.track) == {0} and len(snapshot.timeline) == 48

    log = session.per_second_log()
    assert log.second.tolist() == [0, 1, 2, 3, 4]
    assert log.face_observations.tolist() == [10, 10, 10, 10, 8]
    summary = session_summary(log)
    # Each second's dominant emotion, counted: the summary's shares are those counts over 5 seconds.
    expected = log.dominant.value_counts() / 5
    assert summary.to_dict() == pytest.approx(expected.to_dict())
    assert summary.index[0] == expected.idxmax() and summary.is_monotonic_decreasing


def test_detecting_every_third_frame_still_labels_every_frame(frames: list[np.ndarray], tiny_model) -> None:
    session = LiveSession(EmotionPipeline(make_detector(), EmotionClassifier(tiny_model.predict_on_batch)))
    session.set_detect_every(3)
    for rgb in frames[:12]:
        assert not np.array_equal(session.process(rgb), rgb)  # boxed on detected and held frames alike
    assert session.snapshot().frames == 12 and session.snapshot().faces_now == 1
    assert set(session.snapshot().timeline.track) == {0}  # one face followed throughout


def test_timeline_keeps_only_the_last_minute(frames: list[np.ndarray], tiny_model) -> None:
    clock = FakeClock()
    session = LiveSession(EmotionPipeline(make_detector(), EmotionClassifier(tiny_model.predict_on_batch)), clock=clock)
    for t in (0.0, 30.0, 61.0, 62.0):
        clock.now = t
        session.process(frames[0])
    assert session.snapshot().timeline.time_s.tolist() == [30.0, 61.0, 62.0]
    assert len(session.per_second_log()) == 4  # the log keeps the whole session


def test_confidence_threshold_hides_unsure_faces(frames: list[np.ndarray], tiny_model) -> None:
    session = LiveSession(EmotionPipeline(make_detector(), EmotionClassifier(tiny_model.predict_on_batch)))
    session.min_confidence = 1.01  # nothing is that sure
    assert np.array_equal(session.process(frames[0]), frames[0])
    assert session.snapshot().faces_now == 0


def test_snapshots_are_safe_while_frames_are_processed(frames: list[np.ndarray], tiny_model) -> None:
    session = LiveSession(EmotionPipeline(make_detector(), EmotionClassifier(tiny_model.predict_on_batch)))
    errors: list[BaseException] = []

    def stream() -> None:
        try:
            for rgb in frames[:20]:
                session.process(rgb)
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread, asserted below
            errors.append(exc)

    worker = threading.Thread(target=stream)
    worker.start()
    while worker.is_alive():
        session.snapshot()
        session.per_second_log()
    worker.join()
    assert not errors and session.snapshot().frames == 20


@pytest.mark.slow
def test_reading_less_shows_the_label_reading_every_frame_shows_on_real_faces(media: Path, shipped_classifier) -> None:
    # All of test.mp4 (115 frames, 3.8 s as a 30 frames/s camera), the served model: its labels
    # change from happy to neutral and sad and back about a dozen times.
    frames = [rgb for _, _, rgb in iter_frames(media / "test.mp4")]
    result = label_agreement(frames, EmotionPipeline(make_detector(), shipped_classifier), ReadingPolicy())
    assert result.frames == result.faces == 115
    assert result.share >= 0.97
    assert result.readings_per_face <= 0.6


@pytest.mark.slow
def test_the_session_reads_faces_less_often_than_it_shows_them_and_counts_it(frames: list[np.ndarray],
                                                                              shipped_classifier) -> None:
    clock = FakeClock()
    session = LiveSession(EmotionPipeline(make_detector(), shipped_classifier), clock=clock)
    for i, rgb in enumerate(frames):
        clock.now = i / 30
        assert not np.array_equal(session.process(rgb), rgb)  # boxed and labelled on every frame
    snapshot = session.snapshot()
    assert snapshot.frames == snapshot.detections == 48 and snapshot.faces_now == 1
    assert 48 / 3 <= snapshot.faces_read < 48  # at least every 0.1 s, less than every frame
    assert 10.0 <= snapshot.readings_per_s < snapshot.fps == pytest.approx(30.0)
    session.set_reading(ReadingPolicy.every_frame())
    for i, rgb in enumerate(frames[:10], start=48):
        clock.now = i / 30
        session.process(rgb)
    assert session.snapshot().faces_read == snapshot.faces_read + 10
