"""End to end in a real browser: Debian's chromium, a fake camera fed from test.mp4, the live page.

Skips with a reason where chromium or Playwright is absent (``.ci/run`` installs both).
Never runs ``playwright install``: the browser is the system's ``/usr/bin/chromium``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from fer.annotate import COLOURS
from fer.video import iter_frames

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
RUNS = int(os.environ.get("FER_E2E_RUNS", "10"))  # the stream must start every time, not most times

playwright_api = pytest.importorskip("playwright.sync_api", reason="Playwright's Python package is not installed")
if not Path(CHROMIUM).is_file():
    pytest.skip(f"chromium not found at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)


def write_y4m(video: Path, out: Path) -> Path:
    """Chromium's fake camera plays a .y4m file (raw I420 frames) in a loop."""
    frames = [rgb for _, _, rgb in iter_frames(video)]
    h, w = frames[0].shape[:2]
    with out.open("wb") as f:
        f.write(f"YUV4MPEG2 W{w} H{h} F25:1 Ip A1:1 C420jpeg\n".encode())
        for rgb in frames:
            f.write(b"FRAME\n" + cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420).tobytes())
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless=true", f"--server.port={port}",
         "--server.address=127.0.0.1", "--browser.gatherUsageStats=false", "--server.fileWatcherType=none"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("streamlit did not start") from None
                time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def browser(media: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    y4m = write_y4m(media / "test.mp4", tmp_path_factory.mktemp("camera") / "camera.y4m")
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
                  f"--use-file-for-fake-video-capture={y4m}"],
        )
        yield browser
        browser.close()


def annotated_pixels(png: bytes) -> int:
    """Pixels close to one of the emotion colours: the boxes and labels we draw, absent from the camera."""
    rgb = cv2.cvtColor(cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB).astype(int)
    saturated = [c for name, c in COLOURS.items() if name != "neutral"]
    return int(sum((np.abs(rgb - np.array(c)).sum(axis=2) < 60).sum() for c in saturated))


def run_live_once(browser, url: str, shots: Path) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1400})
    try:
        page.goto(f"{url}/live", wait_until="networkidle")
        component = page.frame_locator("iframe[title*='streamlit_webrtc']")
        component.get_by_role("button", name="START").click(timeout=60_000)
        video = component.locator("video")
        # Frames come back, and keep coming: the stream did not stop right after connecting.
        page.wait_for_function(
            "() => { const f = document.querySelector(\"iframe[title*='streamlit_webrtc']\");"
            " const v = f && f.contentDocument.querySelector('video');"
            " return v && v.videoWidth > 0 && v.currentTime > 3; }",
            timeout=90_000,
        )
        assert annotated_pixels(video.screenshot()) > 50, "the returned frames carry no annotation"
        # The live charts fill from the callback's buffer while the stream runs.
        page.wait_for_function(
            "() => [...document.querySelectorAll('[data-testid=\"stMetricValue\"]')]"
            ".some(e => Number(e.textContent) > 0)",
            timeout=30_000,
        )
        page.locator(".js-plotly-plot .scatterlayer .point").first.wait_for(timeout=30_000)
        assert component.get_by_role("button", name="STOP").is_visible()
        page.screenshot(path=str(shots / "live.png"))
        if os.environ.get("FER_E2E_SCREENSHOT"):
            shutil.copy(shots / "live.png", os.environ["FER_E2E_SCREENSHOT"])
        component.get_by_role("button", name="STOP").click()
        # After stopping: the session summary and the per-second log to download.
        page.get_by_text("Session summary").wait_for(timeout=30_000)
        assert page.get_by_role("button", name="Download the per-second log (CSV)").is_visible()
    finally:
        page.close()


def test_live_stream_starts_and_charts_fill_every_time(server: str, browser, tmp_path: Path) -> None:
    for _ in range(RUNS):
        run_live_once(browser, server, tmp_path)
