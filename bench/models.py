"""Milliseconds per face of several model files on this machine, in one process, interleaved.

    python -m bench.models models/emotion_cnn.keras old.keras runs/resnet-r3-erase/best.keras:flip
    python -m bench.models models/emotion_cnn.keras --full-int8 --data ../shared/data/fer2013.csv.gz

Absolute times differ by about 2x between the 2-core machines this project runs on, so a model is
only ever compared with another measured beside it: each round times every model once (the median
of ``--calls`` one-face calls, int8 weights as the app runs them), and each model's figure is its
median over the rounds. ``PATH:flip`` wraps a single network in flip TTA, as an ensemble member runs;
``PATH:thorough`` averages the model over ten views, as bulk labelling's thorough mode runs it.

``--full-int8`` adds the first model exported with full integer quantization (activations too,
calibrated on 300 training faces) and scores both quantizations of it on PublicTest.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import keras
import numpy as np

from bench.timing import median_ms
from fer.datasets import FerData, load_fer
from fer.imaging import to_model_input
from fer.litert import LiteRTModel
from fer.training.evaluate import predict_in_batches
from fer.training.export import litert_bytes
from fer.training.model import with_shift_tta, with_tta

Predict = Callable[[np.ndarray], np.ndarray]  # (N, 48, 48, 1) gray faces -> (N, 7) probabilities
CALIBRATION_FACES = 300
VIEWS: dict[str, Callable[[keras.Model], keras.Model]] = {"flip": with_tta, "thorough": with_shift_tta}


def load(spec: str) -> keras.Model:
    path, _, view = spec.partition(":")
    model = keras.models.load_model(path, compile=False)
    return VIEWS[view](model) if view else model


def full_int8(model: keras.Model, faces: np.ndarray) -> LiteRTModel:
    import tensorflow as tf

    def calibration() -> Iterator[list[np.ndarray]]:  # one face a step, as the app's single-face calls
        for face in faces:
            yield [face[None]]

    with tempfile.TemporaryDirectory(prefix="fer-full-int8-") as tmp:
        path = Path(tmp) / "model.tflite"
        model.export(str(path), format="litert", verbose=False,
                     optimizations=[tf.lite.Optimize.DEFAULT], representative_dataset=calibration)
        return LiteRTModel(path.read_bytes())


def time_rounds(runners: dict[str, Predict], rounds: int, calls: int) -> dict[str, list[float]]:
    face = np.random.default_rng(0).uniform(0, 255, (1, 48, 48, 1)).astype(np.float32)
    times: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(rounds):
        for name, predict in runners.items():
            times[name].append(median_ms(partial(predict, face), calls))
    return times


def public_test_accuracy(predict: Predict, data: FerData) -> float:
    answers = predict_in_batches(predict, data.val)
    return float((answers.argmax(axis=1) == data.val.labels).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", help="model files; PATH:flip wraps a single network in flip TTA, PATH:thorough takes ten views")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--full-int8", action="store_true", help="also the first model, fully int8")
    parser.add_argument("--data", type=Path, help="fer2013.csv(.gz): calibration and PublicTest for --full-int8")
    args = parser.parse_args()
    if args.full_int8 and args.data is None:
        parser.error("--full-int8 needs --data")
    runners: dict[str, Predict] = {spec: LiteRTModel(litert_bytes(load(spec), int8_weights=True)) for spec in args.models}
    data = load_fer(args.data) if args.full_int8 else None
    if data is not None:
        faces = to_model_input(data.train.images[:CALIBRATION_FACES])
        runners[f"{args.models[0]} (full int8)"] = full_int8(load(args.models[0]), faces)
    for name, times in time_rounds(runners, args.rounds, args.calls).items():
        print(f"| {name} | {statistics.median(times):.2f} ms | rounds: {', '.join(f'{t:.2f}' for t in times)} |")
    if data is not None:
        for name in (args.models[0], f"{args.models[0]} (full int8)"):
            print(f"| {name} | PublicTest {public_test_accuracy(runners[name], data):.2%} |")


if __name__ == "__main__":
    main()
