"""Recipes: a finished run from a config file, whatever kind of run the file describes.

A config file describes one of four kinds of run:

- a single network (``fer.training.trainer.TrainConfig``), which may start from another run's weights
  (``init_from``) or learn from other runs' answers (``teachers``);
- a soup (``fer.training.soup.SoupConfig``): the mean of the weights of its ``ingredients``, or of
  one ingredient's last ``epochs``;
- an ensemble (``fer.training.ensemble.EnsembleConfig``): the mean of the answers of its ``members``;
- a head refit (``fer.training.rebalance.HeadConfig``): another run's ``network`` with its softmax
  layer refit on class-balanced targets.

The runs a config names are trained first where unfinished, each in a sibling of the run's own
directory named after its config, so a chain of stages shares one ``runs/`` folder and a finished
stage is found rather than trained again. A network may start from a soup's weights as from another
network's, so a soup's ingredients may be the children of another soup; an ensemble's members may
be networks, staged runs or soups.

A fresh clone has no ``runs/``, but a shipped model holds its network's weights and curves, and a
shipped ensemble its members': ``unpack`` recovers them as finished runs, so that new ensembles,
soups and fine-tunes build on them instead of training them again.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, replace
from pathlib import Path

import keras
import pandas as pd
import yaml

from fer.datasets import FerData
from fer.imaging import to_model_input
from fer.metrics import read_metrics
from fer.training.calibrate import adjusted, logit_shift
from fer.training.ensemble import EnsembleConfig, is_ensemble_config, layer_name
from fer.training.model import average, tta_network
from fer.training.rebalance import HeadConfig, is_head_config, refit
from fer.training.rundir import (
    BEST_FILE,
    CONFIG_FILE,
    HISTORY_FILE,
    METRICS_FILE,
    epoch_weights,
    trained_epochs,
    write_combined_history,
    write_staged_history,
)
from fer.training.selection import BY_LABELS, Selection, finalise, training_prior
from fer.training.soup import SoupConfig, epoch_snapshots, is_soup_config, make_soup
from fer.training.trainer import TrainConfig, nested_networks, train

RunConfig = TrainConfig | SoupConfig | EnsembleConfig | HeadConfig

logger = logging.getLogger(__name__)


def read_config(path: str | Path) -> RunConfig:
    """The config of whichever kind of run the file describes."""
    if is_soup_config(path):
        return SoupConfig.from_yaml(path)
    if is_ensemble_config(path):
        return EnsembleConfig.from_yaml(path)
    if is_head_config(path):
        return HeadConfig.from_yaml(path)
    return TrainConfig.from_yaml(path)


def train_config(path: str | Path, data: FerData, out_dir: str | Path, epochs: int | None = None) -> dict:
    """Train (or resume, or finish) the run ``path`` describes in ``out_dir``; its metrics report.
    ``epochs`` overrides a single network's epoch count."""
    config = read_config(path)
    if isinstance(config, TrainConfig):
        return train_from_config(path, data, out_dir, epochs)
    if epochs is not None:
        raise ValueError("an epoch count applies to single runs; set it in the configs this one names")
    if isinstance(config, SoupConfig):
        return train_soup(config, data, out_dir)
    if isinstance(config, HeadConfig):
        return train_head(config, data, out_dir)
    return train_ensemble(config, data, out_dir)


def config_record(path: Path) -> dict:
    """The config a file describes, written out in full with those of the runs it combines: what a
    run's ``config.yaml`` keeps, a record rather than a recipe."""
    config = read_config(path)
    if isinstance(config, TrainConfig):
        return config.to_dict()
    if isinstance(config, SoupConfig):
        return _soup_record(config)
    if isinstance(config, HeadConfig):
        return _head_record(config)
    return _ensemble_record(config)


def _ensemble_record(config: EnsembleConfig) -> dict:
    # The selection keys the config set (none for the ensembles chosen by FER2013's labels).
    chosen = {key: value for key, value in asdict(config.selection).items() if value != getattr(BY_LABELS, key)}
    return {"name": config.name, "members": [config_record(p) for p in config.members], **chosen}


