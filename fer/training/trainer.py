"""Training one network: its config, one resumable ``fit``, then its finalisation.

``train`` writes a run's directory (``fer.training.rundir`` says what each file is): the config,
the best epoch's classifier, the curves, the checkpoints it resumes from; ``finalise``
(``fer.training.selection``) then chooses the shipped model on PublicTest and writes its metrics.
Running the same command again resumes from ``checkpoints/`` after an interruption.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TextIO

import keras
import numpy as np
import yaml

from fer.datasets import FerData, Split
from fer.emotions import NUM_CLASSES
from fer.imaging import to_model_input
from fer.training.calibrate import TAU_STEP, balanced_weights, clear_balanced_weights
from fer.training.distill import distilled_targets, teacher_probabilities
from fer.training.hardware import training_precision
from fer.training.mixup import MixupBatches
from fer.training.model import PRECISIONS, ArchConfig, AugmentConfig, build_classifier, build_trainer, precision
from fer.training.rundir import BEST_FILE, CONFIG_FILE, HISTORY_FILE, dedupe_history, epoch_weights, logged_epochs
from fer.training.schedules import check_choices, make_optimizer, schedule_callbacks
from fer.training.selection import SELECTION_KEYS, Selection, finalise, selection_split, vote_targets

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainConfig:
    name: str = "vgg-small"
    seed: int = 42
    epochs: int = 50
    batch_size: int = 128
    learning_rate: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 5e-4
    warmup_epochs: int = 2
    label_smoothing: float = 0.1
    optimizer: str = "sgd"  # or "adamw" (fer.training.schedules)
    schedule: str = "cosine"  # or "plateau": hold the rate, cut it when PublicTest loss stalls
    plateau_factor: float = 0.5
    plateau_patience: int = 1  # epochs without a better PublicTest loss before a cut
    # A config file (relative to this one) whose run's best weights this run starts from: a
    # second training stage, e.g. a warm restart of the learning-rate schedule.
    init_from: str | None = None
    # Knowledge distillation (fer.training.distill): config files (relative to this one) of runs whose
    # averaged probabilities on each training face make up `distill_weight` of its target.
    teachers: tuple[str, ...] = ()
    distill_weight: float = 0.5
    # "mixed_bfloat16" computes in bfloat16, which CPUs with AVX512_BF16 or AMX run faster; the saved
    # classifier is float32 either way (SaveBestClassifier).
    precision: str = "float32"
    # What each training face's target is: "labels", FER2013's single annotator's (or a folder's);
    # or "votes", FER+'s ten annotators' vote distribution (fer.votes), with `label_weight` of the
    # FER2013 label mixed in. A votes run picks its epoch by FER+ majority accuracy on PublicTest.
    targets: str = "labels"
    label_weight: float = 0.0
    # ... and on the clear training faces only (FER2013's label is the FER+ majority's: two sources
    # agree), this share of the target is that label, so that the network is sure of the faces both
    # sources are sure of, while ambiguous faces keep the crowd's split (fer.training.selection.vote_targets).
    clear_label_weight: float = 0.0
    # The votes file, beside the FER2013 CSV (`python -m fer train --votes` names another).
    votes_file: str = "ferplus.csv.gz"
    # A votes run only: lower each class's logit by tau * log(its share of the training votes), tau
    # chosen on PublicTest (fer.training.calibrate), so that clear faces of rare classes are not
    # outvoted by the crowd's prior.
    logit_adjustment: bool = False
    # ... its floor: the balanced accuracy PublicTest's clear faces (FER2013 and FER+ agree) must keep.
    clear_faces_floor: float = 0.85
    # ... and the TTA chosen with tau by that rule (fer.training.selection.Selection.tta_at_floor).
    tta_at_floor: bool = False
    # ... and its form: "power" (the class's prior to the power -tau) or "mix" (the Bayes rule for
    # (1 - tau) accuracy + tau balanced accuracy; fer.training.calibrate).
    logit_adjustment_form: str = "power"
    # ... and the step of its tau grid (fer.training.calibrate.taus).
    tau_step: float = TAU_STEP
    # Each training face's loss weighted by sum_c target_c / prior_c ** class_balance (prior: the
    # targets' own class shares; fer.training.calibrate.balanced_weights): 0 for the plain loss, 1
    # for every class weighing the same, so that the network itself, not only its decision rule,
    # learns the rare classes.
    class_balance: float = 0.0
    # The same power on the clear training faces only (FER2013's label is the FER+ majority's), among
    # themselves; every other face weighs 1 (fer.training.calibrate.clear_balanced_weights): clear
    # faces of rare classes weigh like those of common ones, the crowd's split faces as before.
    clear_class_balance: float = 0.0
    # Keep the classifier's weights after this epoch (counted from 1) and every later one in epochs/,
    # so that a soup can average the run's last epochs (stochastic weight averaging, Izmailov et
    # al., 2018). Saving weights changes nothing in the training.
    keep_epochs_from: int | None = None
    arch: ArchConfig = field(default_factory=ArchConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)

    def __post_init__(self) -> None:
        check_choices(self)
        _ = self.selection  # Selection checks its own keys
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        if not 0.0 <= self.class_balance <= 2.0:
            raise ValueError(f"class_balance is a power in 0..2, got {self.class_balance}")
        if not 0.0 <= self.clear_class_balance <= 2.0:
            raise ValueError(f"clear_class_balance is a power in 0..2, got {self.clear_class_balance}")
        if self.clear_class_balance and (self.class_balance or self.targets != "votes"):
            raise ValueError("clear_class_balance weighs the clear faces of a votes run: targets: votes, no class_balance")
        if (self.class_balance or self.clear_class_balance) and self.augment.mixup_alpha > 0:
            raise ValueError("class_balance and clear_class_balance weight each face's loss; mixup blends faces of "
                             "different weights: choose one")
        if self.keep_epochs_from is not None and not 1 <= self.keep_epochs_from <= self.epochs:
            raise ValueError(f"keep_epochs_from names one of the run's epochs, 1..{self.epochs}, got {self.keep_epochs_from}")

    @property
    def selection(self) -> Selection:
        # A run's config holds every selection key itself: a new key is a field of both, named alike.
        return Selection(**{key: getattr(self, key) for key in SELECTION_KEYS})

    @classmethod
    def from_dict(cls, raw: dict) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(raw) - known
        if unknown:
            raise ValueError(f"unknown config key(s): {sorted(unknown)}; known: {sorted(known)}")
        values = dict(raw)
        if "arch" in values:
            arch = dict(values["arch"])
            if "widths" in arch:
                arch["widths"] = tuple(arch["widths"])
            values["arch"] = ArchConfig(**arch)
        if "augment" in values:
            values["augment"] = AugmentConfig(**values["augment"])
        if "teachers" in values:
            values["teachers"] = tuple(values["teachers"])
        return cls(**values)

    @classmethod
    def from_yaml(cls, path: str | Path) -> TrainConfig:
        return cls.from_dict(yaml.safe_load(Path(path).read_text()) or {})

    def to_dict(self) -> dict:
        """Plain YAML types (lists, not tuples): what ``from_dict`` reads back."""
        raw = asdict(self)
        raw["arch"]["widths"] = list(raw["arch"]["widths"])
        raw["teachers"] = list(raw["teachers"])
        return raw

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)


def read_config_list(path: str | Path, key: str, extra: frozenset[str] | set[str] = frozenset()) -> tuple[str, tuple[Path, ...]]:
    """A config that names other configs (an ensemble's ``members``, a soup's ``ingredients``): its
    name, and the config files its ``key`` lists, resolved beside it. ``extra``: other keys it has."""
    path = Path(path)
    raw = yaml.safe_load(path.read_text()) or {}
    if set(raw) - extra != {"name", key} or not raw[key]:
        raise ValueError(f"{path}: this config has exactly `name` and a non-empty `{key}` list")
    if not all(isinstance(entry, str) for entry in raw[key]):
        raise ValueError(f"{path}: `{key}` lists config files (a run's config.yaml writes them out in full; "
                         f"train from configs/{raw['name']}.yaml)")
    return raw["name"], tuple(path.parent / entry for entry in raw[key])


def lists_configs(path: str | Path, key: str) -> bool:
    raw = yaml.safe_load(Path(path).read_text()) or {}
    return isinstance(raw, dict) and key in raw


class SaveBestClassifier(keras.callbacks.Callback):
    """Save the classifier (not the augmenting trainer, not the optimizer) on a new best val accuracy.

    ``saved_as`` is a float32 twin of a mixed-precision classifier: it takes the weights and is what
    is saved, so that the file computes in float32 like every other model (the model contract).
    """

    def __init__(self, classifier: keras.Model, path: Path, best_so_far: float,
                 saved_as: keras.Model | None = None) -> None:
        super().__init__()
        self.classifier = classifier
        self.saved_as = saved_as or classifier
        self.path = path
        self.best = best_so_far

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        val_accuracy = (logs or {}).get("val_accuracy", -1.0)
        if val_accuracy > self.best:
            self.best = val_accuracy
            self.saved_as.set_weights(self.classifier.get_weights())  # a no-op for a float32 run
            self.saved_as.save(self.path)
            logger.info("epoch %d: PublicTest accuracy %.4f, saved %s", epoch + 1, val_accuracy, self.path)


class SaveEpochWeights(keras.callbacks.Callback):
    """Save the classifier's weights (float32, as ``SaveBestClassifier`` saves it) after every epoch
    from ``first`` (counted from 1) on, each in its own file (``epoch_weights``)."""

    def __init__(self, classifier: keras.Model, saved_as: keras.Model, run_dir: Path, first: int) -> None:
        super().__init__()
        self.classifier = classifier
        self.saved_as = saved_as
        self.run_dir = run_dir
        self.first = first

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if epoch + 1 >= self.first:
            path = epoch_weights(self.run_dir, epoch + 1)
            path.parent.mkdir(exist_ok=True)
            self.saved_as.set_weights(self.classifier.get_weights())
            self.saved_as.save_weights(path)



def train(config: TrainConfig, data: FerData, out_dir: str | Path, init: str | Path | None = None,
          epochs_before: int = 0, teachers: Sequence[Path] = ()) -> dict:
    """Train (or resume) a run in ``out_dir`` and return its metrics report.

    ``init`` starts from another model's weights (same architecture), for fine-tuning; a resumed
    run takes its weights from the checkpoint instead. ``epochs_before`` is how many epochs those
    weights were trained for already. ``teachers`` are saved classifiers to distill from.
    """
    if (config.init_from and init is None) or (config.teachers and not teachers):
        # Only fer.training.recipes knows where the runs a config names live.
        raise ValueError(f"{config.name} names other runs (init_from, teachers): train it with fer.training.recipes.train_config")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / CONFIG_FILE).write_text(config.to_yaml())
    # The seed fixes the shuffling and, through the augmenting layers' own seeds (which the global
    # one does not reach), every augmentation drawn from here on. Offset by the epochs
    # the weights have already seen, so that a resumed run or a later stage draws fresh batches
    # instead of replaying the first epochs' exact ones (which the network would have memorised).
    logged = logged_epochs(out / HISTORY_FILE)  # what a resumed run has done already
    seed = config.seed + epochs_before + len(logged)
    keras.utils.set_random_seed(seed)

    computes_in = training_precision(config.precision)
    with precision(computes_in):  # the network only: augmentation interpolates in float32
        classifier = build_classifier(config.arch)
    if init is not None:
        load_weights_from(classifier, Path(init))
    trainer = build_trainer(classifier, config.augment, seed)
    saved_as = classifier if computes_in == "float32" else build_classifier(config.arch)  # float32
    steps_per_epoch = int(np.ceil(len(data.train) / config.batch_size))
    trainer.compile(
        optimizer=make_optimizer(config, steps_per_epoch),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing),
        metrics=["accuracy"],
    )
    callbacks = [
        keras.callbacks.BackupAndRestore(str(out / "checkpoints"), delete_checkpoint=False),
        SaveBestClassifier(classifier, out / BEST_FILE,
                           max((float(row["val_accuracy"]) for row in logged), default=-1.0), saved_as=saved_as),
        *([SaveEpochWeights(classifier, saved_as, out, config.keep_epochs_from)] if config.keep_epochs_from else []),
        # Before the logger, which writes what they add to an epoch's logs.
        *schedule_callbacks(config, steps_per_epoch, [float(row["val_loss"]) for row in logged]),
        keras.callbacks.CSVLogger(str(out / HISTORY_FILE), append=True),
    ]
    trainer.fit(
        **_training_data(config, data.train, seed, teachers),
        validation_data=_arrays(selection_split(data, config.targets)),
        epochs=config.epochs,
        callbacks=callbacks,
        verbose=fit_verbosity(sys.stdout),
    )
    dedupe_history(out / HISTORY_FILE)
    return finalise(out, data, config.name, config.selection)


def fit_verbosity(stream: TextIO) -> int:
    """Keras's progress bar at a terminal, where an epoch of minutes would otherwise show nothing
    until its end; one line an epoch in a log file, which the bar's redraws would fill."""
    return 1 if stream.isatty() else 2


