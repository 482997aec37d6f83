"""Classification metrics with scikit-learn, in the JSON shape written next to every model."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import keras
import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

from fer.classifier import EmotionClassifier, Runtime
from fer.datasets import FerData, Split
from fer.emotions import EMOTIONS
from fer.imaging import to_model_input


@dataclass(frozen=True)
class ClassScores:
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class SplitMetrics:
    accuracy: float
    macro_f1: float
    per_class: dict[str, ClassScores]
    confusion_matrix: list[list[int]]  # rows: true class, columns: predicted, in EMOTIONS order

    @classmethod
    def from_dict(cls, raw: dict) -> SplitMetrics:
        per_class = {name: ClassScores(**scores) for name, scores in raw["per_class"].items()}
        return cls(raw["accuracy"], raw["macro_f1"], per_class, raw["confusion_matrix"])


def score(y_true: np.ndarray, y_pred: np.ndarray) -> SplitMetrics:
    labels = list(range(len(EMOTIONS)))
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0
    )
    per_class = {
        name: ClassScores(float(precision[i]), float(recall[i]), float(f1[i]), int(support[i]))
        for i, name in enumerate(EMOTIONS)
    }
    return SplitMetrics(
        accuracy=float(accuracy_score(y_true, y_pred)),
        macro_f1=float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)),
        per_class=per_class,
        confusion_matrix=confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    )


def predict_split(model: keras.Model, split: Split, batch_size: int = 512) -> np.ndarray:
    """Class probabilities for a split's images, fed in the model contract's dtype and shape."""
    return model.predict(to_model_input(split.images), batch_size=batch_size, verbose=0)


def served_predictor(model: keras.Model, runtime: Runtime, batch_size: int = 512) -> Callable[[Split], np.ndarray]:
    """``predict_split`` as a serving runtime computes it (``fer.classifier``), exported once."""
    if runtime == "keras":
        return lambda split: predict_split(model, split, batch_size)
    classifier = EmotionClassifier(model, runtime)
    return lambda split: predict_in_batches(classifier.predict, split, batch_size)


def predict_in_batches(predict: Callable[[np.ndarray], np.ndarray], split: Split, batch_size: int = 512) -> np.ndarray:
    """A split's probabilities from any batch predictor (a serving runtime, an exported graph)."""
    x = to_model_input(split.images)
    return np.concatenate([predict(x[i : i + batch_size]) for i in range(0, len(x), batch_size)])


def evaluate_model(model: keras.Model, data: FerData, runtime: Runtime = "keras") -> dict:
    """Metrics on PublicTest (validation) and PrivateTest (test), plus the class counts.

    ``runtime`` scores the probabilities that runtime serves; Keras's are the reference.
    """
    predict = served_predictor(model, runtime)
    report: dict = {"emotions": list(EMOTIONS), "runtime": runtime}
    for key, split in (("public_test", data.val), ("private_test", data.test)):
        report[key] = asdict(score(split.labels, predict(split).argmax(axis=1)))
    report["class_counts"] = {
        name: {key: int(getattr(data, key).class_counts()[i]) for key in ("train", "val", "test")}
        for i, name in enumerate(EMOTIONS)
    }
    return report


def write_metrics(report: dict, path: str | Path) -> None:
    Path(path).write_text(json.dumps(report, indent=2) + "\n")


def read_metrics(path: str | Path) -> dict:
    return json.loads(Path(path).read_text())
