from __future__ import annotations

import csv
import json
import shutil
from dataclasses import replace
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest
import yaml
from test_training import TINY, synthetic_data, with_votes

import fer.training.recipes
from fer.training.calibrate import adjusted, logit_shift
from fer.training.ensemble import EnsembleConfig
from fer.training.model import average, with_tta
from fer.training.rebalance import HeadConfig
from fer.training.recipes import (
    lineage,
    read_config,
    train_config,
    train_ensemble,
    train_from_config,
    unpack,
)
from fer.training.rundir import epoch_weights, trained_epochs
from fer.training.selection import Selection, training_prior
from fer.training.soup import SoupConfig, epoch_snapshots
from fer.training.trainer import TrainConfig, train


@pytest.mark.slow
def test_a_config_with_init_from_trains_its_parent_first_then_starts_from_it(tmp_path: Path) -> None:
    configs = tmp_path / "configs"
    configs.mkdir()
    (configs / "parent.yaml").write_text(replace(TINY, name="parent").to_yaml())
    frozen = replace(TINY, name="child", init_from="parent.yaml", learning_rate=0.0, weight_decay=0.0)
    (configs / "child.yaml").write_text(frozen.to_yaml())
    data = synthetic_data()

    train_from_config(configs / "child.yaml", data, tmp_path / "runs" / "child")

    parent = keras.models.load_model(tmp_path / "runs" / "parent" / "best.keras")  # a sibling run
    child = keras.models.load_model(tmp_path / "runs" / "child" / "best.keras")
    for a, b in zip(child.get_weights(), parent.get_weights(), strict=True):
        if a.ndim == 4:  # conv kernels: a zero learning rate keeps the parent's
            np.testing.assert_allclose(a, b)
    assert TrainConfig.from_yaml(tmp_path / "runs" / "child" / "config.yaml") == frozen
    with (tmp_path / "runs" / "child" / "history_stages.csv").open() as f:
        stages = [(row["member"], int(row["epoch"])) for row in csv.DictReader(f)]
    assert stages == [("parent", 0), ("child", 1)]
    assert trained_epochs(tmp_path / "runs" / "parent") == 1
    assert trained_epochs(tmp_path / "runs" / "child") == 2  # its own epoch and its parent's
    assert trained_epochs(tmp_path / "runs" / "none yet") == 0
    # A finished parent is found, not trained again.
    stamp = (tmp_path / "runs" / "parent" / "best.keras").stat().st_mtime_ns
    train_from_config(configs / "child.yaml", data, tmp_path / "runs" / "child")
    assert (tmp_path / "runs" / "parent" / "best.keras").stat().st_mtime_ns == stamp


