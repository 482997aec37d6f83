from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path

import keras
import numpy as np
import pytest
from conftest import TINY_ARCH
from test_training import TINY, synthetic_data, with_votes

from fer.training.calibrate import TauScore, pick_by_floor
from fer.training.model import average, build_classifier, ensemble_members
from fer.training.selection import (
    TTA_VIEWS,
    TTA_WRAPPERS,
    Selection,
    ViewAnswers,
    choose_tta,
    training_prior,
    vote_targets,
)
from fer.training.trainer import train


def test_tta_choice_is_the_cheapest_affordable_one_near_the_best() -> None:
    assert TTA_VIEWS == {"none": 1, "flip": 2, "flip+shift": 10}  # derived from fer.training.model.with_tta's views
    assert choose_tta({"none": 0.650, "flip": 0.660, "flip+shift": 0.670}) == "flip"  # 10 views: over budget
    assert choose_tta({"none": 0.658, "flip": 0.660, "flip+shift": 0.670}) == "none"  # within 0.5 points
    assert choose_tta({"none": 0.650, "flip": 0.640, "flip+shift": 0.600}) == "none"
    # Two members: flip costs four passes a face, over the budget however good.
    assert choose_tta({"none": 0.650, "flip": 0.700, "flip+shift": 0.720}, members=2) == "none"
    # Three: even one view each is over two passes, but a model without views is always scored.
    assert choose_tta({"none": 0.650, "flip": 0.700, "flip+shift": 0.720}, members=3) == "none"


@pytest.mark.slow
def test_tta_at_floor_chooses_the_views_with_tau_by_the_floor_rule_over_every_affordable_view(tmp_path: Path) -> None:
    config = replace(TINY, targets="votes", logit_adjustment=True, tta_at_floor=True, label_smoothing=0.0,
                     clear_faces_floor=0.9)
    report = train(config, with_votes(synthetic_data()), tmp_path)
    adjustment = report["logit_adjustment"]
    by_view = {name: [TauScore(**s) for s in scores] for name, scores in adjustment["public_test_by_view"].items()}
    assert set(by_view) == {"none", "flip"}  # flip+shift is over the views' budget
    picked = pick_by_floor([s for scores in by_view.values() for s in scores], 0.9)
    chosen = report["test_time_augmentation"]["chosen"]
    assert picked in by_view[chosen] and adjustment["tau"] == picked.tau
    assert adjustment["public_test"] == [asdict(s) for s in by_view[chosen]]


def test_clear_label_weight_sharpens_only_the_faces_whose_label_the_crowd_agrees_with() -> None:
    train_split = with_votes(synthetic_data()).train
    kept, plain = vote_targets(train_split, 0.0)
    kept_too, sharp = vote_targets(train_split, 0.0, clear_label_weight=0.5)
    np.testing.assert_array_equal(kept.labels, kept_too.labels)
    clear = kept.labels == kept.majority()
    assert 0 < clear.sum() < len(kept)  # every fourth face the crowd calls neutral against its label
    one_hot = np.eye(7, dtype=np.float32)[kept.labels]
    np.testing.assert_allclose(sharp[clear], 0.5 * plain[clear] + 0.5 * one_hot[clear], rtol=1e-6)
    np.testing.assert_array_equal(sharp[~clear], plain[~clear])
    # A face the crowd voted 8 to 2 for its label: 0.8 of its target before, 0.9 now.
    first = kept.labels[0]
    assert first != 6 and plain[0, first] == pytest.approx(0.8) and sharp[0, first] == pytest.approx(0.9)
    # The logit adjustment's prior is that of the targets trained on.
    data = with_votes(synthetic_data())
    np.testing.assert_allclose(training_prior(data, Selection("votes", clear_label_weight=0.5)), sharp.mean(axis=0),
                               rtol=1e-5)


@pytest.mark.parametrize("step", [0.0, 0.3, 1.5, -0.1])
def test_a_tau_step_that_does_not_divide_one_is_refused(step: float) -> None:
    with pytest.raises(ValueError, match="tau step must divide 1"):
        Selection("votes", logit_adjustment=True, tau_step=step)


@pytest.mark.slow
@pytest.mark.parametrize("members", [1, 2])
def test_view_answers_average_to_what_each_tta_wrapper_answers(tiny_model, members: int) -> None:
    """finalise reads each TTA's PublicTest accuracy, and the tau scan its views, from one set of
    answers: their mean must be what the wrapped model (a network or an ensemble) answers."""
    keras.utils.set_random_seed(8)
    other = build_classifier(TINY_ARCH)
    tiny_model.name, other.name = "first", "second"
    model = tiny_model if members == 1 else average([tiny_model, other])
    faces = synthetic_data().val.images[:12, ..., None].astype(np.float32)
    answers = ViewAnswers(ensemble_members(model), faces)
    assert len(answers.networks) == members
    for name, wrap in TTA_WRAPPERS.items():
        assert len(answers.of(name)) == TTA_VIEWS[name] * members
        np.testing.assert_allclose(np.mean(answers.of(name), axis=0), wrap(model).predict(faces, verbose=0), atol=1e-5)
