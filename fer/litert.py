"""The classifier as served: the shipped LiteRT file run by its XNNPACK CPU kernels.

``predict_on_batch`` pays Keras's per-call dispatch on every frame; for the one to ten faces of a
live frame that overhead is as large as the network itself. The LiteRT flatbuffer has one fixed
graph and no Python in the loop, and the runtime is a few MB where TensorFlow is hundreds: serving
never imports TensorFlow. The file is made from the ``.keras`` model contract by
``python -m fer export`` (``fer.training.export``), int8 weights and the mirror-image average inside.
"""

from __future__ import annotations

import threading

import numpy as np


class LiteRTModel:
    """A LiteRT model with one float32 input and output whose batch size follows each call.

    Safe to share between threads: one interpreter's tensors are guarded by a lock.
    """

    def __init__(self, content: bytes, num_threads: int = 2) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self._interpreter = Interpreter(model_content=content, num_threads=num_threads)
        input_details, output_details = self._interpreter.get_input_details()[0], self._interpreter.get_output_details()[0]
        self._input, self._output = input_details["index"], output_details["index"]
        # Per-sample shapes (the batch size follows each call).
        self.input_shape = tuple(int(n) for n in input_details["shape"][1:])
        self.output_shape = tuple(int(n) for n in output_details["shape"][1:])
        self._batch_shape: tuple[int, ...] = ()
        self._lock = threading.Lock()

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
