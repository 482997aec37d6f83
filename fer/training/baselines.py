"""Classical baselines on the same split as the CNN: PCA + SVM, HOG + SVM and a Random Forest.

Hyperparameters are fixed textbook values, not tuned (on any split); they show what the CNN buys.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
from sklearn.decomposition import PCA
from sklearn.ensemble import RandomForestClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from fer.datasets import FerData
from fer.emotions import FACE_SIZE
from fer.metrics import score
from fer.training.evaluate import score_against_majority

logger = logging.getLogger(__name__)


def pixels(images: np.ndarray) -> np.ndarray:
    return images.reshape(len(images), -1).astype(np.float32) / 255.0


def hog(images: np.ndarray) -> np.ndarray:
    """Dalal-Triggs HOG on the 48x48 face: 8 px cells, 2x2-cell blocks, 9 orientations (900 values)."""
    descriptor = cv2.HOGDescriptor((FACE_SIZE, FACE_SIZE), (16, 16), (8, 8), (8, 8), 9)
    return np.stack([np.asarray(descriptor.compute(img)).ravel() for img in images])


@dataclass(frozen=True)
class Baseline:
    name: str
    description: str
    features: Callable[[np.ndarray], np.ndarray]
    model: Callable[[], Pipeline]


BASELINES = (
    Baseline("PCA + SVM", "pixels -> standardise -> PCA (150, whitened) -> RBF SVM (C=10)", pixels,
             lambda: make_pipeline(StandardScaler(), PCA(150, whiten=True, random_state=0), SVC(C=10, gamma="scale"))),
    Baseline("HOG + SVM", "HOG (900) -> standardise -> PCA (150) -> RBF SVM (C=10)", hog,
             lambda: make_pipeline(StandardScaler(), PCA(150, random_state=0), SVC(C=10, gamma="scale"))),
    Baseline("Random Forest", "pixels -> 300 trees, sqrt features", pixels,
             lambda: make_pipeline(RandomForestClassifier(300, n_jobs=-1, random_state=0))),
)


def run_baselines(data: FerData) -> dict[str, dict[str, float | str]]:
    """Fit each baseline on Training's FER2013 labels; score it on PublicTest and PrivateTest,
    against the FER+ majority labels too where ``data`` carries the votes."""
    report: dict[str, dict[str, float | str]] = {}
    for baseline in BASELINES:
        start = time.perf_counter()
        model = baseline.model().fit(baseline.features(data.train.images), data.train.labels)
        fit_seconds = time.perf_counter() - start
        row: dict[str, float | str] = {"description": baseline.description, "fit_seconds": round(fit_seconds, 1)}
        for key, split in (("public_test", data.val), ("private_test", data.test)):
            predicted = model.predict(baseline.features(split.images))
            metrics = score(split.labels, predicted)
            row[f"{key}_accuracy"] = round(metrics.accuracy, 4)
            row[f"{key}_macro_f1"] = round(metrics.macro_f1, 4)
            if split.votes is not None:  # the same answers, against the ten annotators' majority
                plus = score_against_majority(split.majority(), predicted)
                row[f"ferplus_{key}_accuracy"] = round(plus.accuracy, 4)
                row[f"ferplus_{key}_macro_f1"] = round(plus.macro_f1, 4)
        logger.info("%s: PrivateTest accuracy %.4f (fit %.0f s)", baseline.name, row["private_test_accuracy"], fit_seconds)
        report[baseline.name] = row
    return report
