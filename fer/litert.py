"""The classifier compiled for serving: the Keras model exported to LiteRT and run by its XNNPACK
CPU kernels.

``predict_on_batch`` pays Keras's per-call dispatch on every frame; for the one to ten faces of a
live frame that overhead is as large as the network itself. The exported flatbuffer has one fixed
graph and no Python in the loop (``python -m bench.run`` measures both). The export happens in
memory at load time, from the very ``.keras`` file that is shipped, so there is no second model
file to keep in step with the first.

With ``int8_weights`` the export stores each weight tensor as int8 with a scale (the converter's
dynamic-range quantization); XNNPACK then quantizes each layer's activations on the fly and runs
integer kernels. That is about three times faster here, and its probabilities stay within a few
hundredths of the float model's (``docs/benchmarks.md`` has both measurements).
"""

from __future__ import annotations

import logging
import tempfile
import threading
from pathlib import Path

import keras
import numpy as np

logger = logging.getLogger(__name__)


class LiteRTModel:
    """A LiteRT model with one float32 input and output whose batch size follows each call.

    Safe to share between threads: one interpreter's tensors are guarded by a lock.
    """

    def __init__(self, content: bytes, num_threads: int = 2) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self._interpreter = Interpreter(model_content=content, num_threads=num_threads)
        self._input = self._interpreter.get_input_details()[0]["index"]
        self._output = self._interpreter.get_output_details()[0]["index"]
        self._batch_shape: tuple[int, ...] = ()
        self._lock = threading.Lock()

    @classmethod
    def from_keras(cls, model: keras.Model, num_threads: int = 2, int8_weights: bool = False) -> LiteRTModel:
        """Export ``model`` (needs the TensorFlow backend, as the app runs) and load the result."""
        converter_options = {}
        if int8_weights:
            import tensorflow as tf

            converter_options["optimizations"] = [tf.lite.Optimize.DEFAULT]
        with tempfile.TemporaryDirectory(prefix="fer-litert-") as tmp:
            path = Path(tmp) / "model.tflite"
            model.export(str(path), format="litert", verbose=False, **converter_options)
            content = path.read_bytes()
        weights = "int8" if int8_weights else "float32"
        logger.info("exported %s to LiteRT with %s weights (%d kB)", model.name, weights, len(content) // 1024)
        return cls(content, num_threads)

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        with self._lock:
            if batch.shape != self._batch_shape:
                # Re-planning the tensors costs well under a millisecond; skip it while the
                # number of faces stays the same from frame to frame.
                self._interpreter.resize_tensor_input(self._input, batch.shape, strict=False)
                self._interpreter.allocate_tensors()
                self._batch_shape = batch.shape
            self._interpreter.set_tensor(self._input, batch)
            self._interpreter.invoke()
            return self._interpreter.get_tensor(self._output).copy()
