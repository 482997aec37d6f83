from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from fer.chain import FERPLUS, Network, Run, every_run, read_networks
from fer.charts import MAX_LEGEND, shipped_curves, training_curves

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "models"


def history(n: int) -> pd.DataFrame:
    return pd.DataFrame({"epoch": range(n), "loss": [1.5] * n, "accuracy": [0.5] * n,
                         "val_loss": [1.6] * n, "val_accuracy": [0.45] * n})


def lines(figure) -> list:
    return [trace for trace in figure.data if trace.mode == "lines"]


def legend(figure) -> list[str]:
    """The legend's entries: Plotly lists a trace unless its showlegend is False."""
    return [trace.name for trace in figure.data if trace.showlegend is not False]


def test_training_curves_of_one_run_show_train_and_validation() -> None:
    figure = training_curves(history(3))
    assert [(trace.name, list(trace.y)) for trace in lines(figure)] == [
        ("training", [1.5] * 3), ("training", [0.5] * 3), ("validation", [1.6] * 3), ("validation", [0.45] * 3)]
    assert list(figure.data[0].x) == [1, 2, 3]  # epochs counted from 1


def test_training_curves_list_each_line_once_and_toggle_it_in_both_panels() -> None:
    figure = training_curves(history(3))
    assert legend(figure) == ["training", "validation"]
    loss, accuracy = figure.data[0], figure.data[1]
    assert loss.legendgroup == accuracy.legendgroup and (loss.xaxis, accuracy.xaxis) == ("x", "x2")


def test_training_curves_of_an_ensemble_show_each_member_in_its_colour() -> None:
    both = pd.concat([history(3).assign(member="vgg-small"), history(2).assign(member="vgg-wide")])
    figure = training_curves(both)
    assert legend(figure) == ["vgg-small", "vgg-wide"]  # one entry a run: its four lines and its stars
    small, wide = ([t for t in lines(figure) if t.legendgroup == name] for name in ("vgg-small", "vgg-wide"))
    assert len(small) == len(wide) == 4 and len(wide[0].x) == 2
    assert {t.line.color for t in small} != {t.line.color for t in wide}
    assert [t.line.dash for t in small] == ["solid", "solid", "dot", "dot"]  # training solid, validation dotted


def test_training_curves_of_a_soup_show_every_stage_and_ingredient() -> None:
    stages = pd.concat([history(2).assign(member=f"run{i}") for i in range(8)])
    figure = training_curves(stages)
    assert len(lines(figure)) == 8 * 4  # none dropped, however many
    assert legend(figure) == [f"run{i}" for i in range(8)]


def test_training_curves_star_the_epoch_each_run_kept() -> None:
    run = history(4).assign(val_accuracy=[0.4, 0.6, 0.6, 0.5], val_loss=[1.0, 0.9, 0.8, 0.95])
    stars = [trace for trace in training_curves(run).data if trace.mode == "markers"]
    # The first epoch with the best validation accuracy, as the trainer keeps it: epoch 2, counted from 1.
    assert [(list(s.x), list(s.y)) for s in stars] == [([2], [0.9]), ([2], [0.6])]


def test_every_run_of_the_shipped_history_is_in_its_whole_history_view() -> None:
    shipped = pd.read_csv(MODELS / "history.csv")
    runs = every_run(shipped["member"].unique(), read_networks(MODELS / "config.yaml"), ROOT / "configs")
    figure = training_curves(shipped, runs)
    assert [name.split(" (")[0] for name in legend(figure)] == list(shipped["member"].unique())
    resnet = next(t for t in lines(figure) if t.legendgroup.startswith("resnet (") and t.line.dash == "dot")
    assert "FER2013 labels" in resnet.hovertemplate  # each validation line says its label set


def test_the_shipped_model_curves_show_its_runs_as_stages_with_six_legend_entries_at_most() -> None:
    shipped = pd.read_csv(MODELS / "history.csv")
    networks = read_networks(MODELS / "config.yaml")
    figure = shipped_curves(shipped, networks)
    assert len(legend(figure)) <= MAX_LEGEND
    assert legend(figure) == [run.name for network in networks for run in network.runs]
    assert {a.text for a in figure.layout.annotations} >= {"fine-tune", "4 fine-tunes of resnet-soup3", "soup"}
    validation = [t for t in lines(figure) if t.line.dash == "dot"]
    assert validation and all("PublicTest, FER+ majority" in t.hovertemplate for t in validation)


def test_shipped_curves_mark_each_stage_on_the_epoch_axis_of_its_network() -> None:
    parent, tune = Run("scratch", FERPLUS, None), Run("tune", FERPLUS, "scratch")
    staged = pd.concat([history(4).assign(member="scratch"), history(2).assign(member="tune", epoch=[4, 5])])
    figure = shipped_curves(staged, [Network("soup", (parent, tune), "soup")])
    marks = sorted(s.x0 for s in figure.layout.shapes)
    assert marks == [4.5, 4.5, 6.5, 6.5]  # the fine-tune starts after epoch 4, the soup after 6; in both panels
    assert [a.text for a in figure.layout.annotations if a.textangle == -90] == ["fine-tune", "soup"]


def test_shipped_curves_past_six_runs_list_one_entry_per_network() -> None:
    runs = {net: tuple(Run(f"{net}{i}", FERPLUS, None) for i in range(4)) for net in ("a", "b")}
    staged = pd.concat([history(2).assign(member=run.name) for group in runs.values() for run in group])
    figure = shipped_curves(staged, [Network(net, group, "soup") for net, group in runs.items()])
    assert legend(figure) == ["a", "b"]
    assert {t.legendgroup for t in figure.data if t.name.startswith("a")} == {"a"}  # one click hides them all
    assert len(lines(figure)) == 8 * 4


def test_decision_trade_marks_the_floor_and_the_shipped_rule() -> None:
    from fer.charts import decision_trade

    candidates = [{"power": p, "ferplus_accuracy": 0.86 - 0.01 * i, "certain_balanced_accuracy": 0.80 + 0.03 * i}
                  for i, p in enumerate((0.0, 0.5, 1.0))]
    figure = decision_trade(candidates, "power", 0.5, 0.85)
    line, star = figure.data
    assert list(line.text) == ["0", "0.5", "1"] and list(line.y) == [0.86, 0.85, 0.84]
    assert (star.x[0], star.y[0]) == pytest.approx((0.83, 0.85)) and "power 0.5" in star.name
    assert figure.layout.shapes[0].x0 == 0.85
