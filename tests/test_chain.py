from __future__ import annotations

from pathlib import Path

import pandas as pd

from fer.chain import (
    FER2013,
    FERPLUS,
    Network,
    Run,
    every_run,
    gap_at_kept,
    kept_epochs,
    networks,
    read_networks,
    runs_table,
)

ROOT = Path(__file__).resolve().parents[1]


def run_record(name: str, init_from: str | None = None, targets: str = "labels") -> dict:
    return {"name": name, "epochs": 3, "init_from": init_from, "targets": targets}


def test_networks_of_an_ensemble_are_its_members_made_of_their_leaf_runs() -> None:
    record = {"name": "pair", "members": [
        {"name": "soup", "ingredients": [run_record("wide", targets="votes"),
                                         run_record("wide-tune", "wide.yaml", "votes")]},
        {"name": "refit", "network": run_record("small", "configs/parent.yaml")},
    ]}
    soup, refit = networks(record)
    assert soup == Network("soup", (Run("wide", FERPLUS, None), Run("wide-tune", FERPLUS, "wide")), "soup")
    assert refit == Network("refit", (Run("small", FER2013, "parent"),), "head refit")


def test_a_single_run_is_a_network_of_its_own() -> None:
    assert networks(run_record("solo")) == [Network("solo", (Run("solo", FER2013, None),), "run")]


def test_a_soup_of_soups_lists_a_shared_run_once() -> None:
    shared = run_record("base")
    (network,) = networks({"name": "s", "ingredients": [{"name": "a", "ingredients": [shared]}, shared]})
    assert [run.name for run in network.runs] == ["base"]


def test_the_shipped_model_is_made_of_its_members_final_runs() -> None:
    shipped = read_networks(ROOT / "models" / "config.yaml")
    assert len(shipped) == 2 and all(network.made_by == "soup" and network.runs for network in shipped)
    members = set(pd.read_csv(ROOT / "models" / "history.csv")["member"])
    runs = [run for network in shipped for run in network.runs]
    names = {run.name for run in runs}
    for run in runs:  # each has curves, and starts from scratch, from another of them, or from a soup before
        assert run.name in members
        assert run.parent is None or run.parent in names or run.parent not in members
    assert members - names  # the chain before them: shown on request


def test_without_a_config_record_there_are_no_networks(tmp_path: Path) -> None:
    assert read_networks(tmp_path / "config.yaml") == []


def test_every_run_reads_the_runs_before_the_record_from_their_recipes(tmp_path: Path) -> None:
    (tmp_path / "experiments").mkdir()
    (tmp_path / "first.yaml").write_text("name: first\nepochs: 5\n")
    (tmp_path / "experiments" / "lost.yaml").write_text("name: lost\ninit_from: first.yaml\ntargets: votes\n")
    known = [Network("soup", (Run("tune", FERPLUS, "first"),), "soup")]
    runs = every_run(["first", "lost", "tune", "gone"], known, tmp_path)
    assert runs == {"first": Run("first", FER2013, None), "lost": Run("lost", FERPLUS, "first"),
                    "tune": Run("tune", FERPLUS, "first")}


def history(member: str, val_accuracy: list[float], start: int = 0) -> pd.DataFrame:
    n = len(val_accuracy)
    return pd.DataFrame({"epoch": range(start, start + n), "accuracy": [0.5] * n, "loss": [1.0] * n,
                         "val_accuracy": val_accuracy, "val_loss": [1.1] * n, "member": member})


def test_kept_epochs_are_the_first_best_validation_epoch_counted_from_one() -> None:
    kept = kept_epochs(pd.concat([history("a", [0.4, 0.6, 0.6]), history("b", [0.7, 0.5], start=3)]))
    assert kept.loc["a", ["first", "last", "kept"]].tolist() == [1, 3, 2]
    assert kept.loc["b", ["first", "last", "kept"]].tolist() == [4, 5, 4]


def test_gap_at_kept_says_whether_training_pulled_away_from_validation() -> None:
    level = kept_epochs(pd.concat([history("a", [0.52]), history("b", [0.55])]))
    assert gap_at_kept(level) == "training accuracy was 2.0 to 5.0 points below validation's: no run had over-fitted"
    fitted = kept_epochs(pd.concat([history("a", [0.52]), history("b", [0.40])]))
    assert gap_at_kept(fitted) == "training accuracy was up to 10.0 points above validation's (b)"


def test_runs_table_fills_every_cell_even_for_a_run_without_a_recipe() -> None:
    kept = kept_epochs(pd.concat([history("a", [0.4, 0.6]), history("b", [0.7], start=2)]))
    table = runs_table(kept, {"a": Run("a", FERPLUS, None)})
    assert table.to_dict("records") == [
        {"run": "a", "epochs": "1–2", "started from": "scratch", "validation labels": FERPLUS, "kept epoch": 2,
         "training accuracy": 0.5, "validation accuracy": 0.6},
        {"run": "b", "epochs": "3–3", "started from": "", "validation labels": "", "kept epoch": 3,
         "training accuracy": 0.5, "validation accuracy": 0.7}]
    assert not table.isna().any().any()
