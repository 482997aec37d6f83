"""Classification cost per call: Keras ``predict`` against ``predict_on_batch`` (what we use).

    python -m bench.classify_latency [--model models/emotion_cnn.keras]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from fer.classifier import DEFAULT_MODEL, EmotionClassifier


def median_ms(fn, repeats: int = 50) -> float:
    for _ in range(3):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(DEFAULT_MODEL))
    args = parser.parse_args()
    classifier = EmotionClassifier.load(args.model)
    rng = np.random.default_rng(0)
    print("| faces in the call | model.predict ms | predict_on_batch ms | per face ms |")
    print("|---|---|---|---|")
    for n in (1, 2, 5, 10, 32, 128):
        batch = rng.uniform(0, 255, (n, 48, 48, 1)).astype(np.float32)
        slow = median_ms(lambda: classifier.model.predict(batch, verbose=0), 20)
        fast = median_ms(lambda: classifier.predict(batch))
        print(f"| {n} | {slow:.1f} | {fast:.1f} | {fast / n:.2f} |")


if __name__ == "__main__":
    main()
