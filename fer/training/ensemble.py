"""Ensembles: several CNNs, each trained by its own config, averaged into one self-contained model.

An ensemble config names its members' config files (relative to itself)::

    name: ensemble-lineages
    members: [vgg-wide-soup.yaml, vgg-wide-erase-r2.yaml, vgg-small.yaml]

A member may be a single network, a staged run or a soup. ``python -m fer train --config
configs/experiments/ensemble-lineages.yaml --out runs/ensemble-lineages`` trains (or resumes, or finds finished)
each member beside the ensemble, in ``runs/<member name>/``, averages the members' best classifiers,
and then chooses test-time augmentation on PublicTest exactly as for a single run
(``fer.training.recipes.train_ensemble``). The ensemble's ``history.csv`` holds every member's curves, each
stage named in a ``member`` column.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import keras

from fer.emotions import FACE_SIZE
from fer.training.trainer import lists_configs, read_config_list


@dataclass(frozen=True)
class EnsembleConfig:
    name: str
    members: tuple[Path, ...]  # config files of the members

    @classmethod
    def from_yaml(cls, path: str | Path) -> EnsembleConfig:
        return cls(*read_config_list(path, "members"))


def is_ensemble_config(path: str | Path) -> bool:
    return lists_configs(path, "members")


def layer_name(run_name: str) -> str:
    """The name a member run's network takes inside an ensemble's graph (unique there, and how
    ``fer.training.recipes.unpack`` finds it again)."""
    return run_name.replace("-", "_")


def average(members: list[keras.Model], name: str = "fer_ensemble") -> keras.Model:
    """One model, same contract, whose probabilities are the mean of its members'."""
    inputs = keras.Input((FACE_SIZE, FACE_SIZE, 1), name="gray_0_255")
    outputs = keras.ops.mean(keras.ops.stack([member(inputs) for member in members], axis=0), axis=0)
    return keras.Model(inputs, outputs, name=name)
