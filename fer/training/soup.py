"""Model soups: one network whose weights are the mean of several runs fine-tuned from the same
parent (Wortsman et al., 2022), with its BatchNorm statistics then recomputed on training faces.

Runs that start from the same weights and train for a short cycle stay in one basin of the loss, so
the average of their weights is itself a good network, often better than any of them. Unlike an
ensemble (``fer.training.ensemble``), a soup costs one network's time per face. Averaging the BatchNorm
layers' moving statistics does not give the statistics of the averaged network, so they are
recomputed, as SWA does (Izmailov et al., 2018).

A soup config names its ingredients' config files (relative to itself)::

    name: vgg-wide-soup
    ingredients: [vgg-wide-r3.yaml, vgg-wide-r3-erase.yaml, vgg-wide-r3-mixup.yaml, vgg-wide-r4-erase.yaml]

``python -m fer train --config configs/experiments/vgg-wide-soup.yaml --out runs/vgg-wide-soup`` trains
(or finds finished) each ingredient in a sibling directory, as ``init_from`` does, makes the soup,
and then chooses test-time augmentation on PublicTest exactly as for a single run
(``fer.training.recipes.train_soup``). Its ``history.csv`` holds the ingredients' curves, the stages they
share once.

A soup of one run's last epochs is stochastic weight averaging (Izmailov et al., 2018): late in a
cosine schedule the weights wander about one basin, and their mean sits nearer its centre than any
of them. Its config names one ingredient, whose config keeps those epochs' weights
(``keep_epochs_from``), and the first and last epoch to average::

    name: resnet-wide-ferplus-swa
    ingredients: [resnet-wide-ferplus.yaml]
    epochs: [31, 40]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import yaml

from fer.training.selection import BY_LABELS, SELECTION_KEYS, Selection
from fer.training.trainer import lists_configs, read_config_list

RECALIBRATION_BATCH = 256



@dataclass(frozen=True)
class SoupConfig:
    name: str
    ingredients: tuple[Path, ...]  # config files of runs fine-tuned from the same parent
    # Each ingredient's share of the weights (they sum to 1); none: a uniform soup. Two ingredients,
    # a network and its own fine-tune, weighted (1 - alpha, alpha) are WiSE-FT (Wortsman et al., 2022).
    weights: tuple[float, ...] | None = None
    selection: Selection = BY_LABELS
    # First and last epoch (from 1) of the one ingredient whose kept weights are averaged; none: each
    # ingredient's best epoch.
    epochs: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        if self.epochs is not None and (len(self.ingredients) != 1 or self.weights is not None
                                        or not 1 <= self.epochs[0] <= self.epochs[1]):
            raise ValueError(f"{self.name}: epochs averages one ingredient's epochs, uniformly: "
                             f"one ingredient, no weights, epochs [first, last], got {self.epochs}")
        if self.weights is not None and (len(self.weights) != len(self.ingredients)
                                         or min(self.weights) < 0 or abs(sum(self.weights) - 1) > 1e-6):
            raise ValueError(f"{self.name}: weights must be one share per ingredient, summing to 1, got {self.weights}")

    @classmethod
    def from_yaml(cls, path: str | Path) -> SoupConfig:
        """``name`` and ``ingredients``, and optionally ``weights`` or ``epochs`` and the selection keys of a
        single run's config (``targets``, ``logit_adjustment``, ...: ``fer.training.selection.Selection``)."""
        raw = yaml.safe_load(Path(path).read_text()) or {}
        options = {key: raw.pop(key) for key in list(raw) if key in ("weights", "epochs") or key in SELECTION_KEYS}
        unknown = set(raw) - {"name", "ingredients"}
        if unknown:
            raise ValueError(f"{path}: unknown soup key(s) {sorted(unknown)}")
        name, ingredients = read_config_list(path, "ingredients", extra=set(options))
        weights = tuple(float(w) for w in options.pop("weights")) if "weights" in options else None
        epochs = options.pop("epochs", None)
        if epochs is not None and (not isinstance(epochs, list) or len(epochs) != 2):
            raise ValueError(f"{path}: epochs is [first, last], got {epochs!r}")
        return cls(name, ingredients, weights, Selection(**options), tuple(epochs) if epochs else None)


def is_soup_config(path: str | Path) -> bool:
    return lists_configs(path, "ingredients")


def average_weights(models: Sequence[keras.Model], shares: Sequence[float] | None = None) -> list[np.ndarray]:
    """The element-wise mean of the models' weights, weighted by ``shares`` where given; they must
    share one architecture."""
    if not models:
        raise ValueError("a soup needs at least one ingredient")
    weights = [model.get_weights() for model in models]
    shapes = [[w.shape for w in ws] for ws in weights]
    if any(s != shapes[0] for s in shapes[1:]):
        raise ValueError("a soup's ingredients must share one architecture")
    return [np.average(layer, axis=0, weights=shares) for layer in zip(*weights, strict=True)]


def recalibrate_batchnorm(model: keras.Model, images: np.ndarray, batch_size: int = RECALIBRATION_BATCH) -> None:
    """Set every BatchNorm layer's moving mean and variance to the mean of its batch statistics over
    ``images`` (model inputs, in order, without augmentation: the faces it will see when serving)."""
    norms = [layer for layer in _layers(model) if isinstance(layer, keras.layers.BatchNormalization)]
    momenta = [layer.momentum for layer in norms]
    try:
        for k, start in enumerate(range(0, len(images), batch_size)):
            # moving = moving * k/(k+1) + batch/(k+1): after batch k, the mean of the first k+1.
            for layer in norms:
                layer.momentum = k / (k + 1)
            # Dropout is active as well, as it was when the statistics were first learnt.
            model(images[start:start + batch_size], training=True)
    finally:
        for layer, momentum in zip(norms, momenta, strict=True):
            layer.momentum = momentum


def epoch_snapshots(network: keras.Model, paths: Sequence[Path]) -> list[keras.Model]:
    """Copies of ``network`` (the run's best epoch, for its architecture) holding the weights kept
    in each of ``paths`` (``fer.training.rundir.epoch_weights``)."""
    missing = [str(path) for path in paths if not path.is_file()]
    if missing:
        raise FileNotFoundError(f"no kept weights at {', '.join(missing)}: the run's config needs "
                                "keep_epochs_from at or before the first epoch averaged, from its first training")
    snapshots = []
    for path in paths:
        snapshot = keras.models.clone_model(network)
        snapshot.load_weights(path)
        snapshots.append(snapshot)
    return snapshots


def make_soup(ingredients: Sequence[keras.Model], images: np.ndarray, shares: Sequence[float] | None = None) -> keras.Model:
    """A new classifier with the ingredients' mean weights (weighted by ``shares``), recalibrated on ``images``."""
    soup = keras.models.clone_model(ingredients[0])
    soup.set_weights(average_weights(ingredients, shares))
    recalibrate_batchnorm(soup, images)
    return soup


def _layers(model: keras.Model) -> list[keras.layers.Layer]:
    return [sub for layer in model.layers for sub in (_layers(layer) if isinstance(layer, keras.Model) else [layer])]
