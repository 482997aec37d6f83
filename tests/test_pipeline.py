"""The shipped model behind the default detector, on real photos and video."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import read_rgb

from fer.classifier import EmotionClassifier
from fer.detection import make_detector
from fer.pipeline import EmotionPipeline
from fer.video import iter_frames


@pytest.fixture(scope="module")
def pipeline(shipped_classifier: EmotionClassifier) -> EmotionPipeline:
    return EmotionPipeline(make_detector(), shipped_classifier)


@pytest.mark.parametrize("photo", ["justin.jpg", "portrait.jpg"])
def test_smiling_portraits_are_one_happy_face(media: Path, pipeline: EmotionPipeline, photo: str) -> None:
    (face,) = pipeline.analyse(read_rgb(media / photo))
    assert face.emotion == "happy"
    assert face.confidence > 0.5
    assert face.probabilities.sum() == pytest.approx(1.0, abs=1e-4)


def test_couple_gives_two_faces(media: Path, pipeline: EmotionPipeline) -> None:
    faces = pipeline.analyse(read_rgb(media / "couple.jpg"))
    assert len(faces) == 2
    assert faces[0].box.iou(faces[1].box) == 0.0


def test_no_face_photo_gives_no_prediction(media: Path, pipeline: EmotionPipeline) -> None:
    assert pipeline.analyse(read_rgb(media / "no-faces.jpg")) == []


def test_video_has_a_face_in_most_frames(media: Path, pipeline: EmotionPipeline) -> None:
    counts = [len(pipeline.analyse(rgb)) for _, _, rgb in iter_frames(media / "test.mp4")]
    assert len(counts) == 115
    assert sum(c >= 1 for c in counts) >= 0.9 * len(counts)
