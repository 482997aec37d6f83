"""Classification metrics with scikit-learn, in the JSON shape written next to every model.

No model runs here (``fer.training.evaluate`` makes the predictions): the app reads these too.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

from fer.emotions import EMOTIONS


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

    @property
    def balanced_accuracy(self) -> float:
        """The mean of the per-class recalls, over the classes present."""
        return float(np.mean([scores.recall for scores in self.per_class.values() if scores.support]))

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


def file_sha256(path: str | Path) -> str:
    """The hex SHA-256 of a file: which model a metrics report scored (``model_sha256``)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def write_metrics(report: dict, path: str | Path) -> None:
    Path(path).write_text(json.dumps(report, indent=2) + "\n")


def read_metrics(path: str | Path) -> dict:
    return json.loads(Path(path).read_text())
