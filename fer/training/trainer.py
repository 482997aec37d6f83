"""Training: config, one resumable ``fit``, selection on PublicTest, metrics written beside the model.

A run directory holds everything about one run::

    config.yaml     the config that produced it
    best.keras      the classifier of the epoch with the best PublicTest accuracy (no optimizer)
    model.keras     the model to ship: best.keras, alone or averaged over its mirror image (or
                    more views), as ``choose_tta`` decides on PublicTest within the speed budget;
                    its weights stored in half precision (``fer.training.storage``)
    history.csv     per-epoch loss and accuracy, train and validation
    history_stages.csv  (a run with ``init_from``) the same, preceded by the earlier stages'
    metrics.json    PublicTest and PrivateTest metrics of model.keras, and the TTA decision
    checkpoints/    the full training state after the last finished epoch (untracked)
    epochs/         (a run with ``keep_epochs_from``) the classifier's weights after each epoch
                    from that one on, for a soup of the run's last epochs (``fer.training.soup``)

Running the same command again resumes from ``checkpoints/`` after an interruption.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, fields
from functools import partial
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import yaml

from fer.datasets import FerData, Split
from fer.emotions import NUM_CLASSES
from fer.imaging import to_model_input
from fer.metrics import write_metrics
from fer.training.calibrate import (
    FORMS,
    TAU_STEP,
    TauScore,
    adjusted,
    balanced_weights,
    clear_balanced_weights,
    logit_shift,
    pick_by_floor,
    tau_scores,
    taus,
)
from fer.training.distill import distilled_targets, teacher_probabilities
from fer.training.evaluate import evaluate_model
from fer.training.mixup import MixupBatches
from fer.training.model import (
    PRECISIONS,
    ArchConfig,
    AugmentConfig,
    build_classifier,
    build_trainer,
    ensemble_members,
    precision,
    tta_images,
    tta_views,
    with_tta,
)
from fer.training.schedules import check_choices, make_optimizer, schedule_callbacks
from fer.training.storage import save_half_precision
from fer.votes import NO_LABEL, vote_distribution

logger = logging.getLogger(__name__)

BEST_FILE = "best.keras"
MODEL_FILE = "model.keras"
HISTORY_FILE = "history.csv"
STAGES_FILE = "history_stages.csv"  # a staged run's curves with those of the runs it started from
METRICS_FILE = "metrics.json"
CONFIG_FILE = "config.yaml"
EPOCHS_DIR = "epochs"
TTA_MARGIN = 0.005
# Views per face of each test-time augmentation: a network's passes, each member's for an ensemble.
# The live app's budget is 3 ms per face on a 2-core CPU, which two passes of the shipped network
# meet (bench/: `classify`).
TTA_VIEWS = {"none": 1, "flip": tta_views(shifts=False), "flip+shift": tta_views(shifts=True)}
# Each test-time augmentation as a wrapper around a network: the shipped model's graph.
TTA_WRAPPERS: dict[str, Callable[[keras.Model], keras.Model]] = {
    "none": lambda network: network, "flip": with_tta, "flip+shift": partial(with_tta, shifts=True)}
MAX_PASSES = 2  # network passes per face, of networks the size of the shipped one
TARGETS = ("labels", "votes")


@dataclass(frozen=True)
class Selection:
    """How a finished run's shipped model is chosen on PublicTest: by FER2013's labels, or (for a
    run that learnt FER+ votes, or a soup of such runs) by the FER+ majority, with the logit
    adjustment's floor on the clear faces (``fer.training.calibrate``)."""

    targets: str = "labels"
    label_weight: float = 0.0  # the FER2013 label's share of the training targets: the prior's
    clear_label_weight: float = 0.0  # ... and its share on the clear training faces: the prior's too
    logit_adjustment: bool = False
    clear_faces_floor: float = 0.85
    # The TTA chosen with tau by the floor rule, over every affordable view and tau, rather than
    # before tau by the best accuracy at tau 0 (where flip's worth to the clear faces is not read).
    tta_at_floor: bool = False
    # The adjustment's path from the network as trained (tau 0) to balanced classes (tau 1):
    # "power" or "mix" (fer.training.calibrate.FORMS).
    logit_adjustment_form: str = "power"
    # The step of the tau grid the floor rule chooses from (fer.training.calibrate.taus).
    tau_step: float = TAU_STEP

    def __post_init__(self) -> None:
        if self.targets not in TARGETS:
            raise ValueError(f"targets must be one of {TARGETS}, got {self.targets!r}")
        if not 0.0 <= self.label_weight <= 1.0:
            raise ValueError(f"label_weight must lie in 0..1, got {self.label_weight}")
        if not 0.0 <= self.clear_label_weight <= 1.0:
            raise ValueError(f"clear_label_weight must lie in 0..1, got {self.clear_label_weight}")
        if self.logit_adjustment and self.targets != "votes":
            raise ValueError("logit_adjustment corrects the prior of FER+ votes: it needs targets: votes")
        if self.tta_at_floor and not self.logit_adjustment:
            raise ValueError("tta_at_floor chooses the TTA with the logit adjustment's tau: it needs logit_adjustment")
        if self.logit_adjustment_form not in FORMS:
            raise ValueError(f"logit_adjustment_form must be one of {FORMS}, got {self.logit_adjustment_form!r}")
        taus(self.tau_step)  # refuses a step that does not divide 1


