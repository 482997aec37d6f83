from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path

import keras
import pytest
from test_training import TINY, synthetic_data

from fer.training.schedules import make_optimizer, plateau_rate, warmup_rate
from fer.training.trainer import TrainConfig, train


def test_plateau_rate_cuts_after_patience_epochs_without_a_better_loss() -> None:
    losses = [1.0, 0.9, 0.95, 0.93, 0.8, 0.85]
    # patience 1: cut at 0.95, again at 0.93 (the count restarts after a cut), none at 0.8, cut at 0.85
    assert plateau_rate(0.1, losses, factor=0.5, patience=1) == pytest.approx(0.0125)
    # patience 2: one cut, at 0.93; 0.85 is the first epoch after the new best 0.8
    assert plateau_rate(0.1, losses, factor=0.5, patience=2) == pytest.approx(0.05)
    assert plateau_rate(0.1, [], factor=0.5, patience=1) == 0.1


def test_warmup_rises_linearly_from_a_tenth_of_the_peak() -> None:
    assert warmup_rate(0.01, 0, 100) == pytest.approx(0.001)
    assert warmup_rate(0.01, 50, 100) == pytest.approx(0.0055)


def test_a_config_names_a_known_optimizer_and_schedule() -> None:
    assert isinstance(make_optimizer(replace(TINY, optimizer="adamw"), 10), keras.optimizers.AdamW)
    assert isinstance(make_optimizer(TINY, 10), keras.optimizers.SGD)
    with pytest.raises(ValueError, match="optimizer must be one of"):
        TrainConfig.from_dict({"optimizer": "adam"})
    with pytest.raises(ValueError, match="schedule must be one of"):
        TrainConfig.from_dict({"schedule": "step"})


def test_a_cosine_run_must_outlast_its_warm_up() -> None:
    with pytest.raises(ValueError, match="warmup_epochs=2, epochs=2"):
        TrainConfig.from_dict({"epochs": 2, "warmup_epochs": 2})
    with pytest.raises(ValueError, match="warmup_epochs=2, epochs=1"):
        replace(TrainConfig(), epochs=1)  # what `fer train --epochs 1` does to a default config
    assert make_optimizer(replace(TINY, schedule="plateau", epochs=1, warmup_epochs=2), 10)  # no decay to plan


@pytest.mark.slow
def test_a_resumed_plateau_run_takes_its_rate_from_the_logged_losses(tmp_path: Path) -> None:
    config = replace(TINY, schedule="plateau", learning_rate=0.02, plateau_patience=1, epochs=3)
    data = synthetic_data()
    train(replace(config, epochs=2), data, tmp_path)
    history = tmp_path / "history.csv"
    rows = _rows(history)
    assert [float(row["learning_rate"]) for row in rows] == pytest.approx([0.02, 0.02])
    rows[1]["val_loss"] = "99.0"  # as if epoch 2 had stalled: a cut is due before epoch 3
    with history.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    train(config, data, tmp_path)  # resumes at epoch 3, from the checkpoint and history.csv
    assert [float(row["learning_rate"]) for row in _rows(history)] == pytest.approx([0.02, 0.02, 0.01])


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open() as f:
        return list(csv.DictReader(f))
