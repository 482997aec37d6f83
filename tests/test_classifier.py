from __future__ import annotations

import keras
import numpy as np
import pytest

from fer.classifier import DEFAULT_MODEL, EmotionClassifier
from fer.litert import LiteRTModel
from fer.training.export import litert_bytes


def test_predict_returns_probabilities(tiny_model: keras.Model) -> None:
    classifier = EmotionClassifier(tiny_model.predict_on_batch)
    batch = np.random.default_rng(0).uniform(0, 255, (5, 48, 48, 1)).astype(np.float32)
    p = classifier.predict(batch)
    assert p.shape == (5, 7) and p.dtype == np.float32
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-5)
    assert classifier.predict(batch[:0]).shape == (0, 7)


def test_a_model_breaking_the_contract_is_refused(tmp_path) -> None:
    wrong = keras.Sequential([keras.Input((64, 64, 3)), keras.layers.Flatten(), keras.layers.Dense(7)])
    with pytest.raises(ValueError, match="contract"):
        litert_bytes(wrong)
    # ... and a LiteRT file made from such a model some other way is refused when it is loaded.
    bypassed = tmp_path / "wrong.tflite"
    bypassed.write_bytes(_export_unchecked(wrong))
    with pytest.raises(ValueError, match="contract"):
        EmotionClassifier.load(bypassed)


def _export_unchecked(model: keras.Model) -> bytes:
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        model.export(str(Path(tmp) / "m.tflite"), format="litert", verbose=False)
        return (Path(tmp) / "m.tflite").read_bytes()


def test_missing_model_file_says_how_to_get_one(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="python -m fer train"):
        EmotionClassifier.load(tmp_path / "none.keras")


@pytest.mark.slow
def test_shipped_model_is_self_contained_and_honours_the_contract() -> None:
    from fer.classifier import CONTRACT_MODEL

    # Plain Keras, no project code: what anyone evaluating the file would do.
    model = keras.models.load_model(CONTRACT_MODEL)
    assert tuple(model.input_shape) == (None, 48, 48, 1) and tuple(model.output_shape) == (None, 7)
    assert getattr(model, "optimizer", None) is None  # shipped without optimizer state
    gray = np.random.default_rng(1).uniform(0, 255, (3, 48, 48, 1)).astype(np.float32)
    p = model.predict(gray, verbose=0)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-5)
    # Normalisation is inside the graph: scaling the input by 1/255 changes the answer.
    assert not np.allclose(p, model.predict(gray / 255.0, verbose=0), atol=1e-3)


@pytest.mark.slow
def test_litert_runtime_gives_the_keras_probabilities_for_any_batch_size(tiny_model: keras.Model) -> None:
    litert_run = EmotionClassifier(LiteRTModel(litert_bytes(tiny_model, int8_weights=False)))
    keras_run = EmotionClassifier(tiny_model.predict_on_batch)
    rng = np.random.default_rng(2)
    for n in (1, 3, 1, 8):  # the batch size changes between calls, as faces come and go
        batch = rng.uniform(0, 255, (n, 48, 48, 1)).astype(np.float32)
        np.testing.assert_allclose(litert_run.predict(batch), keras_run.predict(batch), atol=1e-5)


def shipped_crops(media) -> np.ndarray:
    from fer.detection import make_detector
    from fer.imaging import crop_face, to_gray, to_model_input
    from fer.sources import read_image

    detector = make_detector()
    crops = []
    for name in ("couple.jpg", "justin.jpg", "portrait.jpg"):
        rgb = read_image(str(media / name))
        crops += [crop_face(to_gray(rgb), box, detector.framing) for box in detector.detect(rgb)]
    return to_model_input(crops)


@pytest.mark.slow
def test_shipped_model_under_litert_agrees_with_keras_on_real_faces(shipped_keras: keras.Model, media) -> None:
    crops = shipped_crops(media)
    litert_run = EmotionClassifier(LiteRTModel(litert_bytes(shipped_keras, int8_weights=False)))
    np.testing.assert_allclose(litert_run.predict(crops), shipped_keras.predict_on_batch(crops), atol=1e-4)


def test_shipped_model_with_int8_weights_stays_close_to_keras_on_real_faces(
    shipped_classifier: EmotionClassifier, shipped_keras: keras.Model, media
) -> None:
    crops = shipped_crops(media)
    assert len(crops) == 4
    assert DEFAULT_MODEL.suffix == ".tflite"  # what the app and the CLI serve
    served = shipped_classifier.predict(crops)
    reference = np.asarray(shipped_keras.predict_on_batch(crops))
    np.testing.assert_array_equal(served.argmax(axis=1), reference.argmax(axis=1))
    np.testing.assert_allclose(served, reference, atol=0.03)
    assert not np.allclose(served, reference, atol=1e-5)  # the weights really are quantized


@pytest.mark.slow
def test_litert_runtime_is_safe_to_share_between_threads(tiny_model: keras.Model) -> None:
    from concurrent.futures import ThreadPoolExecutor

    classifier = EmotionClassifier(LiteRTModel(litert_bytes(tiny_model, int8_weights=False)))
    rng = np.random.default_rng(3)
    batches = [rng.uniform(0, 255, (1 + i % 4, 48, 48, 1)).astype(np.float32) for i in range(48)]
    expected = [tiny_model.predict_on_batch(b) for b in batches]
    with ThreadPoolExecutor(6) as pool:
        got = list(pool.map(classifier.predict, batches))
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_allclose(g, e, atol=1e-5)


