"""fer.folders: the served pipeline on a user's labelled folders (real film crops and photos)."""

from __future__ import annotations

import io
import json
import shutil
import zipfile
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
def labelled_set(sfew: Path, media: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real film crops under synonym folders, a contempt folder, a corrupt file and a faceless photo
    (copied to a temporary folder for the test's life only)."""
    root = tmp_path_factory.mktemp("labelled")
    for source, folder in (("angry", "Anger"), ("happy", "happiness"), ("surprise", "SURPRISE")):
        (root / folder).mkdir()
        for path in sorted((sfew / source).glob("*.png"))[:3]:
            shutil.copy(path, root / folder / path.name)
    (root / "contempt").mkdir()
    shutil.copy(min((sfew / "neutral").glob("*.png")), root / "contempt" / "x.png")
    (root / "neutral").mkdir()
    shutil.copy(media / "no-faces.jpg", root / "neutral" / "street.jpg")
    (root / "neutral" / "broken.jpg").write_bytes(b"not a jpeg")
    return root


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