@pytest.mark.slow
def test_a_config_with_teachers_trains_them_first_and_learns_their_blended_targets(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    configs = tmp_path / "configs"
    configs.mkdir()
    (configs / "teacher.yaml").write_text(replace(TINY, name="teacher").to_yaml())
    student = replace(TINY, name="student", teachers=("teacher.yaml",), distill_weight=0.25)
    (configs / "student.yaml").write_text(student.to_yaml())
    fitted: list[np.ndarray] = []
    fit = keras.Model.fit

    def recording_fit(self: keras.Model, *args: object, **kwargs: object) -> object:
        fitted.append(np.asarray(kwargs["y"]))
        return fit(self, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "fit", recording_fit)
    data = synthetic_data()

    train_from_config(configs / "student.yaml", data, tmp_path / "runs" / "student")

    assert (tmp_path / "runs" / "teacher" / "metrics.json").is_file()  # trained first, as a sibling
    assert (tmp_path / "runs" / "student" / "model.keras").is_file()
    assert TrainConfig.from_yaml(tmp_path / "runs" / "student" / "config.yaml") == student
    teacher_targets, student_targets = fitted
    np.testing.assert_array_equal(teacher_targets, keras.utils.to_categorical(data.train.labels, 7))
    label_share = student_targets[np.arange(len(data.train)), data.train.labels]
    assert np.all(label_share >= 0.75) and np.all(label_share < 1.0)  # 0.75 of the label, plus the teacher's say
    np.testing.assert_allclose(student_targets.sum(axis=1), 1.0, atol=1e-5)


def soup_configs(tmp_path: Path) -> Path:
    """configs/soup.yaml: the soup of two runs (seeds 1 and 2) fine-tuned from configs/parent.yaml."""
    configs = tmp_path / "configs"
    configs.mkdir()
    (configs / "parent.yaml").write_text(replace(TINY, name="parent").to_yaml())
    for name, seed in (("one", 1), ("two", 2)):
        (configs / f"{name}.yaml").write_text(replace(TINY, name=name, seed=seed, init_from="parent.yaml").to_yaml())
    (configs / "soup.yaml").write_text("name: soup\ningredients: [one.yaml, two.yaml]\n")
    return configs


@pytest.fixture(scope="module")
def soup_child(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """configs/ and runs/ after configs/child.yaml (frozen: a zero learning rate) is trained from
    configs/soup.yaml, which it makes first as a sibling, ingredients and all; and the report that
    train_soup returned on the way. Trained once for the tests that read these runs or build on a
    copy of them: four networks and a soup, seconds of graph tracing each."""
    root = tmp_path_factory.mktemp("soup-child")
    configs = soup_configs(root)
    frozen = replace(TINY, name="child", init_from="soup.yaml", learning_rate=0.0, weight_decay=0.0)
    (configs / "child.yaml").write_text(frozen.to_yaml())
    reports: list[dict] = []
    real_train_soup = fer.training.recipes.train_soup

    def recording_train_soup(*args: object, **kwargs: object) -> dict:
        reports.append(real_train_soup(*args, **kwargs))  # type: ignore[arg-type]
        return reports[-1]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fer.training.recipes, "train_soup", recording_train_soup)
        train_config(configs / "child.yaml", synthetic_data(), root / "runs" / "child")
    (report,) = reports
    return root, report


@pytest.mark.slow
def test_train_soup_trains_the_ingredients_beside_it_and_ships_their_mean(soup_child: tuple[Path, dict]) -> None:
    root, report = soup_child
    runs = root / "runs"

    one, two, soup = (keras.models.load_model(runs / name / "best.keras") for name in ("one", "two", "soup"))
    for mean, a, b in zip(soup.get_weights(), one.get_weights(), two.get_weights(), strict=True):
        if a.ndim == 4:  # conv kernels: the plain mean (BatchNorm statistics are recomputed)
            np.testing.assert_allclose(mean, (a + b) / 2, rtol=1e-5, atol=1e-7)
    assert json.loads((runs / "soup" / "metrics.json").read_text())["config"] == "soup" == report["config"]
    assert tuple(keras.models.load_model(runs / "soup" / "model.keras").output_shape) == (None, 7)
    history = pd.read_csv(runs / "soup" / "history.csv")
    assert list(zip(history.member, history.epoch, strict=True)) == [("parent", 0), ("one", 1), ("two", 1)]
    saved = (runs / "soup" / "config.yaml").read_text()
    assert "name: soup" in saved and "name: one" in saved and "seed: 2" in saved


@pytest.mark.slow
def test_a_soup_of_one_runs_last_epochs_averages_the_weights_it_kept(tmp_path: Path) -> None:
    configs, runs = tmp_path / "configs", tmp_path / "runs"
    configs.mkdir()
    (configs / "run.yaml").write_text(replace(TINY, name="run", epochs=3, keep_epochs_from=2).to_yaml())
    (configs / "swa.yaml").write_text("name: swa\ningredients: [run.yaml]\nepochs: [2, 3]\n")

    train_config(configs / "swa.yaml", synthetic_data(), runs / "swa")

    swa = keras.models.load_model(runs / "swa" / "best.keras")
    kept = epoch_snapshots(swa, [epoch_weights(runs / "run", epoch) for epoch in (2, 3)])
    for mean, a, b in zip(swa.get_weights(), *(model.get_weights() for model in kept), strict=True):
        if a.ndim == 4:
            np.testing.assert_allclose(mean, (a + b) / 2, rtol=1e-5, atol=1e-7)
    assert yaml.safe_load((runs / "swa" / "config.yaml").read_text())["epochs"] == [2, 3]

    # Epochs the run did not keep are named, not silently skipped.
    (configs / "early.yaml").write_text("name: early\ningredients: [run.yaml]\nepochs: [1, 3]\n")
    with pytest.raises(FileNotFoundError, match=r"epoch-01\.weights\.h5.*keep_epochs_from"):
        train_config(configs / "early.yaml", synthetic_data(), runs / "early")


@pytest.mark.parametrize("soup", ["ingredients: [a.yaml, b.yaml]\nepochs: [2, 3]",
                                  "ingredients: [a.yaml]\nepochs: [3, 2]",
                                  "ingredients: [a.yaml]\nepochs: [2, 3]\nweights: [1.0]"])
def test_a_soup_of_epochs_needs_one_ingredient_and_an_ordered_range(tmp_path: Path, soup: str) -> None:
    (tmp_path / "s.yaml").write_text(f"name: s\n{soup}\n")
    with pytest.raises(ValueError, match="one ingredient's epochs"):
        SoupConfig.from_yaml(tmp_path / "s.yaml")


@pytest.fixture(scope="module")
def staged_and_soup_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """configs/ and runs/ after configs/pair.yaml, an ensemble with members of each kind (a staged
    run, child from parent, and a soup of one and two), is trained from nothing; and its report.
    Trained once, for the test that checks it and the one that unpacks it."""
    root = tmp_path_factory.mktemp("pair")
    configs = soup_configs(root)
    (configs / "child.yaml").write_text(replace(TINY, name="child", seed=3, init_from="parent.yaml").to_yaml())
    (configs / "pair.yaml").write_text("name: pair\nmembers: [soup.yaml, child.yaml]\n")
    report = train_ensemble(EnsembleConfig.from_yaml(configs / "pair.yaml"), synthetic_data(), root / "runs" / "pair")
    return root, report


@pytest.mark.slow
def test_train_ensemble_finds_its_members_beside_it_and_ships_their_average(
        staged_and_soup_pair: tuple[Path, dict]) -> None:
    root, report = staged_and_soup_pair
    runs = root / "runs"

    faces = np.random.default_rng(5).uniform(0, 255, (4, 48, 48, 1)).astype(np.float32)
    soup, child, pair = (keras.models.load_model(runs / name / "best.keras") for name in ("soup", "child", "pair"))
    np.testing.assert_allclose(pair.predict_on_batch(faces),
                               (soup.predict_on_batch(faces) + child.predict_on_batch(faces)) / 2, rtol=1e-5, atol=1e-6)
    assert json.loads((runs / "pair" / "metrics.json").read_text())["config"] == "pair" == report["config"]
    history = pd.read_csv(runs / "pair" / "history.csv")
    # Each stage once, though the soup's ingredients and the child all started from parent.
    assert sorted(zip(history.member, history.epoch, strict=True)) == [
        ("child", 1), ("one", 1), ("parent", 0), ("two", 1)]
    saved = yaml.safe_load((runs / "pair" / "config.yaml").read_text())
    assert [m["name"] for m in saved["members"]] == ["soup", "child"]
    assert [i["name"] for i in saved["members"][0]["ingredients"]] == ["one", "two"]


@pytest.mark.slow
def test_unpack_recovers_the_members_of_a_saved_ensemble_as_finished_runs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, staged_and_soup_pair: tuple[Path, dict]) -> None:
    shutil.copytree(staged_and_soup_pair[0], tmp_path, dirs_exist_ok=True)  # a copy: this test writes beside it
    configs = tmp_path / "configs"
    data = synthetic_data()
    shipped = tmp_path / "models"  # what a fresh clone has: the model and its curves, no runs/
    shipped.mkdir()
    for file in ("model.keras", "history.csv"):
        (shipped / file).write_bytes((tmp_path / "runs" / "pair" / file).read_bytes())
    fresh = tmp_path / "fresh-runs"

    runs = unpack(shipped / "model.keras", configs / "pair.yaml", data, fresh)

    assert runs == [fresh / "soup", fresh / "child"]
    faces = np.random.default_rng(6).uniform(0, 255, (4, 48, 48, 1)).astype(np.float32)
    for name in ("soup", "child"):
        original, recovered = (keras.models.load_model(root / name / "best.keras") for root in (tmp_path / "runs", fresh))
        # The shipped file keeps its weights in half precision.
        np.testing.assert_allclose(recovered.predict_on_batch(faces), original.predict_on_batch(faces), atol=5e-3)
        assert json.loads((fresh / name / "metrics.json").read_text())["config"] == name
    child_history = pd.read_csv(fresh / "child" / "history.csv")
    assert sorted(zip(child_history.member, child_history.epoch, strict=True)) == [("child", 1), ("parent", 0)]
    assert trained_epochs(fresh / "soup") == trained_epochs(tmp_path / "runs" / "soup") == 2
    assert lineage(configs / "soup.yaml") == {"soup", "one", "two", "parent"}
    # A new ensemble over the recovered members finds them finished and trains nothing.
    (configs / "again.yaml").write_text("name: again\nmembers: [child.yaml, soup.yaml]\n")
    monkeypatch.setattr(fer.training.recipes, "train", lambda *args, **kwargs: pytest.fail("a member was trained again"))
    train_ensemble(EnsembleConfig.from_yaml(configs / "again.yaml"), data, fresh / "again")
    assert (fresh / "again" / "metrics.json").is_file()


