"""``python -m fer export``: the served LiteRT file, made from the ``.keras`` model contract.

The export stores each weight tensor as int8 with a scale (the converter's dynamic-range
quantization); XNNPACK then quantizes each layer's activations on the fly and runs integer
kernels: about three times faster here than float weights, with probabilities within a few
hundredths of the float model's (docs/benchmarks.md). The file records, in its metadata, the
SHA-256 of the ``.keras`` file it was made from, so a test can tell when the two part.
"""

from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path

import keras

from fer.emotions import FACE_SIZE, NUM_CLASSES
from fer.litert import LiteRTModel
from fer.metrics import file_sha256

logger = logging.getLogger(__name__)

SOURCE_METADATA = "fer_source"  # the metadata entry naming the .keras file the export came from


def litert_bytes(model: keras.Model, int8_weights: bool = True) -> bytes:
    """``model`` (honouring the contract) exported to a LiteRT flatbuffer, in memory."""
    expected_in, expected_out = (None, FACE_SIZE, FACE_SIZE, 1), (None, NUM_CLASSES)
    if tuple(model.input_shape) != expected_in or tuple(model.output_shape) != expected_out:
        raise ValueError(f"model maps {model.input_shape} -> {model.output_shape}; the contract is {expected_in} -> {expected_out}")
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
    import numpy as np
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
