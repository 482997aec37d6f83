"""``python -m fer export``: the served LiteRT file, made from the ``.keras`` model contract.

The export stores each weight tensor as int8 with a scale (the converter's dynamic-range
quantization); XNNPACK then quantizes each layer's activations on the fly and runs integer
kernels: about three times faster here than float weights, with probabilities within a few
hundredths of the float model's (docs/benchmarks.md). The file records, in its metadata, the
SHA-256 of the ``.keras`` file it was made from, so a test can tell when the two part.

Beside it goes the embedding file (``emotion_cnn.embed.tflite``): the same model, whose graph also
gives each face's embedding, the input of each network's softmax layer (its last hidden layer),
the networks' concatenated. What an adapter (``fer.adapter``) reads; the served file itself is left
as it is, so that its answers cannot change.
"""

from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path

import keras
import numpy as np

from fer.classifier import EMBEDDING, embedding_file
from fer.emotions import FACE_SIZE, NUM_CLASSES
from fer.litert import PROBABILITIES, LiteRTModel
from fer.metrics import file_sha256
from fer.training.calibrate import OUTPUT_LAYER
from fer.training.model import ensemble_members, tta_network, tta_shifts, tta_view_batch, tta_views

logger = logging.getLogger(__name__)

SOURCE_METADATA = "fer_source"  # the metadata entry naming the .keras file the export came from


def litert_bytes(model: keras.Model, int8_weights: bool = True) -> bytes:
    """``model`` (honouring the contract) exported to a LiteRT flatbuffer, in memory."""
    expected_in, expected_out = (None, FACE_SIZE, FACE_SIZE, 1), (None, NUM_CLASSES)
    if tuple(model.input_shape) != expected_in or tuple(model.output_shape) != expected_out:
        raise ValueError(f"model maps {model.input_shape} -> {model.output_shape}; the contract is {expected_in} -> {expected_out}")
    return _converted(model, int8_weights)