BY_LABELS = Selection()  # chosen by FER2013's (or a folder's) labels
# The keys a soup's or an ensemble's config may set beside what it combines.
SELECTION_KEYS = frozenset(f.name for f in fields(Selection))


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
    # sources are sure of, while ambiguous faces keep the crowd's split (fer.training.trainer.vote_targets).
    clear_label_weight: float = 0.0
    # The votes file, beside the FER2013 CSV (`python -m fer train --votes` names another).
    votes_file: str = "ferplus.csv.gz"
    # A votes run only: lower each class's logit by tau * log(its share of the training votes), tau
    # chosen on PublicTest (fer.training.calibrate), so that clear faces of rare classes are not
    # outvoted by the crowd's prior.
    logit_adjustment: bool = False
    # ... its floor: the balanced accuracy PublicTest's clear faces (FER2013 and FER+ agree) must keep.
    clear_faces_floor: float = 0.85
    # ... and the TTA chosen with tau by that rule (fer.training.trainer.Selection.tta_at_floor).
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


def epoch_weights(run_dir: Path, epoch: int) -> Path:
    """Where a run with ``keep_epochs_from`` keeps its classifier's weights after ``epoch`` (from 1)."""
    return run_dir / EPOCHS_DIR / f"epoch-{epoch:02d}.weights.h5"


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

    with precision(config.precision):  # the network only: augmentation interpolates in float32
        classifier = build_classifier(config.arch)
    if init is not None:
        load_weights_from(classifier, Path(init))
    trainer = build_trainer(classifier, config.augment, seed)
    saved_as = classifier if config.precision == "float32" else build_classifier(config.arch)  # float32
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
        verbose=2,
    )
    dedupe_history(out / HISTORY_FILE)
    return finalise(out, data, config.name, config.selection)


def selection_split(data: FerData, targets: str = "labels") -> Split:
    """The PublicTest faces and labels every choice is made on: FER2013's labels, or, for a run
    that learns the FER+ votes, the faces with a FER+ majority label, labelled by it."""
    return data.val.by_majority() if targets == "votes" else data.val


def finalise(out: Path, data: FerData, config_name: str, selection: Selection = BY_LABELS,
             records: dict | None = None) -> dict:
    """Choose, on PublicTest only, whether the shipped model averages over mirrored (and shifted)
    views (and, where ``selection`` asks, its logit adjustment); save it as model.keras, its
    weights in half precision, and write its metrics, with ``records`` of choices made before."""
    best = keras.models.load_model(out / BEST_FILE, compile=False)
    answers = ViewAnswers(ensemble_members(best), to_model_input(data.val.images))
    members = len(answers.networks)
    val = selection_split(data, selection.targets)
    chosen_faces = data.val.majority() != NO_LABEL if selection.targets == "votes" else slice(None)
    val_accuracy = {
        name: float((np.mean(answers.of(name), axis=0)[chosen_faces].argmax(axis=1) == val.labels).mean())
        for name in TTA_WRAPPERS
    }
    choice = choose_tta(val_accuracy, members)
    logger.info("PublicTest accuracy by test-time augmentation: %s -> %s", val_accuracy, choice)
    shipped, adjustment = TTA_WRAPPERS[choice](best), None
    if selection.logit_adjustment:
        shipped, adjustment, choice = _logit_adjusted(best, answers, choice, data, selection)
    # The numbers are those of the file as saved, with its weights in half precision.
    save_half_precision(shipped, out / MODEL_FILE)
    report = evaluate_model(keras.models.load_model(out / MODEL_FILE, compile=False), data)
    report["config"] = config_name
    report["test_time_augmentation"] = {
        "chosen": choice, "public_test_accuracy": val_accuracy,
        "rule": f"at most {MAX_PASSES} network passes per face ({members} per view); of those, "
                + ("the logit adjustment's pick over every view and tau" if selection.tta_at_floor else
                   f"the cheapest within {TTA_MARGIN:.3f} of the best PublicTest accuracy"),
    }
    if adjustment is not None:
        report["logit_adjustment"] = adjustment
    report.update(records or {})
    write_metrics(report, out / METRICS_FILE)
    return report


class ViewAnswers:
    """What each network of a model (``ensemble_members``) answers to each test-time view of a set of
    faces, each view computed once: probabilities, the TTA's and the ensemble's average not yet taken."""

    def __init__(self, networks: list[keras.Model], faces: np.ndarray) -> None:
        self.networks, self.faces = networks, faces
        self._by_shifts: dict[bool, list[list[np.ndarray]]] = {}

    def _views(self, shifts: bool) -> list[list[np.ndarray]]:
        if shifts not in self._by_shifts:
            self._by_shifts[shifts] = [
                [network.predict(batch, batch_size=512, verbose=0) for batch in tta_images(self.faces, shifts)]
                for network in self.networks]
        return self._by_shifts[shifts]

    def of(self, tta: str) -> list[np.ndarray]:
        """Every network's answers to every view ``tta`` averages over; their mean is the model's
        answer under that TTA (``TTA_WRAPPERS``)."""
        # The first view is the face itself: "none"'s only one, so each network answers it once.
        views = self._views(tta == "flip+shift")
        return [view for per_network in views for view in (per_network[:1] if tta == "none" else per_network)]


