from __future__ import annotations

from dataclasses import replace

import keras
import numpy as np
import pytest

from fer.training.model import (
    TTA_SHIFT,
    ArchConfig,
    AugmentConfig,
    build_augmenter,
    build_classifier,
    tta_network,
    with_shift_tta,
    with_tta,
)
from fer.views import tta_images


def test_flip_tta_averages_the_face_and_its_mirror(tiny_model: keras.Model, tmp_path) -> None:
    x = np.random.default_rng(0).uniform(0, 255, (3, 48, 48, 1)).astype(np.float32)
    expected = (tiny_model.predict(x, verbose=0) + tiny_model.predict(x[:, :, ::-1], verbose=0)) / 2
    tta = with_tta(tiny_model)
    tta.save(tmp_path / "tta.keras")
    reloaded = keras.models.load_model(tmp_path / "tta.keras")  # plain Keras, safe mode
    np.testing.assert_allclose(reloaded.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)
    # A mirrored face gets exactly the same answer.
    np.testing.assert_allclose(reloaded.predict(x[:, :, ::-1], verbose=0), expected, rtol=1e-5, atol=1e-6)


def test_shift_tta_averages_ten_views(tiny_model: keras.Model, tmp_path) -> None:
    x = np.random.default_rng(2).uniform(0, 255, (2, 48, 48, 1)).astype(np.float32)
    s = TTA_SHIFT
    padded = np.pad(x, [(0, 0), (s, s), (s, s), (0, 0)], mode="reflect")
    views = [padded[:, s + dy: s + dy + 48, s + dx: s + dx + 48] for dx, dy in [(0, 0), (s, 0), (-s, 0), (0, s), (0, -s)]]
    views += [v[:, :, ::-1] for v in views]
    expected = np.mean([tiny_model.predict(v, verbose=0) for v in views], axis=0)
    tta = with_tta(tiny_model, shifts=True)
    tta.save(tmp_path / "tta.keras")
    np.testing.assert_allclose(keras.models.load_model(tmp_path / "tta.keras").predict(x, verbose=0), expected,
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("shifts", [False, True])
def test_tta_images_are_the_views_with_tta_averages(tiny_model: keras.Model, shifts: bool) -> None:
    x = np.random.default_rng(5).uniform(0, 255, (3, 48, 48, 1)).astype(np.float32)
    views = tta_images(x, shifts)
    assert len(views) == (10 if shifts else 2) and all(view.shape == x.shape for view in views)
    expected = with_tta(tiny_model, shifts).predict(x, verbose=0)
    np.testing.assert_allclose(np.mean([tiny_model.predict(v, verbose=0) for v in views], axis=0), expected,
                               rtol=1e-5, atol=1e-6)


def test_thorough_views_reach_the_network_inside_a_saved_flip_model(tiny_model: keras.Model, tmp_path) -> None:
    x = np.random.default_rng(3).uniform(0, 255, (2, 48, 48, 1)).astype(np.float32)
    expected = with_tta(tiny_model, shifts=True).predict(x, verbose=0)
    with_tta(tiny_model).save(tmp_path / "flip.keras")  # as a finished run ships it
    thorough = with_shift_tta(keras.models.load_model(tmp_path / "flip.keras"))
    np.testing.assert_allclose(thorough.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)
    # Ten passes of the bare network, not ten of the two-view wrapper.
    (inner,) = [layer for layer in thorough.layers if isinstance(layer, keras.Model)]
    assert inner.name == tiny_model.name
    # A bare network gets the same ten views.
    np.testing.assert_allclose(with_shift_tta(tiny_model).predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)


def test_tta_network_takes_the_network_out_of_either_saved_wrapper(tiny_model: keras.Model, tmp_path) -> None:
    x = np.random.default_rng(4).uniform(0, 255, (2, 48, 48, 1)).astype(np.float32)
    for shifts in (False, True):
        with_tta(tiny_model, shifts=shifts).save(tmp_path / "wrapped.keras")
        network = tta_network(keras.models.load_model(tmp_path / "wrapped.keras"))
        assert network.name == tiny_model.name
        np.testing.assert_allclose(network.predict(x, verbose=0), tiny_model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    assert tta_network(tiny_model) is tiny_model  # a bare network is its own


def test_augmenter_changes_images_in_training_only() -> None:
    x = np.random.default_rng(1).uniform(0, 255, (4, 48, 48, 1)).astype(np.float32)
    augment = build_augmenter(AugmentConfig(erase_probability=0.5), seed=0)
    np.testing.assert_array_equal(augment(x, training=False), x)
    trained = keras.ops.convert_to_numpy(augment(x, training=True))
    assert trained.shape == x.shape and not np.allclose(trained, x)
    assert trained.min() >= 0 and trained.max() <= 255


@pytest.mark.slow
def test_residual_network_honours_the_contract(tmp_path) -> None:
    model = build_classifier(ArchConfig(widths=(4, 8), convs_per_block=4, dense_units=8, residual=True))
    model.save(tmp_path / "resnet.keras")
    reloaded = keras.models.load_model(tmp_path / "resnet.keras")
    x = np.random.default_rng(3).uniform(0, 255, (5, 48, 48, 1)).astype(np.float32)
    probabilities = reloaded.predict(x, verbose=0)
    assert probabilities.shape == (5, 7)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(probabilities, model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_residual_pair_adds_its_input_to_its_output() -> None:
    model = build_classifier(ArchConfig(widths=(4,), convs_per_block=4, dense_units=8, residual=True))
    # Silence the second pair's residual branch: its BatchNorm then outputs zeros, so the pair must
    # pass its input through the shortcut unchanged (it is a ReLU output already).
    bn = model.get_layer("b0_pair1_bn1")
    bn.set_weights([np.zeros_like(w) if i < 2 else w for i, w in enumerate(bn.get_weights())])
    x = np.random.default_rng(4).uniform(0, 255, (2, 48, 48, 1)).astype(np.float32)
    pair_in, pair_out = keras.Model(model.input, [model.get_layer("b0_pair0_relu1").output,
                                                  model.get_layer("b0_pair1_relu1").output]).predict_on_batch(x)
    assert pair_in.max() > 0
    np.testing.assert_allclose(pair_out, pair_in, rtol=1e-6)


def test_residual_network_needs_convolutions_in_pairs() -> None:
    with pytest.raises(ValueError, match="in pairs"):
        ArchConfig(convs_per_block=3, residual=True)


@pytest.mark.slow
def test_larger_input_size_upsamples_inside_the_graph_and_keeps_the_48x48_weights(tmp_path) -> None:
    arch = ArchConfig(widths=(4, 8, 8, 8), convs_per_block=2, dense_units=8, residual=True)
    small = build_classifier(arch)
    large = build_classifier(replace(arch, input_size=56))
    # Four 2x2 pools leave 3x3 maps at 48 and at 56: the flattened head fits both.
    assert [w.shape for w in large.get_weights()] == [w.shape for w in small.get_weights()]
    large.set_weights(small.get_weights())
    large.save(tmp_path / "large.keras")
    reloaded = keras.models.load_model(tmp_path / "large.keras")  # still the contract's 48x48 input
    x = np.random.default_rng(5).uniform(0, 255, (4, 48, 48, 1)).astype(np.float32)
    probabilities = reloaded.predict(x, verbose=0)
    assert probabilities.shape == (4, 7)
    np.testing.assert_allclose(probabilities, large.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    # The same weights on more positions give a different answer: the upsampling is really there.
    assert not np.allclose(probabilities, small.predict(x, verbose=0), atol=1e-4)
    assert reloaded.get_layer("upsample").output.shape[1:3] == (56, 56)


def test_input_size_below_the_faces_is_refused() -> None:
    with pytest.raises(ValueError, match="input_size below"):
        ArchConfig(input_size=40)