def _soup_record(config: SoupConfig) -> dict:
    record: dict = {"name": config.name, "ingredients": [config_record(path) for path in config.ingredients]}
    if config.weights is not None:
        record["weights"] = list(config.weights)
    if config.epochs is not None:
        record["epochs"] = list(config.epochs)
    return record


def _head_record(config: HeadConfig) -> dict:
    return {"name": config.name, "network": config_record(config.network), "powers": list(config.powers),
            "l2": config.l2, "targets": "votes", "clear_faces_floor": config.clear_faces_floor}


def is_finished(run_dir: Path) -> bool:
    """Whether a run has been finalised: its metrics are the last thing it writes."""
    return (run_dir / METRICS_FILE).exists()


def finished_run(config_path: Path, data: FerData, runs_dir: Path) -> Path:
    """The directory of the run a config describes, in ``runs_dir``, trained first if unfinished."""
    run_out = runs_dir / read_config(config_path).name
    if not is_finished(run_out):
        train_config(config_path, data, run_out)
    return run_out


def train_from_config(path: str | Path, data: FerData, out_dir: str | Path, epochs: int | None = None) -> dict:
    """Train the single network a config file describes, after the runs it names."""
    path, out = Path(path), Path(out_dir)
    config = TrainConfig.from_yaml(path)
    if epochs is not None:
        config = replace(config, epochs=epochs)
    teachers = [finished_run(path.parent / teacher, data, out.parent) / BEST_FILE for teacher in config.teachers]
    if config.init_from is None:
        return train(config, data, out, teachers=teachers)
    parent_out = finished_run(path.parent / config.init_from, data, out.parent)
    report = train(config, data, out, init=parent_out / BEST_FILE, epochs_before=trained_epochs(parent_out),
                   teachers=teachers)
    write_staged_history(parent_out, out, config.name)
    return report


def train_soup(config: SoupConfig, data: FerData, out_dir: str | Path) -> dict:
    """Train or find the ingredients beside ``out_dir``, make the soup there, and finalise it."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    runs = [finished_run(path, data, out.parent) for path in config.ingredients]
    ingredients = [keras.models.load_model(run / BEST_FILE, compile=False) for run in runs]
    if config.epochs is not None:
        first, last = config.epochs
        ingredients = epoch_snapshots(ingredients[0], [epoch_weights(runs[0], e) for e in range(first, last + 1)])
    make_soup(ingredients, to_model_input(data.train.images), config.weights).save(out / BEST_FILE)
    return _finalise_combined(out, _soup_record(config), runs, data, config.selection)


def train_head(config: HeadConfig, data: FerData, out_dir: str | Path) -> dict:
    """Train or find the run whose network is kept beside ``out_dir``, refit its head there (the
    class balance chosen on PublicTest), and finalise it."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    run = finished_run(config.network, data, out.parent)
    network, record = refit(keras.models.load_model(run / BEST_FILE, compile=False), data, config)
    network.save(out / BEST_FILE)
    (out / CONFIG_FILE).write_text(yaml.safe_dump(_head_record(config), sort_keys=False))
    write_combined_history([run], out / HISTORY_FILE)
    return finalise(out, data, config.name, config.selection, {"class_balanced_head": record})


