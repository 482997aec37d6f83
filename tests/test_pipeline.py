"""The shipped model behind the default detector, on real photos and video."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
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


@pytest.mark.slow
def test_video_has_a_face_in_most_frames(media: Path, pipeline: EmotionPipeline) -> None:
    counts = [len(pipeline.analyse(rgb)) for _, _, rgb in iter_frames(media / "test.mp4")]
    assert len(counts) == 115
    assert sum(c >= 1 for c in counts) >= 0.9 * len(counts)


# --- face crops: the second, padded look and crops mode ----------------------------------------

def _sample(sfew: Path, per_class: int) -> list[Path]:
    """``per_class`` crops of every emotion, spread over each folder's (sorted) films."""
    paths = []
    for folder in sorted(p for p in sfew.iterdir() if p.is_dir()):
        files = sorted(folder.glob("*.png"))
        paths += files[:: max(1, len(files) // per_class)][:per_class]
    return paths


@pytest.mark.slow
def test_film_face_crops_are_found_by_the_second_look(sfew: Path, shipped_classifier: EmotionClassifier) -> None:
    pipeline = EmotionPipeline(make_detector(), shipped_classifier)
    crops = EmotionPipeline(make_detector(), shipped_classifier, crops=True)
    paths = _sample(sfew, 8)
    images = [read_rgb(p) for p in paths]
    assert sum(bool(pipeline.detector.detect(rgb)) for rgb in images) <= 2  # the detector alone: almost none
    found = [pipeline.analyse(rgb) for rgb in images]
    assert sum(map(bool, found)) >= len(paths) - 2, [p.name for p, f in zip(paths, found, strict=True) if not f]
    # Where found, the face is read as crops mode reads the image whole.
    agree = [f[0].emotion == crops.analyse(rgb)[0].emotion for f, rgb in zip(found, images, strict=True) if f]
    assert sum(agree) >= 0.9 * len(agree)
    h, w = images[0].shape[:2]
    box = found[0][0].box
    assert 0 <= box.x and 0 <= box.y and box.x + box.w <= w and box.y + box.h <= h


@pytest.mark.slow
def test_fer2013_faces_upscaled_are_found(fer_csv: Path, shipped_classifier: EmotionClassifier) -> None:
    import pandas as pd

    rows = pd.read_csv(fer_csv, nrows=40)
    pipeline = EmotionPipeline(make_detector(), shipped_classifier)
    found = alone = 0
    for pixels in rows.pixels:
        face = np.array(pixels.split(), dtype=np.uint8).reshape(48, 48)
        rgb = cv2.cvtColor(cv2.resize(face, (192, 192), interpolation=cv2.INTER_CUBIC), cv2.COLOR_GRAY2RGB)
        found += len(pipeline.analyse(rgb)) == 1
        alone += bool(pipeline.detector.detect(rgb))
    assert alone <= 2 and found >= 38  # 0 and 40 of 40 on 2026-12-06


def test_padding_invents_no_face_and_the_live_path_never_loads_it(media: Path, shipped_classifier: EmotionClassifier) -> None:
    pipeline = EmotionPipeline(make_detector(), shipped_classifier)
    pipeline.analyse(read_rgb(media / "justin.jpg"))
    assert pipeline._retry is None  # a face found at once: no second look, no second detector
    assert pipeline.analyse(read_rgb(media / "no-faces.jpg")) == []
    assert pipeline._retry is not None  # it did look again, and found nothing


def test_crops_mode_reads_the_whole_image_as_one_face(media: Path, shipped_classifier: EmotionClassifier) -> None:
    crops = EmotionPipeline(make_detector(), shipped_classifier, crops=True)
    rgb = read_rgb(media / "couple.jpg")  # two faces, but crops mode does not look for them
    (face,) = crops.analyse(rgb)
    h, w = rgb.shape[:2]
    assert (face.box.w, face.box.h) == (min(h, w), min(h, w)) and face.crop.shape == (48, 48)


def test_a_face_crop_at_phone_resolution_is_found_in_its_own_pixels(sfew: Path,
                                                                    shipped_classifier: EmotionClassifier) -> None:
    from fer.detection import RETRY_DETECTOR, detect_padded

    small = read_rgb(min((sfew / "happy").glob("*.png")))
    big = cv2.resize(small, (small.shape[1] * 16, small.shape[0] * 16), interpolation=cv2.INTER_CUBIC)
    retry = make_detector(RETRY_DETECTOR, 0.5)
    (at_small,), (at_big,) = detect_padded(retry, small), detect_padded(retry, big)  # the large one shrunk first
    assert abs(at_big.x / 16 - at_small.x) <= 2 and abs(at_big.w / 16 - at_small.w) <= 3
    assert at_big.x + at_big.w <= big.shape[1] and at_big.y + at_big.h <= big.shape[0]
    (face,) = EmotionPipeline(make_detector(), shipped_classifier).analyse(big)
    assert face.emotion == EmotionPipeline(make_detector(), shipped_classifier, crops=True).analyse(big)[0].emotion


def test_locate_finds_the_faces_analyse_reads(media: Path, sfew: Path, shipped_classifier: EmotionClassifier) -> None:
    from fer.imaging import decode_image

    pipeline = EmotionPipeline(make_detector(), shipped_classifier)
    film = decode_image(min((sfew / "happy").glob("*.png")).read_bytes())  # found by the second look
    for rgb, count in ((read_rgb(media / "couple.jpg"), 2), (film, 1), (read_rgb(media / "no-faces.jpg"), 0)):
        boxes, crops = pipeline.locate(rgb)
        assert len(boxes) == len(crops) == count
        faces = pipeline.analyse(rgb)
        assert [f.box for f in faces] == boxes
        assert all(np.array_equal(f.crop, c) for f, c in zip(faces, crops, strict=True))
