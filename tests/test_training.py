from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import TINY_ARCH

from fer.datasets import FerData, Split
from fer.imaging import to_model_input
from fer.training import hardware
from fer.training import trainer as training
from fer.training.model import AugmentConfig, build_classifier
from fer.training.rundir import epoch_weights
from fer.training.selection import choose_tta, vote_targets
from fer.training.soup import epoch_snapshots
from fer.training.trainer import TrainConfig, train

TINY = TrainConfig(name="tiny", epochs=1, batch_size=16, warmup_epochs=0, arch=TINY_ARCH)


def synthetic_data() -> FerData:
    """Two separable 'emotions': bright top half vs bright bottom half, with noise."""
    rng = np.random.default_rng(0)

    def split(n: int) -> Split:
        labels = rng.integers(0, 2, n) * 3  # angry (0) or happy (3)
        images = rng.integers(0, 60, (n, 48, 48)).astype(np.uint8)
        for img, label in zip(images, labels, strict=True):
            half = slice(0, 24) if label == 0 else slice(24, 48)
            img[half] += 150
        return Split(images, labels)

    return FerData(split(96), split(32), split(32))


def test_config_round_trips_through_yaml(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(TINY.to_yaml())
    assert TrainConfig.from_yaml(path) == TINY
    assert TrainConfig.from_yaml("configs/vgg-small.yaml").name == "vgg-small"


def test_unknown_config_key_is_refused() -> None:
    with pytest.raises(ValueError, match=r"unknown config key.*epoch"):
        TrainConfig.from_dict({"epoch": 3})


@pytest.mark.slow
def test_train_writes_run_files_and_resumes(tmp_path: Path) -> None:
    data = synthetic_data()
    report = train(TINY, data, tmp_path)
    for name in ("config.yaml", "best.keras", "model.keras", "history.csv", "metrics.json"):
        assert (tmp_path / name).is_file(), name
    assert (tmp_path / "checkpoints").is_dir()
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics == json.loads(json.dumps(report))
    assert set(metrics) >= {"public_test", "private_test", "class_counts"}
    assert len(metrics["private_test"]["confusion_matrix"]) == 7

    # Asking for more epochs resumes from the checkpoint instead of starting over.
    train(replace(TINY, epochs=3), data, tmp_path)
    with (tmp_path / "history.csv").open() as f:
        epochs = [int(row["epoch"]) for row in csv.DictReader(f)]
    assert epochs == [0, 1, 2]
    assert json.loads((tmp_path / "metrics.json").read_text())["private_test"]["accuracy"] > 0.75
    saved = keras.models.load_model(tmp_path / "model.keras")
    assert saved.name.startswith("fer_vgg")  # the classifier (maybe with TTA), not the augmenting trainer
    assert tuple(saved.input_shape) == (None, 48, 48, 1) and tuple(saved.output_shape) == (None, 7)
    tta = metrics["test_time_augmentation"]
    assert set(tta["public_test_accuracy"]) == {"none", "flip", "flip+shift"}
    assert tta["chosen"] == choose_tta(tta["public_test_accuracy"])


@pytest.mark.slow
def test_a_run_keeps_its_classifier_after_each_epoch_from_the_one_named(tmp_path: Path) -> None:
    data = synthetic_data()
    train(replace(TINY, epochs=2, keep_epochs_from=2), data, tmp_path / "late")
    assert [p.name for p in (tmp_path / "late" / "epochs").iterdir()] == ["epoch-02.weights.h5"]

    train(replace(TINY, epochs=3, keep_epochs_from=1), data, tmp_path / "all")
    best = keras.models.load_model(tmp_path / "all" / "best.keras")
    kept = epoch_snapshots(best, [epoch_weights(tmp_path / "all", epoch) for epoch in (1, 2, 3)])
    # Each file is that epoch's network: the best epoch's is best.keras's, and training moved between them.
    history = pd.read_csv(tmp_path / "all" / "history.csv")
    for a, b in zip(kept[int(history.val_accuracy.idxmax())].get_weights(), best.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(kept[1].get_weights()[0], kept[2].get_weights()[0])


@pytest.mark.parametrize("first", [0, 4])
def test_keeping_epochs_the_run_does_not_have_is_refused(first: int) -> None:
    with pytest.raises(ValueError, match=r"keep_epochs_from names one of the run's epochs, 1\.\.3"):
        replace(TINY, epochs=3, keep_epochs_from=first)


@pytest.mark.slow
def test_a_resumed_run_draws_fresh_augmentations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Keras's seeded augmentation layers ignore the global seed: the trainer must get the offset one.
    seeds: list[int] = []
    build = training.build_trainer

    def recording_build(classifier: keras.Model, aug: AugmentConfig, seed: int) -> keras.Model:
        seeds.append(seed)
        return build(classifier, aug, seed)

    monkeypatch.setattr(training, "build_trainer", recording_build)
    data = synthetic_data()
    train(TINY, data, tmp_path)
    train(replace(TINY, epochs=2), data, tmp_path)
    assert seeds == [TINY.seed, TINY.seed + 1]


@pytest.fixture
def fitted_policies(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """The dtype policies of the layers of every classifier a run goes on to fit."""
    policies: set[str] = set()
    build = training.build_trainer

    def recording_build(classifier: keras.Model, aug: AugmentConfig, seed: int) -> keras.Model:
        policies.update(layer.dtype_policy.name for layer in classifier.layers)
        return build(classifier, aug, seed)

    monkeypatch.setattr(training, "build_trainer", recording_build)
    return policies


@pytest.mark.slow
def test_a_mixed_precision_run_learns_and_saves_a_float32_classifier(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fitted_policies: set[str]) -> None:
    # As on a CPU with bfloat16 instructions, whatever this machine has (fer.training.hardware).
    monkeypatch.setattr(hardware, "on_accelerator", lambda: False)
    monkeypatch.setattr(hardware, "cpu_has_bfloat16", lambda cpuinfo: True)
    data = synthetic_data()
    report = train(replace(TINY, epochs=3, precision="mixed_bfloat16"), data, tmp_path)
    assert fitted_policies == {"mixed_bfloat16", "float32"}  # bfloat16 throughout but the probabilities
    assert report["private_test"]["accuracy"] > 0.75
    assert keras.config.dtype_policy().name == "float32"  # the global policy is put back
    best = keras.models.load_model(tmp_path / "best.keras", compile=False)
    assert {layer.dtype_policy.name for layer in best.layers} == {"float32"}
    probabilities = best.predict(to_model_input(data.test.images), verbose=0)
    assert probabilities.dtype == np.float32
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.slow
def test_a_bfloat16_run_on_a_cpu_without_bfloat16_trains_in_float32(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fitted_policies: set[str]) -> None:
    monkeypatch.setattr(hardware, "on_accelerator", lambda: False)
    monkeypatch.setattr(hardware, "cpu_has_bfloat16", lambda cpuinfo: False)  # an AVX2-only CPU
    train(replace(TINY, precision="mixed_bfloat16"), synthetic_data(), tmp_path / "run")
    assert fitted_policies == {"float32"}
    # The run's record keeps the recipe as written; the log says what it computed in.
    assert yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())["precision"] == "mixed_bfloat16"


def test_an_unknown_precision_is_refused() -> None:
    with pytest.raises(ValueError, match="precision must be one of"):
        replace(TINY, precision="float16")


@pytest.mark.slow
def test_init_starts_from_another_models_weights(tmp_path: Path, tiny_model: keras.Model) -> None:
    source = tmp_path / "source.keras"
    tiny_model.save(source)
    config = replace(TINY, learning_rate=0.0, weight_decay=0.0, warmup_epochs=0)  # no step may move the weights
    train(config, synthetic_data(), tmp_path / "run", init=source)
    tuned = keras.models.load_model(tmp_path / "run" / "best.keras")
    conv = next(w for w in tuned.weights if "conv" in w.path)
    original = next(w for w in tiny_model.weights if w.path == conv.path)
    np.testing.assert_allclose(conv.numpy(), original.numpy())


def test_a_config_naming_other_runs_is_not_trained_without_them(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="fer.training.recipes"):
        train(replace(TINY, teachers=("teacher.yaml",)), synthetic_data(), tmp_path)
    with pytest.raises(ValueError, match="fer.training.recipes"):
        train(replace(TINY, init_from="parent.yaml"), synthetic_data(), tmp_path)


def test_init_from_a_different_architecture_is_refused(tmp_path: Path) -> None:
    from fer.training.model import ArchConfig, build_classifier

    other = tmp_path / "other.keras"
    build_classifier(ArchConfig(widths=(4,), convs_per_block=1, dense_units=8)).save(other)
    with pytest.raises(ValueError, match="no network of the config.s architecture"):
        train(TINY, synthetic_data(), tmp_path / "run", init=other)


def stripes(n: int, seed: int) -> Split:
    """Horizontal stripes (angry) against vertical ones (happy), at random phases, with noise:
    visible to raw pixels and to HOG alike."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n) * 3
    images = rng.integers(0, 40, (n, 48, 48)).astype(np.uint8)
    for img, label, phase in zip(images, labels, rng.integers(0, 8, n), strict=True):
        bands = ((np.arange(48) + phase) // 4) % 2 == 0
        if label == 0:
            img[bands, :] += 180
        else:
            img[:, bands] += 180
    return Split(images, labels)


@pytest.mark.slow
def test_baselines_beat_chance_on_separable_faces() -> None:
    from fer.training.baselines import BASELINES, hog, run_baselines

    assert hog(np.zeros((2, 48, 48), np.uint8)).shape == (2, 900)
    data = FerData(stripes(200, 0), stripes(40, 1), stripes(40, 2))  # more faces than PCA components
    report = run_baselines(data)
    assert list(report) == [b.name for b in BASELINES]
    accuracy = {name: row["private_test_accuracy"] for name, row in report.items()}
    assert min(accuracy.values()) > 0.65, accuracy  # chance is 0.5
    assert accuracy["HOG + SVM"] > 0.95, accuracy  # orientation is exactly what HOG measures
    assert "ferplus_private_test_accuracy" not in report["HOG + SVM"]  # no votes read

    # With votes, the same answers are scored against the FER+ majority too (the faces with one).
    voted = run_baselines(with_votes(data))
    assert voted["HOG + SVM"]["private_test_accuracy"] == report["HOG + SVM"]["private_test_accuracy"]
    assert 0 <= voted["HOG + SVM"]["ferplus_private_test_accuracy"] <= 1


@pytest.mark.slow
def test_init_accepts_a_shipped_model_with_tta(tmp_path: Path, tiny_model: keras.Model) -> None:
    from fer.training.model import with_tta

    shipped = tmp_path / "shipped.keras"
    with_tta(tiny_model, shifts=True).save(shipped)
    config = replace(TINY, learning_rate=0.0, weight_decay=0.0)
    train(config, synthetic_data(), tmp_path / "run", init=shipped)
    tuned = keras.models.load_model(tmp_path / "run" / "best.keras")
    for a, b in zip(tuned.get_weights(), tiny_model.get_weights(), strict=True):
        if a.ndim == 4:  # conv kernels: untouched with a zero learning rate
            np.testing.assert_allclose(a, b)


@pytest.mark.slow
def test_init_takes_an_ensembles_first_member_of_the_configs_architecture(tmp_path: Path) -> None:
    from fer.training.model import average, with_tta

    other_arch = build_classifier(replace(TINY.arch, dense_units=16))
    first, second = (build_classifier(TINY.arch) for _ in range(2))
    for member, name in ((other_arch, "other"), (first, "first"), (second, "second")):
        member.name = name
    shipped = tmp_path / "ensemble.keras"
    with_tta(average([other_arch, first, second])).save(shipped)
    config = replace(TINY, learning_rate=0.0, weight_decay=0.0)
    train(config, synthetic_data(), tmp_path / "run", init=shipped)
    tuned = keras.models.load_model(tmp_path / "run" / "best.keras")
    for a, b in zip(tuned.get_weights(), first.get_weights(), strict=True):
        if a.ndim == 4:  # conv kernels: the first matching member's, untouched at a zero rate
            np.testing.assert_allclose(a, b)


def test_shipped_config_builds_the_shipped_architecture(shipped_keras: keras.Model) -> None:
    # models/config.yaml is what reproduces the shipped model: one run's config, or a soup's or an
    # ensemble's, with the configs of the runs it combines written out.
    from fer.classifier import MODELS_DIR
    from fer.training.model import build_classifier

    raw = yaml.safe_load((MODELS_DIR / "config.yaml").read_text())
    assert Path(f"configs/{raw['name']}.yaml").is_file()
    shipped = shipped_keras  # models/emotion_cnn.keras, loaded once for the pytest session
    built = [w.shape for arch in networks_of(raw) for w in build_classifier(arch).get_weights()]
    assert built == [w.shape for w in shipped.get_weights()]


def networks_of(record: dict) -> list:
    """The architectures of the networks a config record puts in one graph, in order, each run's
    record checked against the config file it came from."""
    if "members" in record:
        return [arch for member in record["members"] for arch in networks_of(member)]
    if "ingredients" in record:  # a soup: one network, the shape of each of its ingredients
        archs = [arch for ingredient in record["ingredients"] for arch in networks_of(ingredient)]
        assert all(arch == archs[0] for arch in archs)
        return archs[:1]
    config = TrainConfig.from_dict(record)
    assert TrainConfig.from_yaml(f"configs/{config.name}.yaml") == config
    return [config.arch]


def with_votes(data: FerData) -> FerData:
    """``data`` with FER+-style votes: the crowd agrees with the label on most faces, calls every
    fourth face neutral, and gives no usable vote on every tenth (left out of training)."""
    from fer.votes import OUR_ORDER

    def split(s: Split) -> Split:
        votes = np.zeros((len(s), len(OUR_ORDER)), np.int64)
        for i, label in enumerate(s.labels):
            if i % 10 == 9:
                votes[i, OUR_ORDER.index("unknown")] = 10
            elif i % 4 == 3:
                votes[i, [label, 6]] = (3, 7)
            else:
                votes[i, [label, 6]] = (8, 2)
        return Split(s.images, s.labels, votes)

    return FerData(split(data.train), split(data.val), split(data.test))


@pytest.mark.slow
def test_a_votes_run_learns_vote_distributions_and_is_chosen_and_scored_on_both_label_sets(tmp_path: Path,
                                                                                           monkeypatch) -> None:
    data = with_votes(synthetic_data())
    seen = {}
    original_fit = keras.Model.fit

    def recording_fit(self, x=None, y=None, validation_data=None, **kwargs):
        seen["targets"], seen["val_labels"] = y, validation_data[1]
        return original_fit(self, x=x, y=y, validation_data=validation_data, **kwargs)

    monkeypatch.setattr(keras.Model, "fit", recording_fit)
    config = replace(TINY, targets="votes", label_weight=0.25, logit_adjustment=True, label_smoothing=0.0)
    report = train(config, data, tmp_path)
    # 96 faces, every tenth without a usable vote; the FER2013 label mixed in at a quarter.
    targets = seen["targets"]
    assert targets.shape == (96 - 9, 7)
    np.testing.assert_allclose(targets.sum(axis=1), 1.0, rtol=1e-6)
    first = data.train.labels[0]
    assert targets[0, first] == pytest.approx(0.75 * 0.8 + 0.25) and targets[0, 6] == pytest.approx(0.75 * 0.2)
    # The epoch is chosen on PublicTest's FER+ majority labels: its neutral faces are neutral there.
    assert (seen["val_labels"].argmax(axis=1) == 6).sum() == (data.val.by_majority().labels == 6).sum() > 0
    assert report["ferplus"]["private_test"]["faces"] + report["ferplus"]["private_test"]["left_out"] == 32
    certain = report["certain"]["private_test"]
    recalls = [row[i] / sum(row) for i, row in enumerate(certain["confusion_matrix"]) if sum(row)]
    assert certain["balanced_accuracy"] == pytest.approx(sum(recalls) / len(recalls))
    assert report["logit_adjustment"]["tau"] in [s["tau"] for s in report["logit_adjustment"]["public_test"]]


@pytest.mark.slow
def test_a_class_balanced_run_weighs_each_class_the_same_in_its_loss(tmp_path: Path, monkeypatch) -> None:
    data = with_votes(synthetic_data())
    seen = {}
    original_fit = keras.Model.fit

    def recording_fit(self, x=None, y=None, sample_weight=None, **kwargs):
        seen["targets"], seen["weights"] = y, sample_weight
        return original_fit(self, x=x, y=y, sample_weight=sample_weight, **kwargs)

    monkeypatch.setattr(keras.Model, "fit", recording_fit)
    train(replace(TINY, targets="votes", class_balance=1.0, label_smoothing=0.0), data, tmp_path)
    targets, weights = seen["targets"], seen["weights"]
    assert weights.shape == (len(targets),) and weights.mean() == pytest.approx(1.0, rel=1e-5)
    # Neutral holds a share of almost every face's votes here: in the plain loss the classes' totals
    # differ by more than a third; weighted, by less than a seventh (the same exactly
    # only for one-class targets: a face's one weight counts for all its votes).
    present = targets.sum(axis=0) > 0
    plain, balanced = targets.sum(axis=0)[present], (weights[:, None] * targets).sum(axis=0)[present]
    assert plain.max() / plain.min() > 1.3
    assert balanced.max() / balanced.min() < 1.15


@pytest.mark.slow
def test_clear_class_balance_weighs_each_class_of_clear_faces_the_same_and_split_faces_as_before(
        tmp_path: Path, monkeypatch) -> None:
    data = with_votes(synthetic_data())
    seen = {}
    original_fit = keras.Model.fit

    def recording_fit(self, x=None, y=None, sample_weight=None, **kwargs):
        seen["weights"] = sample_weight
        return original_fit(self, x=x, y=y, sample_weight=sample_weight, **kwargs)

    monkeypatch.setattr(keras.Model, "fit", recording_fit)
    train(replace(TINY, targets="votes", clear_class_balance=1.0, label_smoothing=0.0), data, tmp_path)
    weights = seen["weights"]
    kept, _ = vote_targets(data.train, 0.0)
    clear = kept.labels == kept.majority()
    counts = np.bincount(kept.labels[clear])
    assert counts[0] != counts[3] and (~clear).sum() > 0  # angry and happy clear faces in unequal numbers
    np.testing.assert_array_equal(weights[~clear], 1.0)  # the faces the crowd called neutral
    assert weights[clear].mean() == pytest.approx(1.0, rel=1e-5)
    totals = np.bincount(kept.labels[clear], weights=weights[clear])
    assert totals[0] == pytest.approx(totals[3], rel=1e-5)


@pytest.mark.parametrize("bad", [{"clear_class_balance": 3.0}, {"clear_class_balance": 1.0, "class_balance": 1.0},
                                 {"clear_class_balance": 1.0, "targets": "labels"}])
def test_a_clear_class_balance_out_of_range_or_beside_class_balance_is_refused(bad: dict) -> None:
    with pytest.raises(ValueError, match="clear_class_balance"):
        replace(TINY, **({"targets": "votes"} | bad))


@pytest.mark.parametrize("bad", [{"class_balance": -0.5}, {"class_balance": 3.0},
                                 {"class_balance": 1.0, "augment": AugmentConfig(mixup_alpha=0.2)}])
def test_a_class_balance_out_of_range_or_with_mixup_is_refused(bad: dict) -> None:
    with pytest.raises(ValueError, match="class_balance"):
        replace(TINY, **bad)


@pytest.mark.parametrize("form", ["power", "mix"])
def test_logit_adjustment_moves_answers_towards_the_rarer_class(tiny_model, form: str) -> None:
    from fer.training.calibrate import adjusted, logit_shift

    prior = np.array([0.01, 0.01, 0.01, 0.5, 0.01, 0.01, 0.45])
    batch = np.random.default_rng(5).uniform(0, 255, (16, 48, 48, 1)).astype(np.float32)
    before = tiny_model.predict_on_batch(batch)
    after = adjusted(tiny_model, logit_shift(prior, 1.0, form)).predict_on_batch(batch)
    assert (after[:, [3, 6]].sum(axis=1) < before[:, [3, 6]].sum(axis=1)).all()  # the common classes lose
    unchanged = adjusted(tiny_model, logit_shift(prior, 0.0, form)).predict_on_batch(batch)
    np.testing.assert_allclose(unchanged, before, rtol=1e-5)
    np.testing.assert_allclose(tiny_model.predict_on_batch(batch), before)  # the original is untouched


@pytest.mark.slow
@pytest.mark.parametrize(("form", "step"), [("power", 0.1), ("mix", 0.1), ("mix", 0.05)])
def test_tau_scores_read_each_tau_as_the_served_model_answers(tiny_model, form: str, step: float) -> None:
    """One pass of the network for every tau: the shift added to each view's answer before the
    views are averaged scores each tau as the model saved with it, inside its flip wrapper, would;
    a finer grid (``tau_step``) adds the taus between, 0.25 and 0.75 among those checked."""
    from fer.training.calibrate import adjusted, logit_shift, rule_scores, tau_scores, taus
    from fer.training.model import with_tta
    from fer.views import tta_images

    val = with_votes(synthetic_data()).val
    faces = val.images[..., None].astype(np.float32)
    prior = np.array([0.09, 0.01, 0.03, 0.26, 0.14, 0.12, 0.34])
    answers = [tiny_model.predict(view, verbose=0) for view in tta_images(faces)]
    scores = tau_scores(answers, prior, form, val, step)
    assert [s.tau for s in scores] == list(taus(step)) and len(scores) == round(1 / step) + 1
    for score in scores[::5]:
        served = with_tta(adjusted(tiny_model, logit_shift(prior, score.tau, form))).predict(faces, verbose=0)
        plus, clear = rule_scores(val, served.argmax(axis=1))
        assert (score.ferplus_accuracy, score.certain_balanced_accuracy) == pytest.approx((plus, clear))
    assert len({(s.ferplus_accuracy, s.certain_balanced_accuracy) for s in scores}) > 1  # the taus differ


def test_both_forms_of_the_adjustment_share_their_ends_and_part_between_them() -> None:
    from fer.training.calibrate import logit_shift

    prior = np.array([0.09, 0.01, 0.03, 0.26, 0.14, 0.12, 0.34])
    for tau in (0.0, 1.0):  # the same ranking of classes: the shifts differ by a constant
        gap = logit_shift(prior, tau, "mix") - logit_shift(prior, tau, "power")
        np.testing.assert_allclose(gap, gap[0], atol=1e-9)
    power, mix = logit_shift(prior, 0.4, "power"), logit_shift(prior, 0.4, "mix")
    # Between them, the mix form lifts sad over neutral less, and disgust over neutral more.
    assert mix[4] - mix[6] < power[4] - power[6]
    assert mix[1] - mix[6] > power[1] - power[6]
    with pytest.raises(ValueError, match="form"):
        logit_shift(prior, 0.4, "cube")


def test_the_mix_form_is_the_bayes_rule_for_its_mixture_of_accuracy_and_balanced_accuracy() -> None:
    """On labels drawn from known probabilities, the mix form's decisions score more of
    (1 - tau) accuracy + tau balanced accuracy than the power form's at any tau."""
    from fer.metrics import score
    from fer.training.calibrate import logit_shift

    rng = np.random.default_rng(0)
    prior = np.array([0.09, 0.01, 0.03, 0.26, 0.14, 0.12, 0.34])
    probabilities = rng.dirichlet(prior * 3, size=200_000)  # ambiguous faces, the prior's classes
    labels = (probabilities.cumsum(axis=1) < rng.uniform(size=(len(probabilities), 1))).sum(axis=1)
    shares = np.bincount(labels, minlength=7) / len(labels)
    tau = 0.3

    def mixture(form: str) -> float:
        predicted = (np.log(probabilities + 1e-12) + logit_shift(shares, tau, form)).argmax(axis=1)
        scored = score(labels, predicted)
        return (1 - tau) * scored.accuracy + tau * scored.balanced_accuracy

    assert mixture("mix") > mixture("power") + 0.002


def test_fit_shows_a_progress_bar_at_a_terminal_and_one_line_an_epoch_in_a_log(tmp_path: Path) -> None:
    with (tmp_path / "train.log").open("w") as log:
        assert training.fit_verbosity(log) == 2

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert training.fit_verbosity(Terminal()) == 1
