"""Print docs/experiments.md's tables of ensembles with a new member, scored on PublicTest only.

Each row averages the answers of finished runs (``runs/<name>/best.keras``), without test-time
augmentation and with flip. Averaging is linear, so each run's probabilities are computed once and
every row is a mean of them: the same numbers as the ensemble's own model (``fer.training.ensemble.average``
under ``fer.training.model.with_tta``), in a fraction of the time. In a fresh clone, first recover the members
of ensemble-resnet-r3-erase, shipped before resnet-soup3: put its model and curves in a folder M
(``git show 186e239:models/emotion_cnn.keras > M/emotion_cnn.keras``, the same for ``history.csv``),
then ``python -m fer unpack --config configs/experiments/ensemble-resnet-r3-erase.yaml --model
M/emotion_cnn.keras --data PATH``. The tables before resnet-soup also need vgg-wide-erase-r2, a
member of ensemble-lineages, shipped before that: ``unpack --config configs/experiments/ensemble-lineages.yaml``
with that ensemble's model (``git show d7e1463:models/emotion_cnn.keras``, the same way).

    python docs/ensemble_table.py --data ../shared/data/fer2013.csv.gz --table vgg-small-r2 [--runs runs]

Each table is named after the new run it tries in the place of one of the then shipped ensemble's members
(vgg-small-r2 with vgg-small-r2-erase, its erasing sibling; resnet-r2 with resnet, its first stage;
resnet-r3-erase with resnet-r2, its second; resnet-soup with resnet-r3-erase, its best ingredient;
resnet-soup3 with resnet-soup, its two-run soup).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import keras
import numpy as np
from scipy.special import softmax

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fer.datasets import load_fer
from fer.training.evaluate import predict_split
from fer.training.model import with_tta

SOUP = "vgg-wide-soup"  # the strongest member of every ensemble: the others' mistakes are counted against its
LINEAGES = (SOUP, "vgg-wide-erase-r2", "vgg-small")  # ensemble-lineages, shipped before ensemble-resnet-r3-erase
R3_ERASE = (SOUP, "resnet-r3-erase", "vgg-small")  # ensemble-resnet-r3-erase, shipped before resnet-soup3
TABLES = {
    "vgg-small-r2": [
        ("vgg-small",),
        ("vgg-small-r2",),
        ("vgg-small-r2-erase",),
        LINEAGES,
        ("vgg-wide-soup", "vgg-wide-erase-r2", "vgg-small-r2"),
        ("vgg-wide-soup", "vgg-wide-erase-r2", "vgg-small-r2-erase"),
        ("vgg-wide-soup", "vgg-small-r2-erase"),
        (*LINEAGES, "vgg-small-r2-erase"),
    ],
    "resnet": [
        ("resnet",),
        ("vgg-wide-soup", "resnet"),
        LINEAGES,
        ("vgg-wide-soup", "resnet", "vgg-small"),
        ("vgg-wide-soup", "vgg-wide-erase-r2", "resnet"),
        (*LINEAGES, "resnet"),
    ],
    "resnet-r2": [
        ("resnet",),
        ("resnet-r2",),
        LINEAGES,
        ("vgg-wide-soup", "resnet", "vgg-small"),
        ("vgg-wide-soup", "resnet-r2", "vgg-small"),
        ("vgg-wide-soup", "resnet-r2"),
    ],
    "resnet-r3-erase": [
        ("resnet-r2",),
        ("resnet-r3-erase",),
        LINEAGES,
        ("vgg-wide-soup", "resnet-r2", "vgg-small"),
        ("vgg-wide-soup", "resnet-r3-erase", "vgg-small"),
        ("vgg-wide-soup", "resnet-r3-erase"),
    ],
    "resnet-soup": [
        ("resnet-r3-erase",),
        ("resnet-r3-mixup",),
        ("resnet-soup",),
        R3_ERASE,
        ("vgg-wide-soup", "resnet-soup", "vgg-small"),
        ("vgg-wide-soup", "resnet-soup"),
        ("vgg-wide-soup", "resnet-r3-erase"),
    ],
    "resnet-soup3": [
        ("resnet-r3",),
        ("resnet-soup",),
        ("resnet-soup3",),
        R3_ERASE,
        ("vgg-wide-soup", "resnet-soup", "vgg-small"),
        ("vgg-wide-soup", "resnet-soup3", "vgg-small"),
        ("vgg-wide-soup", "resnet-soup3"),
    ],
}
HALF_PRECISION_MIB = 2 / 2**20  # bytes per weight in a saved model.keras (fer.training.storage), in MiB
TEMPERATURES = np.linspace(0.5, 3.0, 51)


def with_temperature(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """Softens (temperature > 1) or sharpens a network's answers: softmax(log p / T)."""
    return softmax(np.log(np.clip(probabilities, 1e-7, 1.0)) / temperature, axis=1)


