"""``python -m fer evaluate``: a ``.keras`` model scored on PublicTest and PrivateTest, against
FER2013's own labels and, where the FER+ votes were read, against the ten annotators' majority.

The report (``metrics.json``) holds, for each split:

- ``public_test``/``private_test``: FER2013's single-annotator labels, every face;
- ``ferplus``: the FER+ majority labels, on the faces that have one in our seven classes (the
  rest counted in ``left_out``);
- ``certain``: the faces whose FER2013 label and FER+ majority agree, clear expressions, whose
  mean per-class recall (balanced accuracy) says whether every emotion is still recognised.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict

import keras
import numpy as np

from fer.classifier import RUNTIMES, EmotionClassifier, Runtime
from fer.datasets import FerData, Split
from fer.emotions import EMOTIONS
from fer.imaging import to_model_input
from fer.metrics import SplitMetrics, score
from fer.votes import NO_LABEL, agreement

SPLITS = (("public_test", "val"), ("private_test", "test"))


def predict_split(model: keras.Model, split: Split, batch_size: int = 512) -> np.ndarray:
    """Class probabilities for a split's images, fed in the model contract's dtype and shape."""
    return model.predict(to_model_input(split.images), batch_size=batch_size, verbose=0)


def served_predictor(model: keras.Model, runtime: Runtime, batch_size: int = 512,
                     thorough: bool = False) -> Callable[[Split], np.ndarray]:
    """``predict_split`` as a serving runtime computes it, exported once; with ``thorough``, over
    ten views per face, as the served classifier builds them (``fer.views``) or, in Keras, as
    ``with_shift_tta`` does."""
    if runtime not in RUNTIMES:
        raise ValueError(f"unknown runtime {runtime!r}; choose one of {', '.join(RUNTIMES)}")
    if runtime == "keras":
        from fer.training.model import with_shift_tta

        keras_model = with_shift_tta(model) if thorough else model
        return lambda split: predict_split(keras_model, split, batch_size)
    from fer.litert import LiteRTModel
    from fer.training.export import litert_bytes

    classifier = EmotionClassifier(LiteRTModel(litert_bytes(model, int8_weights=runtime == "litert-int8")), thorough)
    return lambda split: predict_in_batches(classifier.predict, split, batch_size)


def predict_in_batches(predict: Callable[[np.ndarray], np.ndarray], split: Split, batch_size: int = 512) -> np.ndarray:
    """A split's probabilities from any batch predictor (a serving runtime, an exported graph)."""
    x = to_model_input(split.images)
    return np.concatenate([predict(x[i : i + batch_size]) for i in range(0, len(x), batch_size)])


def evaluate_model(model: keras.Model, data: FerData, runtime: Runtime = "keras", thorough: bool = False) -> dict:
    """Metrics on PublicTest (validation) and PrivateTest (test), plus the class counts; on the
    FER+ majority labels and the certain faces too where ``data`` carries the votes.

    ``runtime`` scores the probabilities that runtime serves; Keras's are the reference.
    """
    predict = served_predictor(model, runtime, thorough=thorough)
    return report_from_predictions(data, {split: predict(getattr(data, split)) for _, split in SPLITS}, runtime)


def score_against_majority(majority: np.ndarray, predicted: np.ndarray) -> SplitMetrics:
    """``predicted`` class indices scored against the FER+ majority labels (``Split.majority``), on
    the faces that have one."""
    labelled = majority != NO_LABEL
    return score(majority[labelled], predicted[labelled])


def report_from_predictions(data: FerData, probabilities: dict[str, np.ndarray], runtime: str) -> dict:
    """The metrics report from each split's probabilities (keyed ``val``, ``test``)."""
    report: dict = {"emotions": list(EMOTIONS), "runtime": runtime}
    for key, split_name in SPLITS:
        split, predicted = getattr(data, split_name), probabilities[split_name].argmax(axis=1)
        report[key] = asdict(score(split.labels, predicted))
        if split.votes is None:
            continue
        majority = split.majority()
        labelled = majority != NO_LABEL
        certain = split.labels == majority
        report.setdefault("ferplus", {})[key] = {
            **asdict(score_against_majority(majority, predicted)),
            "faces": int(labelled.sum()), "left_out": int((~labelled).sum()),
        }
        certain_scores = score(split.labels[certain], predicted[certain])
        report.setdefault("certain", {})[key] = {
            **asdict(certain_scores), "balanced_accuracy": certain_scores.balanced_accuracy, "faces": int(certain.sum()),
        }
        report.setdefault("agreement", {})[key] = asdict(agreement(split.labels, majority))
    report["class_counts"] = {
        name: {key: int(getattr(data, key).class_counts()[i]) for key in ("train", "val", "test")}
        for i, name in enumerate(EMOTIONS)
    }
    return report
