"""The served LiteRT file stays in step with the .keras model contract it is made from."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import keras
import numpy as np

from fer.classifier import CONTRACT_MODEL, DEFAULT_MODEL, EmotionClassifier
from fer.litert import LiteRTModel
from fer.training.export import export_served, litert_bytes, sha256, source_record

ROOT = Path(__file__).resolve().parents[1]


def test_served_file_records_the_keras_file_it_was_made_from() -> None:
    record = source_record(DEFAULT_MODEL)
    assert record is not None, f"{DEFAULT_MODEL} has no source record: run `python -m fer export`"
    assert record["source"] == CONTRACT_MODEL.name and record["weights"] == "int8"
    assert record["sha256"] == sha256(CONTRACT_MODEL), (
        f"{DEFAULT_MODEL.name} was made from another {CONTRACT_MODEL.name}: run `python -m fer export`")


def test_served_file_answers_as_a_fresh_export_on_real_faces(shipped_classifier: EmotionClassifier,
                                                              shipped_keras: keras.Model, media) -> None:
    from test_classifier import shipped_crops

    crops = shipped_crops(media)
    fresh = LiteRTModel(litert_bytes(shipped_keras, int8_weights=True))
    np.testing.assert_allclose(shipped_classifier.predict(crops), fresh(crops), atol=1e-3)


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
