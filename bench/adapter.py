"""Milliseconds per face with and without an adapter, in one process, interleaved.

    python -m bench.adapter                          # a random head of the adapter's shape
    python -m bench.adapter --adapter my.adapter     # one fit by `python -m fer adapt`
    python -m bench.adapter --adapter my.adapter --data ../shared/data/fer2013.csv.gz   # and on FER2013's faces

Each round times, on the same random faces: the served file (``EmotionClassifier.predict``, as
the app runs it), the embedding file without an adapter (probabilities and embeddings in one pass),
the embedding file with the adapter (what ``--adapter`` runs), and the adapter's head alone on
ready embeddings. Batches of 1 (the live page's usual face) and 8. A figure is the median over the
rounds of each round's median call. On a machine shared with other jobs those medians move by
milliseconds from round to round, so the adapter's extra cost is also taken paired: the served file
and the adapted reading called one after the other, in turn first, the median of each pair's
difference. And once more in CPU time, each file run by one thread (``time.thread_time``: the
calling thread's own CPU seconds, which other jobs on the cores stretch far less than the wall
clock). Then the extra cost in its parts, in CPU time on one thread, each paired against what it
adds to: the adapter's Python path and head (stand-in models that answer at once), the embedding
file handing over its second output (the same interpreter, one output against both), and its graph
(the embedding file against the served file, each giving probabilities only), with a null pair (the
served file against itself) for the noise floor. Prints one JSON line, the CPU named.

``--data`` also scores PrivateTest with and without the adapter (FER+ majority accuracy, clear
faces' balanced accuracy, FER2013 accuracy): what an adapter fit on other faces does to FER2013's.
PrivateTest is only reported here; nothing is chosen on it.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np

from bench.timing import median_ms
from fer.adapter import Adapter
from fer.classifier import DEFAULT_MODEL, EmotionClassifier
from fer.emotions import NUM_CLASSES
from fer.imaging import to_model_input
from fer.metrics import score
from fer.votes import NO_LABEL


def cpu_name() -> str:
    listed = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
    names = [line.split(":", 1)[1].strip() for line in listed.splitlines() if line.startswith("Model name")]
    return names[0] if names else platform.processor()


def paired_extra_ms(base: Callable[[], object], other: Callable[[], object], pairs: int,
                    clock: Callable[[], float] = time.perf_counter) -> float:
    """The median over ``pairs`` pairs of calls of ``other``'s time minus ``base``'s, in ms; each
    pair's order alternates, so that running second (the other file's weights just evicted from
    the cache) weighs on both alike."""
    differences = []
    for pair in range(pairs):
        first, second = (base, other) if pair % 2 == 0 else (other, base)
        start = clock()
        first()
        middle = clock()
        second()
        end = clock()
        base_ms, other_ms = (middle - start, end - middle) if pair % 2 == 0 else (end - middle, middle - start)
        differences.append(other_ms - base_ms)
    return 1000 * statistics.median(differences)


def one_thread_cpu_ms(model: Path, adapter: Adapter, pairs: int) -> dict[str, float]:
    """One face's CPU time in ms, the served file and the adapted reading each on one thread."""
    served = EmotionClassifier.load(model, threads=1)
    adapted = EmotionClassifier.load(model, threads=1, adapter=adapter)
    face = np.random.default_rng(1).uniform(0, 255, (1, 48, 48, 1)).astype(np.float32)
    runners = {"served file": partial(served.predict, face), "embedding file + adapter": partial(adapted.predict, face)}
    for run in runners.values():
        run()
    times: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(pairs):
        for name, run in runners.items():
            start = time.thread_time()
            run()
            times[name].append(1000 * (time.thread_time() - start))
    cpu = {name: round(statistics.median(t), 4) for name, t in times.items()}
    cpu["adapter's extra cost, paired"] = round(paired_extra_ms(runners["served file"],
                                                                runners["embedding file + adapter"], pairs,
                                                                time.thread_time), 4)
    return cpu


def extra_cost_parts(model: Path, adapter: Adapter, pairs: int) -> dict[str, float]:
    """What the adapted reading of one face adds, part by part, in CPU ms on one thread."""
    from fer.classifier import Embedder, embedding_file
    from fer.litert import LiteRTModel

    face = np.random.default_rng(2).uniform(0, 255, (1, 48, 48, 1)).astype(np.float32)
    p, e = np.full((1, NUM_CLASSES), 1 / NUM_CLASSES, np.float32), np.zeros((1, adapter.embedding_size), np.float32)
    at_once = EmotionClassifier(lambda batch: p, embedder=Embedder(lambda batch: (p, e), e.shape[1], adapter.model_sha256))
    served, embedding = (LiteRTModel(path.read_bytes(), 1) for path in (model, embedding_file(model)))
    parts: dict[str, tuple[Callable[[], object], Callable[[], object], int]] = {
        "python path and head": (partial(EmotionClassifier(lambda batch: p).predict, face),
                                 partial(at_once.with_adapter(adapter).predict, face), 10 * pairs),
        "second output": (partial(embedding, face), partial(embedding.outputs, face), pairs),
        "graph": (partial(served, face), partial(embedding, face), pairs),
        "null (the served file against itself)": (partial(served, face), partial(served, face), pairs),
    }
    cost = {name: round(paired_extra_ms(base, other, n, time.thread_time), 4) for name, (base, other, n) in parts.items()}
    cost["sum of the three parts"] = round(sum(v for k, v in cost.items() if not k.startswith("null")), 4)
    return cost


