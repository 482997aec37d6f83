"""``python -m fer`` end to end, on the shipped model and the real media."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from fer.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_label_one_photo_prints_a_happy_face(media: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "fer", "label", str(media / "justin.jpg")],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )
    assert run.returncode == 0, run.stderr
    assert "happy" in run.stdout and "justin.jpg" in run.stdout


@pytest.mark.slow
def test_label_mixed_inputs_to_csv_reports_failures(media: Path, tmp_path: Path, capsys) -> None:
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    out = tmp_path / "results.csv"
    code = main(["label", str(media / "portrait.jpg"), str(media / "test.mp4"), str(bad),
                 "--every", "10", "--out", str(out), "--annotated", str(tmp_path / "ann")])
    assert code == 1  # some input failed
    assert "1 of 3 file(s) could not be labelled" in capsys.readouterr().err
    table = pd.read_csv(out)
    assert set(table.columns) >= {"file", "frame", "time_s", "face", "x", "y", "w", "h", "emotion", "confidence", "p_happy"}
    video = table[table.file.str.endswith("test.mp4")]
    assert video.frame.tolist() == list(range(0, 115, 10))
    assert table[table.file.str.endswith("broken.jpg")].status.iloc[0].startswith("error")
    assert sorted(p.name for p in (tmp_path / "ann").iterdir()) == ["portrait.jpg", "test.mp4"]


def test_thorough_labelling_reads_the_same_photo_with_ten_views(media: Path, tmp_path: Path) -> None:
    tables = {}
    for flags in ([], ["--thorough"]):
        out = tmp_path / f"faces{len(flags)}.csv"
        assert main(["label", str(media / "justin.jpg"), "--out", str(out), *flags]) == 0
        tables[len(flags)] = pd.read_csv(out)
    quick, thorough = tables[0], tables[1]
    assert thorough.emotion.tolist() == quick.emotion.tolist() == ["happy"]
    assert thorough[["x", "y", "w", "h"]].equals(quick[["x", "y", "w", "h"]])  # same face, read differently
    assert thorough.confidence.iloc[0] != quick.confidence.iloc[0]


@pytest.mark.slow
def test_evaluate_recomputes_metrics(tmp_path: Path, tiny_model, capsys) -> None:
    from test_datasets import synthetic_rows, write_csv

    model_path = tmp_path / "model.keras"
    tiny_model.save(model_path)
    csv = write_csv(tmp_path / "fer.csv", synthetic_rows(8))
    assert main(["evaluate", "--model", str(model_path), "--data", str(csv)]) == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert sum(map(sum, metrics["private_test"]["confusion_matrix"])) == 8
    assert metrics["runtime"] == "keras"
    assert "private_test  accuracy" in capsys.readouterr().out

    # Scored as LiteRT serves it (float weights: the same probabilities, so the same metrics).
    served = tmp_path / "served.json"
    assert main(["evaluate", "--model", str(model_path), "--data", str(csv), "--runtime", "litert",
                 "--out", str(served)]) == 0
    served_metrics = json.loads(served.read_text())
    assert served_metrics["runtime"] == "litert"
    assert served_metrics["private_test"] == metrics["private_test"]

    # Ten views per face, scored into a file of their own: the shipped metrics.json stays as it was.
    assert main(["evaluate", "--model", str(model_path), "--data", str(csv), "--thorough"]) == 0
    thorough = json.loads((tmp_path / "metrics_thorough.json").read_text())
    assert "ten views" in thorough["thorough"] and sum(map(sum, thorough["public_test"]["confusion_matrix"])) == 8
    assert "thorough" not in json.loads((tmp_path / "metrics.json").read_text())


def test_label_with_no_media_files_exits_with_a_message(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="no image or video files"):
        main(["label", str(tmp_path)])


def test_evaluate_scores_both_label_sets_where_the_votes_are_given(tmp_path: Path, tiny_model, capsys) -> None:
    from test_datasets import synthetic_rows, write_csv
    from test_votes import vote_row, write_votes

    model_path = tmp_path / "model.keras"
    tiny_model.save(model_path)
    rows = synthetic_rows(4)
    csv = write_csv(tmp_path / "fer.csv", rows)
    # Per split, labels angry, disgust, fear, happy: the crowd says not-a-face, neutral, neutral, happy.
    crowd = [{"NF": 10}, {"neutral": 10}, {"neutral": 10}, {"happiness": 10}]
    votes = write_votes(tmp_path / "votes.csv", [vote_row(usage, **crowd[i % 4]) for i, (_, _, usage) in enumerate(rows)])
    assert main(["evaluate", "--model", str(model_path), "--data", str(csv), "--votes", str(votes)]) == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    for split, usage in (("public_test", "PublicTest"), ("private_test", "PrivateTest")):
        assert metrics["ferplus"][split]["faces"] == 3 and metrics["ferplus"][split]["left_out"] == 1
        assert sum(map(sum, metrics["ferplus"][split]["confusion_matrix"])) == 3
        assert sum(map(sum, metrics[split]["confusion_matrix"])) == 4  # FER2013's labels: every face
        # Certain: where FER2013's label is the crowd's, the happy face only: right or wrong as the
        # model reads that face.
        assert metrics["certain"][split]["faces"] == 1
        (happy,) = [pixels for label, pixels, u in rows if u == usage and label == 3]
        reads_happy = int(tiny_model.predict(happy[None, :, :, None].astype("float32"), verbose=0).argmax()) == 3
        assert metrics["certain"][split]["balanced_accuracy"] == float(reads_happy)
    assert "FER+ majority accuracy" in capsys.readouterr().out


def test_compare_reports_paired_differences_on_publictest_and_needs_the_votes(tmp_path: Path, tiny_model,
                                                                             capsys) -> None:
    from test_datasets import synthetic_rows, write_csv
    from test_votes import vote_row, write_votes

    model_path = tmp_path / "model.keras"
    tiny_model.save(model_path)
    rows = synthetic_rows(4)
    csv = write_csv(tmp_path / "fer.csv", rows)
    with pytest.raises(SystemExit, match="no votes file"):
        main(["compare", "--model", str(model_path), "--against", str(model_path), "--data", str(csv)])
    votes = write_votes(tmp_path / "votes.csv", [vote_row(usage, happiness=10) for _, _, usage in rows])
    assert main(["compare", "--model", str(model_path), "--against", str(model_path), "--data", str(csv),
                 "--votes", str(votes), "--resamples", "50"]) == 0
    out = capsys.readouterr().out
    # A model against itself: both measures, no difference, on PublicTest's 4 faces.
    assert "PublicTest, 4 faces, 50 paired resamples" in out
    assert out.count("difference +0.00 points (standard error 0.00") == 2


@pytest.mark.slow
def test_train_prints_publictest_only_and_says_where_privatetest_is(tmp_path: Path, capsys) -> None:
    from test_datasets import synthetic_rows, write_csv
    from test_training import TINY

    csv = write_csv(tmp_path / "fer.csv", synthetic_rows(4))
    (tmp_path / "tiny.yaml").write_text(TINY.to_yaml())
    out = tmp_path / "run"
    assert main(["train", "--data", str(csv), "--config", str(tmp_path / "tiny.yaml"), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    # A candidate's PrivateTest is written for later, not printed beside the scores it is chosen on.
    assert "public_test   accuracy" in printed and "private_test" not in printed
    assert f"PrivateTest is in {out / 'metrics.json'}" in printed
    assert "accuracy" in json.loads((out / "metrics.json").read_text())["private_test"]


def test_label_onto_an_existing_out_says_it_appends_and_overwrite_starts_afresh(media: Path, tmp_path: Path,
                                                                               capsys) -> None:
    out = tmp_path / "r.csv"
    assert main(["label", str(media / "justin.jpg"), "--out", str(out)]) == 0
    assert "appending" not in capsys.readouterr().out
    assert main(["label", str(media / "justin.jpg"), str(media / "portrait.jpg"), "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert f"appending to {out}: 1 of 2 file(s) already there skipped (--overwrite starts it afresh)" in said
    assert sorted(Path(f).name for f in pd.read_csv(out).file) == ["justin.jpg", "portrait.jpg"]
    assert main(["label", str(media / "portrait.jpg"), "--out", str(out), "--overwrite"]) == 0
    assert "appending" not in capsys.readouterr().out
    assert [Path(f).name for f in pd.read_csv(out).file] == ["portrait.jpg"]
    # A typo in --model is refused before the old results go.
    with pytest.raises(SystemExit, match="no model at"):
        main(["label", str(media / "justin.jpg"), "--out", str(out), "--overwrite", "--model", str(tmp_path / "typo.tflite")])
    assert [Path(f).name for f in pd.read_csv(out).file] == ["portrait.jpg"]


def test_label_crops_reads_each_image_whole(media: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.csv"
    assert main(["label", str(media / "couple.jpg"), "--crops", "--out", str(out)]) == 0
    (row,) = pd.read_csv(out).itertuples()
    assert row.status == "ok" and row.face == 0


@pytest.fixture(scope="module")
def small_labelled_set(sfew: Path):
    """Six film crops each of four emotions, linked (read in place: research-only licence) in a
    temporary folder deleted after the module's tests."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="fer-adapt-") as tmp:
        root = Path(tmp)
        for emotion in ("angry", "happy", "sad", "neutral"):
            (root / emotion).mkdir()
            for path in sorted((sfew / emotion).glob("*.png"))[:6]:
                (root / emotion / path.name).symlink_to(path)
        yield root


