from __future__ import annotations

import gzip
from pathlib import Path

import cv2
import numpy as np
import pytest

from fer.datasets import DatasetError, FerData, Split, load_fer, stratified_split
from fer.emotions import EMOTIONS


def write_csv(path: Path, rows: list[tuple[int, np.ndarray, str]], header: str = "emotion,pixels,Usage") -> Path:
    lines = [header] + [f"{label},{' '.join(map(str, img.ravel()))},{usage}" for label, img, usage in rows]
    text = "\n".join(lines) + "\n"
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def synthetic_rows(n_per_split: int = 4) -> list[tuple[int, np.ndarray, str]]:
    rng = np.random.default_rng(0)
    return [
        (i % 7, rng.integers(0, 256, (48, 48), dtype=np.uint8), usage)
        for usage in ("Training", "PublicTest", "PrivateTest")
        for i in range(n_per_split)
    ]


@pytest.mark.parametrize("name", ["fer.csv", "fer.csv.gz"])
def test_csv_plain_and_gzipped_round_trip_pixels_and_splits(tmp_path: Path, name: str) -> None:
    rows = synthetic_rows()
    data = load_fer(write_csv(tmp_path / name, rows))
    assert (len(data.train), len(data.val), len(data.test)) == (4, 4, 4)
    assert data.train.images.shape == (4, 48, 48) and data.train.images.dtype == np.uint8
    np.testing.assert_array_equal(data.val.images[1], rows[5][1])
    assert data.test.labels.tolist() == [0, 1, 2, 3]


def test_csv_missing_column_is_named(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "bad.csv", synthetic_rows(), header="emotion,pixels,split")
    with pytest.raises(DatasetError, match=r"missing column.*Usage"):
        load_fer(path)


def test_csv_wrong_pixel_count_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "short.csv"
    path.write_text("emotion,pixels,Usage\n3,1 2 3,Training\n")
    with pytest.raises(DatasetError, match="3 values, expected 2304"):
        load_fer(path)


def test_unsupported_file_and_missing_path(tmp_path: Path) -> None:
    (tmp_path / "data.txt").write_text("x")
    with pytest.raises(DatasetError, match="expected a FER2013"):
        load_fer(tmp_path / "data.txt")
    with pytest.raises(DatasetError, match="no such file"):
        load_fer(tmp_path / "absent.csv")


def write_folder(root: Path, split: str, per_class: int = 3) -> None:
    rng = np.random.default_rng(1)
    for emotion in EMOTIONS:
        folder = root / split / emotion
        folder.mkdir(parents=True)
        for i in range(per_class):
            cv2.imwrite(str(folder / f"{i}.png"), rng.integers(0, 256, (48, 48), dtype=np.uint8))


def test_folder_layout_holds_out_validation_from_train(tmp_path: Path) -> None:
    write_folder(tmp_path, "train", per_class=10)
    write_folder(tmp_path, "test", per_class=2)
    (tmp_path / "train" / "happy" / "notes.txt").write_text("ignored")
    data = load_fer(tmp_path, val_fraction=0.2)
    assert len(data.test) == 14
    assert len(data.train) + len(data.val) == 70
    assert data.val.class_counts().tolist() == [2] * 7  # stratified


def test_folder_layout_errors_name_the_problem(tmp_path: Path) -> None:
    write_folder(tmp_path, "train")
    with pytest.raises(DatasetError, match="no test/ folder"):
        load_fer(tmp_path)
    write_folder(tmp_path, "test")
    (tmp_path / "test" / "contempt").mkdir()
    with pytest.raises(DatasetError, match=r"unknown emotion folder.*contempt"):
        load_fer(tmp_path)


def test_stratified_split_keeps_every_image_once() -> None:
    labels = np.repeat(np.arange(7), 5)
    split = Split(np.arange(35 * 4, dtype=np.uint8).reshape(35, 2, 2), labels)
    train, val = stratified_split(split, 0.2, seed=3)
    assert sorted(train.images[:, 0, 0].tolist() + val.images[:, 0, 0].tolist()) == sorted(split.images[:, 0, 0].tolist())
    assert val.class_counts().tolist() == [1] * 7


@pytest.mark.slow
def test_real_fer2013_matches_its_documented_counts(fer2013: FerData) -> None:
    data = fer2013
    assert (len(data.train), len(data.val), len(data.test)) == (28709, 3589, 3589)
    assert data.train.class_counts().tolist() == [3995, 436, 4097, 7215, 4830, 3171, 4965]
    assert data.test.class_counts().tolist() == [491, 55, 528, 879, 594, 416, 626]
