from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
from conftest import TINY_ARCH

from fer.training.ensemble import EnsembleConfig, is_ensemble_config
from fer.training.model import average, build_classifier
from fer.training.selection import BY_LABELS, Selection


def test_average_is_the_mean_of_the_members_and_survives_a_save(tiny_model: keras.Model, tmp_path: Path) -> None:
    keras.utils.set_random_seed(5)
    other = build_classifier(TINY_ARCH)
    tiny_model.name, other.name = "first", "second"
    model = average([tiny_model, other])
    x = np.random.default_rng(0).uniform(0, 255, (4, 48, 48, 1)).astype(np.float32)
    expected = (tiny_model.predict_on_batch(x) + other.predict_on_batch(x)) / 2
    np.testing.assert_allclose(model.predict_on_batch(x), expected, atol=1e-6)
    model.save(tmp_path / "e.keras")
    np.testing.assert_allclose(keras.models.load_model(tmp_path / "e.keras").predict_on_batch(x), expected, atol=1e-6)


def test_ensemble_config_resolves_members_beside_it(tmp_path: Path) -> None:
    (tmp_path / "e.yaml").write_text("name: pair\nmembers: [a.yaml, b.yaml]\n")
    config = EnsembleConfig.from_yaml(tmp_path / "e.yaml")
    assert config.members == (tmp_path / "a.yaml", tmp_path / "b.yaml")
    assert is_ensemble_config(tmp_path / "e.yaml") and not is_ensemble_config("configs/vgg-small.yaml")
    (tmp_path / "bad.yaml").write_text("name: pair\nmembers: []\n")
    with pytest.raises(ValueError, match="members"):
        EnsembleConfig.from_yaml(tmp_path / "bad.yaml")


def test_an_ensemble_config_takes_a_single_runs_selection_keys(tmp_path: Path) -> None:
    (tmp_path / "e.yaml").write_text("name: pair\nmembers: [a.yaml, b.yaml]\n")
    assert EnsembleConfig.from_yaml(tmp_path / "e.yaml").selection == BY_LABELS
    (tmp_path / "crowd.yaml").write_text("name: pair\nmembers: [a.yaml, b.yaml]\ntargets: votes\n"
                                         "logit_adjustment: true\nlogit_adjustment_form: mix\nclear_faces_floor: 0.87\n")
    assert EnsembleConfig.from_yaml(tmp_path / "crowd.yaml").selection == Selection(
        "votes", logit_adjustment=True, logit_adjustment_form="mix", clear_faces_floor=0.87)
    (tmp_path / "typo.yaml").write_text("name: pair\nmembers: [a.yaml]\nlogit_ajustment: true\n")
    with pytest.raises(ValueError, match="exactly `name` and a non-empty `members`"):
        EnsembleConfig.from_yaml(tmp_path / "typo.yaml")
