"""Timing helpers shared by both benchmark workers (standard library only: the peer's venv runs it)."""

from __future__ import annotations

import resource
import statistics
import time
from collections.abc import Callable


def median_ms(fn: Callable[[], object], repeats: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def peak_rss_mib() -> float:
    """This process's peak resident memory. Not getrusage's ru_maxrss: Linux carries that over
    from the parent across fork and exec, so a small child reports its parent's peak."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