def test_unknown_runtime_is_refused(tiny_model: keras.Model) -> None:
    from fer.training.evaluate import served_predictor

    with pytest.raises(ValueError, match="runtime"):
        served_predictor(tiny_model, "onnx")  # type: ignore[arg-type]


@pytest.mark.slow
def test_thorough_shipped_model_serves_its_ten_view_probabilities_on_real_faces(
    shipped_classifier: EmotionClassifier, shipped_keras: keras.Model, media
) -> None:
    from fer.training.model import with_shift_tta

    crops = shipped_crops(media)
    thorough = EmotionClassifier.load(thorough=True)
    served = thorough.predict(crops)
    reference = np.asarray(with_shift_tta(shipped_keras).predict_on_batch(crops))
    np.testing.assert_array_equal(served.argmax(axis=1), reference.argmax(axis=1))
    np.testing.assert_allclose(served, reference, atol=0.03)
    # The shifted views change the answer: the thorough model is not the saved one under another name.
    assert np.abs(served - shipped_classifier.predict(crops)).max() > 0.02


@pytest.mark.slow
def test_served_ten_views_are_keras_ten_views(tiny_model: keras.Model) -> None:
    # Serving builds the shifts in NumPy around the model's own flip average; training builds all
    # ten views in Keras. Float weights: the same probabilities.
    from fer.training.model import with_shift_tta, with_tta

    served = EmotionClassifier(LiteRTModel(litert_bytes(with_tta(tiny_model), int8_weights=False)), thorough=True)
    batch = np.random.default_rng(4).uniform(0, 255, (3, 48, 48, 1)).astype(np.float32)
    np.testing.assert_allclose(served.predict(batch), with_shift_tta(tiny_model).predict_on_batch(batch), atol=1e-5)


# Adapters (fer.adapter) read with the embedding file, models/emotion_cnn.embed.tflite.


@pytest.fixture(scope="session")
def embedding_classifier() -> EmotionClassifier:
    return EmotionClassifier.load(DEFAULT_MODEL, embeddings=True)


@pytest.mark.slow
def test_without_an_adapter_the_embedding_file_serves_the_same_probabilities(
    shipped_classifier: EmotionClassifier, embedding_classifier: EmotionClassifier, media
) -> None:
    crops = shipped_crops(media)
    served = shipped_classifier.predict(crops)
    np.testing.assert_array_equal(embedding_classifier.predict(crops), served)
    np.testing.assert_array_equal(embedding_classifier.with_adapter(None).predict(crops), served)
    features = embedding_classifier.features(crops)
    assert features.embeddings.shape == (1, len(crops), 512) and features.embeddings.dtype == np.float32
    np.testing.assert_array_equal(features.probabilities[0], served)
    thorough = embedding_classifier.with_thorough(True)
    assert thorough.features(crops).embeddings.shape == (10, len(crops), 512)
    np.testing.assert_array_equal(thorough.predict(crops), shipped_classifier.with_thorough(True).predict(crops))


@pytest.mark.slow
def test_with_an_adapter_every_answer_is_the_adapted_one(embedding_classifier: EmotionClassifier, media) -> None:
    from test_adapter import synthetic_adapter

    assert embedding_classifier.embedder is not None
    adapter = synthetic_adapter(embedding_classifier.embedder.sha256, size=512)
    crops = shipped_crops(media)
    adapted = embedding_classifier.with_adapter(adapter)
    features = embedding_classifier.features(crops)
    expected = adapter.apply(features.probabilities[0], features.embeddings[0])
    np.testing.assert_array_equal(adapted.predict(crops), expected)
    assert not np.allclose(expected, features.probabilities[0], atol=1e-2)
    np.testing.assert_array_equal(adapted.predict(crops[:1]), expected[:1])  # one face, as the live page asks
    views = adapted.with_thorough(True).features(crops)
    np.testing.assert_allclose(adapted.with_thorough(True).predict(crops),
                               np.mean([adapter.apply(p, e) for p, e in zip(views.probabilities, views.embeddings,
                                                                            strict=True)], axis=0), rtol=1e-6)
    assert adapted.predict(crops[:0]).shape == (0, 7)


def test_an_adapter_of_another_model_is_refused_on_loading(tmp_path, embedding_classifier: EmotionClassifier,
                                                           shipped_classifier: EmotionClassifier) -> None:
    from test_adapter import synthetic_adapter

    from fer.adapter import AdapterError

    stranger = synthetic_adapter("c" * 64, size=512)
    with pytest.raises(AdapterError, match="fit with another model"):
        EmotionClassifier.load(DEFAULT_MODEL, adapter=stranger)
    with pytest.raises(AdapterError, match="another model"):
        embedding_classifier.with_adapter(stranger)
    assert embedding_classifier.embedder is not None
    with pytest.raises(AdapterError, match="reads 16 numbers a face"):
        embedding_classifier.with_adapter(synthetic_adapter(embedding_classifier.embedder.sha256, size=16))
    with pytest.raises(ValueError, match="embedding file"):
        shipped_classifier.with_adapter(stranger)  # the served file alone gives no embeddings
    lonely = tmp_path / "lonely.tflite"
    lonely.write_bytes(DEFAULT_MODEL.read_bytes())
    with pytest.raises(FileNotFoundError, match="python -m fer export"):
        EmotionClassifier.load(lonely, adapter=stranger)
