from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from fer.datasets import load_fer
from fer.exports import LabelledFace, dataset_zip, table_csv, table_json, write_annotated_zip
from fer.labelling import LabelledPhoto
from fer.types import FaceBox, FacePrediction


def test_dataset_zip_is_what_the_trainer_reads(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    faces = [LabelledFace(f"album.zip/p{i}.jpg", 0, rng.integers(0, 256, (48, 48), dtype=np.uint8), emotion)
             for i, emotion in enumerate(["happy"] * 5 + ["sad"] * 5 + ["angry"])]
    with zipfile.ZipFile(io.BytesIO(dataset_zip(faces))) as archive:
        names = archive.namelist()
        archive.extractall(tmp_path)
    assert "train/happy/album.zip_p0_face0.png" in names or "test/happy/album.zip_p0_face0.png" in names
    data = load_fer(tmp_path)
    assert len(data.train) + len(data.test) + len(data.val) == 11
    assert data.test.class_counts()[[3, 4]].tolist() == [1, 1]  # a fifth of each emotion held out
    original = {f.source: f.crop for f in faces}
    # Pixels survive the round trip exactly (PNG, 48x48 gray): fine-tuning sees what the model saw.
    assert any(np.array_equal(img, crop) for img in data.test.images for crop in original.values())


def test_dataset_zip_refuses_unknown_labels() -> None:
    with pytest.raises(ValueError, match="unknown emotion"):
        dataset_zip([LabelledFace("a.jpg", 0, np.zeros((48, 48), np.uint8), "contempt")])


def test_annotated_zip_is_rebuilt_from_the_uploads_with_flat_unique_names() -> None:
    p = np.zeros(7, np.float32)
    p[3] = 1.0
    black = cv2.imencode(".png", np.zeros((50, 60, 3), np.uint8))[1].tobytes()
    from test_uploads import make_zip

    files = [("trip.zip", make_zip({"day1/me.jpg": black, "notes.txt": b"x", "day2/me.jpg": black})),
             ("trip.zip_day1_me.jpg", black)]
    face = [FacePrediction(FaceBox(5, 5, 20, 20), p)]
    # Upload indexes as label_uploads counts them: notes.txt (rejected) is index 1.
    photos = [LabelledPhoto("trip.zip/day1/me.jpg", 0, face), LabelledPhoto("trip.zip/day2/me.jpg", 2, []),
              LabelledPhoto("trip.zip_day1_me.jpg", 3, face)]
    out = io.BytesIO()
    assert write_annotated_zip(photos, files, out) == 3
    with zipfile.ZipFile(out) as archive:
        assert archive.namelist() == ["trip.zip_day1_me_annotated.jpg", "trip.zip_day2_me_annotated.jpg",
                                      "trip.zip_day1_me_annotated (2).jpg"]
        first = cv2.imdecode(np.frombuffer(archive.read("trip.zip_day1_me_annotated.jpg"), np.uint8), cv2.IMREAD_COLOR)
        plain = cv2.imdecode(np.frombuffer(archive.read("trip.zip_day2_me_annotated.jpg"), np.uint8), cv2.IMREAD_COLOR)
    assert first.shape == (50, 60, 3)
    assert first[5, 10].max() > 100 and plain.max() < 10  # the box drawn where a face was, nothing elsewhere


def test_tables_export_as_csv_and_json() -> None:
    table = pd.DataFrame({"file": ["a.jpg"], "emotion": ["happy"], "confidence": [0.9]})
    assert table_csv(table).decode().splitlines() == ["file,emotion,confidence", "a.jpg,happy,0.9"]
    assert json.loads(table_json(table)) == [{"file": "a.jpg", "emotion": "happy", "confidence": 0.9}]


def test_two_uploads_of_one_name_keep_their_own_faces_in_the_dataset() -> None:
    """Three phones' IMG_0001.jpg: three faces, each its own entry (none overwrites another)."""
    faces = [LabelledFace("IMG_0001.jpg", 0, np.full((48, 48), level, np.uint8), "happy") for level in (10, 130, 240)]
    with zipfile.ZipFile(io.BytesIO(dataset_zip(faces))) as archive:
        names = archive.namelist()
        levels = sorted(int(cv2.imdecode(np.frombuffer(archive.read(n), np.uint8), cv2.IMREAD_GRAYSCALE).mean())
                        for n in names)
    assert len(names) == len(set(names)) == 3 and "train/happy/IMG_0001_face0 (2).png" in names
    assert levels == [10, 130, 240]


def test_annotated_zip_matches_photos_by_position_not_name() -> None:
    """Two uploads named IMG_0001.jpg, a face only in the second: the box lands on the second."""
    p = np.zeros(7, np.float32)
    p[3] = 1.0
    black = cv2.imencode(".png", np.zeros((50, 60, 3), np.uint8))[1].tobytes()
    files = [("IMG_0001.jpg", black), ("IMG_0001.jpg", black)]
    photos = [LabelledPhoto("IMG_0001.jpg", 0, []), LabelledPhoto("IMG_0001.jpg", 1, [FacePrediction(FaceBox(5, 5, 20, 20), p)])]
    out = io.BytesIO()
    write_annotated_zip(photos, files, out)
    with zipfile.ZipFile(out) as archive:
        assert archive.namelist() == ["IMG_0001_annotated.jpg", "IMG_0001_annotated (2).jpg"]
        first, second = (cv2.imdecode(np.frombuffer(archive.read(n), np.uint8), cv2.IMREAD_COLOR) for n in archive.namelist())
    assert first.max() < 10 and second[5, 10].max() > 100
