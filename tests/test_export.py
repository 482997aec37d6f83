"""The served LiteRT file stays in step with the .keras model contract it is made from."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from fer.classifier import CONTRACT_MODEL, DEFAULT_MODEL, EmotionClassifier
from fer.datasets import FerData
from fer.litert import LiteRTModel
from fer.training.export import export_served, litert_bytes, sha256, source_record
from fer.votes import DEFAULT_VOTES_NAME

ROOT = Path(__file__).resolve().parents[1]


def test_served_file_records_the_keras_file_it_was_made_from() -> None:
    record = source_record(DEFAULT_MODEL)
    assert record is not None, f"{DEFAULT_MODEL} has no source record: run `python -m fer export`"
    assert record["source"] == CONTRACT_MODEL.name and record["weights"] == "int8"
    assert record["sha256"] == sha256(CONTRACT_MODEL), (
        f"{DEFAULT_MODEL.name} was made from another {CONTRACT_MODEL.name}: run `python -m fer export`")


@pytest.mark.slow
def test_served_file_answers_as_a_fresh_export_on_real_faces(shipped_classifier: EmotionClassifier,
                                                              shipped_keras: keras.Model, media) -> None:
    from test_classifier import shipped_crops

    crops = shipped_crops(media)
    fresh = LiteRTModel(litert_bytes(shipped_keras, int8_weights=True))
    np.testing.assert_allclose(shipped_classifier.predict(crops), fresh(crops), atol=1e-3)


@pytest.mark.slow
def test_export_writes_a_served_file_that_records_its_source(tmp_path: Path, tiny_model: keras.Model) -> None:
    source = tmp_path / "tiny.keras"
    tiny_model.save(source)
    record = export_served(source, tmp_path / "tiny.tflite")
    assert source_record(tmp_path / "tiny.tflite") == record and record["sha256"] == sha256(source)
    served = EmotionClassifier.load(tmp_path / "tiny.tflite")
    batch = np.random.default_rng(0).uniform(0, 255, (2, 48, 48, 1)).astype(np.float32)
    np.testing.assert_allclose(served.predict(batch), tiny_model.predict_on_batch(batch), atol=0.05)


def test_labelling_a_photo_leaves_tensorflow_and_keras_unimported(media: Path) -> None:
    # A fresh interpreter: this test process has TensorFlow loaded already.
    script = (
        "import sys\n"
        "from fer.pipeline import load_pipeline\n"
        "from pathlib import Path\nfrom fer.labelling import BulkLabeller\n"
        f"rows = list(BulkLabeller(load_pipeline()).label([Path({str(media / 'justin.jpg')!r})]))\n"
        "assert [r.emotion for r in rows] == ['happy'], rows\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'tf_keras'))\n"
        "print('loaded:', loaded)\n"
    )
    run = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "loaded: []"


@pytest.mark.slow
def test_shipped_metrics_are_those_of_the_shipped_model_as_served(fer2013: FerData,
                                                                   shipped_classifier: EmotionClassifier) -> None:
    """models/metrics.json, which the Home and Training pages show, names the model it scored, and
    the served file scores PrivateTest on both label sets as it says (int8 weights: within a few faces)."""
    from streamlit.testing.v1 import AppTest

    from fer.metrics import read_metrics, score
    from fer.training.evaluate import predict_in_batches, score_against_majority

    metrics = read_metrics(CONTRACT_MODEL.with_name("metrics.json"))
    assert metrics["model_sha256"] == sha256(CONTRACT_MODEL), "metrics.json scored another model: re-evaluate it"
    if fer2013.test.votes is None:
        pytest.skip(f"FER+ votes not found beside the FER2013 CSV ({DEFAULT_VOTES_NAME})")
    test = fer2013.test
    predicted = predict_in_batches(shipped_classifier.predict, test).argmax(axis=1)
    majority = test.majority()
    clear = test.labels == majority
    served = {"fer2013": score(test.labels, predicted).accuracy,
              "ferplus": score_against_majority(majority, predicted).accuracy,
              "clear": score(test.labels[clear], predicted[clear]).balanced_accuracy}
    recorded = {"fer2013": metrics["private_test"]["accuracy"], "ferplus": metrics["ferplus"]["private_test"]["accuracy"],
                "clear": metrics["certain"]["private_test"]["balanced_accuracy"]}
    for key, value in recorded.items():
        assert abs(served[key] - value) < 0.002, (key, served[key], value)

    home = AppTest.from_file(str(ROOT / "pages" / "home.py"), default_timeout=120).run()
    shown = {m.label: m.value for m in home.metric}
    assert shown["Accuracy, FER+ majority, PrivateTest"] == f"{recorded['ferplus']:.1%}"
    assert shown["Balanced accuracy, clear faces"] == f"{recorded['clear']:.1%}"
    assert shown["Accuracy, FER2013 PrivateTest"] == f"{recorded['fer2013']:.1%}"


# The embedding file beside the served one: the same model, giving each face's embedding too.


def test_embedding_file_records_the_keras_file_it_was_made_from() -> None:
    from fer.classifier import embedding_file

    record = source_record(embedding_file(DEFAULT_MODEL))
    assert record is not None, f"{embedding_file(DEFAULT_MODEL)} has no source record: run `python -m fer export`"
    assert record["sha256"] == sha256(CONTRACT_MODEL) == source_record(DEFAULT_MODEL)["sha256"], (  # type: ignore[index]
        "the embedding file was made from another model than the served file: run `python -m fer export`")
    assert record["outputs"] == ["probabilities", "embedding"] and record["weights"] == "int8"
    for path in (DEFAULT_MODEL, embedding_file(DEFAULT_MODEL)):
        assert path.stat().st_size < 20 * 1024**2, f"{path} is too large to track in git"


def test_embedding_file_answers_bit_for_bit_as_the_served_file_on_real_faces(
    shipped_classifier: EmotionClassifier, media: Path, sfew: Path
) -> None:
    from test_classifier import shipped_crops

    from fer.classifier import embedding_file
    from fer.imaging import crop_whole, decode_image, to_gray, to_model_input

    films = [crop_whole(to_gray(decode_image(path.read_bytes())))
             for folder in sorted(sfew.iterdir()) for path in sorted(folder.glob("*.png"))[:2]]
    crops = np.concatenate([shipped_crops(media), to_model_input(films)])
    embedding = LiteRTModel(embedding_file(DEFAULT_MODEL).read_bytes())
    assert embedding.output_shapes == {"probabilities": (7,), "embedding": (512,)}
    for batch in (crops, crops[:1]):
        outputs = embedding.outputs(batch)
        np.testing.assert_array_equal(outputs["probabilities"], shipped_classifier.predict(batch))
        np.testing.assert_array_equal(embedding(batch), outputs["probabilities"])
    assert (outputs["embedding"] >= 0).all()  # each network's last hidden layer is a ReLU's


def test_embedding_model_reads_each_kind_of_shipped_model(tiny_model: keras.Model) -> None:
    from conftest import TINY_ARCH

    from fer.training.export import embedding_model
    from fer.training.model import average, build_classifier, with_tta

    keras.utils.set_random_seed(1)
    built = build_classifier(TINY_ARCH)
    other = keras.Model(built.inputs, built.output, name="other")  # an ensemble's members have names of their own
    batch = np.random.default_rng(5).uniform(0, 255, (3, 48, 48, 1)).astype(np.float32)
    hidden = keras.Model(tiny_model.inputs, tiny_model.get_layer("probabilities").input)
    for model, size in ((tiny_model, 8), (average([tiny_model, other]), 16), (with_tta(tiny_model), 8),
                        (with_tta(tiny_model, shifts=True), 8)):
        outputs = embedding_model(model)(batch)
        np.testing.assert_allclose(outputs["probabilities"], model(batch), atol=1e-6)
        assert outputs["embedding"].shape == (3, size)
    np.testing.assert_allclose(embedding_model(tiny_model)(batch)["embedding"], hidden(batch), atol=1e-6)
    mirrored = (hidden(batch) + hidden(batch[:, :, ::-1])) / 2  # the flip TTA's embedding: both views' mean
    np.testing.assert_allclose(embedding_model(with_tta(tiny_model))(batch)["embedding"], mirrored, atol=1e-5)


@pytest.mark.slow
def test_export_writes_the_embedding_file_beside_the_served_one(tmp_path: Path, tiny_model: keras.Model) -> None:
    from fer.cli import main

    source = tmp_path / "tiny.keras"
    tiny_model.save(source)
    assert main(["export", "--model", str(source)]) == 0
    embedding = EmotionClassifier.load(tmp_path / "tiny.tflite", embeddings=True)
    assert embedding.embedder is not None and embedding.embedder.size == 8
    assert source_record(tmp_path / "tiny.embed.tflite")["sha256"] == sha256(source)  # type: ignore[index]
    batch = np.random.default_rng(6).uniform(0, 255, (2, 48, 48, 1)).astype(np.float32)
    np.testing.assert_array_equal(embedding.predict(batch), EmotionClassifier.load(tmp_path / "tiny.tflite").predict(batch))
