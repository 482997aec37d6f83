"""How a finished run's shipped model is chosen on PublicTest, and written beside it (``finalise``).

A ``Selection`` names the targets a run is judged by (FER2013's labels, or the FER+ majority, the
training targets' prior with them), the test-time views it may afford, and, for a votes run, the
logit adjustment's rule (``fer.training.calibrate``). ``finalise`` applies it to a run's
``best.keras``: the shipped ``model.keras`` and its ``metrics.json``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from functools import partial
from pathlib import Path

import keras
import numpy as np

from fer.datasets import FerData, Split
from fer.emotions import NUM_CLASSES
from fer.imaging import to_model_input
from fer.metrics import file_sha256, write_metrics
from fer.training.calibrate import FORMS, TAU_STEP, TauScore, adjusted, logit_shift, pick_by_floor, tau_scores, taus
from fer.training.evaluate import evaluate_model
from fer.training.model import ensemble_members, tta_views, with_tta
from fer.training.rundir import BEST_FILE, METRICS_FILE, MODEL_FILE
from fer.training.storage import save_half_precision
from fer.views import tta_images
from fer.votes import NO_LABEL, vote_distribution

logger = logging.getLogger(__name__)

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
    report["model_sha256"] = file_sha256(out / MODEL_FILE)  # ties the numbers to the file they scored
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