def _logit_adjusted(best: keras.Model, answers: ViewAnswers, tta: str, data: FerData,
                    config: Selection) -> tuple[keras.Model, dict, str]:
    """``best`` with the logit adjustment chosen on PublicTest (``answers``: its networks' answers
    there), with its test-time views (``tta``, or, with ``tta_at_floor``, those the floor rule picks
    with tau); the record; the views."""
    prior = training_prior(data, config)
    # An ensemble's members are adjusted each (the shift in each one's softmax layer) and their
    # answers averaged with the views': to the tau scan every member's view is one more view.

    def scores(name: str) -> list[TauScore]:
        return tau_scores(answers.of(name), prior, config.logit_adjustment_form, data.val, config.tau_step)

    scanned = [name for name in TTA_WRAPPERS if affordable(name, len(answers.networks))] if config.tta_at_floor else [tta]
    by_view = {name: scores(name) for name in scanned}
    # Over every (views, tau): the cheaper views first, so that a tie keeps them.
    picked = pick_by_floor([score for scores in by_view.values() for score in scores], config.clear_faces_floor)
    tta = next(name for name, scanned_scores in by_view.items() if picked in scanned_scores)
    form = config.logit_adjustment_form
    record = {"tau": picked.tau, "form": form, "prior": prior.round(4).tolist(),
              "public_test": [asdict(s) for s in by_view[tta]], "floor": config.clear_faces_floor,
              "rule": f"{form} form; the most PublicTest FER+ majority accuracy among the tau whose clear faces' balanced accuracy "
                      f"on PublicTest is at least {config.clear_faces_floor}"
                      + (", over every affordable test-time augmentation" if config.tta_at_floor else "")}
    if config.tta_at_floor:
        record["public_test_by_view"] = {name: [asdict(s) for s in view_scores] for name, view_scores in by_view.items()}
    logger.info("logit adjustment (%s form): tau %g with %s", form, picked.tau, tta)
    return TTA_WRAPPERS[tta](adjusted(best, logit_shift(prior, picked.tau, form))), record, tta


def choose_tta(val_accuracy: dict[str, float], members: int = 1) -> str:
    """The cheapest affordable test-time augmentation (within MAX_PASSES for a model of ``members``
    networks) whose PublicTest accuracy is within TTA_MARGIN (about 18 of PublicTest's 3,589 faces)
    of the best affordable one."""
    within = {name: accuracy for name, accuracy in val_accuracy.items() if affordable(name, members)}
    best_accuracy = max(within.values())
    return min((name for name, accuracy in within.items() if accuracy >= best_accuracy - TTA_MARGIN),
               key=TTA_VIEWS.__getitem__)


def affordable(tta: str, members: int = 1) -> bool:
    """Whether a model of ``members`` networks with test-time augmentation ``tta`` keeps within
    MAX_PASSES a face. Without views a model is always affordable here: an ensemble's own cost is
    what `python -m bench.models` measures against the 3 ms budget."""
    return tta == "none" or TTA_VIEWS[tta] * members <= MAX_PASSES


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


def vote_targets(split: Split, label_weight: float, clear_label_weight: float = 0.0) -> tuple[Split, np.ndarray]:
    """The faces with at least one usable FER+ vote, and their targets: the vote distribution with
    ``label_weight`` of the FER2013 label's one-hot mixed in, and on the clear faces (the label is
    the FER+ majority's) ``clear_label_weight`` of the label in what that gives."""
    if split.votes is None:
        raise ValueError("targets: votes needs the FER+ votes file beside the FER2013 CSV (--votes)")
    distribution = vote_distribution(split.votes)
    usable = distribution.sum(axis=1) > 0
    logger.info("training on the FER+ votes of %d faces (%d without a usable vote left out)", usable.sum(), (~usable).sum())
    kept = split.subset(usable)
    one_hot = keras.utils.to_categorical(kept.labels, NUM_CLASSES)
    targets = (1.0 - label_weight) * distribution[usable] + label_weight * one_hot
    if clear_label_weight:
        clear = kept.certain_mask()
        logger.info("%d clear faces' targets %.2f their label", clear.sum(), clear_label_weight)
        targets[clear] = (1.0 - clear_label_weight) * targets[clear] + clear_label_weight * one_hot[clear]
    return kept, targets.astype(np.float32)


def training_prior(data: FerData, selection: Selection) -> np.ndarray:
    """Each class's share of the training targets ``selection`` names: the prior a logit adjustment
    is made against (and undone against, by ``fer.training.recipes.unpack``)."""
    return vote_targets(data.train, selection.label_weight, selection.clear_label_weight)[1].mean(axis=0)


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
