"""fer.adapting: the head agrees with scikit-learn's, the folds keep a group together, and the k-fold
report's numbers are the ones a hand count gives."""

from __future__ import annotations

import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from fer.adapter import Adapter
from fer.adapting import (
    BLENDS,
    FOLDS,
    REGULARISATION,
    AdaptError,
    Progress,
    adapt_images,
    fit_head,
    fold_ids,
    groups_of,
)
from fer.classifier import Embedder, EmotionClassifier
from fer.emotions import EMOTIONS, NUM_CLASSES
from fer.folders import directory_images
from fer.pipeline import EmotionPipeline
from fer.types import FaceBox, Framing
from fer.uploads import Rejected


@pytest.mark.parametrize("c", [0.01, 1.0])
def test_the_head_is_scikit_learns_class_balanced_logistic_regression(c: float) -> None:
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 3, 4, 6], [30, 12, 20, 8])  # unbalanced, and three emotions absent
    x = rng.normal(size=(len(labels), 6)) + np.eye(NUM_CLASSES)[labels][:, [0, 3, 4, 6, 1, 2]] * 1.5
    head = fit_head(x, labels, c)
    reference = LogisticRegression(C=c, class_weight="balanced", max_iter=10_000, tol=1e-10)
    reference.fit((x - x.mean(axis=0)) / x.std(axis=0), labels)
    ours = head.logits(x)[:, head.known]
    ours = np.exp(ours - ours.max(axis=1, keepdims=True))
    np.testing.assert_allclose(ours / ours.sum(axis=1, keepdims=True),
                               reference.predict_proba((x - x.mean(axis=0)) / x.std(axis=0)), atol=2e-3)
    assert head.known.tolist() == [True, False, False, True, True, False, True]


def test_folds_are_stratified_and_keep_each_group_together() -> None:
    names = [f"{movie}_{clip:03d}_{frame}.png" for movie in "ABCDEFGH" for clip in range(3) for frame in range(2)]
    labels = np.array([i % 3 for i in range(len(names))])
    groups = groups_of(names, r"^([^_]+)_")
    assert groups is not None and sorted(set(groups)) == list("ABCDEFGH")
    folds = fold_ids(labels, groups)
    assert sorted(set(folds)) == list(range(FOLDS))
    for group in set(groups):
        assert len(set(folds[groups == group])) == 1, f"group {group} split across folds"
    plain = fold_ids(labels, None)
    assert all(len(set(labels[plain == f])) == 3 for f in range(FOLDS))  # each fold holds every emotion
    assert groups_of(["x.png"], None) is None
    rare = np.array([0] * 10 + [1] * 2)
    with pytest.warns(UserWarning, match="least populated class"):
        list(StratifiedKFold(FOLDS).split(rare, rare))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert sorted(set(fold_ids(rare, None))) == list(range(FOLDS))  # the report warns instead, in words
    with pytest.raises(AdaptError, match="not a regular expression"):
        groups_of(names, "([")


# A hand-countable set. Every image is one gray level; the fake model answers neutral for every
# face (0.4, the others 0.1), and the fake embedding is the emotion the gray level codes, plainly.
LEVELS = {"happy": 60, "sad": 120, "neutral": 180}
PER_EMOTION = 6


class _WholeImage:
    """A detector that finds the whole image as a face, and no face in a black image."""

    framing = Framing()

    def detect(self, rgb: np.ndarray) -> list[FaceBox]:
        h, w = rgb.shape[:2]
        return [FaceBox(0, 0, w, h)] if rgb.max() > 0 else []


class _NoSecondLook(EmotionPipeline):
    def retry_detector(self) -> _WholeImage:  # type: ignore[override]
        return _WholeImage()


