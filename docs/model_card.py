"""Print the README's model-card tables from models/metrics.json (so the numbers are never typed).

    python docs/model_card.py
"""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    metrics = json.loads((ROOT / "models" / "metrics.json").read_text())
    emotions = metrics["emotions"]
    test, val = metrics["private_test"], metrics["public_test"]
    print("| split | accuracy | macro-F1 |\n|---|---|---|")
    print(f"| PrivateTest (test, reported) | **{test['accuracy']:.2%}** | {test['macro_f1']:.3f} |")
    print(f"| PublicTest (validation, used for choices) | {val['accuracy']:.2%} | {val['macro_f1']:.3f} |")
    tta = metrics.get("test_time_augmentation")
    if tta:
        views = ", ".join(f"{k} {v:.2%}" for k, v in tta["public_test_accuracy"].items())
        print(f"\nTest-time augmentation on PublicTest: {views}; shipped: **{tta['chosen']}**.")
    print("\nPer class on PrivateTest:\n\n| emotion | precision | recall | F1 | support |\n|---|---|---|---|---|")
    for name in emotions:
        c = test["per_class"][name]
        print(f"| {name} | {c['precision']:.3f} | {c['recall']:.3f} | {c['f1']:.3f} | {c['support']} |")
    print("\nConfusion matrix on PrivateTest (rows: true, columns: predicted; row-normalised %):\n")
    print("| true \\ predicted | " + " | ".join(emotions) + " |")
    print("|---" * (len(emotions) + 1) + "|")
    for i, (name, row) in enumerate(zip(emotions, test["confusion_matrix"], strict=True)):
        total = max(1, sum(row))
        cells = [f"**{v / total:.0%}**" if j == i else f"{v / total:.0%}" for j, v in enumerate(row)]
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