def fit_temperature(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """The temperature, on a grid, that minimises the negative log-likelihood of the labels."""
    faces = np.arange(len(labels))
    losses = [-np.log(with_temperature(probabilities, t)[faces, labels]).mean() for t in TEMPERATURES]
    return float(TEMPERATURES[int(np.argmin(losses))])


def print_calibration(rows: list[tuple[str, ...]], flips: dict[str, np.ndarray], labels: np.ndarray) -> None:
    """Each member's temperature fitted on PublicTest's even faces; ensembles scored on its odd faces.

    Fitting and scoring on different faces keeps the fit from flattering the score it is judged by.
    """
    fit, score = slice(0, None, 2), slice(1, None, 2)
    temperatures = {name: fit_temperature(flip[fit], labels[fit]) for name, flip in flips.items()}
    print("\n" + ", ".join(f"{name} T={t:.2f}" for name, t in sorted(temperatures.items())))
    print("| members, with flip, on PublicTest's odd faces | averaged as they are | each calibrated first |")
    print("|---|---|---|")
    for row in rows:
        plain = np.mean([flips[name][score] for name in row], axis=0)
        calibrated = np.mean([with_temperature(flips[name][score], temperatures[name]) for name in row], axis=0)
        accuracies = [(answers.argmax(axis=1) == labels[score]).mean() for answers in (plain, calibrated)]
        print(f"| {' + '.join(row)} | {accuracies[0]:.2%} | {accuracies[1]:.2%} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, type=Path)
    parser.add_argument("--runs", type=Path, default=ROOT / "runs")
    parser.add_argument("--table", choices=TABLES, required=True, help="the new member")
    parser.add_argument("--calibrate", action="store_true", help="also score members calibrated first")
    args = parser.parse_args()
    rows = TABLES[args.table]
    val = load_fer(args.data).val
    probabilities, sizes = {}, {}
    for name in sorted({name for row in rows for name in row}):
        network = keras.models.load_model(args.runs / name / "best.keras", compile=False)
        probabilities[name] = [predict_split(model, val) for model in (network, with_tta(network))]
        sizes[name] = network.count_params()
    print("| members | parameters | weights in half precision | no TTA | flip |\n|---|---|---|---|---|")
    for row in rows:
        scores = [np.mean([probabilities[name][view] for name in row], axis=0).argmax(axis=1) == val.labels
                  for view in (0, 1)]
        params = sum(sizes[name] for name in row)
        print(f"| {' + '.join(row)} | {params / 1e6:.2f}M | {params * HALF_PRECISION_MIB:.1f} MiB | "
              f"{scores[0].mean():.2%} | {scores[1].mean():.2%} |", flush=True)
    # What an ensemble gains from a member is its mistakes that the others do not make; how much
    # say a member has in the mean is how confident its answers are.
    soup_wrong = probabilities[SOUP][1].argmax(axis=1) != val.labels
    for name in sorted(probabilities):
        flip = probabilities[name][1]
        wrong = flip.argmax(axis=1) != val.labels
        line = f"{name}, with flip: wrong on {wrong.sum()} faces"
        if name != SOUP:
            shared = (wrong & soup_wrong).sum()
            line += f", {shared} of them ({shared / wrong.sum():.1%}) also wrong for {SOUP}"
        print(f"{line}; mean top probability {flip.max(axis=1).mean():.3f}")
    if args.calibrate:
        print_calibration(rows, {name: views[1] for name, views in probabilities.items()}, val.labels)


if __name__ == "__main__":
    main()
