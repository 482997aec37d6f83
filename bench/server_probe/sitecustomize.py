"""Counters inside the app server for ``bench/live.py``: on ``PYTHONPATH`` only when that bench starts
the server, with ``FER_LIVE_PROBE`` naming the JSON file to write. Standard library only, and it
imports nothing of the app: it waits for the app to import each module, then wraps one method of it.

Per stream thread (streamlit-webrtc's ``async_media_processor_N``, one per stream): frames through
``LiveSession.process``, classifier calls and the faces in them, detector calls, each with its
time. Per codec object (aiortc makes one VP8 decoder and one encoder per stream): frames and time.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections import defaultdict

PATH = os.environ.get("FER_LIVE_PROBE")
# module, class, method, what it counts, keyed by the stream thread (True) or by the object (False)
TARGETS = [
    ("fer.live", "LiveSession", "process", "processed", True),
    ("fer.classifier", "EmotionClassifier", "predict", "classifier", True),
    ("fer.detection", "BlazeFaceDetector", "detect", "detector", True),
    ("fer.detection", "HaarDetector", "detect", "detector", True),
    ("aiortc.codecs.vpx", "Vp8Decoder", "decode", "decode", False),
    ("aiortc.codecs.vpx", "Vp8Encoder", "encode", "encode", False),
]
STREAM_THREAD = "async_media_processor_"

_lock = threading.Lock()
# kind -> key -> [calls, items, seconds]
_counts: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(lambda: [0, 0, 0.0]))


def _wrap(cls: type, method: str, kind: str, per_thread: bool) -> None:
    original = getattr(cls, method)

    def timed(self, *args, **kwargs):
        if per_thread:
            key = threading.current_thread().name
            if not key.startswith(STREAM_THREAD):
                return original(self, *args, **kwargs)  # the page's own calls (photos, videos): not the stream's
        else:
            key = str(id(self))
        start = time.perf_counter()
        result = original(self, *args, **kwargs)
        elapsed = time.perf_counter() - start
        items = len(args[0]) if kind == "classifier" and args else 1
        with _lock:
            entry = _counts[kind][key]
            entry[0] += 1
            entry[1] += items
            entry[2] += elapsed
        return result

    setattr(cls, method, timed)


def _run(path: str) -> None:
    pending = list(TARGETS)
    while True:
        for target in list(pending):
            module = sys.modules.get(target[0])
            cls = getattr(module, target[1], None) if module is not None else None
            if cls is not None:
                _wrap(cls, target[2], target[3], target[4])
                pending.remove(target)
        with _lock:
            snapshot = {kind: {key: list(v) for key, v in entries.items()} for kind, entries in _counts.items()}
        tmp = f"{path}.tmp"
        with open(tmp, "w") as f:
            json.dump({"time": time.monotonic(), "counts": snapshot}, f)
        os.replace(tmp, path)
        time.sleep(0.25)


if PATH:
    threading.Thread(target=_run, args=(PATH,), name="fer-live-probe", daemon=True).start()
