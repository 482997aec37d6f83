from __future__ import annotations

import pandas as pd
import pytest

from fer.charts import training_curves


def history(n: int) -> pd.DataFrame:
    return pd.DataFrame({"epoch": range(n), "loss": [1.5] * n, "accuracy": [0.5] * n,
                         "val_loss": [1.6] * n, "val_accuracy": [0.45] * n})


def test_training_curves_of_one_run_show_train_and_validation() -> None:
    figure = training_curves(history(3))
    assert [(trace.name, list(trace.y)) for trace in figure.data] == [
        ("train", [1.5] * 3), ("train", [0.5] * 3), ("validation", [1.6] * 3), ("validation", [0.45] * 3)]
    assert list(figure.data[0].x) == [1, 2, 3]  # epochs counted from 1


def test_training_curves_list_each_line_once_and_toggle_it_in_both_panels() -> None:
    figure = training_curves(history(3))
    assert [trace.name for trace in figure.data if trace.showlegend] == ["train", "validation"]
    loss, accuracy = figure.data[0], figure.data[1]
    assert loss.legendgroup == accuracy.legendgroup and (loss.xaxis, accuracy.xaxis) == ("x", "x2")


def test_training_curves_of_an_ensemble_show_each_member() -> None:
    both = pd.concat([history(3).assign(member="vgg-small"), history(2).assign(member="vgg-wide")])
    figure = training_curves(both)
    assert len(figure.data) == 8
    assert figure.data[4].name == "vgg-wide: train" and len(figure.data[4].x) == 2
    assert figure.data[0].line.dash != figure.data[4].line.dash


def test_training_curves_of_a_soup_show_every_stage_and_ingredient() -> None:
    stages = pd.concat([history(2).assign(member=f"run{i}") for i in range(8)])
    figure = training_curves(stages)
    assert len(figure.data) == 8 * 4  # none dropped, however many
    assert {trace.name.split(":")[0] for trace in figure.data} == {f"run{i}" for i in range(8)}


def test_decision_trade_marks_the_floor_and_the_shipped_rule() -> None:
    from fer.charts import decision_trade

    candidates = [{"power": p, "ferplus_accuracy": 0.86 - 0.01 * i, "certain_balanced_accuracy": 0.80 + 0.03 * i}
                  for i, p in enumerate((0.0, 0.5, 1.0))]
    figure = decision_trade(candidates, "power", 0.5, 0.85)
    line, star = figure.data
    assert list(line.text) == ["0", "0.5", "1"] and list(line.y) == [0.86, 0.85, 0.84]
    assert (star.x[0], star.y[0]) == pytest.approx((0.83, 0.85)) and "power 0.5" in star.name
    assert figure.layout.shapes[0].x0 == 0.85
