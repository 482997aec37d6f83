"""Load FER2013 from the Kaggle CSV (plain or gzipped) or from the common image-folder layout.

Both loaders return a :class:`FerData` with the three splits the rules name: ``train``
(FER2013 ``Training``), ``val`` (``PublicTest``, used for every choice) and ``test``
(``PrivateTest``, reported only). Beside a CSV, FER+'s ten-annotator votes (``fer.votes``) may be
read too: each split then carries them, row for row with its faces.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from fer.emotions import EMOTIONS, FACE_SIZE
from fer.imaging import IMAGE_SUFFIXES
from fer.votes import DEFAULT_VOTES_NAME, NO_LABEL, majority_labels, read_votes

logger = logging.getLogger(__name__)

CSV_COLUMNS = ("emotion", "pixels", "Usage")
CSV_SPLITS = {"train": "Training", "val": "PublicTest", "test": "PrivateTest"}


class DatasetError(ValueError):
    """The data at a path is not FER2013 in a layout we read; the message says what is wrong."""


@dataclass(frozen=True)
class Split:
    """One split: ``images`` uint8 (N, 48, 48) gray levels, ``labels`` int64 (N,) class indices
    (FER2013's single annotator's, or a folder's), and, where read, ``votes`` int64 (N, 10): FER+'s
    ten annotators' counts in ``fer.votes.OUR_ORDER``."""

    images: np.ndarray
    labels: np.ndarray
    votes: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.labels)

    def class_counts(self) -> np.ndarray:
        return np.bincount(self.labels, minlength=len(EMOTIONS))

    def subset(self, mask: np.ndarray) -> Split:
        return Split(self.images[mask], self.labels[mask], None if self.votes is None else self.votes[mask])

    def majority(self) -> np.ndarray:
        """The FER+ majority label of each face, ``NO_LABEL`` where the crowd gives none."""
        if self.votes is None:
            raise DatasetError("this split has no FER+ votes: read the FER2013 CSV with its votes file")
        return majority_labels(self.votes)

    def by_majority(self) -> Split:
        """The faces with a FER+ majority label in our seven classes, labelled by it."""
        majority = self.majority()
        kept = self.subset(majority != NO_LABEL)
        return Split(kept.images, majority[majority != NO_LABEL], kept.votes)

    def certain_mask(self) -> np.ndarray:
        """Which faces' FER2013 label is also the FER+ majority's: clear expressions."""
        return self.labels == self.majority()

    def certain(self) -> Split:
        """The faces whose FER2013 label is also the FER+ majority's: clear expressions."""
        return self.subset(self.certain_mask())


@dataclass(frozen=True)
class FerData:
    train: Split
    val: Split
    test: Split

    @property
    def has_votes(self) -> bool:
        return self.train.votes is not None


def load_fer(path: str | Path, val_fraction: float = 0.1, seed: int = 0, votes: str | Path | None = None) -> FerData:
    """Load FER2013 from a ``.csv``/``.csv.gz`` file or from an image-folder root, with the FER+
    votes file ``votes`` beside a CSV where given.

    ``val_fraction`` and ``seed`` apply only to a folder layout without a validation folder,
    where a stratified part of ``train/`` becomes the validation split.
    """
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"{path}: no such file or folder")
    if path.is_dir():
        if votes is not None:
            raise DatasetError(f"{path}: FER+ votes go with the FER2013 CSV they match row for row, not a folder")
        return load_folder(path, val_fraction=val_fraction, seed=seed)
    if path.name.endswith((".csv", ".csv.gz")):
        return load_csv(path, votes)
    raise DatasetError(f"{path}: expected a FER2013 .csv/.csv.gz file or a folder with train/ and test/")


def default_votes(data_path: str | Path, name: str = DEFAULT_VOTES_NAME) -> Path | None:
    """FER+'s votes file ``name`` beside the FER2013 CSV ``data_path``, if it is there (a folder
    layout has none)."""
    candidate = Path(data_path).parent / name
    return candidate if Path(data_path).is_file() and candidate.is_file() else None


