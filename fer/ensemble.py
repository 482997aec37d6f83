"""Ensembles: several CNNs, each trained by its own config, averaged into one self-contained model.

An ensemble config names its members' config files (relative to itself)::

    name: ensemble-small-wide
    members: [vgg-small.yaml, vgg-wide.yaml]

``python -m fer train --config configs/ensemble-small-wide.yaml --out runs/E`` trains (or resumes,
or finds finished) each member in ``runs/E/<member name>/``, averages the members' best
classifiers, and then chooses test-time augmentation on PublicTest exactly as for a single run.
The ensemble's ``history.csv`` holds every member's curves, one ``member`` column apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import keras
import pandas as pd
import yaml

from fer.datasets import FerData
from fer.emotions import FACE_SIZE
from fer.training import (
    BEST_FILE,
    CONFIG_FILE,
    HISTORY_FILE,
    TrainConfig,
    finalise,
    lists_configs,
    read_config_list,
    train_from_config,
)


@dataclass(frozen=True)
class EnsembleConfig:
    name: str
    members: tuple[Path, ...]  # config files of the members

    @classmethod
    def from_yaml(cls, path: str | Path) -> EnsembleConfig:
        return cls(*read_config_list(path, "members"))


def is_ensemble_config(path: str | Path) -> bool:
    return lists_configs(path, "members")


def average(members: list[keras.Model], name: str = "fer_ensemble") -> keras.Model:
    """One model, same contract, whose probabilities are the mean of its members'."""
    inputs = keras.Input((FACE_SIZE, FACE_SIZE, 1), name="gray_0_255")
    outputs = keras.ops.mean(keras.ops.stack([member(inputs) for member in members], axis=0), axis=0)
    return keras.Model(inputs, outputs, name=name)


def train_ensemble(config: EnsembleConfig, data: FerData, out_dir: str | Path) -> dict:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    member_configs = [TrainConfig.from_yaml(path) for path in config.members]
    for path, member in zip(config.members, member_configs, strict=True):
        train_from_config(path, data, out / member.name)  # a finished run only re-checks its TTA choice
    (out / CONFIG_FILE).write_text(yaml.safe_dump(
        {"name": config.name, "members": [m.to_dict() for m in member_configs]}, sort_keys=False))
    members = [keras.models.load_model(out / m.name / BEST_FILE, compile=False) for m in member_configs]
    for member, member_config in zip(members, member_configs, strict=True):
        member.name = member_config.name.replace("-", "_")  # unique layer names inside one graph
    average(members, config.name.replace("-", "_")).save(out / BEST_FILE)
    histories = [pd.read_csv(out / m.name / HISTORY_FILE).assign(member=m.name) for m in member_configs]
    pd.concat(histories, ignore_index=True).to_csv(out / HISTORY_FILE, index=False)
    return finalise(out, data, config.name)