@pytest.mark.slow
def test_unpack_recovers_a_shipped_soup_from_inside_its_tta_wrapper_so_a_child_can_start_from_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, soup_child: tuple[Path, dict]) -> None:
    shutil.copytree(soup_child[0], tmp_path, dirs_exist_ok=True)  # a copy: this test writes beside it
    configs = tmp_path / "configs"
    (configs / "child.yaml").write_text(replace(TINY, name="child", init_from="soup.yaml").to_yaml())
    data = synthetic_data()
    soup = keras.models.load_model(tmp_path / "runs" / "soup" / "best.keras")
    shipped = tmp_path / "models"  # a fresh clone's: the soup with flip TTA, and its curves
    shipped.mkdir()
    with_tta(soup).save(shipped / "model.keras")
    (shipped / "history.csv").write_bytes((tmp_path / "runs" / "soup" / "history.csv").read_bytes())
    fresh = tmp_path / "fresh-runs"

    assert unpack(shipped / "model.keras", configs / "soup.yaml", data, fresh) == [fresh / "soup"]

    faces = np.random.default_rng(7).uniform(0, 255, (4, 48, 48, 1)).astype(np.float32)
    recovered = keras.models.load_model(fresh / "soup" / "best.keras")
    np.testing.assert_allclose(recovered.predict_on_batch(faces), soup.predict_on_batch(faces), atol=1e-5)
    assert trained_epochs(fresh / "soup") == trained_epochs(tmp_path / "runs" / "soup") == 2
    assert json.loads((fresh / "soup" / "metrics.json").read_text())["config"] == "soup"
    # The child finds its parent finished and trains only itself, after the parent's epochs.
    trained: list[str] = []
    real_train = fer.training.recipes.train

    def recording_train(config: TrainConfig, *args: object, **kwargs: object) -> dict:
        trained.append(config.name)
        return real_train(config, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(fer.training.recipes, "train", recording_train)
    train_from_config(configs / "child.yaml", data, fresh / "child")
    assert trained == ["child"]
    assert trained_epochs(fresh / "child") == 3


@pytest.mark.slow
@pytest.mark.parametrize("form", ["power", "mix"])
def test_unpack_undoes_the_logit_adjustment_folded_into_a_shipped_votes_model(tmp_path: Path, form: str) -> None:
    configs = tmp_path / "configs"
    configs.mkdir()
    config = replace(TINY, name="crowd", targets="votes", logit_adjustment=True, label_smoothing=0.0,
                     logit_adjustment_form=form)
    (configs / "crowd.yaml").write_text(config.to_yaml())
    data = with_votes(synthetic_data())
    run = tmp_path / "runs" / "crowd"
    train(config, data, run)
    network = keras.models.load_model(run / "best.keras")
    shipped = tmp_path / "models"  # a fresh clone's: the network with tau 0.5 folded in, inside flip TTA
    shipped.mkdir()
    prior = training_prior(data, config.selection)
    with_tta(adjusted(network, logit_shift(prior, 0.5, form))).save(shipped / "model.keras")
    pd.read_csv(run / "history.csv").assign(member="crowd").to_csv(shipped / "history.csv", index=False)
    record = {"tau": 0.5} if form == "power" else {"tau": 0.5, "form": form}  # records before the mix form had none
    (shipped / "metrics.json").write_text(json.dumps({"logit_adjustment": record}))

    unpack(shipped / "model.keras", configs / "crowd.yaml", data, tmp_path / "fresh")

    # The recovered run holds the network as trained (the crowd's prior back in its bias), so a
    # soup or fine-tune of it starts from the network, and its decision rule is chosen again.
    faces = np.random.default_rng(3).uniform(0, 255, (4, 48, 48, 1)).astype(np.float32)
    recovered = keras.models.load_model(tmp_path / "fresh" / "crowd" / "best.keras")
    np.testing.assert_allclose(recovered.predict_on_batch(faces), network.predict_on_batch(faces), atol=1e-5)
    chosen = json.loads((tmp_path / "fresh" / "crowd" / "metrics.json").read_text())["logit_adjustment"]
    trained = json.loads((run / "metrics.json").read_text())["logit_adjustment"]
    assert (chosen["tau"], chosen["form"]) == (trained["tau"], form)


def _softmax(logits: np.ndarray) -> np.ndarray:
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


def crowd_pair(tmp_path: Path) -> Path:
    """configs/pair.yaml: an ensemble of two networks trained apart on the votes, chosen as a votes
    run is (mix form, views and tau together)."""
    configs = tmp_path / "configs"
    configs.mkdir()
    for name, seed in (("a", 1), ("b", 2)):
        member = replace(TINY, name=name, seed=seed, targets="votes", logit_adjustment=True, label_smoothing=0.0)
        (configs / f"{name}.yaml").write_text(member.to_yaml())
    (configs / "pair.yaml").write_text("name: pair\nmembers: [a.yaml, b.yaml]\ntargets: votes\nlogit_adjustment: true\n"
                                       "logit_adjustment_form: mix\ntta_at_floor: true\nclear_faces_floor: 0.9\n"
                                       "tau_step: 0.05\n")
    return configs


@pytest.fixture(scope="module")
def trained_crowd_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """configs/ and runs/ after crowd_pair's configs/pair.yaml is trained from nothing (its
    members a and b first); and its report. Trained once."""
    root = tmp_path_factory.mktemp("crowd-pair")
    configs = crowd_pair(root)
    report = train_config(configs / "pair.yaml", with_votes(synthetic_data()), root / "runs" / "pair")
    return root, report


@pytest.mark.slow
def test_a_votes_ensemble_is_chosen_with_its_tau_and_answers_as_the_scan_read_it(
        trained_crowd_pair: tuple[Path, dict]) -> None:
    root, report = trained_crowd_pair
    data = with_votes(synthetic_data())
    runs = root / "runs"

    adjustment = report["logit_adjustment"]
    assert set(adjustment["public_test_by_view"]) == {"none"}  # two members with flip: four passes a face
    assert report["test_time_augmentation"]["chosen"] == "none" and adjustment["form"] == "mix"
    assert [s["tau"] for s in adjustment["public_test"]] == [round(0.05 * i, 2) for i in range(21)]  # its tau_step
    # Each member's answers shifted by the chosen tau, then averaged: what the tau scan scored.
    faces = np.random.default_rng(4).uniform(0, 255, (6, 48, 48, 1)).astype(np.float32)
    shift = logit_shift(training_prior(data, Selection("votes")), adjustment["tau"], "mix")
    members = [keras.models.load_model(runs / name / "best.keras") for name in ("a", "b")]
    expected = np.mean([_softmax(np.log(m.predict_on_batch(faces)) + shift) for m in members], axis=0)
    served = keras.models.load_model(runs / "pair" / "model.keras").predict_on_batch(faces)
    np.testing.assert_allclose(served, expected, atol=5e-3)  # the saved weights are half precision
    saved = yaml.safe_load((runs / "pair" / "config.yaml").read_text())
    assert [m["name"] for m in saved["members"]] == ["a", "b"]
    assert (saved["targets"], saved["logit_adjustment_form"], saved["clear_faces_floor"], saved["tau_step"]) == (
        "votes", "mix", 0.9, 0.05)


@pytest.mark.slow
def test_unpack_undoes_the_logit_adjustment_folded_into_each_member_of_a_shipped_ensemble(
        tmp_path: Path, trained_crowd_pair: tuple[Path, dict]) -> None:
    # The members as their configs train them (read only: this test writes in its own tmp_path).
    configs, runs = trained_crowd_pair[0] / "configs", trained_crowd_pair[0] / "runs"
    data = with_votes(synthetic_data())
    networks = []
    for name in ("a", "b"):
        networks.append(keras.models.load_model(runs / name / "best.keras"))
        networks[-1].name = name
    shipped = tmp_path / "models"  # a fresh clone's: tau 0.5 folded into each member
    shipped.mkdir()
    shift = logit_shift(training_prior(data, Selection("votes")), 0.5, "mix")
    adjusted(average(networks, "pair"), shift).save(shipped / "model.keras")
    pd.concat([pd.read_csv(runs / n / "history.csv").assign(member=n) for n in ("a", "b")]).to_csv(
        shipped / "history.csv", index=False)
    (shipped / "metrics.json").write_text(json.dumps({"logit_adjustment": {"tau": 0.5, "form": "mix"}}))

    unpack(shipped / "model.keras", configs / "pair.yaml", data, tmp_path / "fresh")

    faces = np.random.default_rng(5).uniform(0, 255, (4, 48, 48, 1)).astype(np.float32)
    for network in networks:
        recovered = keras.models.load_model(tmp_path / "fresh" / network.name / "best.keras")
        np.testing.assert_allclose(recovered.predict_on_batch(faces), network.predict_on_batch(faces), atol=1e-5)


def test_unpack_says_which_member_the_model_lacks(tmp_path: Path, tiny_model: keras.Model) -> None:
    configs = soup_configs(tmp_path)
    (configs / "pair.yaml").write_text("name: pair\nmembers: [parent.yaml, one.yaml]\n")
    tiny_model.save(tmp_path / "model.keras")  # a network, not this ensemble
    pd.DataFrame({"epoch": [0], "member": ["parent"]}).to_csv(tmp_path / "history.csv", index=False)
    with pytest.raises(ValueError, match="no member named parent"):
        unpack(tmp_path / "model.keras", configs / "pair.yaml", synthetic_data(), tmp_path / "runs")


@pytest.mark.slow
def test_a_config_may_start_from_a_soup(soup_child: tuple[Path, dict]) -> None:
    configs, runs = soup_child[0] / "configs", soup_child[0] / "runs"

    soup = keras.models.load_model(runs / "soup" / "best.keras")  # made first, as a sibling
    child = keras.models.load_model(runs / "child" / "best.keras")
    for a, b in zip(child.get_weights(), soup.get_weights(), strict=True):
        if a.ndim == 4:
            np.testing.assert_allclose(a, b)
    stages = pd.read_csv(runs / "child" / "history_stages.csv")
    assert list(zip(stages.member, stages.epoch, strict=True)) == [("parent", 0), ("one", 1), ("two", 1), ("child", 2)]
    assert [read_config(configs / f"{name}.yaml").name for name in ("soup", "child")] == ["soup", "child"]


def test_an_epoch_count_is_refused_for_a_run_of_many(tmp_path: Path) -> None:
    (tmp_path / "soup.yaml").write_text("name: soup\ningredients: [a.yaml]\n")
    with pytest.raises(ValueError, match="single runs"):
        train_config(tmp_path / "soup.yaml", synthetic_data(), tmp_path / "run", epochs=3)


# The shipped chain's configs and the experiments' (configs/experiments/), which name the chain's as ../NAME.yaml.
@pytest.mark.parametrize("path", sorted(Path("configs").glob("*.yaml")) + sorted(Path("configs/experiments").glob("*.yaml")),
                         ids=lambda path: path.stem)
def test_every_shipped_config_reads_and_names_configs_that_exist(path: Path) -> None:
    config = read_config(path)
    assert config.name == path.stem  # runs/<name> is where other configs look for its run
    if isinstance(config, TrainConfig):
        named = [config.init_from] if config.init_from else []
        named += list(config.teachers)
        assert all((path.parent / other).is_file() for other in named), named
    elif isinstance(config, HeadConfig):
        assert config.network.is_file(), config.network
    else:
        others = config.ingredients if isinstance(config, SoupConfig) else config.members
        assert all(other.is_file() for other in others), others

