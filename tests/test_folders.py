"""fer.folders: the served pipeline on a user's labelled folders (real film crops and photos)."""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from fer.classifier import EmotionClassifier
from fer.cli import main
from fer.detection import make_detector
from fer.emotions import EMOTIONS
from fer.folders import NO_FACE, check_images, directory_images, folder_emotion, summary_table, zip_images
from fer.pipeline import EmotionPipeline
from fer.uploads import Rejected


def test_images_in_skipped_folders_are_never_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for folder, name in (("happy", "a.jpg"), ("contempt", "b.jpg")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / name).write_bytes(name.encode())
    read: list[str] = []
    original = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda self: read.append(self.name) or original(self))
    skipped: list[Rejected] = []
    images = list(directory_images(tmp_path, skipped))
    assert [(i.name, i.emotion, i.data) for i in images] == [("happy/a.jpg", "happy", b"a.jpg")]
    assert read == ["a.jpg"]
    assert [r.name for r in skipped] == ["contempt"]


def test_folder_names_map_to_the_seven_emotions_in_any_case() -> None:
    assert [folder_emotion(n) for n in ("Anger", "HAPPINESS", "sadness", "Surprised", "fearful", "disgusted", "neutral")] \
        == ["angry", "happy", "sad", "surprise", "fear", "disgust", "neutral"]
    assert folder_emotion("contempt") is None and folder_emotion("") is None


@pytest.fixture(scope="module")
def labelled_set(sfew: Path, media: Path) -> Iterator[Path]:
    """Real film crops under synonym folders, a contempt folder, a corrupt file and a faceless photo.
    The crops are linked, not copied (read in place: research-only licence), in a temporary folder
    deleted after the module's tests."""
    with tempfile.TemporaryDirectory(prefix="fer-labelled-") as tmp:
        root = Path(tmp)
        for source, folder in (("angry", "Anger"), ("happy", "happiness"), ("surprise", "SURPRISE")):
            (root / folder).mkdir()
            for path in sorted((sfew / source).glob("*.png"))[:3]:
                (root / folder / path.name).symlink_to(path)
        (root / "contempt").mkdir()
        (root / "contempt" / "x.png").symlink_to(min((sfew / "neutral").glob("*.png")))
        (root / "neutral").mkdir()
        (root / "neutral" / "street.jpg").symlink_to(media / "no-faces.jpg")
        (root / "neutral" / "broken.jpg").write_bytes(b"not a jpeg")
        yield root


def _report(root: Path, pipeline: EmotionPipeline) -> tuple[dict, list[Rejected]]:
    skipped: list[Rejected] = []
    return check_images(directory_images(root, skipped), pipeline, skipped).summary(), skipped


def test_report_counts_every_image_and_a_faceless_one_as_wrong(labelled_set: Path,
                                                               shipped_classifier: EmotionClassifier) -> None:
    summary, skipped = _report(labelled_set, EmotionPipeline(make_detector(), shipped_classifier))
    assert summary["images"] == 10 and summary["faces_not_found"] >= 1
    assert summary["no_face"][-1] == "neutral/street.jpg" or "neutral/street.jpg" in summary["no_face"]
    matrix = np.array(summary["confusion_matrix"])
    assert matrix.shape == (7, 8) and summary["confusion_columns"] == [*EMOTIONS, NO_FACE]
    assert matrix.sum() == 10 and matrix[EMOTIONS.index("neutral"), 7] == 1  # the street photo: no face
    assert matrix[:, 7].sum() == summary["faces_not_found"]
    assert matrix.sum(axis=1).tolist() == [summary["per_class"][e]["support"] for e in EMOTIONS] == [3, 0, 0, 3, 0, 3, 1]
    assert summary["accuracy"] == pytest.approx(np.trace(matrix) / 10)
    recalls = [summary["per_class"][e]["recall"] for e in ("angry", "happy", "surprise", "neutral")]
    assert summary["balanced_accuracy"] == pytest.approx(np.mean(recalls))  # absent emotions not averaged in
    assert summary["per_class"]["neutral"]["recall"] == 0.0
    reasons = {r.name: r.reason for r in skipped}
    assert "contempt" in reasons and "not one of the seven emotions" in reasons["contempt"]
    assert "neutral/broken.jpg" in reasons
    table = summary_table(summary)
    assert "balanced accuracy" in table and "skipped: contempt" in table


def test_crops_mode_reads_every_image(labelled_set: Path, shipped_classifier: EmotionClassifier) -> None:
    summary, _ = _report(labelled_set, EmotionPipeline(make_detector(), shipped_classifier, crops=True))
    assert summary["faces_not_found"] == 0 and summary["images"] == 10


