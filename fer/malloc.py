"""glibc allocator settings for a long-lived serving process that handles video frames.

A 640x480 RGB frame is 0.9 MB. glibc serves such blocks with ``mmap`` and unmaps them when freed,
but after the first free it raises its mmap threshold (up to 32 MB) and serves later frames from
its heaps instead, one heap ("arena") per thread that allocates: the stream's receiver, its
worker and its encoder each keep their own, and freed frames stay resident there. A fixed
threshold keeps every frame-sized block an ``mmap`` that goes back to the system when freed, and
two arenas bound the rest. Measured on the live page (``bench/live.py``): one stream's server
peaked at 387-426 MiB without, 350 MiB with; two streams' at 490 MiB without, 396 MiB with.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

logger = logging.getLogger(__name__)

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter numbers (malloc.h)
M_ARENA_MAX = -8
FRAME_BLOCK_BYTES = 256 * 1024
ARENAS = 2


def keep_frames_unmapped() -> bool:
    """Apply the settings above where the C library is glibc; whether they were applied."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):  # not glibc (musl, macOS, Windows): nothing to tune
        return False
    applied = bool(mallopt(M_MMAP_THRESHOLD, FRAME_BLOCK_BYTES)) and bool(mallopt(M_ARENA_MAX, ARENAS))
    logger.debug("glibc mallopt: mmap threshold %d bytes, %d arenas: %s", FRAME_BLOCK_BYTES, ARENAS, applied)
    return applied
