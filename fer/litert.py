"""The classifier as served: the shipped LiteRT file run by its XNNPACK CPU kernels.

``predict_on_batch`` pays Keras's per-call dispatch on every frame; for the one to ten faces of a
live frame that overhead is as large as the network itself. The LiteRT flatbuffer has one fixed
graph and no Python in the loop, and the runtime is a few MB where TensorFlow is hundreds: serving
never imports TensorFlow. The file is made from the ``.keras`` model contract by
``python -m fer export`` (``fer.training.export``), with int8 weights and whatever the model averages inside.

A file may have more than one output: the embedding file (``fer.training.export.export_embedding``)
gives each face's probabilities and its embedding, named by the export's signature.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

PROBABILITIES = "probabilities"  # the output a file with several outputs names its probabilities by


class LiteRTModel:
    """A LiteRT model with one float32 input whose batch size follows each call.

    Calling it gives its probabilities: its only output, or the one named ``probabilities``;
    ``outputs`` gives every output by name. Safe to share between threads: one interpreter's
    tensors are guarded by a lock.
    """

    def __init__(self, content: bytes, num_threads: int = 2) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self._interpreter = Interpreter(model_content=content, num_threads=num_threads)
        input_details = self._interpreter.get_input_details()[0]
        self._input = input_details["index"]
        self._outputs = _named_outputs(self._interpreter)
        if len(self._outputs) == 1:
            self._main = next(iter(self._outputs.values()))
        elif PROBABILITIES in self._outputs:
            self._main = self._outputs[PROBABILITIES]
        else:
            raise ValueError(f"the model has outputs {sorted(self._outputs)} and none named {PROBABILITIES!r}")
        shapes = {d["index"]: tuple(int(n) for n in d["shape"][1:]) for d in self._interpreter.get_output_details()}
        # Per-sample shapes (the batch size follows each call).
        self.input_shape = tuple(int(n) for n in input_details["shape"][1:])
        self.output_shape = shapes[self._main]
        self.output_shapes = {name: shapes[index] for name, index in self._outputs.items()}
        self._batch_shape: tuple[int, ...] = ()
        self._lock = threading.Lock()

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        with self._lock:
            self._invoke(batch)
            return self._interpreter.get_tensor(self._main).copy()

    def outputs(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        """Every output of one pass over ``batch``, by name."""
        with self._lock:
            self._invoke(batch)
            return {name: self._interpreter.get_tensor(index).copy() for name, index in self._outputs.items()}

    def _invoke(self, batch: np.ndarray) -> None:
        if batch.shape != self._batch_shape:
            # Re-planning the tensors costs well under a millisecond; skip it while the
            # number of faces stays the same from frame to frame.
            self._interpreter.resize_tensor_input(self._input, batch.shape, strict=False)
            self._interpreter.allocate_tensors()
            self._batch_shape = batch.shape
        self._interpreter.set_tensor(self._input, batch)
        self._interpreter.invoke()


def _named_outputs(interpreter: Any) -> dict[str, int]:
    """Output tensor indices by the names the export's signature gives them (Keras's output names),
    or by tensor name in a file without a signature."""
    signatures = interpreter.get_signature_list()
    if len(signatures) == 1:
        runner = interpreter.get_signature_runner(next(iter(signatures)))
        return {name: int(d["index"]) for name, d in runner.get_output_details().items()}
    return {d["name"]: int(d["index"]) for d in interpreter.get_output_details()}
