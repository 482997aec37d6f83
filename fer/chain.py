"""The chain of training runs behind a model: which networks it averages, which runs each network's
weights come from, what each run started from, which labels its PublicTest curve was scored on,
and the epoch each run kept.

Read from the config record a finished run saves (``models/config.yaml``, ``fer.training.recipes.
config_record``): an ensemble's ``members``, a soup's ``ingredients``, a head refit's ``network``,
and at the leaves the runs themselves, each with its ``init_from``. The runs that only led up to a
leaf's ``init_from`` (a soup the leaves were fine-tuned from, and its own chain) are not in the
record; their recipes are in ``configs/``. Plain YAML and pandas: nothing here loads Keras.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

FERPLUS = "FER+ majority"
FER2013 = "FER2013 labels"


@dataclass(frozen=True)
class Run:
    name: str
    labels: str  # what its validation curve (PublicTest) is scored against: FERPLUS or FER2013
    parent: str | None  # the run or soup its weights started from; None: from scratch


@dataclass(frozen=True)
class Network:
    name: str  # one network of the model: an ensemble's member, or the model itself
    runs: tuple[Run, ...]  # the trainings its weights come from, in the record's order
    made_by: str  # how its runs became one network: "soup", "ensemble", "head refit" or "run"


def networks(record: Mapping[str, Any]) -> list[Network]:
    """The networks a model's config record describes: an ensemble's members, or the model's one."""
    return [Network(member["name"], tuple(_unique(_runs(member))), _made_by(member))
            for member in record.get("members", [record])]


def read_networks(path: Path) -> list[Network]:
    """``networks`` of a config record file; none where there is no file (a model copied in bare)."""
    return networks(yaml.safe_load(path.read_text()) or {}) if path.is_file() else []


def run_of(config: Mapping[str, Any]) -> Run:
    """A single run's config (its record, or its recipe in ``configs/``) as a ``Run``."""
    parent = config.get("init_from")
    # A votes run is validated on the PublicTest faces with a FER+ majority, by it (fer.training.selection).
    labels = FERPLUS if config.get("targets") == "votes" else FER2013
    return Run(str(config["name"]), labels, Path(parent).stem if parent else None)


def config_file(name: str, configs_dir: Path) -> Path | None:
    """The recipe of a run in ``configs/``: the shipped chain's, or a lost experiment's."""
    for path in (configs_dir / f"{name}.yaml", configs_dir / "experiments" / f"{name}.yaml"):
        if path.is_file():
            return path
    return None


def every_run(names: Iterable[str], known: Sequence[Network], configs_dir: Path) -> dict[str, Run]:
    """Each named run, from the model's record where it is a leaf there, else from its recipe in
    ``configs/`` (the runs that only led up to a leaf); a name with neither is left out."""
    runs = {run.name: run for network in known for run in network.runs}
    for name in names:
        path = config_file(name, configs_dir)
        if name not in runs and path is not None:
            runs[name] = run_of(yaml.safe_load(path.read_text()) or {"name": name})
    return {name: runs[name] for name in names if name in runs}


def kept_epochs(history: pd.DataFrame) -> pd.DataFrame:
    """Per run (``member``, in the history's order): its first and last epoch and the epoch it kept,
    counted from 1, with training and validation accuracy there. The kept epoch is the first with
    the run's best validation accuracy, as ``fer.training.trainer.SaveBestClassifier`` keeps it."""
    runs = history.assign(member=history.get("member", ""))
    rows = []
    for name, run in runs.groupby("member", sort=False):
        best = run.loc[run["val_accuracy"].idxmax()]
        rows.append({"run": name, "first": int(run["epoch"].min()) + 1, "last": int(run["epoch"].max()) + 1,
                     "kept": int(best["epoch"]) + 1, "accuracy": float(best["accuracy"]),
                     "val_accuracy": float(best["val_accuracy"]), "val_loss": float(best["val_loss"])})
    return pd.DataFrame(rows).set_index("run")


def _runs(record: Mapping[str, Any]) -> list[Run]:
    if "ingredients" in record or "members" in record:
        return [run for part in record.get("ingredients", record.get("members", [])) for run in _runs(part)]
    if "network" in record:
        return _runs(record["network"])
    return [run_of(record)]


def _unique(runs: Iterable[Run]) -> list[Run]:
    # Soups of soups can name one run twice: it trained once.
    return list({run.name: run for run in runs}.values())


def _made_by(record: Mapping[str, Any]) -> str:
    if "ingredients" in record:
        return "soup"
    if "members" in record:
        return "ensemble"
    return "head refit" if "network" in record else "run"


def gap_at_kept(kept: pd.DataFrame) -> str:
    """In words, how far training accuracy stood from validation's at the epochs the runs kept
    (``kept_epochs``): the over-fitting the Training metrics page asks its reader to look for."""
    gap = 100 * (kept["accuracy"] - kept["val_accuracy"])
    if gap.max() > 0:
        return f"training accuracy was up to {gap.max():.1f} points above validation's ({gap.idxmax()})"
    span = f"{-gap.max():.1f}" if round(gap.max(), 1) == round(gap.min(), 1) else f"{-gap.max():.1f} to {-gap.min():.1f}"
    return f"training accuracy was {span} points below validation's: no run had over-fitted"


def runs_table(kept: pd.DataFrame, runs: Mapping[str, Run]) -> pd.DataFrame:
    """One row per run of a history (``kept_epochs``, with ``every_run``'s parents and label sets),
    every cell filled: a blank, not None, where a run's recipe is unknown."""
    def started(name: str) -> str:
        return "" if name not in runs else runs[name].parent or "scratch"

    return pd.DataFrame({
        "run": kept.index,
        "epochs": [f"{first}–{last}" for first, last in zip(kept["first"], kept["last"], strict=True)],
        "started from": [started(name) for name in kept.index],
        "validation labels": [runs[name].labels if name in runs else "" for name in kept.index],
        "kept epoch": kept["kept"].to_numpy(),
        "training accuracy": kept["accuracy"].to_numpy(),
        "validation accuracy": kept["val_accuracy"].to_numpy(),
    })
