"""Optimisers and learning-rate schedules a training config can name.

Two optimisers (SGD with Nesterov momentum, AdamW) and two schedules, both after a linear warm-up
from a tenth of the peak rate:

- ``cosine``: decay to zero over the run's epochs, per step (a ``keras`` schedule object);
- ``plateau``: hold the rate, and multiply it by ``plateau_factor`` whenever the PublicTest loss
  has not improved for ``plateau_patience`` epochs, as ``keras.callbacks.ReduceLROnPlateau`` does.

Keras's own plateau callback keeps its count of epochs without improvement in memory, so a resumed
run would start counting again. Here the rate is a pure function of the validation losses logged
so far (``plateau_rate``), which ``fer.training.trainer`` reads back from ``history.csv`` on resume: an
interrupted run goes on at the rate it would have had.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol

import keras

OPTIMIZERS = ("sgd", "adamw")
SCHEDULES = ("cosine", "plateau")
WARMUP_START = 0.1  # the warm-up starts at this fraction of the peak rate


class ScheduleSettings(Protocol):
    """The settings of a run (``fer.training.trainer.TrainConfig`` has them) that this module reads."""

    @property
    def epochs(self) -> int: ...

    @property
    def learning_rate(self) -> float: ...

    @property
    def momentum(self) -> float: ...

    @property
    def weight_decay(self) -> float: ...

    @property
    def warmup_epochs(self) -> int: ...

    @property
    def optimizer(self) -> str: ...

    @property
    def schedule(self) -> str: ...

    @property
    def plateau_factor(self) -> float: ...

    @property
    def plateau_patience(self) -> int: ...


def check_choices(config: ScheduleSettings) -> None:
    """Refuse, with the setting at fault named, a config the optimiser or its schedule cannot run."""
    if config.optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {config.optimizer!r}")
    if config.schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES}, got {config.schedule!r}")
    if config.schedule == "cosine" and not 0 <= config.warmup_epochs < config.epochs:
        # Keras's CosineDecay would only say that its decay_steps must be positive.
        raise ValueError(f"a cosine schedule warms up for fewer epochs than it runs: "
                         f"warmup_epochs={config.warmup_epochs}, epochs={config.epochs}")


def make_optimizer(config: ScheduleSettings, steps_per_epoch: int) -> keras.optimizers.Optimizer:
    """The config's optimiser, driven by its schedule (a plateau schedule also needs ``schedule_callbacks``)."""
    # A plateau schedule's rate is set by PlateauSchedule before every step that needs it.
    rate: float | keras.optimizers.schedules.LearningRateSchedule = config.learning_rate * WARMUP_START
    if config.schedule == "cosine":
        warmup_steps = config.warmup_epochs * steps_per_epoch
        rate = keras.optimizers.schedules.CosineDecay(
            initial_learning_rate=config.learning_rate * WARMUP_START,
            decay_steps=config.epochs * steps_per_epoch - warmup_steps,
            warmup_target=config.learning_rate,
            warmup_steps=warmup_steps,
        )
    if config.optimizer == "adamw":
        return keras.optimizers.AdamW(learning_rate=rate, weight_decay=config.weight_decay)
    return keras.optimizers.SGD(learning_rate=rate, momentum=config.momentum, nesterov=True,
                                weight_decay=config.weight_decay)


def schedule_callbacks(config: ScheduleSettings, steps_per_epoch: int, val_losses: list[float]) -> list[keras.callbacks.Callback]:
    """Callbacks the schedule needs during ``fit``, given the validation losses of the epochs a resumed
    run has already logged: none for cosine, which lives in the optimiser."""
    if config.schedule != "plateau":
        return []
    return [PlateauSchedule(config, steps_per_epoch, val_losses)]


def plateau_rate(peak: float, val_losses: Sequence[float], factor: float, patience: int) -> float:
    """The rate after these epochs' validation losses: ``peak``, times ``factor`` each time the loss
    has gone ``patience`` epochs without beating its best (the count then starts again)."""
    rate, best, waited = peak, math.inf, 0
    for loss in val_losses:
        if loss < best:
            best, waited = loss, 0
            continue
        waited += 1
        if waited >= patience:
            rate, waited = rate * factor, 0
    return rate


def warmup_rate(peak: float, step: int, warmup_steps: int) -> float:
    """The linear warm-up from ``WARMUP_START * peak`` to ``peak``, as ``CosineDecay``'s."""
    start = peak * WARMUP_START
    return start + (peak - start) * step / warmup_steps


class PlateauSchedule(keras.callbacks.Callback):
    """Sets the optimiser's rate: the warm-up per step, then ``plateau_rate`` of the epochs so far;
    adds the rate each epoch ended at to its logs."""

    def __init__(self, config: ScheduleSettings, steps_per_epoch: int, val_losses: list[float]) -> None:
        super().__init__()
        self.config = config
        self.steps_per_epoch = steps_per_epoch
        self.val_losses = val_losses
        self.epoch = 0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.epoch = epoch
        del self.val_losses[epoch:]  # a resumed epoch logged before its checkpoint was saved
        self._set(plateau_rate(self.config.learning_rate, self.val_losses, self.config.plateau_factor,
                               self.config.plateau_patience))

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        step, warmup_steps = self.epoch * self.steps_per_epoch + batch, self.config.warmup_epochs * self.steps_per_epoch
        if step < warmup_steps:
            self._set(warmup_rate(self.config.learning_rate, step, warmup_steps))

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs if logs is not None else {}
        self.val_losses.append(float(logs["val_loss"]))
        logs["learning_rate"] = float(self.model.optimizer.learning_rate)  # history.csv's record of the cuts

    def _set(self, rate: float) -> None:
        self.model.optimizer.learning_rate = rate