@pytest.mark.slow
def test_adapt_writes_an_adapter_and_its_kfold_report_and_label_and_evaluate_read_with_it(
    small_labelled_set: Path, media: Path, tmp_path: Path, capsys
) -> None:
    from fer.adapter import Adapter
    from fer.classifier import DEFAULT_MODEL, embedding_file
    from fer.metrics import file_sha256

    adapter_path, report_path = tmp_path / "mine.adapter", tmp_path / "kfold.json"
    assert main(["adapt", "--images", str(small_labelled_set), "--crops", "--out", str(adapter_path),
                 "--report", str(report_path)]) == 0
    said = capsys.readouterr()
    assert "faces per emotion: angry 6, disgust 0, fear 0, happy 6, sad 6, surprise 0, neutral 6" in said.out
    assert "Before: the shipped model. 5-fold check" in said.out and "After: each face read by an adapter" in said.out
    assert said.out.count("24 images: accuracy") == 2 and "chosen: C=" in said.out
    assert "too few faces to learn angry (6)" in said.err
    adapter = Adapter.load(adapter_path)
    assert adapter.model_sha256 == file_sha256(embedding_file(DEFAULT_MODEL))
    report = json.loads(report_path.read_text())
    assert report["after"]["images"] == 24 and adapter.report["after"] == {
        k: v for k, v in report["after"].items() if k not in ("no_face", "skipped")}

    assert main(["evaluate", "--images", str(small_labelled_set), "--crops", "--adapter", str(adapter_path),
                 "--out", str(tmp_path / "eval.json")]) == 0
    assert json.loads((tmp_path / "eval.json").read_text())["adapter"] == str(adapter_path)
    out = tmp_path / "faces.csv"
    assert main(["label", str(media / "justin.jpg"), "--adapter", str(adapter_path), "--out", str(out)]) == 0
    assert len(pd.read_csv(out)) == 1


def test_an_adapter_that_cannot_be_used_stops_label_and_evaluate_with_the_reason(media: Path, tmp_path: Path) -> None:
    from test_adapter import synthetic_adapter

    stranger, broken = tmp_path / "stranger.adapter", tmp_path / "broken.adapter"
    synthetic_adapter("c" * 64, size=512).save(stranger)
    broken.write_bytes(b"PK\x03\x04 not really")
    for path, message in ((stranger, "fit with another model"), (broken, "truncated or corrupt"),
                          (tmp_path / "none.adapter", "no adapter at")):
        with pytest.raises(SystemExit, match=message):
            main(["label", str(media / "justin.jpg"), "--adapter", str(path)])
        with pytest.raises(SystemExit, match=message):
            main(["evaluate", "--images", str(tmp_path), "--adapter", str(path)])
    with pytest.raises(SystemExit, match="--adapter goes with --images"):
        main(["evaluate", "--data", str(tmp_path / "fer.csv"), "--adapter", str(stranger)])
