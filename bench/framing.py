"""Measure how each detector frames a FER2013 face, to choose the crop that matches the training data.

FER2013 images are face crops. Upscale and pad some PublicTest images, run a detector, and express
its box in units of the original 48x48 frame. The crop that reproduces FER2013's framing is then
the box scaled by 1/width, centred where the frame's centre sits relative to the box.

    python -m bench.framing --data ../shared/data/fer2013.csv.gz
"""

from __future__ import annotations

import argparse

import cv2
import numpy as np

from fer.datasets import load_fer
from fer.detection import DETECTORS, make_detector

UPSCALE, PAD = 192, 96


def framing(detector_name: str, images: np.ndarray) -> tuple[int, np.ndarray]:
    detector = make_detector(detector_name)
    rows = []
    for img in images:
        big = cv2.resize(img, (UPSCALE, UPSCALE), interpolation=cv2.INTER_CUBIC)
        canvas = cv2.copyMakeBorder(big, PAD, PAD, PAD, PAD, cv2.BORDER_CONSTANT, value=0)
        boxes = detector.detect(cv2.cvtColor(canvas, cv2.COLOR_GRAY2RGB))
        if boxes:
            b = boxes[0]
            rows.append((b.w / UPSCALE, (b.x + b.w / 2 - PAD) / UPSCALE, (b.y + b.h / 2 - PAD) / UPSCALE))
    return len(rows), np.median(np.array(rows), axis=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--n", type=int, default=600)
    args = parser.parse_args()
    images = load_fer(args.data).val.images[: args.n]
    print(f"{'detector':16s} found  box/frame  centre x,y   => crop scale  shift_y (box heights)")
    for name in DETECTORS:
        found, (width, cx, cy) = framing(name, images)
        print(f"{name:16s} {found:4d}  {width:9.3f}  {cx:.3f},{cy:.3f}   => {1 / width:10.3f}  {(0.5 - cy) / width:+.3f}")


if __name__ == "__main__":
    main()
