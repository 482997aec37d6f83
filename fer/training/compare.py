"""Two models compared on the same PublicTest faces: the paired bootstrap behind a shipping decision.

Scored alone, the clear faces' balanced accuracy has a standard error of about 1.7 points on
PublicTest (17 clear disgusted faces: one face moves it by almost a point), so two absolute floors
cannot tell apart models within two points of each other. Both models answer the *same* faces, and
most of that noise is in which faces were drawn, not in the models: resampling the faces once for
both and taking the difference cancels much of it (1.0-1.5 points of standard error on the clear
faces, 0.3 on the FER+ majority accuracy, for the models of ``docs/experiments.md``).

Only PublicTest is compared: this decides what ships, and PrivateTest decides nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fer.datasets import Split
from fer.emotions import NUM_CLASSES
from fer.votes import NO_LABEL

RESAMPLES = 2000


@dataclass(frozen=True)
class PairedDifference:
    """One measure of the candidate minus the reference, in points of accuracy (0..1 scale)."""

    measure: str
    candidate: float
    reference: float
    standard_error: float
    low: float  # 5th percentile of the resampled differences
    high: float  # 95th

    @property
    def difference(self) -> float:
        return self.candidate - self.reference


def paired_bootstrap(val: Split, candidate: np.ndarray, reference: np.ndarray, resamples: int = RESAMPLES,
                     seed: int = 0) -> tuple[PairedDifference, PairedDifference]:
    """The FER+ majority accuracy and the clear faces' balanced accuracy of two models' predicted
    class indices on ``val`` (with its votes), and their differences over ``resamples`` draws of the
    faces with replacement, the same draw for both models."""
    majority = val.majority()
    clear = val.labels == majority
    # A draw as each face's count in it: every measure is then a weighted sum over the faces.
    counts = np.random.default_rng(seed).multinomial(len(val), np.full(len(val), 1.0 / len(val)), size=resamples)
    whole = np.ones((1, len(val)))
    results = []
    for name, measure in (("ferplus_accuracy", _ferplus_accuracy), ("clear_balanced_accuracy", _clear_balanced_accuracy)):
        mine = measure(counts, candidate, majority, clear)
        theirs = measure(counts, reference, majority, clear)
        spread = (mine - theirs)[np.isfinite(mine - theirs)]  # a draw without a clear face scores neither
        results.append(PairedDifference(
            name, float(measure(whole, candidate, majority, clear)[0]),
            float(measure(whole, reference, majority, clear)[0]), float(spread.std(ddof=1)),
            float(np.percentile(spread, 5)), float(np.percentile(spread, 95))))
    return results[0], results[1]


def _ferplus_accuracy(counts: np.ndarray, predicted: np.ndarray, majority: np.ndarray, clear: np.ndarray) -> np.ndarray:
    labelled = majority != NO_LABEL
    return (counts @ (labelled & (predicted == majority))) / (counts @ labelled)


def _clear_balanced_accuracy(counts: np.ndarray, predicted: np.ndarray, majority: np.ndarray,
                             clear: np.ndarray) -> np.ndarray:
    """The mean over the classes present in each draw of the recall of its clear faces."""
    recalls = []
    for c in range(NUM_CLASSES):
        of_class = clear & (majority == c)
        if not of_class.any():
            continue
        faces = counts @ of_class
        with np.errstate(invalid="ignore", divide="ignore"):
            recalls.append(np.where(faces > 0, (counts @ (of_class & (predicted == c))) / faces, np.nan))
    recalls_by_draw = np.stack(recalls)
    present = np.isfinite(recalls_by_draw).sum(axis=0)
    with np.errstate(invalid="ignore"):
        return np.where(present > 0, np.nansum(recalls_by_draw, axis=0) / present, np.nan)
