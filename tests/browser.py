"""Headless chromium against a real `streamlit run app.py`: shared by the browser test and
docs/screenshots.py. Chromium is Debian's; Playwright never downloads a browser here."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import cv2

from fer.video import iter_frames

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def write_y4m(video: Path, out: Path) -> Path:
    """Chromium's fake camera plays a .y4m file (raw I420 frames) in a loop."""
    frames = [rgb for _, _, rgb in iter_frames(video)]
    h, w = frames[0].shape[:2]
    with out.open("wb") as f:
        f.write(f"YUV4MPEG2 W{w} H{h} F25:1 Ip A1:1 C420jpeg\n".encode())
        for rgb in frames:
            f.write(b"FRAME\n" + cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420).tobytes())
    return out


def camera_args(y4m: Path) -> list[str]:
    return [*CHROMIUM_ARGS, "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={y4m}"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def streamlit_server(timeout_s: float = 120) -> Iterator[str]:
    """`streamlit run app.py` on a free loopback port; yields its URL once it answers."""
    with streamlit_process(timeout_s) as (url, _):
        yield url


@contextmanager
def streamlit_process(timeout_s: float = 120, root: Path = ROOT) -> Iterator[tuple[str, subprocess.Popen]]:
    """`streamlit run app.py` in ``root`` (this checkout, or another one to compare with), with its
    settings (.streamlit/config.toml), on a free loopback port; yields its URL, once it answers,
    and its process."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless=true", f"--server.port={port}",
         "--server.address=127.0.0.1", "--browser.gatherUsageStats=false"],
        cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("streamlit did not start") from None
                time.sleep(0.5)
        yield url, process
    finally:
        process.terminate()
        process.wait(timeout=30)