def load_weights_from(classifier: keras.Model, path: Path) -> None:
    """Start from the weights of the first network in the file shaped like ``classifier``: the
    file's own, those of the network a TTA wrapper holds, or an ensemble's first such member."""
    shapes = [w.shape for w in classifier.get_weights()]
    source = next((network for network in nested_networks(keras.models.load_model(path, compile=False))
                   if [w.shape for w in network.get_weights()] == shapes), None)
    if source is None:
        raise ValueError(f"{path} holds no network of the config's architecture; pass the config it was trained with")
    classifier.set_weights(source.get_weights())
    logger.info("starting from the weights of %s in %s", source.name, path)


def nested_networks(model: keras.Model) -> Iterator[keras.Model]:
    """The model and every model nested in it, depth first, in layer order."""
    yield model
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from nested_networks(layer)


def _arrays(split: Split) -> tuple[np.ndarray, np.ndarray]:
    """A split as ``fit`` takes it: (N, 48, 48, 1) float32 images and one-hot targets."""
    return to_model_input(split.images), keras.utils.to_categorical(split.labels, NUM_CLASSES)


def _training_data(config: TrainConfig, split: Split, seed: int, teachers: Sequence[Path] = ()) -> dict:
    """``fit``'s training data: arrays that Keras shuffles (each face's loss weighted with
    ``class_balance``), or, with mixup, batches blended here; with teachers, the targets are
    distilled from theirs."""
    if config.targets == "votes":
        split, targets = vote_targets(split, config.label_weight, config.clear_label_weight)
        images = to_model_input(split.images)
    else:
        images, targets = _arrays(split)
    own_targets = targets
    if teachers:
        logger.info("distilling from %s", ", ".join(map(str, teachers)))
        models = [keras.models.load_model(path, compile=False) for path in teachers]
        targets = distilled_targets(targets, teacher_probabilities(models, images), config.distill_weight)
    if config.augment.mixup_alpha > 0:
        return {"x": MixupBatches(images, targets, config.batch_size, config.augment.mixup_alpha, seed)}
    arrays = {"x": images, "y": targets, "batch_size": config.batch_size}
    if config.class_balance:
        # Weighed by the annotators' targets, not the teachers': the classes are the data's.
        arrays["sample_weight"] = balanced_weights(own_targets, config.class_balance).astype(np.float32)
    if config.clear_class_balance:
        weights = clear_balanced_weights(split.labels, split.certain_mask(), config.clear_class_balance)
        arrays["sample_weight"] = weights.astype(np.float32)
    return arrays
