"""Benchmark worker for this project's pipeline: ``python -m bench.ours SECTION ARGS`` prints JSON.

Each section runs in a fresh process so that its peak memory is its own.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np

from bench.timing import median_ms, peak_rss_mib
from fer.annotate import annotate
from fer.classifier import CONTRACT_MODEL, DEFAULT_RUNTIME, RUNTIMES, EmotionClassifier
from fer.pipeline import EmotionPipeline, load_pipeline
from fer.sources import read_image
from fer.tracking import DetectionSchedule
from fer.video import iter_frames


def runtime_classifier(runtime: str) -> EmotionClassifier:
    """The served file for the default runtime; the other runtimes made from the model contract
    (these import TensorFlow: the benchmark compares them, the app never runs them)."""
    if runtime == DEFAULT_RUNTIME:
        return EmotionClassifier.load()
    import keras

    from fer.litert import LiteRTModel
    from fer.training.export import litert_bytes

    model = keras.models.load_model(CONTRACT_MODEL, compile=False)
    if runtime == "keras":
        return EmotionClassifier(model.predict_on_batch)
    return EmotionClassifier(LiteRTModel(litert_bytes(model, int8_weights=False)))


def video(path: str, repeats: str, runtime: str = DEFAULT_RUNTIME, detect_every: str = "1") -> dict:
    default = load_pipeline()
    pipeline = default if runtime == DEFAULT_RUNTIME else EmotionPipeline(default.detector, runtime_classifier(runtime))
    pipeline.analyse(np.zeros((64, 64, 3), np.uint8))  # warm-up
    frames = with_face = extra = 0
    start = time.perf_counter()
    for _ in range(int(repeats)):
        schedule = DetectionSchedule(int(detect_every))
        for _, _, rgb in iter_frames(path):
            faces = pipeline.classify(rgb, schedule.boxes(pipeline.detector, rgb))
            annotate(rgb, faces)
            frames += 1
            with_face += bool(faces)
            extra += max(0, len(faces) - 1)
    seconds = time.perf_counter() - start
    return {"frames": frames, "seconds": seconds, "fps": frames / seconds, "frames_with_face": with_face,
            "extra_faces": extra}


def schedules(path: str, rounds: str) -> dict:
    """Frames/s of detect→classify→annotate with detection every 1, 2 and 3 frames. The frames are
    decoded once beforehand, and the three settings take turns for ``rounds`` rounds (median kept),
    so that a slow moment of the machine does not land on one setting only."""
    pipeline = load_pipeline()
    frames = [rgb for _, _, rgb in iter_frames(path)]
    pipeline.analyse(frames[0])  # warm-up
    fps: dict[int, list[float]] = {1: [], 2: [], 3: []}
    for _ in range(int(rounds)):
        for every, results in fps.items():
            schedule = DetectionSchedule(every)
            start = time.perf_counter()
            for rgb in frames:
                annotate(rgb, pipeline.classify(rgb, schedule.boxes(pipeline.detector, rgb)))
            results.append(len(frames) / (time.perf_counter() - start))
    return {str(every): float(np.median(results)) for every, results in fps.items()}


def held_boxes(path: str, max_every: str) -> dict:
    """Boxes held from the last detection, k-1 frames old, against a fresh detection on the same
    frame: their overlap, and how often the face gets the same (unsmoothed) label."""
    pipeline = load_pipeline()
    frames = [rgb for _, _, rgb in iter_frames(path)]
    detected = [pipeline.detector.detect(rgb) for rgb in frames]
    fresh_labels = [pipeline.classify(rgb, boxes[:1])[0].emotion if boxes else None
                    for rgb, boxes in zip(frames, detected, strict=True)]
    result = {}
    for every in range(2, int(max_every) + 1):
        ious, same = [], []
        for i, rgb in enumerate(frames):
            held = detected[i - i % every]
            if i % every == 0 or not held or not detected[i]:
                continue
            ious.append(held[0].iou(detected[i][0]))
            same.append(pipeline.classify(rgb, held[:1])[0].emotion == fresh_labels[i])
        result[str(every)] = {"held_frames": len(ious), "mean_iou": float(np.mean(ious)),
                              "min_iou": float(np.min(ious)), "same_label": float(np.mean(same))}
    return result


def photos(folder: str, thorough: str = "0") -> dict:
    pipeline = load_pipeline(thorough=bool(int(thorough)))
    files = sorted(Path(folder).glob("*.jpg"))
    pipeline.analyse(read_image(str(files[0])))  # warm-up: first-call costs are not throughput
    counts = []
    start = time.perf_counter()
    for file in files:
        counts.append(len(pipeline.analyse(read_image(str(file)))))
    seconds = time.perf_counter() - start
    return {"images": len(files), "seconds": seconds, "per_s": len(files) / seconds, "faces": sum(counts),
            "extra_faces": sum(max(0, c - 1) for c in counts), "missed": sum(c == 0 for c in counts)}


def frame(path: str, repeats: str) -> dict:
    pipeline = load_pipeline()
    rgb = read_image(path)
    return {"ms": median_ms(lambda: pipeline.analyse(rgb), int(repeats)), "faces": len(pipeline.analyse(rgb))}


def classify(repeats: str) -> dict:
    classifier = load_pipeline().classifier
    rng = np.random.default_rng(0)
    result = {}
    sizes = {n: rng.uniform(0, 255, (n, 48, 48, 1)).astype(np.float32) for n in (1, 2, 5, 10, 32, 128)}
    rounds: dict[int, list[float]] = {n: [] for n in sizes}
    for _ in range(3):  # interleaved, so that a slow spell of the machine does not land on one size only
        for n, batch in sizes.items():
            rounds[n].append(median_ms(partial(classifier.predict, batch), int(repeats)))
    for n, measured in rounds.items():
        ms = statistics.median(measured)
        result[str(n)] = {"ms": ms, "faces_per_s": n / ms * 1000}
    single = rng.uniform(0, 255, (1, 48, 48, 1)).astype(np.float32)
    batches = {n: rng.uniform(0, 255, (n, 48, 48, 1)).astype(np.float32) for n in (1, 5, 32)}
    for runtime in RUNTIMES:  # every runtime on the same batches, for the fast-path table
        other = classifier if runtime == DEFAULT_RUNTIME else runtime_classifier(runtime)
        result[f"runtime_{runtime}"] = {str(n): median_ms(partial(other.predict, b), int(repeats))
                                        for n, b in batches.items()}
    import keras

    model = keras.models.load_model(CONTRACT_MODEL, compile=False)
    result["keras_predict_1"] = {"ms": median_ms(lambda: model.predict(single, verbose=0), 20)}
    return result


SECTIONS: dict[str, Callable[..., dict]] = {"video": video, "schedules": schedules, "held_boxes": held_boxes, "photos": photos, "frame": frame, "classify": classify}

if __name__ == "__main__":
    section, *args = sys.argv[1:]
    result = SECTIONS[section](*args)
    result["peak_rss_mib"] = peak_rss_mib()
    print(json.dumps(result))
