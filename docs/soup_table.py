"""Print docs/experiments.md's tables of model soups, scored on PublicTest only.

Each row averages the best weights of runs fine-tuned from one parent (``runs/<name>/best.keras``),
once plainly and once with its BatchNorm statistics recomputed on the training faces (what
``fer.training.soup.make_soup`` ships), and scores both without test-time augmentation and with flip. The
first table's parent is vgg-wide-r2; the second's is the first table's shipped soup, and the third
adds that soup's one-change children (no label smoothing, a plateau schedule, AdamW).

    python docs/soup_table.py --data ../shared/data/fer2013.csv.gz [--runs runs] [--table vgg-wide-soup]

The first table took about 30 minutes on this 2-core CPU with a training run beside it (measured once).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import keras

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fer.datasets import Split, load_fer
from fer.imaging import to_model_input
from fer.training.evaluate import predict_split
from fer.training.model import with_tta
from fer.training.soup import average_weights, make_soup

GEN1 = ("vgg-wide-r3", "vgg-wide-r3-erase", "vgg-wide-r3-mixup", "vgg-wide-r4-erase")
GEN2 = ("vgg-wide-soup-ft", "vgg-wide-soup-ft-erase", "vgg-wide-soup-ft-mixup")
FROM_R2 = [
    ("vgg-wide-r3-erase",),
    ("vgg-wide-r3", "vgg-wide-r3-erase"),
    ("vgg-wide-r3-erase", "vgg-wide-r3-mixup"),
    ("vgg-wide-r3", "vgg-wide-r3-erase", "vgg-wide-r3-mixup"),
    ("vgg-wide-r2", "vgg-wide-r3", "vgg-wide-r3-erase", "vgg-wide-r3-mixup"),
    ("vgg-wide-r3-erase", "vgg-wide-r4-erase"),
    ("vgg-wide-r3-erase", "vgg-wide-r4-erase", "vgg-wide-r4-distill"),
    GEN1,
    (*GEN1, "vgg-wide-r4-distill"),
]
FROM_SOUP = [
    ("vgg-wide-soup-ft-erase",),
    ("vgg-wide-soup-ft-erase", "vgg-wide-soup-ft-mixup"),
    GEN2,
    ("vgg-wide-soup", *GEN2),
    (*GEN1, *GEN2),
]
ONE_CHANGE = ("vgg-wide-soup-ft-erase-ls0", "vgg-wide-soup-ft-erase-plateau", "vgg-wide-soup-ft-erase-adamw")
FROM_SOUP_ONE_CHANGE = [
    *[(*GEN2, child) for child in ONE_CHANGE],
    (*GEN2, *ONE_CHANGE),
    ("vgg-wide-soup", *GEN2, *ONE_CHANGE),
]
SOUPS = {"vgg-wide-r2": FROM_R2, "vgg-wide-soup": FROM_SOUP, "vgg-wide-soup-one-change": FROM_SOUP_ONE_CHANGE}


def accuracy(model: keras.Model, split: Split) -> str:
    scores = [float((predict_split(m, split).argmax(axis=1) == split.labels).mean()) for m in (model, with_tta(model))]
    return " | ".join(f"{s:.2%}" for s in scores)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, type=Path)
    parser.add_argument("--runs", type=Path, default=ROOT / "runs")
    parser.add_argument("--table", choices=SOUPS, default="vgg-wide-r2",
                        help="which table: named after the parent of its ingredients")
    args = parser.parse_args()
    soups = SOUPS[args.table]
    data = load_fer(args.data)
    train_faces = to_model_input(data.train.images)  # 265 MB: converted once, not per soup
    names = sorted({name for soup in soups for name in soup})
    runs = {name: keras.models.load_model(args.runs / name / "best.keras", compile=False) for name in names}
    print("| ingredients | plain mean: none | flip | recalibrated: none | flip |\n|---|---|---|---|---|")
    for soup in soups:
        ingredients = [runs[name] for name in soup]
        plain = keras.models.clone_model(ingredients[0])
        plain.set_weights(average_weights(ingredients))
        recalibrated = make_soup(ingredients, train_faces)
        label = " + ".join(name.removeprefix("vgg-wide-") for name in soup)
        print(f"| {label} | {accuracy(plain, data.val)} | {accuracy(recalibrated, data.val)} |", flush=True)


if __name__ == "__main__":
    main()
