from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import keras
import numpy as np
import pytest
import yaml
from test_training import TINY, synthetic_data, with_votes

from fer.datasets import Split
from fer.training.calibrate import balanced_weights
from fer.training.rebalance import (
    Features,
    Head,
    HeadConfig,
    fit_head,
    head_of,
    with_head,
)
from fer.training.recipes import lineage, read_config, train_config


def _imbalanced(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two overlapping Gaussian classes in 8 dimensions, one standard deviation apart along the
    first; the rare one a tenth of the faces."""
    rng = np.random.default_rng(seed)
    rare = rng.random(n) < 0.1
    features = rng.normal(size=(n, 8))
    features[:, 0] += rare
    targets = np.zeros((n, 7))
    targets[np.arange(n), np.where(rare, 1, 6)] = 1.0
    return features, targets


def test_balanced_weights_give_every_class_the_same_total_at_power_one() -> None:
    _, targets = _imbalanced(500, 0)
    np.testing.assert_allclose(balanced_weights(targets, 0.0), 1.0)
    weights = balanced_weights(targets, 1.0)
    assert weights.mean() == pytest.approx(1.0)
    per_class = targets.T @ weights
    present = targets.sum(axis=0) > 0
    np.testing.assert_allclose(per_class[present], per_class[present][0])


def test_a_balanced_refit_recognises_more_of_the_rare_class() -> None:
    features, targets = _imbalanced(4000, 1)
    test_features, test_targets = _imbalanced(4000, 2)
    rare = test_targets[:, 1] == 1
    start = Head(np.zeros((8, 7)), np.zeros(7))
    recall = {}
    for power in (0.0, 1.0):
        head = fit_head(features, targets, balanced_weights(targets, power), start, l2=1e-3)
        recall[power] = (head.probabilities(test_features[rare]).argmax(axis=1) == 1).mean()
    # Unweighted, the prior of 9 to 1 hands nearly every rare face to the common class (the Bayes
    # boundary lies 2.7 deviations out); balanced, the boundary is halfway and most are recognised.
    assert recall[0.0] < 0.2 and recall[1.0] > 0.6


def test_with_head_serves_the_refit_layer(tiny_model: keras.Model) -> None:
    faces = np.random.default_rng(3).uniform(0, 255, (6, 48, 48)).astype(np.uint8)
    split = Split(faces, np.zeros(6, np.int64))
    features, mirrored = Features(tiny_model)(split)
    assert features.shape == mirrored.shape == (6, 8)
    head = Head(np.random.default_rng(4).normal(size=(8, 7)), np.linspace(-1, 1, 7))
    refit = with_head(tiny_model, head)
    np.testing.assert_allclose(refit.predict(faces[..., None].astype(np.float32), verbose=0),
                               head.probabilities(features), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(head_of(refit).bias, head.bias, rtol=1e-6)
    assert not np.allclose(head_of(tiny_model).bias, head.bias)  # the original is untouched


def test_head_config_names_its_network_beside_it_and_refuses_what_it_cannot_do(tmp_path: Path) -> None:
    path = tmp_path / "crt.yaml"
    path.write_text("name: crt\nnetwork: base.yaml\ntargets: votes\npowers: [0, 1]\n")
    config = HeadConfig.from_yaml(path)
    assert config.network == tmp_path / "base.yaml" and config.powers == (0.0, 1.0)
    assert config.selection.targets == "votes" and not config.selection.logit_adjustment
    path.write_text("name: crt\nnetwork: base.yaml\ntargets: labels\n")
    with pytest.raises(ValueError, match="needs targets: votes"):
        HeadConfig.from_yaml(path)
    path.write_text("name: crt\nnetwork: base.yaml\nepochs: 3\n")
    with pytest.raises(ValueError, match="unknown key"):
        HeadConfig.from_yaml(path)


@pytest.mark.slow
def test_a_head_config_trains_its_network_first_then_refits_only_the_softmax_layer(tmp_path: Path) -> None:
    configs = tmp_path / "configs"
    configs.mkdir()
    (configs / "base.yaml").write_text(replace(TINY, name="base", targets="votes", label_smoothing=0.0).to_yaml())
    (configs / "crt.yaml").write_text("name: crt\nnetwork: base.yaml\ntargets: votes\npowers: [0, 0.5, 1]\n"
                                      "clear_faces_floor: 0.5\n")
    assert isinstance(read_config(configs / "crt.yaml"), HeadConfig)
    assert lineage(configs / "crt.yaml") == {"crt", "base"}

    report = train_config(configs / "crt.yaml", with_votes(synthetic_data()), tmp_path / "runs" / "crt")

    base = keras.models.load_model(tmp_path / "runs" / "base" / "best.keras")
    crt = keras.models.load_model(tmp_path / "runs" / "crt" / "best.keras")
    for layer, original in zip(crt.layers, base.layers, strict=True):
        same = all(np.allclose(a, b) for a, b in zip(layer.get_weights(), original.get_weights(), strict=True))
        assert same == (layer.name != "probabilities"), layer.name
    record = report["class_balanced_head"]
    powers = [s["power"] for s in record["public_test"]]
    assert powers == [0.0, 0.5, 1.0] and record["power"] in powers
    assert report["ferplus"]["public_test"]["faces"] > 0
    saved = yaml.safe_load((tmp_path / "runs" / "crt" / "config.yaml").read_text())
    assert saved["network"]["name"] == "base" and saved["powers"] == [0.0, 0.5, 1.0]
