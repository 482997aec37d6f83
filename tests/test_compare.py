"""The paired bootstrap behind a shipping decision (fer.training.compare), on a realistic split."""

from __future__ import annotations

import numpy as np
import pytest

from fer.datasets import Split
from fer.training.calibrate import rule_scores
from fer.training.compare import paired_bootstrap
from fer.votes import OUR_ORDER


def crowd_split(n: int = 600, seed: int = 0) -> Split:
    """Faces of all seven classes, rare ones rare; the crowd agrees with the label on four faces in
    five, names another class on the rest, and gives no usable vote on every twentieth."""
    rng = np.random.default_rng(seed)
    labels = rng.choice(7, n, p=[0.12, 0.02, 0.08, 0.3, 0.15, 0.1, 0.23])
    votes = np.zeros((n, len(OUR_ORDER)), np.int64)
    for i, label in enumerate(labels):
        if i % 20 == 19:
            votes[i, OUR_ORDER.index("unknown")] = 10
        elif i % 5 == 4:
            votes[i, [label, (label + 1) % 7]] = (3, 7)
        else:
            votes[i, [label, 6]] = (8, 2) if label != 6 else (10, 0)
    return Split(np.zeros((n, 48, 48), np.uint8), labels, votes)


def test_a_model_against_itself_differs_by_nothing() -> None:
    val = crowd_split()
    predicted = np.random.default_rng(1).integers(0, 7, len(val))
    for d in paired_bootstrap(val, predicted, predicted, resamples=200):
        assert d.difference == 0 and d.standard_error == 0 and d.low == d.high == 0


def test_the_whole_split_scores_as_the_floor_rule_reads_them() -> None:
    val = crowd_split()
    rng = np.random.default_rng(2)
    candidate, reference = rng.integers(0, 7, len(val)), rng.integers(0, 7, len(val))
    plus, clear = paired_bootstrap(val, candidate, reference, resamples=50)
    assert (plus.candidate, clear.candidate) == pytest.approx(rule_scores(val, candidate))
    assert (plus.reference, clear.reference) == pytest.approx(rule_scores(val, reference))


def test_a_better_model_is_told_apart_beyond_the_noise_and_a_coin_flip_is_not() -> None:
    val = crowd_split()
    truth = val.majority()
    rng = np.random.default_rng(3)
    reference = np.where(rng.random(len(val)) < 0.7, truth, (truth + 1) % 7)
    # Right on a third of the faces the reference gets wrong, the same elsewhere.
    better = np.where((reference != truth) & (rng.random(len(val)) < 1 / 3), truth, reference)
    plus, clear = paired_bootstrap(val, better, reference)
    assert plus.difference > 0.05 and plus.low > 0 and clear.low > 0
    # Re-drawing which of the reference's answers are wrong leaves a model no better, within noise.
    other = np.where(rng.random(len(val)) < 0.7, truth, (truth + 1) % 7)
    plus, _ = paired_bootstrap(val, other, reference)
    assert plus.low < 0 < plus.high
    assert 0 < plus.standard_error < 0.05