def _fake_model(batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p = np.full((len(batch), NUM_CLASSES), 0.1, dtype=np.float32)
    p[:, EMOTIONS.index("neutral")] = 0.4
    level = batch.reshape(len(batch), -1).mean(axis=1)
    codes = np.stack([np.abs(level - v) < 20 for v in LEVELS.values()], axis=1).astype(np.float32) * 10
    jitter = np.sin(np.arange(len(batch) * 3).reshape(len(batch), 3) + level[:, None])  # not one point per emotion
    return p, codes + jitter.astype(np.float32)


@pytest.fixture
def hand_set(tmp_path: Path) -> Path:
    """Six faces each of happy, sad and neutral (gray levels 60, 120, 180, a little apart), a black
    happy image where no face is found, and a corrupt file."""
    for emotion, level in LEVELS.items():
        (tmp_path / emotion).mkdir()
        for i in range(PER_EMOTION):
            cv2.imwrite(str(tmp_path / emotion / f"{emotion}{i}.png"), np.full((40, 40, 3), level + 2 * i, np.uint8))
    cv2.imwrite(str(tmp_path / "happy" / "dark.png"), np.zeros((40, 40, 3), np.uint8))
    (tmp_path / "sad" / "broken.png").write_bytes(b"not a png")
    return tmp_path


def _pipeline() -> EmotionPipeline:
    embedder = Embedder(_fake_model, 3, "f" * 64, "fake.embed.tflite")
    classifier = EmotionClassifier(lambda batch: _fake_model(batch)[0], embedder=embedder)
    return _NoSecondLook(_WholeImage(), classifier)  # type: ignore[arg-type]


def test_the_kfold_report_is_the_hand_count(hand_set: Path) -> None:
    skipped: list[Rejected] = []
    progress: list[Progress] = []
    adaptation = adapt_images(directory_images(hand_set, skipped), _pipeline(), skipped, on_progress=progress.append,
                              total=20)
    report = adaptation.report
    i = {name: EMOTIONS.index(name) for name in EMOTIONS}
    no_face = len(EMOTIONS)

    # Before: every face read neutral; the black image is a miss, as evaluate --images counts it.
    before = report.before
    assert before["images"] == 19 and before["faces_not_found"] == 1
    assert before["accuracy"] == pytest.approx(6 / 19)
    assert before["balanced_accuracy"] == pytest.approx((0 + 0 + 1) / 3)
    assert before["confusion_matrix"][i["happy"]] == [0] * i["neutral"] + [6, 1]
    assert before["confusion_matrix"][i["sad"]][i["neutral"]] == 6
    assert before["per_class"]["neutral"]["precision"] == pytest.approx(6 / 18)
    assert [s["name"] for s in before["skipped"]] == ["sad/broken.png"]

    # After: the embedding tells the emotions apart, so each held-out face is read right; the
    # black image is still a miss, the one the adapter cannot mend.
    after = report.after
    assert after["accuracy"] == pytest.approx(18 / 19)
    assert after["balanced_accuracy"] == pytest.approx((6 / 7 + 1 + 1) / 3)
    expected = np.zeros((NUM_CLASSES, no_face + 1), dtype=int)
    for name in LEVELS:
        expected[i[name], i[name]] = 6
    expected[i["happy"], no_face] = 1
    assert after["confusion_matrix"] == expected.tolist()
    assert after["per_class"]["happy"]["recall"] == pytest.approx(6 / 7)

    assert report.faces == {name: PER_EMOTION if name in LEVELS else 0 for name in EMOTIONS}
    assert any("too few faces" in w for w in report.warnings) and any("no faces of angry" in w for w in report.warnings)
    assert len(report.grid) == len(BLENDS) * len(REGULARISATION) and len(report.outer_choices) == FOLDS
    assert report.chosen.balanced_accuracy == max(p.balanced_accuracy for p in report.grid)

    # Progress: every image read (of the total given), then every fit counted to its total.
    reading = [p for p in progress if p.stage == "reading"]
    fitting = [p for p in progress if p.stage == "fitting"]
    assert [p.done for p in reading] == list(range(1, 21)) and reading[-1].total == 20
    assert [p.done for p in fitting] == list(range(1, fitting[0].total + 1))

    adapter = adaptation.adapter
    assert adapter.model_sha256 == "f" * 64 and adapter.known.tolist() == [name in LEVELS for name in EMOTIONS]
    assert (adapter.blend, adapter.regularisation) == (report.chosen.blend, report.chosen.regularisation)
    again = Adapter.from_bytes(adapter.to_bytes())
    assert again.report["after"]["accuracy"] == pytest.approx(18 / 19)
    assert "sad/broken.png" not in str(again.report)  # the file carries numbers, not the user's file names


def test_a_set_that_cannot_give_a_kfold_says_why(hand_set: Path) -> None:
    for emotion in ("sad", "neutral"):
        for path in (hand_set / emotion).iterdir():
            path.unlink()
    skipped: list[Rejected] = []
    with pytest.raises(AdaptError, match="at least two emotions"):
        adapt_images(directory_images(hand_set, skipped), _pipeline(), skipped)
    cv2.imwrite(str(hand_set / "sad" / "s.png"), np.full((40, 40, 3), 120, np.uint8))
    with pytest.raises(AdaptError, match="too few for a 5-fold"):
        adapt_images(directory_images(hand_set, []), _pipeline(), [])


def test_too_few_groups_for_the_folds_are_refused(hand_set: Path) -> None:
    with pytest.raises(AdaptError, match="gives 3 group"):
        adapt_images(directory_images(hand_set, []), _pipeline(), [], group=r"^([a-z]+)\d")


def test_fitting_needs_the_embedding_file() -> None:
    from fer.detection import make_detector

    plain = EmotionPipeline(make_detector("haar"), EmotionClassifier(lambda b: np.zeros((len(b), NUM_CLASSES))))
    with pytest.raises(ValueError, match="embeddings=True"):
        adapt_images([], plain, [])


def test_fitting_and_reading_with_an_adapter_leave_tensorflow_unimported() -> None:
    import subprocess
    import sys

    # A fresh interpreter: this test process has TensorFlow loaded already. The app fits adapters too.
    script = ("import sys\nimport fer.adapting, fer.adapter, fer.cli\n"
              "from fer.classifier import EmotionClassifier\nEmotionClassifier.load(embeddings=True)\n"
              "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'tf_keras')))\n")
    run = subprocess.run([sys.executable, "-c", script], cwd=Path(__file__).resolve().parents[1], capture_output=True,
                         text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"


def test_a_zip_of_emotion_folders_gives_the_folders_report(hand_set: Path) -> None:
    """What the app's page does with an upload: the same faces, the same figures."""
    import io
    import zipfile

    from fer.folders import zip_images

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(hand_set.rglob("*.png")):
            archive.write(path, f"faces/{path.relative_to(hand_set).as_posix()}")
    skipped: list[Rejected] = []
    zipped = adapt_images(zip_images("faces.zip", buffer.getvalue(), skipped), _pipeline(), skipped).report
    folders = adapt_images(directory_images(hand_set, []), _pipeline(), []).report
    for key in ("accuracy", "balanced_accuracy", "confusion_matrix", "images"):
        assert zipped.before[key] == folders.before[key] and zipped.after[key] == folders.after[key]
    assert zipped.faces == folders.faces and len(zipped.before["skipped"]) == 1
