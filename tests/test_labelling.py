from __future__ import annotations

import gc
import io
import shutil
import tracemalloc
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from fer.classifier import EmotionClassifier
from fer.detection import make_detector
from fer.exports import write_annotated_zip
from fer.labelling import (
    PREVIEW_SIDE,
    BulkLabeller,
    LabelledPhoto,
    LabelRow,
    PhotoBatch,
    label_uploads,
    on_screen,
    rows_to_frame,
)
from fer.pipeline import EmotionPipeline
from fer.sources import list_sources
from fer.types import FaceBox, FacePrediction


@pytest.fixture(scope="module")
def labeller_inputs(media: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("inputs")
    for name in ("justin.jpg", "couple.jpg", "no-faces.jpg"):
        shutil.copy(media / name, folder / name)
    (folder / "fake.jpg").write_text("this is text with an image extension")
    (folder / "empty.png").write_bytes(b"")
    jpeg = (media / "portrait.jpg").read_bytes()
    (folder / "truncated.jpg").write_bytes(jpeg[: len(jpeg) // 2])
    (folder / "readme.txt").write_text("not picked up from a folder")
    return folder


def test_folders_give_their_media_files(labeller_inputs: Path) -> None:
    names = [Path(p).name for p in list_sources([labeller_inputs])]
    assert names == sorted(names) and "readme.txt" not in names and len(names) == 6


def test_bad_files_get_error_rows_and_the_rest_is_labelled(labeller_inputs: Path, tiny_model, tmp_path: Path) -> None:
    labeller = BulkLabeller(EmotionPipeline(make_detector(), EmotionClassifier(tiny_model.predict_on_batch)), annotated_dir=tmp_path)
    rows = list(labeller.label(list_sources([labeller_inputs])))
    by_file: dict[str, list[LabelRow]] = {}
    for row in rows:
        by_file.setdefault(Path(row.file).name, []).append(row)
    assert len(by_file["couple.jpg"]) == 2 and all(r.status == "ok" for r in by_file["couple.jpg"])
    assert [r.status for r in by_file["no-faces.jpg"]] == ["no face"]
    assert by_file["fake.jpg"][0].status.startswith("error: not an image")
    assert by_file["empty.png"][0].status == "error: empty file (0 bytes)"
    assert by_file["truncated.jpg"][0].status.startswith("error: corrupt or truncated")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["couple.jpg", "justin.jpg", "no-faces.jpg"]

    table = rows_to_frame(rows)
    assert list(table.columns[-7:]) == ["p_angry", "p_disgust", "p_fear", "p_happy", "p_sad", "p_surprise", "p_neutral"]
    ok = table[table.status == "ok"]
    assert (ok[["p_angry", "p_disgust", "p_fear", "p_happy", "p_sad", "p_surprise", "p_neutral"]].sum(axis=1) - 1).abs().max() < 1e-3
    assert str(table["x"].dtype) == "Int64"


def test_on_screen_leads_with_the_emotion_and_drops_what_photos_do_not_have() -> None:
    probabilities = (0.05, 0.0, 0.05, 0.8, 0.05, 0.0, 0.05)
    rows = [
        LabelRow("couple.jpg", "ok", face=0, x=1404, y=403, w=692, h=692, emotion="happy", confidence=0.8,
                 probabilities=probabilities),
        LabelRow("couple.jpg", "ok", face=1, x=343, y=602, w=696, h=696, emotion="sad", confidence=0.5,
                 probabilities=(0.1, 0.0, 0.1, 0.1, 0.5, 0.0, 0.2)),
        LabelRow("no-faces.jpg", "no face"),
    ]
    table = rows_to_frame(rows)
    view = on_screen(table)
    assert list(view.columns[:5]) == ["file", "face", "emotion", "confidence", "status"]
    assert not {"frame", "time_s", "track"} & set(view.columns)
    assert {"x", "p_happy"} <= set(view.columns) and len(view) == 3
    assert view.loc[view.file == "no-faces.jpg", "status"].item() == "no face"
    assert "frame" in table.columns  # the download keeps its layout


# --- the Bulk photos page's path: label_uploads -----------------------------------------------

def _phone_photos_zip(media: Path, count: int) -> bytes:
    """``count`` 12-megapixel JPEGs of a real portrait in one zip, as a phone's photos come."""
    portrait = cv2.resize(cv2.imread(str(media / "portrait.jpg")), (4000, 3000), interpolation=cv2.INTER_CUBIC)
    jpeg = cv2.imencode(".jpg", portrait, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for i in range(count):
            archive.writestr(f"phone/IMG_{i:04d}.jpg", jpeg)
    return buffer.getvalue()


def _traced_label(files: list[tuple[str, bytes]], pipeline: EmotionPipeline) -> tuple[PhotoBatch, int, int]:
    """The batch, the memory it keeps (bytes still allocated after labelling) and the peak while labelling."""
    gc.collect()
    tracemalloc.start()
    try:
        batch = label_uploads(files, pipeline, previews=2)
        gc.collect()
        kept, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return batch, kept, peak


@pytest.mark.slow
def test_bulk_photo_memory_does_not_grow_with_the_batch(media: Path, shipped_classifier: EmotionClassifier) -> None:
    pipeline = EmotionPipeline(make_detector(), shipped_classifier)
    small = [("few.zip", _phone_photos_zip(media, 2))]
    large = [("many.zip", _phone_photos_zip(media, 10))]
    label_uploads(small, pipeline)  # interpreters warmed up outside the measurement
    _, kept_few, peak_few = _traced_label(small, pipeline)
    many, kept_many, peak_many = _traced_label(large, pipeline)
    assert [len(p.faces) for p in many.images] == [1] * 10 and not many.rejected
    photo = 4000 * 3000 * 3  # one decoded photo: 36 MB, what the page used to keep per photo
    # Eight more photos: less than one decoded photo more at the peak, and a few kB each kept
    # (rows and 48x48 crops; the previews are capped).
    assert peak_many - peak_few < photo / 2, (peak_few, peak_many)
    assert kept_many - kept_few < 8 * 100_000, (kept_few, kept_many)
    assert peak_many < 4 * photo
    assert [p.preview is not None for p in many.images] == [True, True] + [False] * 8
    assert max(many.images[0].preview.shape[:2]) == PREVIEW_SIDE


@pytest.mark.slow
def test_bulk_photo_downloads_hold_every_photo_and_every_skipped_file(media: Path,
                                                                      shipped_classifier: EmotionClassifier) -> None:
    files = [("many.zip", _phone_photos_zip(media, 3)), ("fake.jpg", b"text, not a JPEG"), ("empty.png", b"")]
    batch = label_uploads(files, EmotionPipeline(make_detector(), shipped_classifier))
    out = io.BytesIO()
    assert write_annotated_zip(batch.images, files, out) == 3
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
        first = cv2.imdecode(np.frombuffer(archive.read(names[0]), np.uint8), cv2.IMREAD_COLOR)
    assert names == [f"many.zip_phone_IMG_{i:04d}_annotated.jpg" for i in range(3)]
    assert first.shape == (3000, 4000, 3)  # full size, rebuilt from the upload
    table = batch.table()
    assert table.status.tolist()[:3] == ["ok"] * 3
    skipped = table[table.status.str.startswith("error: ")]
    assert skipped.file.tolist() == ["fake.jpg", "empty.png"]
    assert skipped.emotion.isna().all() and list(table.columns) == list(rows_to_frame([]).columns)


def _traced_annotated_zip(media: Path, count: int, out: Path) -> int:
    """The peak traced memory while ``count`` 12-megapixel photos are annotated into ``out``."""
    p = np.zeros(7, np.float32)
    p[3] = 1.0
    files = [("phones.zip", _phone_photos_zip(media, count))]
    photos = [LabelledPhoto(f"phones.zip/phone/IMG_{i:04d}.jpg", i, [FacePrediction(FaceBox(1500, 900, 900, 900), p)])
              for i in range(count)]
    gc.collect()
    tracemalloc.start()
    try:
        with out.open("wb") as f:
            assert write_annotated_zip(photos, files, f) == count
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.slow
def test_the_annotated_zip_is_written_in_memory_flat_in_the_batch(media: Path, tmp_path: Path) -> None:
    """50 12-megapixel photos annotated into a ZIP on disk: the peak is the same as for 5 (the
    ZIP used to be built whole in memory: 50 photos' JPEGs, about 30 MB more)."""
    peak_few = _traced_annotated_zip(media, 5, tmp_path / "few.zip")
    peak_many = _traced_annotated_zip(media, 50, tmp_path / "many.zip")
    assert (tmp_path / "many.zip").stat().st_size > 25 << 20  # every photo, full size, is in it
    assert peak_many - peak_few < 5 << 20, (peak_few, peak_many)
