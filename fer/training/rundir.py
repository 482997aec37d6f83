"""A run's directory: what each file in it is, and the curves the trainer logs there.

    config.yaml     the config that produced it
    best.keras      the classifier of the epoch with the best PublicTest accuracy (no optimizer)
    model.keras     the model to ship: best.keras, alone or averaged over its mirror image (or
                    more views), as ``fer.training.selection.choose_tta`` decides on PublicTest
                    within the speed budget; its weights stored in half precision
                    (``fer.training.storage``)
    history.csv     per-epoch loss and accuracy, train and validation
    history_stages.csv  (a run with ``init_from``) the same, preceded by the earlier stages'
    metrics.json    PublicTest and PrivateTest metrics of model.keras, and the TTA decision
    checkpoints/    the full training state after the last finished epoch (untracked)
    epochs/         (a run with ``keep_epochs_from``) the classifier's weights after each epoch
                    from that one on, for a soup of the run's last epochs (``fer.training.soup``)
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

BEST_FILE = "best.keras"
MODEL_FILE = "model.keras"
HISTORY_FILE = "history.csv"
STAGES_FILE = "history_stages.csv"  # a staged run's curves with those of the runs it started from
METRICS_FILE = "metrics.json"
CONFIG_FILE = "config.yaml"
EPOCHS_DIR = "epochs"


def epoch_weights(run_dir: Path, epoch: int) -> Path:
    """Where a run with ``keep_epochs_from`` keeps its classifier's weights after ``epoch`` (from 1)."""
    return run_dir / EPOCHS_DIR / f"epoch-{epoch:02d}.weights.h5"


def trained_epochs(run_dir: Path) -> int:
    """Epochs behind a run's latest weights, its earlier stages' included (0 for a new run)."""
    return _epochs_logged(full_history(run_dir))


def full_history(run_dir: Path) -> Path:
    """The history of every stage behind a run: its staged history if it has one."""
    stages = run_dir / STAGES_FILE
    return stages if stages.exists() else run_dir / HISTORY_FILE


def _epochs_logged(history_csv: Path) -> int:
    # Not logged_epochs: a soup's or a staged run's history holds several members' rows per epoch.
    rows = _read_rows(history_csv) if history_csv.exists() else []
    return max((int(row["epoch"]) + 1 for row in rows), default=0)


def write_staged_history(parent_out: Path, out: Path, name: str) -> None:
    """``history_stages.csv``: the parent's curves (all its own stages) then this run's, epochs
    counted on from the parent's, one ``member`` column naming the stage: a staged model's whole
    training on one chart."""
    parent = _read_rows(full_history(parent_out))
    if "member" not in parent[0]:
        parent = [{**row, "member": parent_out.name} for row in parent]
    offset = trained_epochs(parent_out)
    own = [{**row, "epoch": str(int(row["epoch"]) + offset), "member": name} for row in _read_rows(out / HISTORY_FILE)]
    with (out / STAGES_FILE).open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(parent[0]))
        writer.writeheader()
        writer.writerows(parent + own)


def write_combined_history(runs: Sequence[Path], path: Path) -> None:
    """The curves of the runs a soup or an ensemble combines, on one chart: each stage once (runs
    may share their first stages), named in a ``member`` column."""
    histories = []
    for run in runs:
        history = pd.read_csv(full_history(run))
        histories.append(history if "member" in history else history.assign(member=run.name))
    pd.concat(histories).drop_duplicates(["member", "epoch"]).to_csv(path, index=False)


def _read_rows(path: Path) -> list[dict[str, str]]:
    with path.open() as f:
        return list(csv.DictReader(f))


def logged_epochs(history_csv: Path) -> list[dict[str, str]]:
    """One logged row per epoch, in order: the last of an epoch logged twice (an epoch interrupted
    after logging is logged again on resume); none where nothing was logged yet."""
    rows = {int(row["epoch"]): row for row in _read_rows(history_csv)} if history_csv.exists() else {}
    return [rows[epoch] for epoch in sorted(rows)]


def dedupe_history(history_csv: Path) -> None:
    """Rewrite ``history_csv`` with one row per epoch (``logged_epochs``)."""
    rows = logged_epochs(history_csv)  # read before the file is truncated for writing
    if not rows:
        return
    with history_csv.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