def test_zip_of_emotion_folders_keeps_the_upload_defences(sfew: Path) -> None:
    crop = min((sfew / "sad").glob("*.png")).read_bytes()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in ("set/Sadness/a.png", "set/sad/b.png", "../sad/escape.png", "set/misc/c.png", "loose.png"):
            archive.writestr(name, crop)
    skipped: list[Rejected] = []
    images = list(zip_images("mine.zip", buffer.getvalue(), skipped))
    assert [(i.name, i.emotion) for i in images] == [("mine.zip/set/Sadness/a.png", "sad"), ("mine.zip/set/sad/b.png", "sad")]
    reasons = " ".join(f"{r.name}: {r.reason}" for r in skipped)
    assert "unsafe path" in reasons and "'misc' is not one of the seven" in reasons and "not in an emotion folder" in reasons


def test_empty_set_says_so(tmp_path: Path, shipped_classifier: EmotionClassifier) -> None:
    (tmp_path / "angry").mkdir()
    skipped: list[Rejected] = []
    report = check_images(directory_images(tmp_path, skipped), EmotionPipeline(make_detector(), shipped_classifier), skipped)
    with pytest.raises(ValueError, match="no labelled image"):
        report.summary()


def test_evaluate_images_writes_the_report(labelled_set: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "report.json"
    assert main(["evaluate", "--images", str(labelled_set), "--crops", "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    assert set(report) >= {"accuracy", "balanced_accuracy", "images", "faces_not_found", "per_class", "confusion_matrix"}
    assert report["images"] == 10 and report["crops"] is True
    assert set(report["per_class"]["angry"]) == {"precision", "recall", "f1", "support"}
    assert len(report["predictions"]) == 10 + 2  # every image, and the two skipped items
    printed = capsys.readouterr().out
    assert "10 images: accuracy" in printed and f"wrote {out}" in printed


def test_evaluate_images_needs_a_folder(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="not a folder"):
        main(["evaluate", "--images", str(tmp_path / "missing")])


def _zipped(root: Path, name: str, separator: str = "/", finder: bool = False) -> bytes:
    """``root``'s emotion folders as a desktop zips them: PowerShell's backslashes, or Finder's
    ``__MACOSX/`` twins and ``.DS_Store`` files beside every image."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            archive.writestr(separator.join((name, *path.relative_to(root).parts)), path.read_bytes())
            if finder:
                parent, _, leaf = f"{name}/{path.relative_to(root).as_posix()}".rpartition("/")
                archive.writestr(f"__MACOSX/{parent}/._{leaf}", b"\0\5\26\7 apple double")
        if finder:
            for folder in sorted(p for p in root.iterdir() if p.is_dir()):
                archive.writestr(f"{name}/{folder.name}/.DS_Store", b"\0\0\0\1Bud1")
    return buffer.getvalue()


def test_windows_and_finder_zips_give_the_plain_zips_report(labelled_set: Path,
                                                            shipped_classifier: EmotionClassifier) -> None:
    pipeline = EmotionPipeline(make_detector(), shipped_classifier, crops=True)
    summaries, system = {}, {}
    for kind, data in (("plain", _zipped(labelled_set, "faces")), ("windows", _zipped(labelled_set, "faces", "\\")),
                       ("finder", _zipped(labelled_set, "faces", finder=True))):
        skipped: list[Rejected] = []
        system[kind] = []
        report = check_images(zip_images(f"{kind}.zip", data, skipped, system[kind]), pipeline, skipped)
        summary = report.summary()
        summaries[kind] = {k: summary[k] for k in ("accuracy", "images", "confusion_matrix", "per_class")}
        summaries[kind]["skipped"] = sorted(r.name.split("/", 1)[1] for r in skipped)
    assert summaries["plain"]["images"] == 10
    assert summaries["windows"] == summaries["plain"] == summaries["finder"]
    files, folders = 12, 5  # 9 crops, contempt/x.png, street.jpg, broken.jpg in five folders
    assert system["plain"] == system["windows"] == [] and len(system["finder"]) == files + folders


def test_an_unreadable_file_in_a_folder_is_a_skip_row(labelled_set: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    original = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        if self.name == "street.jpg":
            raise PermissionError(13, "Permission denied")
        return original(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    skipped: list[Rejected] = []
    names = [image.name for image in directory_images(labelled_set, skipped)]
    assert "neutral/street.jpg" not in names and len(names) == 10
    assert Rejected("neutral/street.jpg", "could not be read (Permission denied)") in skipped
