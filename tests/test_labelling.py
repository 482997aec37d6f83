from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from fer.classifier import EmotionClassifier
from fer.detection import make_detector
from fer.labelling import BulkLabeller, LabelRow, on_screen, rows_to_frame
from fer.pipeline import EmotionPipeline
from fer.sources import list_sources


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
