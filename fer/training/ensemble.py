"""Ensembles: several CNNs, each trained by its own config, averaged into one self-contained model.

An ensemble config names its members' config files (relative to itself)::

    name: ensemble-lineages
    members: [vgg-wide-soup.yaml, vgg-wide-erase-r2.yaml, vgg-small.yaml]

A member may be a single network, a staged run or a soup. ``python -m fer train --config
configs/experiments/ensemble-lineages.yaml --out runs/ensemble-lineages`` trains (or resumes, or
finds finished) each member beside the ensemble, in ``runs/<member name>/``, averages the members'
best classifiers, and then chooses test-time augmentation on PublicTest exactly as for a single run
(``fer.training.recipes.train_ensemble``), each member's pass counted against the budget of passes
a face. With the selection keys of a single run's config (``targets: votes``, ``logit_adjustment``,
...) it is chosen by the FER+ majority, the logit adjustment folded into each member's softmax
layer. The ensemble's ``history.csv`` holds every member's curves, each stage named in a ``member``
column.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from fer.training.selection import BY_LABELS, SELECTION_KEYS, Selection
from fer.training.trainer import lists_configs, read_config_list


@dataclass(frozen=True)
class EnsembleConfig:
    name: str
    members: tuple[Path, ...]  # config files of the members
    # How the averaged model's TTA (and logit adjustment) is chosen on PublicTest: as a single run's.
    selection: Selection = BY_LABELS

    @classmethod
    def from_yaml(cls, path: str | Path) -> EnsembleConfig:
        """``name`` and ``members``, and optionally the selection keys of a single run's config
        (``targets``, ``logit_adjustment``, ...: ``fer.training.selection.Selection``)."""
        raw = yaml.safe_load(Path(path).read_text()) or {}
        options = {key: value for key, value in raw.items() if key in SELECTION_KEYS}
        name, members = read_config_list(path, "members", extra=set(options))
        return cls(name, members, Selection(**options))


def is_ensemble_config(path: str | Path) -> bool:
    return lists_configs(path, "members")


def layer_name(run_name: str) -> str:
    """The name a member run's network takes inside an ensemble's graph (unique there, and how
    ``fer.training.recipes.unpack`` finds it again)."""
    return run_name.replace("-", "_")
