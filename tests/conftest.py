# ruff: noqa: I001  (import order is load-bearing here, see below)
"""Shared fixtures: real media and data from ../shared (skipped with a reason where absent),
and a tiny untrained model for fast unit tests."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# Before TensorFlow: pylibsrtp (aiortc's, via streamlit_webrtc) imported after TensorFlow 2.21
# segfaults. The app never imports TensorFlow; the tests, which train and export, do.
import streamlit_webrtc  # noqa: F401

import keras
import numpy as np
import pytest

from fer.classifier import CONTRACT_MODEL, DEFAULT_MODEL, EmotionClassifier
from fer.datasets import FerData, load_fer
from fer.votes import DEFAULT_VOTES_NAME
from fer.training.model import ArchConfig, build_classifier

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
MEDIA = SHARED / "media"
FER_CSV = SHARED / "data" / "fer2013.csv.gz"
TINY_ARCH = ArchConfig(widths=(4, 8), convs_per_block=1, dense_units=8, dropout=0.0)


SFEW = SHARED / "data" / "sfew-train"


@pytest.fixture(scope="session")
def sfew() -> Path:
    """The film face crops of sfew-train, read in place (never copied: research-only licence)."""
    if not (SFEW / "angry").is_dir():
        pytest.skip(f"sfew-train not found at {SFEW} (it sits beside the checkout as ../shared/data/sfew-train)")
    return SFEW


@pytest.fixture(scope="session")
def media() -> Path:
    if not (MEDIA / "justin.jpg").is_file():
        pytest.skip(f"real test media not found at {MEDIA} (it sits beside the checkout as ../shared/media)")
    return MEDIA


@pytest.fixture(scope="session")
def fer_csv() -> Path:
    if not FER_CSV.is_file():
        pytest.skip(f"FER2013 not found at {FER_CSV}; download it from Kaggle to run data tests")
    return FER_CSV


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """Workers for ``-n auto`` (pyproject.toml's addopts): two for the whole suite (``pytest``,
    ``pytest tests/``, ``pytest -m "not slow"``) on two CPUs or more; none for a file or test named on
    the command line, or on one CPU, where starting workers (each imports TensorFlow) costs more than
    it saves (CONTRIBUTING.md has the timings)."""
    suites = {(config.rootpath / path).resolve() for path in config.getini("testpaths")}
    named = [arg for arg in config.args if Path(arg.split("::")[0]).resolve() not in suites]
    return 0 if named or len(os.sched_getaffinity(0)) < 2 else 2


@pytest.fixture(scope="session")
def fer2013(fer_csv: Path) -> FerData:
    """All of FER2013, with its FER+ votes where they sit beside it (``votes`` None otherwise),
    parsed once for the pytest session: each test reading the whole file paid seconds of gunzip
    and parsing. Shared, so read-only."""
    votes = fer_csv.with_name(DEFAULT_VOTES_NAME)
    return load_fer(fer_csv, votes=votes if votes.is_file() else None)


@pytest.fixture(scope="session")
def tiny_model() -> keras.Model:
    keras.utils.set_random_seed(0)
    return build_classifier(TINY_ARCH)


@pytest.fixture(scope="session")
def shipped_classifier() -> EmotionClassifier:
    """The served LiteRT file, as the app and the CLI load it."""
    return EmotionClassifier.load(DEFAULT_MODEL)


@pytest.fixture(scope="session")
def shipped_keras() -> keras.Model:
    """The model contract the served file is made from."""
    return keras.models.load_model(CONTRACT_MODEL, compile=False)


def read_rgb(path: Path) -> np.ndarray:
    from fer.sources import read_image

    return read_image(str(path))
