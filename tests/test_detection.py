from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import read_rgb

from fer.detection import (
    DETECTORS,
    FULL_RANGE,
    SHORT_RANGE,
    blazeface_anchors,
    letterbox,
    make_detector,
    weighted_nms,
)


def test_anchor_counts_match_the_models_outputs() -> None:
    assert blazeface_anchors(SHORT_RANGE).shape == (896, 2)
    assert blazeface_anchors(FULL_RANGE).shape == (2304, 2)
    short = blazeface_anchors(SHORT_RANGE)
    # First cell of the 16x16 grid, two anchors there; then the 8x8 grid begins at index 512.
    np.testing.assert_allclose(short[0], [0.5 / 16, 0.5 / 16])
    np.testing.assert_allclose(short[1], short[0])
    np.testing.assert_allclose(short[512], [0.5 / 8, 0.5 / 8])


def test_weighted_nms_merges_overlaps_and_keeps_separate_faces() -> None:
    boxes = np.array([
        [0.30, 0.30, 0.2, 0.2],
        [0.32, 0.30, 0.2, 0.2],  # overlaps the first
        [0.80, 0.80, 0.1, 0.1],  # elsewhere
    ], dtype=np.float32)
    merged = weighted_nms(boxes, np.array([0.9, 0.6, 0.7]), iou_threshold=0.3)
    assert len(merged) == 2
    (first, score), (second, _) = merged
    assert score == pytest.approx(0.9)
    assert first[0] == pytest.approx((0.30 * 0.9 + 0.32 * 0.6) / 1.5)
    np.testing.assert_allclose(second, boxes[2])


def test_letterbox_keeps_aspect_ratio() -> None:
    square, scale, pad_x, pad_y = letterbox(np.full((100, 200, 3), 255, np.uint8), 128)
    assert square.shape == (128, 128, 3)
    assert scale == pytest.approx(0.64) and pad_x == 0 and pad_y == 32
    assert square[0, 0].tolist() == [0, 0, 0] and square[64, 64].tolist() == [255, 255, 255]


def test_unknown_detector_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown detector 'yolo'"):
        make_detector("yolo")


@pytest.mark.parametrize("name", DETECTORS)
@pytest.mark.parametrize(("photo", "faces"), [("justin.jpg", 1), ("portrait.jpg", 1), ("couple.jpg", 2), ("no-faces.jpg", 0)])
def test_detectors_count_faces_in_real_photos(media: Path, name: str, photo: str, faces: int) -> None:
    rgb = read_rgb(media / photo)
    boxes = make_detector(name).detect(rgb)
    assert len(boxes) == faces
    for box in boxes:
        assert box.x >= 0 and box.x + box.w <= rgb.shape[1] and box.y >= 0 and box.y + box.h <= rgb.shape[0]
        assert box.w > 50 and 0.7 < box.w / box.h < 1.4


def test_blazeface_keypoints_sit_inside_the_face(media: Path) -> None:
    (box,) = make_detector("blazeface-short").detect(read_rgb(media / "justin.jpg"))
    right_eye, left_eye, mouth = (box.keypoints[k] for k in ("right_eye", "left_eye", "mouth"))
    assert right_eye[0] < left_eye[0]  # the subject's right eye is on the image's left
    assert max(right_eye[1], left_eye[1]) < mouth[1]  # eyes above the mouth
    for x, y in (right_eye, left_eye, mouth):
        assert box.x <= x <= box.x + box.w and box.y <= y <= box.y + box.h


def test_default_detector_finds_every_face_of_a_group_frame(media: Path) -> None:
    """Five and ten small faces in a 1280x720 frame: what a group photo or a wide shot holds."""
    portrait = read_rgb(media / "portrait.jpg")
    (box,) = make_detector().detect(portrait)
    face = portrait[max(0, box.y - box.h // 2): box.y + box.h * 3 // 2, max(0, box.x - box.w // 2): box.x + box.w * 3 // 2]
    for n in (5, 10):
        canvas = np.full((720, 1280, 3), 200, np.uint8)
        tile = 1280 // 5 - 16
        small = cv2.resize(face, (tile, tile), interpolation=cv2.INTER_AREA)
        for k in range(n):
            r, c = divmod(k, 5)
            canvas[r * 256 + 8: r * 256 + 8 + tile, c * 256 + 8: c * 256 + 8 + tile] = small
        assert len(make_detector().detect(canvas)) == n


# Haar's cascade on 90 full-size photos takes seconds: outside the inner loop, where BlazeFace's stay.
@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n == "haar" else n for n in DETECTORS])
def test_one_detector_shared_by_threads_gives_each_its_own_faces(media: Path, name: str) -> None:
    """The app shares one detector between sessions: concurrent calls must not mix their results."""
    from concurrent.futures import ThreadPoolExecutor

    detector = make_detector(name)
    photos = {n: read_rgb(media / n) for n in ("justin.jpg", "couple.jpg", "no-faces.jpg")}
    expected = {n: [(b.x, b.y, b.w, b.h) for b in detector.detect(rgb)] for n, rgb in photos.items()}
    jobs = list(photos) * 30
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda n: [(b.x, b.y, b.w, b.h) for b in detector.detect(photos[n])], jobs))
    assert results == [expected[n] for n in jobs]
