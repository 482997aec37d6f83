"""Logit adjustment (Menon et al., ICLR 2021): a decision rule that undoes part of a class prior.

A network trained on FER+ votes learns the crowd's priors: neutral is a third of the majority
labels, fear 2% and disgust 0.5%. On an ambiguous face that prior is right; on a clear fearful or
disgusted face it wins against the evidence. Subtracting ``tau * log(prior)`` from the logits moves
the decision towards balanced classes: ``tau = 0`` is the network as trained, ``tau = 1`` the full
correction. Both label sets are measured for each ``tau`` on PublicTest, and the rule is: the most
FER+ majority accuracy among the ``tau`` whose clear faces' balanced accuracy reaches the floor
(the crowd's judgement, without losing clear faces); where none does, the ``tau`` closest to it.

Two forms run between those two ends (``FORMS``):
- "power" weighs each class's probability by ``prior ** -tau``, a geometric path (Menon et al.).
- "mix" weighs it by ``(1 - tau) + tau / (K * prior)``, an arithmetic path: the Bayes rule for
  ``(1 - tau) * accuracy + tau * balanced accuracy``. Both measures sum the confusion matrix's
  diagonal, accuracy's entries weighing 1 each and balanced accuracy's ``1 / (K * prior)``; the
  plug-in classifier for such a measure takes the argmax of the probabilities times those
  weights (Narasimhan et al., NeurIPS 2014).
Between its ends the power form is the Bayes rule of no such mixture. It moves common classes
against each other (neutral's prior is 2.4 times sad's, so sad gains ``2.4 ** tau`` on neutral),
where the mix form's weights part little between common classes and much for the rare ones.

The shift is folded into the bias of the network's last (softmax) layer, so the saved model is a
plain Keras model as before: the model contract, its probabilities, only re-weighted.

The same class prior, moved into the loss instead of the decision, weights each training face
(``balanced_weights``: the trainer's ``class_balance``, the head refit's ``power``; or, on the clear
training faces only, ``clear_balanced_weights``: the trainer's ``clear_class_balance``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

import keras
import numpy as np

from fer.datasets import Split
from fer.metrics import score
from fer.training.evaluate import score_against_majority
from fer.training.model import average, ensemble_members

logger = logging.getLogger(__name__)

TAU_STEP = 0.1  # the grid's step: a finer one lets the pick land nearer the floor, and fits more noise


def taus(step: float = TAU_STEP) -> tuple[float, ...]:
    """The grid of ``tau`` from 0 to 1 the floor rule chooses from; ``step`` must divide 1."""
    count = round(1 / step) if 0 < step <= 1 else 0
    if count == 0 or abs(count * step - 1) > 1e-9:
        raise ValueError(f"the tau step must divide 1 (0.1, 0.05, ...), got {step}")
    return tuple(round(i / count, 6) for i in range(count + 1))


FORMS = ("power", "mix")
OUTPUT_LAYER = "probabilities"  # fer.training.model.build_classifier's softmax layer


class FloorScore(Protocol):
    @property
    def ferplus_accuracy(self) -> float: ...
    @property
    def certain_balanced_accuracy(self) -> float: ...


Score = TypeVar("Score", bound=FloorScore)


def pick_by_floor(scores: list[Score], floor: float) -> Score:
    """The floor rule: the most FER+ accuracy among the candidates whose clear faces' balanced
    accuracy reaches ``floor``; where none does, the one closest to it."""
    passing = [s for s in scores if s.certain_balanced_accuracy >= floor]
    if passing:
        return max(passing, key=lambda s: s.ferplus_accuracy)
    logger.warning("no candidate keeps the clear faces' balanced accuracy at %.3f on PublicTest", floor)
    return max(scores, key=lambda s: s.certain_balanced_accuracy)


def balanced_weights(targets: np.ndarray, power: float) -> np.ndarray:
    """Each face's weight, ``sum_c target_c / prior_c ** power`` with the targets' own prior, scaled
    to a mean of 1. At ``power`` 1 every class weighs the same in the loss where each face's target
    is one class, and about the same for vote distributions (one weight for all a face's votes)."""
    prior = np.maximum(targets.mean(axis=0), 1e-6)
    weights = (targets / prior**power).sum(axis=1)
    return weights / weights.mean()


def clear_balanced_weights(labels: np.ndarray, clear: np.ndarray, power: float) -> np.ndarray:
    """Each face's weight: 1 for a face the crowd and its label disagree on; for a clear face
    (``clear``), ``1 / share ** power`` of its label among the clear faces, scaled so that the clear
    faces' weights keep a mean of 1. At ``power`` 1 every class's clear faces weigh the same, while
    an ambiguous face, whatever classes its votes name, weighs what it did: the crowd's split is
    learnt as before, and clear faces of rare classes are not outweighed."""
    weights = np.ones(len(labels))
    shares = np.bincount(labels[clear], minlength=int(labels.max()) + 1) / max(int(clear.sum()), 1)
    clear_weights = 1.0 / np.maximum(shares[labels[clear]], 1e-6) ** power
    weights[clear] = clear_weights / clear_weights.mean()
    return weights


@dataclass(frozen=True)
class TauScore:
    tau: float
    ferplus_accuracy: float  # on PublicTest's faces with a FER+ majority label
    certain_balanced_accuracy: float  # on PublicTest's faces where both label sets agree


def logit_shift(prior: np.ndarray, tau: float, form: str = "power") -> np.ndarray:
    """What the adjustment adds to each class's logit: ``-tau * log(prior)`` ("power"), or
    ``log((1 - tau) + tau / (K * prior))`` ("mix"). Both are 0 at ``tau`` 0, and at 1 both rank the
    classes by ``probability / prior``. Subtracting the shift undoes it."""
    if form not in FORMS:
        raise ValueError(f"the logit adjustment's form must be one of {FORMS}, got {form!r}")
    # A class no training vote named would get an infinite shift: floor its share instead.
    prior = np.maximum(prior, 1e-6)
    if form == "power":
        return -tau * np.log(prior)
    return np.log((1 - tau) + tau / (len(prior) * prior))


def adjusted(model: keras.Model, shift: np.ndarray) -> keras.Model:
    """A copy of ``model`` with ``shift`` (``logit_shift``) added to its softmax bias: a network's,
    or each member's of an ensemble (``fer.training.model.average``)."""
    networks = ensemble_members(model)
    if networks != [model]:
        return average([adjusted(network, shift) for network in networks], model.name)
    kernel, bias = model.get_layer(OUTPUT_LAYER).get_weights()
    return with_output_layer(model, kernel, bias + shift)


def with_output_layer(network: keras.Model, kernel: np.ndarray, bias: np.ndarray) -> keras.Model:
    """A copy of ``network`` with these weights in its softmax layer: a decision rule folded into
    the graph, so the saved model stays a plain Keras model."""
    copy = keras.models.clone_model(network)
    copy.set_weights(network.get_weights())
    copy.get_layer(OUTPUT_LAYER).set_weights([kernel.astype(np.float32), bias.astype(np.float32)])
    return copy


def rule_scores(val: Split, predicted: np.ndarray) -> tuple[float, float]:
    """What the floor rule reads of ``predicted`` class indices for every face of ``val``: the FER+
    majority accuracy (faces with a majority label) and the clear faces' balanced accuracy (faces
    whose FER2013 label is the majority's, a subset of those), from one prediction."""
    majority = val.majority()
    clear = val.labels == majority
    return (score_against_majority(majority, predicted).accuracy,
            score(majority[clear], predicted[clear]).balanced_accuracy)


def tau_scores(view_answers: Sequence[np.ndarray], prior: np.ndarray, form: str, val: Split,
               step: float = TAU_STEP) -> list[TauScore]:
    """What the floor rule reads of every ``tau`` of ``taus(step)`` in the adjustment's ``form`` on
    PublicTest (``val``, with its votes); ``pick_by_floor`` chooses among them, with those of other
    test-time views if asked. ``view_answers``: the network's probabilities for each test-time view
    of ``val``'s faces (``fer.views.tta_images``), computed once. Each tau's shift is added
    to each view's logits and the views' probabilities averaged after, as the served model does with
    the shift in its softmax layer inside the TTA wrapper: one pass of the network for every tau."""
    # The log-probabilities are the logits less a per-face constant, which the softmax ignores.
    logits = [np.log(np.maximum(answers.astype(np.float64), 1e-30)) for answers in view_answers]
    scores = []
    for tau in taus(step):
        shift = logit_shift(prior, tau, form)
        served = np.mean([_softmax(view + shift) for view in logits], axis=0)
        plus, clear = rule_scores(val, served.argmax(axis=1))
        scores.append(TauScore(tau, plus, clear))
        logger.info("tau %g: PublicTest FER+ accuracy %.4f, certain faces' balanced accuracy %.4f", tau, plus, clear)
    return scores


def _softmax(logits: np.ndarray) -> np.ndarray:
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)
