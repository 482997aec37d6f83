"""Print the model card's tables from models/metrics.json (so the numbers are never typed).

    python docs/model_card.py > /tmp/tables.md
"""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _tau(tau: float) -> str:
    """0.4 as 0.4, and a finer grid's 0.35 as 0.35."""
    return f"{tau:.1f}" if round(tau, 1) == tau else f"{tau:.2f}"


def split_rows(metrics: dict) -> None:
    print("| split | FER+ majority accuracy | FER+ macro-F1 | clear faces' balanced accuracy | FER2013 accuracy | FER2013 macro-F1 |")
    print("|---|---|---|---|---|---|")
    for key, name in (("private_test", "PrivateTest (test, reported)"), ("public_test", "PublicTest (validation, used for choices)")):
        plus, certain, own = metrics["ferplus"][key], metrics["certain"][key], metrics[key]
        print(f"| {name} | **{plus['accuracy']:.2%}** ({plus['faces']:,} faces) | {plus['macro_f1']:.3f} | "
              f"**{certain['balanced_accuracy']:.2%}** ({certain['faces']:,} faces) | {own['accuracy']:.2%} | {own['macro_f1']:.3f} |")


def per_class(scores: dict, emotions: list[str], title: str) -> None:
    print(f"\n{title}\n\n| emotion | precision | recall | F1 | support |\n|---|---|---|---|---|")
    for name in emotions:
        c = scores["per_class"][name]
        print(f"| {name} | {c['precision']:.3f} | {c['recall']:.3f} | {c['f1']:.3f} | {c['support']} |")


def confusion(scores: dict, emotions: list[str], title: str) -> None:
    print(f"\n{title} (rows: true, columns: predicted; row-normalised %):\n")
    print("| true \\ predicted | " + " | ".join(emotions) + " |")
    print("|---" * (len(emotions) + 1) + "|")
    for i, (name, row) in enumerate(zip(emotions, scores["confusion_matrix"], strict=True)):
        total = max(1, sum(row))
        cells = [f"**{v / total:.0%}**" if j == i else f"{v / total:.0%}" for j, v in enumerate(row)]
        print(f"| {name} | " + " | ".join(cells) + " |")


def main() -> None:
    metrics = json.loads((ROOT / "models" / "metrics.json").read_text())
    emotions = metrics["emotions"]
    split_rows(metrics)
    tta = metrics.get("test_time_augmentation")
    if tta:
        views = ", ".join(f"{k} {v:.2%}" for k, v in tta["public_test_accuracy"].items())
        print(f"\nTest-time augmentation, PublicTest FER+ majority accuracy: {views}; shipped: **{tta['chosen']}**.")
    adjustment = metrics.get("logit_adjustment")
    if adjustment:
        form = adjustment.get("form", "power")
        print(f"\nLogit adjustment on PublicTest ({form} form; tau: FER+ majority accuracy / clear faces' balanced accuracy): "
              + ", ".join(f"{_tau(s['tau'])}: {s['ferplus_accuracy']:.2%} / {s['certain_balanced_accuracy']:.2%}"
                          for s in adjustment["public_test"]) + f"; shipped: **tau = {_tau(adjustment['tau'])}**.")
    head = metrics.get("class_balanced_head")
    if head:
        print("\nClass-balanced head refit on PublicTest (power: FER+ majority accuracy / clear faces' balanced accuracy, "
              "face and mirror averaged): "
              + ", ".join(f"{s['power']:g}: {s['ferplus_accuracy']:.2%} / {s['certain_balanced_accuracy']:.2%}"
                          for s in head["public_test"]) + f"; shipped: **power = {head['power']:g}**.")
    per_class(metrics["ferplus"]["private_test"], emotions, "Per class on PrivateTest, FER+ majority labels:")
    per_class(metrics["certain"]["private_test"], emotions, "Per class on PrivateTest's clear faces (FER2013 and FER+ agree):")
    per_class(metrics["private_test"], emotions, "Per class on PrivateTest, FER2013's labels:")
    confusion(metrics["ferplus"]["private_test"], emotions, "Confusion on PrivateTest, FER+ majority labels")
    confusion(metrics["private_test"], emotions, "Confusion on PrivateTest, FER2013's labels")


if __name__ == "__main__":
    main()