def random_adapter(sha256: str, size: int) -> Adapter:
    rng = np.random.default_rng(0)
    return Adapter(sha256, rng.normal(size=size).astype(np.float32), np.ones(size, np.float32),
                   rng.normal(size=(size, NUM_CLASSES)).astype(np.float32), np.zeros(NUM_CLASSES, np.float32),
                   np.ones(NUM_CLASSES, bool), 0.5, 0.01, {}, "2026-12-07")


def private_test_scores(classifier: EmotionClassifier, adapter: Adapter, data: Path) -> dict[str, dict[str, float]]:
    """PrivateTest read once by the embedding file, scored as served and as adapted."""
    from fer.datasets import default_votes, load_fer

    test = load_fer(data, votes=default_votes(data)).test
    faces = to_model_input(test.images)
    served, adapted = [], []
    for start in range(0, len(faces), 64):
        read = classifier.features(faces[start : start + 64])
        served.append(read.probabilities[0])
        adapted.append(adapter.apply(read.probabilities[0], read.embeddings[0]))
    majority = test.majority()
    labelled, clear = majority != NO_LABEL, test.labels == majority
    scores = {}
    for name, probabilities in (("served", served), ("adapted", adapted)):
        predicted = np.concatenate(probabilities).argmax(axis=1)
        scores[name] = {"ferplus_accuracy": round(score(majority[labelled], predicted[labelled]).accuracy, 4),
                        "clear_faces_balanced_accuracy": round(score(test.labels[clear], predicted[clear]).balanced_accuracy, 4),
                        "fer2013_accuracy": round(score(test.labels, predicted).accuracy, 4)}
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--adapter", type=Path, help="an adapter of --model (default: a random head of its shape)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--data", type=Path, help="fer2013.csv(.gz), its FER+ votes beside it: score PrivateTest too")
    args = parser.parse_args()

    served = EmotionClassifier.load(args.model)
    embedding = EmotionClassifier.load(args.model, embeddings=True)
    assert embedding.embedder is not None
    adapter = Adapter.load(args.adapter) if args.adapter else random_adapter(embedding.embedder.sha256,
                                                                               embedding.embedder.size)
    adapted = embedding.with_adapter(adapter)
    results: dict[str, dict[str, float]] = {}
    for batch in (1, 8):
        faces = np.random.default_rng(batch).uniform(0, 255, (batch, 48, 48, 1)).astype(np.float32)
        ready = embedding.features(faces)
        runners: dict[str, Callable[[], object]] = {
            "served file": partial(served.predict, faces),
            "embedding file": partial(embedding.features, faces),
            "embedding file + adapter": partial(adapted.predict, faces),
            "adapter head alone": partial(adapter.apply, ready.probabilities[0], ready.embeddings[0]),
        }
        times: dict[str, list[float]] = {name: [] for name in runners}
        for _ in range(args.rounds):
            for name, run in runners.items():
                times[name].append(median_ms(run, args.calls))
        results[f"batch {batch}"] = {name: round(statistics.median(t) / batch, 4) for name, t in times.items()}
        extra = results[f"batch {batch}"]["embedding file + adapter"] - results[f"batch {batch}"]["served file"]
        results[f"batch {batch}"]["adapter's extra cost"] = round(extra, 4)
        paired = paired_extra_ms(runners["served file"], runners["embedding file + adapter"], args.rounds * args.calls)
        results[f"batch {batch}"]["adapter's extra cost, paired"] = round(paired / batch, 4)
    results["one thread, CPU time"] = one_thread_cpu_ms(args.model, adapter, args.rounds * args.calls)
    results["extra cost in parts, CPU time"] = extra_cost_parts(args.model, adapter, args.rounds * args.calls)
    report = {"cpu": cpu_name(), "ms_per_face": results, "adapter": str(args.adapter or "random head"),
              "embedding_size": embedding.embedder.size, "rounds": args.rounds, "calls": args.calls}
    if args.data is not None:
        report["private_test"] = private_test_scores(embedding, adapter, args.data)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