def _converted(model: keras.Model, int8_weights: bool) -> bytes:
    options = {}
    if int8_weights:
        import tensorflow as tf

        options["optimizations"] = [tf.lite.Optimize.DEFAULT]
    with tempfile.TemporaryDirectory(prefix="fer-litert-") as tmp:
        path = Path(tmp) / "model.tflite"
        model.export(str(path), format="litert", verbose=False, **options)
        content = path.read_bytes()
    logger.info("exported %s to LiteRT with %s weights (%d kB)", model.name, "int8" if int8_weights else "float32",
                len(content) // 1024)
    return content


def embedding_model(model: keras.Model) -> keras.Model:
    """``model`` giving, beside its probabilities (named ``probabilities``, computed by the same
    operations), each face's embedding (``embedding``): the input of each network's softmax layer,
    the networks' concatenated, averaged over the views where ``model`` averages views (its flip TTA)."""
    inputs = keras.Input((FACE_SIZE, FACE_SIZE, 1), name="gray_0_255")
    probabilities, embedding = _read(model, inputs)
    outputs = {PROBABILITIES: keras.layers.Identity(name=PROBABILITIES)(probabilities),
               EMBEDDING: keras.layers.Identity(name=EMBEDDING)(embedding)}
    return keras.Model(inputs, outputs, name=f"{model.name}_{EMBEDDING}")


def _read(model: keras.Model, x: keras.KerasTensor) -> tuple[keras.KerasTensor, keras.KerasTensor]:
    """``model``'s probabilities and embedding of ``x``, as ``with_tta``, ``average`` and
    ``build_classifier`` (fer.training.model) compose a shipped model."""
    shifts = tta_shifts(model)
    if shifts is not None:
        probabilities, embedding = _read(tta_network(model), tta_view_batch(x, shifts))
        views = tta_views(shifts)
        return (keras.ops.mean(keras.ops.reshape(probabilities, (views, -1, NUM_CLASSES)), axis=0),
                keras.ops.mean(keras.ops.reshape(embedding, (views, -1, embedding.shape[-1])), axis=0))
    members = ensemble_members(model)
    if members != [model]:
        read = [_read(member, x) for member in members]
        return (keras.ops.mean(keras.ops.stack([p for p, _ in read], axis=0), axis=0),
                keras.ops.concatenate([e for _, e in read], axis=-1))
    network = keras.Model(model.inputs, [model.output, model.get_layer(OUTPUT_LAYER).input], name=model.name)
    probabilities, embedding = network(x)
    return probabilities, embedding


def litert_from_keras_file(path: str | Path, int8_weights: bool = True) -> LiteRTModel:
    """A ``.keras`` file as the served runtime runs it, exported in memory."""
    return LiteRTModel(litert_bytes(keras.models.load_model(path, compile=False), int8_weights))


def sha256(path: str | Path) -> str:
    return file_sha256(path)


def export_served(source: str | Path, target: str | Path) -> dict:
    """Write the served file ``target`` from the ``.keras`` file ``source``; its provenance record."""
    source, target = Path(source), Path(target)
    record = {"source": source.name, "sha256": sha256(source), "weights": "int8", "keras": keras.__version__}
    content = litert_bytes(keras.models.load_model(source, compile=False), int8_weights=True)
    target.write_bytes(_with_metadata(content, SOURCE_METADATA, json.dumps(record).encode()))
    logger.info("wrote %s (%d kB) from %s", target, target.stat().st_size // 1024, source)
    return record


def export_embedding(source: str | Path, target: str | Path | None = None) -> dict:
    """Write the embedding file (default: beside the served file of ``source``) from the ``.keras``
    file ``source``, with the served file's provenance record; ValueError where its probabilities
    are not the model's (a model composed in a way ``embedding_model`` does not read)."""
    source = Path(source)
    target = Path(target) if target is not None else embedding_file(source.with_suffix(".tflite"))
    model = keras.models.load_model(source, compile=False)
    with_embedding = embedding_model(model)
    faces = np.random.default_rng(0).uniform(0, 255, (4, FACE_SIZE, FACE_SIZE, 1)).astype(np.float32)
    gap = np.abs(np.asarray(with_embedding(faces)[PROBABILITIES]) - np.asarray(model(faces))).max()
    if gap > 1e-5:
        raise ValueError(f"{source}: the embedding model's probabilities differ from the model's by {gap:.2g}: its "
                         "composition is not one embedding_model reads (a network, an ensemble's average, a flip TTA)")
    record = {"source": source.name, "sha256": sha256(source), "weights": "int8", "keras": keras.__version__,
              "outputs": [PROBABILITIES, EMBEDDING]}
    content = _converted(with_embedding, int8_weights=True)
    target.write_bytes(_with_metadata(content, SOURCE_METADATA, json.dumps(record).encode()))
    logger.info("wrote %s (%d kB) from %s", target, target.stat().st_size // 1024, source)
    return record


def source_record(path: str | Path) -> dict | None:
    """The provenance record ``export_served`` wrote into a LiteRT file, if any."""
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model_from_bytearray(bytearray(Path(path).read_bytes()))
    for entry in model.metadata or []:
        if (entry.name.decode() if isinstance(entry.name, bytes) else entry.name) == SOURCE_METADATA:
            return json.loads(bytes(model.buffers[entry.buffer].data).decode())
    return None


def _with_metadata(content: bytes, name: str, value: bytes) -> bytes:
    """The flatbuffer with one more metadata entry (a named buffer), which the runtime ignores."""
    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model_from_bytearray(bytearray(content))
    buffer = schema.BufferT()
    buffer.data = np.frombuffer(value, dtype=np.uint8)
    model.buffers.append(buffer)
    entry = schema.MetadataT()
    entry.name, entry.buffer = name, len(model.buffers) - 1
    model.metadata = [*(model.metadata or []), entry]
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))