def load_csv(path: str | Path, votes: str | Path | None = None) -> FerData:
    """Read the Kaggle layout: columns ``emotion``, ``pixels`` (2304 gray levels), ``Usage``; and
    the FER+ votes file ``votes``, checked row for row against it."""
    path = Path(path)
    frame = pd.read_csv(path)
    missing = [c for c in CSV_COLUMNS if c not in frame.columns]
    if missing:
        raise DatasetError(
            f"{path}: missing column(s) {', '.join(missing)}; "
            f"the Kaggle FER2013 CSV has columns {', '.join(CSV_COLUMNS)}"
        )
    unknown = set(frame["Usage"]) - set(CSV_SPLITS.values())
    if unknown:
        raise DatasetError(f"{path}: unknown Usage value(s) {sorted(unknown)}")
    all_votes = None if votes is None else read_votes(votes, frame["Usage"])
    splits = {}
    for name, usage in CSV_SPLITS.items():
        rows = (frame["Usage"] == usage).to_numpy()
        split = _csv_split(frame[rows], path)
        splits[name] = split if all_votes is None else Split(split.images, split.labels, all_votes[rows])
    return FerData(**splits)


def _csv_split(rows: pd.DataFrame, path: Path) -> Split:
    n_pixels = FACE_SIZE * FACE_SIZE
    images = np.empty((len(rows), n_pixels), dtype=np.uint8)
    for i, text in enumerate(rows["pixels"]):
        values = np.fromstring(text, dtype=np.uint8, sep=" ")
        if values.size != n_pixels:
            raise DatasetError(f"{path}: a 'pixels' cell holds {values.size} values, expected {n_pixels}")
        images[i] = values
    labels = rows["emotion"].to_numpy(dtype=np.int64)
    if labels.size and (labels.min() < 0 or labels.max() >= len(EMOTIONS)):
        raise DatasetError(f"{path}: 'emotion' must be 0..{len(EMOTIONS) - 1}")
    return Split(images.reshape(-1, FACE_SIZE, FACE_SIZE), labels)


def load_folder(root: str | Path, val_fraction: float = 0.1, seed: int = 0) -> FerData:
    """Read ``root/{train,test}/<emotion>/*.jpg`` (and ``val/`` or ``validation/`` if present)."""
    root = Path(root)
    train_dir, test_dir = root / "train", root / "test"
    for needed in (train_dir, test_dir):
        if not needed.is_dir():
            raise DatasetError(
                f"{root}: no {needed.name}/ folder; expected {root}/train/<emotion>/*.jpg and "
                f"{root}/test/<emotion>/*.jpg with emotion one of {', '.join(EMOTIONS)}"
            )
    val_dir = next((root / n for n in ("val", "validation") if (root / n).is_dir()), None)
    train = read_image_folder(train_dir)
    if val_dir is not None:
        val = read_image_folder(val_dir)
    else:
        train, val = stratified_split(train, val_fraction, seed)
        logger.info("No val/ folder: holding out %.0f%% of train/ for validation", 100 * val_fraction)
    return FerData(train=train, val=val, test=read_image_folder(test_dir))


def read_image_folder(folder: Path) -> Split:
    """Read one split folder with one sub-folder per emotion, named as in :data:`EMOTIONS`."""
    subdirs = sorted(p for p in folder.iterdir() if p.is_dir())
    unknown = [p.name for p in subdirs if p.name.lower() not in EMOTIONS]
    if unknown:
        raise DatasetError(f"{folder}: unknown emotion folder(s) {unknown}; use {', '.join(EMOTIONS)}")
    images: list[np.ndarray] = []
    labels: list[int] = []
    for subdir in subdirs:
        label = EMOTIONS.index(subdir.name.lower())
        for file in sorted(subdir.iterdir()):
            if file.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            gray = cv2.imread(str(file), cv2.IMREAD_GRAYSCALE)
            if gray is None:
                logger.warning("Skipping %s: not a readable image", file)
                continue
            images.append(cv2.resize(gray, (FACE_SIZE, FACE_SIZE), interpolation=cv2.INTER_AREA))
            labels.append(label)
    if not images:
        raise DatasetError(f"{folder}: no images found in <emotion>/ sub-folders")
    return Split(np.stack(images), np.asarray(labels, dtype=np.int64))


def stratified_split(split: Split, fraction: float, seed: int) -> tuple[Split, Split]:
    """Hold out ``fraction`` of every class (at least one image where a class has two or more)."""
    rng = np.random.default_rng(seed)
    held: list[np.ndarray] = []
    for label in np.unique(split.labels):
        members = rng.permutation(np.flatnonzero(split.labels == label))
        n_held = round(fraction * len(members))
        if len(members) > 1:
            n_held = min(max(n_held, 1), len(members) - 1)
        held.append(members[:n_held])
    held_idx = np.sort(np.concatenate(held))
    keep = np.ones(len(split), dtype=bool)
    keep[held_idx] = False
    return (
        Split(split.images[keep], split.labels[keep]),
        Split(split.images[held_idx], split.labels[held_idx]),
    )
