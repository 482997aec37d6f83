"""Face crops through the served pipeline: how many are found, and whether the label matches the
crop read whole.

On a folder of face crops in emotion folders (default: the film crops of sfew-train), for every
image: does the detector alone find a face; does the pipeline (with its padded second look); which
emotion does it read in the largest face; and which does crops mode (`--crops`: no detection, the
whole image) read. Prints one JSON line.

    python -m bench.crops                                  # ../shared/data/sfew-train
    python -m bench.crops --images my_faces/ --detector blazeface-short
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from fer.detection import DEFAULT_DETECTOR, DETECTORS
from fer.folders import directory_images
from fer.imaging import decode_image
from fer.pipeline import load_pipeline
from fer.uploads import Rejected
from tests.browser import ROOT


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=Path, default=ROOT.parent / "shared" / "data" / "sfew-train")
    parser.add_argument("--detector", default=DEFAULT_DETECTOR, choices=DETECTORS)
    args = parser.parse_args()

    detecting = load_pipeline(args.detector)
    whole = load_pipeline(args.detector, crops=True)
    counts = {"images": 0, "found_by_detector": 0, "found_by_pipeline": 0, "agree_with_crops": 0}
    seconds = {"pipeline": 0.0, "crops": 0.0}
    skipped: list[Rejected] = []
    for image in directory_images(args.images, skipped):
        rgb = decode_image(image.data)
        counts["images"] += 1
        counts["found_by_detector"] += bool(detecting.detector.detect(rgb))
        start = time.perf_counter()
        faces = detecting.analyse(rgb)
        seconds["pipeline"] += time.perf_counter() - start
        start = time.perf_counter()
        (crop,) = whole.analyse(rgb)
        seconds["crops"] += time.perf_counter() - start
        if faces:
            counts["found_by_pipeline"] += 1
            counts["agree_with_crops"] += max(faces, key=lambda f: f.box.area).emotion == crop.emotion
    n = counts["images"]
    print(json.dumps({
        "images_dir": str(args.images), "detector": args.detector, **counts, "skipped": len(skipped),
        "detector_rate": round(counts["found_by_detector"] / n, 4),
        "pipeline_rate": round(counts["found_by_pipeline"] / n, 4),
        "agreement_where_found": round(counts["agree_with_crops"] / max(1, counts["found_by_pipeline"]), 4),
        "ms_per_image": {k: round(1000 * v / n, 2) for k, v in seconds.items()},
    }))


if __name__ == "__main__":
    main()
