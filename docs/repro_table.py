"""Print docs/experiments.md's table of the shipped chain's reproduction against the original.

The original's curves are the shipped ``models/history.csv`` (one ``member`` per stage); the
reproduction's are the ``history.csv`` of each stage it has trained so far, in ``--runs``:

    python -m fer train --data ../shared/data/fer2013.csv.gz --config configs/resnet-soup3.yaml --out runs/repro/resnet-soup3
    python docs/repro_table.py [--runs runs/repro] [--every 5]

Reads CSV files only: it can run beside the training.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def stage_rows(original: pd.DataFrame, runs: Path, every: int) -> list[str]:
    """One markdown row per ``every``-th epoch (and each stage's last) that both have logged."""
    rows = []
    for stage, shipped in original.groupby("member", sort=False):
        history = runs / str(stage) / "history.csv"
        if not history.is_file() or history.stat().st_size == 0:  # not started, or no epoch logged yet
            continue
        repro = pd.read_csv(history)
        both = shipped.reset_index(drop=True).merge(repro, left_index=True, right_index=True, suffixes=("", "_repro"))
        last = len(both) - 1
        for epoch, row in both.iterrows():
            if epoch % every == 0 or epoch == last:
                rows.append(f"| {stage} | {epoch + 1} | {row.accuracy:.2%} | {row.accuracy_repro:.2%} | "
                            f"{row.val_accuracy:.2%} | {row.val_accuracy_repro:.2%} | "
                            f"{both.val_accuracy[: epoch + 1].max():.2%} | {both.val_accuracy_repro[: epoch + 1].max():.2%} |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=Path, default=ROOT / "runs" / "repro")
    parser.add_argument("--every", type=int, default=5, help="print every n-th epoch of each stage")
    args = parser.parse_args()
    original = pd.read_csv(ROOT / "models" / "history.csv")
    print("| stage | epoch | training accuracy, original | reproduction | PublicTest, original | reproduction "
          "| best PublicTest so far, original | reproduction |")
    print("|---|---|---|---|---|---|---|---|")
    print("\n".join(stage_rows(original, args.runs, args.every)))


if __name__ == "__main__":
    main()
