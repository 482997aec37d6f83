from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import keras
import numpy as np
import pytest
import yaml
from conftest import TINY_ARCH
from test_training import TINY

from fer.cli import main
from fer.training.model import ArchConfig, build_classifier
from fer.training.soup import SoupConfig, average_weights, is_soup_config, make_soup, recalibrate_batchnorm


def _faces(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 255, (n, 48, 48, 1)).astype(np.float32)


def test_average_weights_is_the_element_wise_mean() -> None:
    keras.utils.set_random_seed(1)
    a, b = build_classifier(TINY_ARCH), build_classifier(TINY_ARCH)
    for mean, wa, wb in zip(average_weights([a, b]), a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_allclose(mean, (wa + wb) / 2, rtol=1e-6)
    with pytest.raises(ValueError, match="one architecture"):
        average_weights([a, build_classifier(replace(TINY_ARCH, dense_units=16))])
    with pytest.raises(ValueError, match="at least one"):
        average_weights([])


def test_recalibration_sets_the_moving_statistics_to_those_of_the_faces() -> None:
    keras.utils.set_random_seed(2)
    model = build_classifier(ArchConfig(widths=(4, 8), convs_per_block=1, dense_units=8, dropout=0.3))
    norm = model.get_layer("b0_bn0")
    norm.moving_mean.assign(np.full(4, 50.0, np.float32))  # stale statistics, as after averaging
    norm.moving_variance.assign(np.full(4, 9.0, np.float32))
    faces = _faces(64)

    recalibrate_batchnorm(model, faces, batch_size=32)  # two equal batches: their mean is the whole's

    conv = keras.Model(model.input, model.get_layer("b0_conv0").output).predict_on_batch(faces)
    np.testing.assert_allclose(norm.moving_mean.numpy(), conv.mean(axis=(0, 1, 2)), rtol=1e-3, atol=1e-4)
    halves = [conv[:32].var(axis=(0, 1, 2)), conv[32:].var(axis=(0, 1, 2))]
    np.testing.assert_allclose(norm.moving_variance.numpy(), np.mean(halves, axis=0), rtol=1e-3)
    assert norm.momentum == 0.99  # restored for any later training


def test_a_soup_of_one_network_recalibrated_on_its_own_statistics_predicts_like_it(tiny_model: keras.Model) -> None:
    faces = _faces(32, seed=3)
    teacher = keras.models.clone_model(tiny_model)
    teacher.set_weights(tiny_model.get_weights())
    recalibrate_batchnorm(teacher, faces, batch_size=32)
    soup = make_soup([teacher, teacher], faces)
    np.testing.assert_allclose(soup.predict_on_batch(faces), teacher.predict_on_batch(faces), atol=1e-5)
    assert soup is not teacher


def test_soup_config_resolves_ingredients_beside_it(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text("name: soup\ningredients: [a.yaml, b.yaml]\n")
    assert SoupConfig.from_yaml(tmp_path / "s.yaml").ingredients == (tmp_path / "a.yaml", tmp_path / "b.yaml")
    assert is_soup_config(tmp_path / "s.yaml") and not is_soup_config("configs/vgg-small.yaml")
    (tmp_path / "bad.yaml").write_text("name: soup\ningredients: []\n")
    with pytest.raises(ValueError, match="ingredients"):
        SoupConfig.from_yaml(tmp_path / "bad.yaml")
    # A soup run's config.yaml writes its ingredients' configs out in full: a record, not a recipe.
    (tmp_path / "written.yaml").write_text(yaml.safe_dump({"name": "soup", "ingredients": [TINY.to_dict()]}))
    with pytest.raises(ValueError, match="train from configs/soup.yaml"):
        SoupConfig.from_yaml(tmp_path / "written.yaml")


def test_the_cli_refuses_epochs_for_a_soup(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text("name: soup\ningredients: [a.yaml]\n")
    with pytest.raises(SystemExit, match="single runs"):
        main(["train", "--data", str(tmp_path), "--config", str(tmp_path / "s.yaml"), "--epochs", "3"])


def test_a_weighted_soup_mixes_a_network_with_its_fine_tune(tmp_path: Path) -> None:
    # WiSE-FT: (1 - alpha) of the parent, alpha of its fine-tune.
    keras.utils.set_random_seed(3)
    parent, child = build_classifier(TINY_ARCH), build_classifier(TINY_ARCH)
    for mixed, wp, wc in zip(average_weights([parent, child], [0.25, 0.75]), parent.get_weights(), child.get_weights(),
                             strict=True):
        np.testing.assert_allclose(mixed, 0.25 * wp + 0.75 * wc, rtol=1e-5, atol=1e-7)
    path = tmp_path / "wise.yaml"
    path.write_text("name: wise\ningredients: [a.yaml, b.yaml]\nweights: [0.25, 0.75]\n"
                    "targets: votes\nlogit_adjustment: true\nclear_faces_floor: 0.8\n")
    config = SoupConfig.from_yaml(path)
    assert config.weights == (0.25, 0.75) and config.ingredients == (tmp_path / "a.yaml", tmp_path / "b.yaml")
    assert config.selection.targets == "votes" and config.selection.clear_faces_floor == 0.8
    path.write_text("name: wise\ningredients: [a.yaml, b.yaml]\nweights: [0.5, 0.7]\n")
    with pytest.raises(ValueError, match="summing to 1"):
        SoupConfig.from_yaml(path)
    path.write_text("name: wise\ningredients: [a.yaml, b.yaml]\nalpha: 0.5\n")
    with pytest.raises(ValueError, match="unknown soup key"):
        SoupConfig.from_yaml(path)
