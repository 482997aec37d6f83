"""Whether the machine a run trains on computes bfloat16 natively.

``mixed_bfloat16`` is what the wide configs ask for, to be fast on CPUs with bfloat16 instructions
(AVX512_BF16, AMX, Arm's BF16) and on accelerators; but where the CPU has none TensorFlow emulates
it: on a 2-core AVX2 EPYC here, one step of the wide ResNet took 59 s in bfloat16 against 5.4 s in
float32. A config that asks for bfloat16 is a request to go faster, so on such a CPU the run trains
in float32 instead and says so. Where the machine cannot tell (no ``/proc/cpuinfo``), the config is
followed as written.
"""

from __future__ import annotations

import logging
from pathlib import Path

import keras

logger = logging.getLogger(__name__)

CPUINFO = Path("/proc/cpuinfo")
# x86 names them in "flags", Arm in "Features".
BFLOAT16_FLAGS = frozenset({"avx512_bf16", "amx_bf16", "bf16"})


def cpu_has_bfloat16(cpuinfo: Path = CPUINFO) -> bool | None:
    """Whether the CPU lists a bfloat16 instruction set in ``cpuinfo``; None where it has no such file."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return not BFLOAT16_FLAGS.isdisjoint(value.split())
    return None


def on_accelerator() -> bool:
    """Whether Keras's backend computes on a GPU or TPU rather than the CPU."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return jax.default_backend() != "cpu"
    if backend == "tensorflow":
        import tensorflow as tf

        return bool(tf.config.list_physical_devices("GPU"))
    return False


def training_precision(requested: str, cpuinfo: Path = CPUINFO) -> str:
    """The precision to train in: ``requested``, unless it is bfloat16 and this machine would emulate it."""
    if requested != "mixed_bfloat16" or on_accelerator() or cpu_has_bfloat16(cpuinfo) is not False:
        return requested
    logger.warning("this CPU has no bfloat16 instructions (emulated, bfloat16 trained the wide ResNet "
                   "11 times slower than float32 on one such CPU): training in float32 instead of %s", requested)
    return "float32"
