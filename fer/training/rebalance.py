"""Classifier re-training (Kang et al., ICLR 2020): a network's features kept, its softmax layer
refit on the training faces with class-balanced weights.

A network fine-tuned on FER+ votes reads the crowd well (its features separate the expressions)
but its last layer carries the crowd's priors: neutral is a third of the votes, disgust 1%, so a
clear disgusted face is outvoted. Refitting only that layer, on the same training faces and vote
targets with each face weighted by ``sum_c target_c / prior_c ** power``, moves the boundaries
towards the rare classes with evidence from 28,000 training faces, where a logit adjustment
(``fer.training.calibrate``) moves them by one number per class and gives up more of the crowd's
judgement for the same clear-face recall (``docs/experiments.md``).

``power`` is 0 for the network's own objective and 1 for fully balanced classes; it is chosen on
PublicTest by the floor rule (``fer.training.calibrate.pick_by_floor``). A config names the run
whose network is kept::

    name: resnet-ferplus-crt
    network: resnet-ferplus.yaml
    targets: votes

``python -m fer train --config ... --out runs/resnet-ferplus-crt`` trains (or finds finished) that
run, refits the head for each power, chooses one, and finalises it as any run (TTA choice, half
precision, metrics). The saved model is a plain Keras model: the same graph, new softmax weights.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path

import keras
import numpy as np
import yaml
from scipy.optimize import minimize

from fer.datasets import FerData, Split
from fer.imaging import to_model_input
from fer.training.calibrate import OUTPUT_LAYER, balanced_weights, pick_by_floor, rule_scores, with_output_layer
from fer.training.selection import Selection, vote_targets
from fer.training.trainer import lists_configs

logger = logging.getLogger(__name__)

POWERS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5)
FEATURE_BATCH = 512


@dataclass(frozen=True)
class HeadConfig:
    name: str
    network: Path  # config file of the run whose network (all but its softmax layer) is kept
    powers: tuple[float, ...] = POWERS
    l2: float = 1e-3  # on the layer's weights, per training face
    clear_faces_floor: float = 0.85

    @classmethod
    def from_yaml(cls, path: str | Path) -> HeadConfig:
        path = Path(path)
        raw = yaml.safe_load(path.read_text()) or {}
        unknown = set(raw) - {"name", "network", "powers", "l2", "targets", "clear_faces_floor"}
        if unknown:
            raise ValueError(f"{path}: unknown key(s) {sorted(unknown)} for a head refit")
        if raw.get("targets", "votes") != "votes":
            raise ValueError(f"{path}: a head refit balances the FER+ vote targets: it needs targets: votes")
        if not isinstance(raw.get("network"), str):
            raise ValueError(f"{path}: `network` names the config file of the run whose network is kept")  # noqa: TRY004 (a config error, as the others)
        return cls(raw["name"], path.parent / raw["network"], tuple(float(p) for p in raw.get("powers", POWERS)),
                   float(raw.get("l2", 1e-3)), float(raw.get("clear_faces_floor", 0.85)))

    @property
    def selection(self) -> Selection:
        return Selection(targets="votes", clear_faces_floor=self.clear_faces_floor)


def is_head_config(path: str | Path) -> bool:
    return lists_configs(path, "network")


@dataclass(frozen=True)
class Head:
    kernel: np.ndarray  # (features, 7)
    bias: np.ndarray  # (7,)

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        return _softmax(features @ self.kernel + self.bias)


@dataclass(frozen=True)
class PowerScore:
    power: float
    ferplus_accuracy: float  # on PublicTest's faces with a FER+ majority label
    certain_balanced_accuracy: float  # on PublicTest's faces where both label sets agree


class Features:
    """A network's penultimate features of a split's faces and of their mirror images: the views
    the flip TTA averages, and twice the training faces to fit on."""

    def __init__(self, network: keras.Model) -> None:
        self._model = keras.Model(network.inputs, network.get_layer(OUTPUT_LAYER).input)

    def __call__(self, split: Split) -> tuple[np.ndarray, np.ndarray]:
        faces = to_model_input(split.images)
        return self._predict(faces), self._predict(faces[:, :, ::-1])

    def _predict(self, faces: np.ndarray) -> np.ndarray:
        return self._model.predict(faces, batch_size=FEATURE_BATCH, verbose=0).astype(np.float64)


def head_of(network: keras.Model) -> Head:
    kernel, bias = (np.asarray(w, dtype=np.float64) for w in network.get_layer(OUTPUT_LAYER).get_weights())
    return Head(kernel, bias)


def with_head(network: keras.Model, head: Head) -> keras.Model:
    """A copy of ``network`` with ``head`` as its softmax layer."""
    return with_output_layer(network, head.kernel, head.bias)


def fit_head(features: np.ndarray, targets: np.ndarray, weights: np.ndarray, start: Head, l2: float) -> Head:
    """The softmax layer minimising the weighted cross-entropy against ``targets`` plus ``l2`` on its
    kernel, by L-BFGS from ``start`` (convex: the start only saves iterations)."""
    n, d = features.shape
    classes = targets.shape[1]

    def loss_and_gradient(theta: np.ndarray) -> tuple[float, np.ndarray]:
        kernel, bias = theta[:-classes].reshape(d, classes), theta[-classes:]
        logits = features @ kernel + bias
        logits -= logits.max(axis=1, keepdims=True)
        log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        loss = -(weights[:, None] * targets * log_p).sum() / n + l2 * (kernel**2).sum()
        residual = weights[:, None] * (np.exp(log_p) * targets.sum(axis=1, keepdims=True) - targets) / n
        gradient = np.concatenate([(features.T @ residual + 2 * l2 * kernel).ravel(), residual.sum(axis=0)])
        return float(loss), gradient

    theta = np.concatenate([start.kernel.ravel(), start.bias])
    result = minimize(loss_and_gradient, theta, jac=True, method="L-BFGS-B", options={"maxiter": 500})
    logger.info("head fit: %d iterations, loss %.4f (%s)", result.nit, result.fun, result.message)
    return Head(result.x[:-classes].reshape(d, classes), result.x[-classes:])


def refit(network: keras.Model, data: FerData, config: HeadConfig) -> tuple[keras.Model, dict]:
    """``network`` with the head the floor rule picks on PublicTest, and the record of every power's
    scores there (each scored with the face and its mirror averaged, as the flip TTA serves it)."""
    features = Features(network)
    train, targets = vote_targets(data.train, label_weight=0.0)
    x = np.concatenate(features(train))
    y = np.concatenate([targets, targets]).astype(np.float64)
    val_views = features(data.val)
    start, heads, scores = head_of(network), {}, []
    for power in config.powers:
        head = heads[power] = fit_head(x, y, balanced_weights(y, power), start, config.l2)
        plus, clear = rule_scores(data.val, _flip_averaged(head, val_views).argmax(axis=1))
        scores.append(PowerScore(power, plus, clear))
        logger.info("power %.2f: PublicTest FER+ accuracy %.4f, clear faces' balanced accuracy %.4f", power, plus, clear)
    chosen = pick_by_floor(scores, config.clear_faces_floor).power
    record = {"power": chosen, "l2": config.l2, "public_test": [asdict(s) for s in scores],
              "floor": config.clear_faces_floor,
              "rule": f"the most PublicTest FER+ majority accuracy among the powers whose clear faces' balanced "
                      f"accuracy on PublicTest is at least {config.clear_faces_floor} (face and mirror averaged)"}
    return with_head(network, heads[chosen]), record


def _flip_averaged(head: Head, views: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    return np.mean([head.probabilities(v) for v in views], axis=0)


def _softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)
