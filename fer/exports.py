"""Downloads: result tables, annotated images (written photo by photo to a file the caller
owns), and corrected faces as a dataset."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import BinaryIO

import cv2
import numpy as np
import pandas as pd

from fer.annotate import annotate
from fer.datasets import Split, stratified_split
from fer.emotions import EMOTIONS
from fer.imaging import decode_rgb_writable, rgb_to_bgr
from fer.labelling import LabelledPhoto
from fer.uploads import Upload, expand_uploads


def table_csv(table: pd.DataFrame) -> bytes:
    return table.to_csv(index=False).encode()


def table_json(table: pd.DataFrame) -> bytes:
    return table.to_json(orient="records", indent=2).encode()


def _safe_stem(name: str) -> str:
    """A flat file name from an upload name such as ``photos.zip/trip/me.jpg``."""
    path = PurePosixPath(name.replace("\\", "/"))
    stem = "_".join(part for part in (*path.parent.parts, path.stem) if part not in ("", ".", "..", "/"))
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in stem) or "image"


def write_annotated_zip(photos: Sequence[LabelledPhoto], files: Sequence[tuple[str, bytes]], out: BinaryIO,
                        on_photo: Callable[[int, int], None] | None = None) -> int:
    """Every labelled photo annotated at full size, as JPEGs in a ZIP written to ``out`` (a file,
    so the download never sits whole in memory), made one photo at a time from the uploads they
    were labelled from (``files``, as ``label_uploads`` was given them, matched by position, not
    by name). ``on_photo(done, total)``; returns how many photos were written."""
    wanted = {photo.index: photo for photo in photos}
    written = 0
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:  # JPEGs do not compress further
        used: set[str] = set()
        for index, item in enumerate(expand_uploads(files)):
            photo = wanted.get(index)
            if photo is None or not isinstance(item, Upload):
                continue
            # One full-size frame, drawn on and converted in place: the peak of one photo, not three.
            annotated = rgb_to_bgr(annotate(decode_rgb_writable(item.data), photo.faces, in_place=True), in_place=True)
            ok, jpeg = cv2.imencode(".jpg", annotated, [cv2.IMWRITE_JPEG_QUALITY, 90])
            del annotated
            if ok:
                archive.writestr(_unique(f"{_safe_stem(photo.name)}_annotated.jpg", used), jpeg.tobytes())
                written += 1
            if on_photo is not None:
                on_photo(written, len(wanted))
    return written


@dataclass(frozen=True)
class LabelledFace:
    """A face crop (48x48 gray, as the model saw it) with the label the user settled on."""

    source: str
    index: int
    crop: np.ndarray
    emotion: str


def dataset_zip(faces: Sequence[LabelledFace], test_fraction: float = 0.2, seed: int = 0) -> bytes:
    """The faces in the folder layout ``python -m fer train --data`` reads: ``train/<emotion>/*.png``
    and ``test/<emotion>/*.png``, a stratified ``test_fraction`` of each emotion held out."""
    if not faces:
        raise ValueError("no faces to export")
    unknown = {f.emotion for f in faces} - set(EMOTIONS)
    if unknown:
        raise ValueError(f"unknown emotion label(s): {sorted(unknown)}")
    labels = np.array([EMOTIONS.index(f.emotion) for f in faces])
    order = np.arange(len(faces))
    # Split indices, not pixels: reuse the dataset loader's stratified hold-out.
    train, test = stratified_split(Split(order[:, None, None], labels), test_fraction, seed)
    buffer = io.BytesIO()
    used: set[str] = set()  # two uploads of one name (two phones' IMG_0001.jpg) keep two entries
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for split_name, split in (("train", train), ("test", test)):
            for i in split.images[:, 0, 0]:
                face = faces[int(i)]
                ok, png = cv2.imencode(".png", face.crop)
                if ok:
                    name = f"{split_name}/{face.emotion}/{_safe_stem(face.source)}_face{face.index}.png"
                    archive.writestr(_unique(name, used), png.tobytes())
    return buffer.getvalue()


def _unique(name: str, used: set[str]) -> str:
    """``name``, or ``name (2)``, ``name (3)``… before its suffix, as desktops name a second copy."""
    path = PurePosixPath(name)
    stem, suffix = str(path.with_suffix("")), path.suffix
    candidate, n = name, 2
    while candidate in used:
        candidate = f"{stem} ({n}){suffix}"
        n += 1
    used.add(candidate)
    return candidate