def train_ensemble(config: EnsembleConfig, data: FerData, out_dir: str | Path) -> dict:
    """Train or find the members beside ``out_dir``, average their answers there, and finalise it."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    runs = [finished_run(path, data, out.parent) for path in config.members]
    members = [keras.models.load_model(run / BEST_FILE, compile=False) for run in runs]
    for member, run in zip(members, runs, strict=True):
        member.name = layer_name(run.name)
    average(members, layer_name(config.name)).save(out / BEST_FILE)
    return _finalise_combined(out, _ensemble_record(config), runs, data, config.selection)


def _finalise_combined(out: Path, record: dict, runs: list[Path], data: FerData,
                       selection: Selection = BY_LABELS) -> dict:
    """A soup's or an ensemble's run, its model saved: its config record, the curves of the runs it
    combines, then the TTA choice and the metrics, as for a single network."""
    (out / CONFIG_FILE).write_text(yaml.safe_dump(record, sort_keys=False))
    write_combined_history(runs, out / HISTORY_FILE)
    return finalise(out, data, record["name"], selection)


def lineage(path: Path) -> set[str]:
    """The names of the run a config describes and of every run its weights came from (the runs it
    starts from, averages or combines; not its teachers): the stages its combined history names."""
    config = read_config(path)
    if isinstance(config, TrainConfig):
        return {config.name} | (lineage(path.parent / config.init_from) if config.init_from else set())
    if isinstance(config, HeadConfig):
        return {config.name} | lineage(config.network)
    combined = config.ingredients if isinstance(config, SoupConfig) else config.members
    return {config.name}.union(*(lineage(other) for other in combined))


def unpack(model_path: Path, config_path: Path, data: FerData, runs_dir: Path) -> list[Path]:
    """Recover the runs a model saved from ``config_path`` was made of, as finished runs in
    ``runs_dir``: an ensemble's members, or the one network a soup or a single run saved (as the
    shipped model, inside its TTA wrapper). Each gets its weights (as the file stores them, a logit
    adjustment folded in undone, each member's for an ensemble), its stages' curves from the ``history.csv``
    beside the model, its config record, then its finalisation, which chooses the TTA and the
    adjustment again. Finished runs already there are kept."""
    config = read_config(config_path)
    networks = _networks_by_run(keras.models.load_model(model_path, compile=False), config)
    history = pd.read_csv(model_path.with_name(HISTORY_FILE))
    runs = []
    for path in config.members if isinstance(config, EnsembleConfig) else (config_path,):
        name = read_config(path).name
        out = runs_dir / name
        runs.append(out)
        if is_finished(out):
            logger.info("%s is finished already: kept", out)
            continue
        network = networks.get(layer_name(name))
        if network is None:
            raise ValueError(f"{model_path} holds no member named {name}: was it trained from {config_path}?")
        single = read_config(path)
        selection = single.selection if isinstance(single, TrainConfig | SoupConfig | HeadConfig) else BY_LABELS
        # The model's logit adjustment, if it has one, is folded into this network's softmax layer
        # (into each member's, for an ensemble): undone, by the prior the model was chosen with.
        network = _as_trained(network, _shipped_adjustment(model_path), data, config.selection)
        out.mkdir(parents=True, exist_ok=True)
        network.save(out / BEST_FILE)
        history[history.member.isin(lineage(path))].to_csv(out / HISTORY_FILE, index=False)
        (out / CONFIG_FILE).write_text(yaml.safe_dump(config_record(path), sort_keys=False))
        # Chosen again on PublicTest, as the run chose them: the same network, so the same choices.
        finalise(out, data, name, selection)
    return runs


def _as_trained(network: keras.Model, adjustment: dict, data: FerData, selection: Selection) -> keras.Model:
    """A saved network as its run trained it: the logit adjustment folded into its softmax bias
    (``adjustment``, the record of it, with its tau and form) undone, so that a soup or a fine-tune of
    it starts from the network, not the decision rule."""
    tau = float(adjustment.get("tau", 0.0))
    if not tau:
        return network
    # Records from before the mix form have no form: theirs was the power form.
    shift = logit_shift(training_prior(data, selection), tau, adjustment.get("form", "power"))
    return adjusted(network, -shift)


def _shipped_adjustment(model_path: Path) -> dict:
    """The record of the logit adjustment a model was saved with, from the metrics.json beside it
    (empty: none)."""
    metrics = model_path.with_name(METRICS_FILE)
    if not metrics.exists():
        return {}
    return dict(read_metrics(metrics).get("logit_adjustment", {}))


def _networks_by_run(model: keras.Model, config: RunConfig) -> dict[str, keras.Model]:
    """The networks in a saved model by the layer name of the run each is: an ensemble's members
    under their own names; a soup's or a single run's one network (taken out of its TTA wrapper)
    under its config's, unless the model holds several."""
    if isinstance(config, EnsembleConfig):
        return {network.name: network for network in nested_networks(model)}
    network = tta_network(model)
    several = any(isinstance(layer, keras.Model) for layer in network.layers)
    return {} if several else {layer_name(config.name): network}
