"""Compare the face detectors on the real media: faces found and milliseconds per call.

    python -m bench.detectors --media ../shared/media

Timings are medians over repeated calls on this machine; run it with nothing else busy.
"""

from __future__ import annotations

import argparse
import time
from functools import partial
from pathlib import Path

from bench.timing import median_ms
from fer.detection import DETECTORS, make_detector
from fer.sources import read_image
from fer.video import iter_frames

PHOTOS = ("justin.jpg", "portrait.jpg", "couple.jpg", "no-faces.jpg")
EXPECTED = {"justin.jpg": 1, "portrait.jpg": 1, "couple.jpg": 2, "no-faces.jpg": 0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--media", type=Path, default=Path("../shared/media"))
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    photos = {name: read_image(str(args.media / name)) for name in PHOTOS}
    frames = [rgb for _, _, rgb in iter_frames(args.media / "test.mp4")]
    header = ["detector"] + [f"{n} faces / ms" for n in PHOTOS] + ["test.mp4 frames with 1 face", "extra boxes", "ms/frame"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for name in DETECTORS:
        detector = make_detector(name)
        cells = [name]
        for photo, rgb in photos.items():
            found = len(detector.detect(rgb))
            mark = "" if found == EXPECTED[photo] else " ✗"
            cells.append(f"{found}{mark} / {median_ms(partial(detector.detect, rgb), args.repeats):.1f}")
        counts = [len(detector.detect(rgb)) for rgb in frames]
        start = time.perf_counter()
        for rgb in frames:
            detector.detect(rgb)
        per_frame = (time.perf_counter() - start) * 1000 / len(frames)
        cells += [f"{sum(c == 1 for c in counts)}/{len(frames)}", str(sum(max(0, c - 1) for c in counts)), f"{per_frame:.1f}"]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
