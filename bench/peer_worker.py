"""Benchmark worker for the peer: the `fer` PyPI package's own ``FER().detect_emotions`` (Haar +
its bundled model, its defaults). Run by the peer's venv as a script, never with ``-m``, so that
``import fer`` finds the peer and not this project::

    .venv-peer/bin/python bench/peer_worker.py SECTION ARGS
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from fer.fer import FER
from fer.utils import draw_annotations
from timing import median_ms, peak_rss_mib


def video(path: str, repeats: str) -> dict:
    detector = FER()
    detector.detect_emotions(np.full((64, 64, 3), 255, np.uint8))  # warm-up
    frames = with_face = extra = 0
    start = time.perf_counter()
    for _ in range(int(repeats)):
        capture = cv2.VideoCapture(path)
        if not capture.isOpened():  # OpenCV reads a missing file as an empty video: not a result
            raise SystemExit(f"cannot open {path}")
        while True:
            ok, bgr = capture.read()
            if not ok:
                break
            faces = detector.detect_emotions(bgr)
            draw_annotations(bgr, faces)
            frames += 1
            with_face += bool(faces)
            extra += max(0, len(faces) - 1)
        capture.release()
    seconds = time.perf_counter() - start
    return {"frames": frames, "seconds": seconds, "fps": frames / seconds, "frames_with_face": with_face,
            "extra_faces": extra}


def photos(folder: str) -> dict:
    detector = FER()
    files = sorted(Path(folder).glob("*.jpg"))
    detector.detect_emotions(cv2.imread(str(files[0])))
    counts = []
    start = time.perf_counter()
    for file in files:
        counts.append(len(detector.detect_emotions(cv2.imread(str(file)))))
    seconds = time.perf_counter() - start
    return {"images": len(files), "seconds": seconds, "per_s": len(files) / seconds, "faces": sum(counts),
            "extra_faces": sum(max(0, c - 1) for c in counts), "missed": sum(c == 0 for c in counts)}


def frame(path: str, repeats: str) -> dict:
    detector = FER()
    bgr = cv2.imread(path)
    return {"ms": median_ms(lambda: detector.detect_emotions(bgr), int(repeats)),
            "faces": len(detector.detect_emotions(bgr))}


def one_photo(path: str) -> dict:
    """One photo from a cold process, as a user's first call: bench/cold_start.py times the process."""
    faces = FER().detect_emotions(cv2.imread(path))
    return {"faces": len(faces), "emotions": [max(f["emotions"], key=f["emotions"].get) for f in faces]}


SECTIONS: dict[str, Callable[..., dict]] = {"video": video, "photos": photos, "frame": frame, "one_photo": one_photo}

if __name__ == "__main__":
    section, *args = sys.argv[1:]
    result = SECTIONS[section](*args)
    result["peak_rss_mib"] = peak_rss_mib()
    print(json.dumps(result))
