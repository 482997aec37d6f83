"""Saving a model to ship: a plain ``.keras`` file whose weights are stored in half precision.

A shipped model stays in the repository's history for good, so its file should be small. Keras
writes every weight as float32; this rewrites the file's ``model.weights.h5`` with each float32
array stored as float16, which halves the file. Nothing else changes: ``keras.models.load_model``
reads it as it reads any ``.keras`` file, casting the weights back into the model's float32
variables. Rounding a weight to float16 moves it by at most one part in 2,048, which moves the
shipped ensemble's probabilities on PublicTest by 0.001 at most and no answer at all
(``docs/experiments.md``); the int8 serving runtime rounds them far more coarsely anyway.
"""

from __future__ import annotations

import io
import logging
import tempfile
import zipfile
from pathlib import Path

import h5py
import keras
import numpy as np

logger = logging.getLogger(__name__)

WEIGHTS_ENTRY = "model.weights.h5"  # where a .keras archive keeps the weights


def save_half_precision(model: keras.Model, path: str | Path) -> None:
    """``model.save(path)``, with the weights stored as float16."""
    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="fer-save-") as tmp:
        full = Path(tmp) / "full.keras"
        model.save(full)
        with zipfile.ZipFile(full) as archive:
            entries = {name: archive.read(name) for name in archive.namelist()}
    halved = io.BytesIO()
    with h5py.File(io.BytesIO(entries[WEIGHTS_ENTRY]), "r") as source, h5py.File(halved, "w") as target:
        _copy_halving(source, target)
    entries[WEIGHTS_ENTRY] = halved.getvalue()
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    logger.info("saved %s with half-precision weights (%.1f MiB)", path, path.stat().st_size / 2**20)


def _copy_halving(source: h5py.Group, target: h5py.Group) -> None:
    """Copy an HDF5 group tree, attributes included, storing float32 datasets as float16."""
    target.attrs.update(source.attrs)
    for name, item in source.items():
        if isinstance(item, h5py.Group):
            _copy_halving(item, target.create_group(name))
            continue
        data = item[()]
        if isinstance(data, np.ndarray) and data.dtype == np.float32:
            data = data.astype(np.float16)
        target.create_dataset(name, data=data).attrs.update(item.attrs)
