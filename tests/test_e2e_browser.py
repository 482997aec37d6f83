"""End to end in a real browser: Debian's chromium, a fake camera fed from test.mp4, the live page.

Skips with a reason where chromium or Playwright is absent (``.ci/run`` installs both).
Never runs ``playwright install``: the browser is the system's ``/usr/bin/chromium``.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
from browser import CHROMIUM, ROOT, camera_args, streamlit_server, write_y4m

from fer.annotate import COLOURS
from fer.video import iter_frames

RUNS = int(os.environ.get("FER_E2E_RUNS", "10"))  # the stream must start every time, not most times

playwright_api = pytest.importorskip("playwright.sync_api", reason="Playwright's Python package is not installed")
if not Path(CHROMIUM).is_file():
    pytest.skip(f"chromium not found at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)

# A Streamlit server, a browser and a live stream: minutes on two cores, outside the inner loop.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with streamlit_server() as url:
        yield url


@pytest.fixture(scope="module")
def browser(media: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    y4m = write_y4m(media / "test.mp4", tmp_path_factory.mktemp("camera") / "camera.y4m")
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=camera_args(y4m))
        yield browser
        browser.close()


def colour_pixels(rgb: np.ndarray) -> int:
    """Pixels close to one of the emotion colours (their three channels' differences summing to
    under 60): what the boxes and labels we draw are made of."""
    saturated = [c for name, c in COLOURS.items() if name != "neutral"]
    # OpenCV's absolute difference and channel sum, exact for 8-bit pixels (a sum of at most 765 in
    # float32) and a few times quicker than NumPy's int64 arithmetic: every camera frame is counted
    # at each picture size the video element is shot at.
    ones = np.ones((1, 3), np.float32)
    return sum(int(np.count_nonzero(cv2.transform(cv2.absdiff(rgb, np.full_like(rgb, c)), ones) < 60))
               for c in saturated)


def screenshot_rgb(png: bytes) -> np.ndarray:
    return cv2.cvtColor(cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


class RawCamera:
    """The camera's own frames, unannotated: some of their pixels are near an emotion colour too."""

    def __init__(self, frames: list[np.ndarray]) -> None:
        self.frames = frames
        self._most: dict[tuple[int, int], int] = {}

    def most_coloured(self, w: int, h: int) -> int:
        """The most emotion-coloured pixels any frame holds at this picture size: a pass over every
        frame, so counted once per size for all the stream's runs, not once per run."""
        if (w, h) not in self._most:
            self._most[(w, h)] = max(colour_pixels(cv2.resize(f, (w, h), interpolation=cv2.INTER_AREA))
                                     for f in self.frames)
        return self._most[(w, h)]


@pytest.fixture(scope="module")
def raw_frames(media: Path) -> RawCamera:
    return RawCamera([rgb for _, _, rgb in iter_frames(media / "test.mp4")])


def assert_annotated(video, raw_frames: RawCamera, tries: int = 20) -> None:
    """Some returned picture holds far more emotion-coloured pixels than any raw camera frame at its
    size (the label's filled box alone is thousands): a server that sent the frames back unannotated
    fails here. Several pictures are looked at, since a face labelled neutral is boxed in gray, which
    is not counted (the camera's own grays would be)."""
    seen = []
    for _ in range(tries):
        shot = screenshot_rgb(video.screenshot())
        h, w = shot.shape[:2]
        raw = raw_frames.most_coloured(w, h)
        seen.append(colour_pixels(shot))
        if seen[-1] > 2 * raw + 200:
            return
        time.sleep(0.5)
    raise AssertionError(f"the returned frames carry no annotation (emotion-coloured pixels {max(seen)} at most, "
                         f"the raw camera frames up to {raw})")


def run_live_once(browser, url: str, shots: Path, raw_frames: RawCamera) -> None:
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
        assert_annotated(video, raw_frames)
        # The live charts fill from the callback's buffer while the stream runs.
        page.wait_for_function(
            "() => [...document.querySelectorAll('[data-testid=\"stMetricValue\"]')]"
            ".some(e => Number(e.textContent) > 0)",
            timeout=30_000,
        )
        # Counted, not "visible": the fragment redraws the chart every second.
        page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot .scatterlayer .point').length > 0",
                               timeout=60_000)
        assert component.get_by_role("button", name="STOP").is_visible()
        page.screenshot(path=str(shots / "live.png"))
        if os.environ.get("FER_E2E_SCREENSHOT"):
            shutil.copy(shots / "live.png", os.environ["FER_E2E_SCREENSHOT"])
        component.get_by_role("button", name="STOP").click()
        # After stopping: the session summary and the per-second log to download.
        page.get_by_text("Session summary").wait_for(timeout=30_000)
        page.get_by_role("button", name="Download the per-second log (CSV)").wait_for(timeout=30_000)
    finally:
        page.close()


def test_live_stream_starts_and_charts_fill_every_time(server: str, browser, tmp_path: Path,
                                                       raw_frames: RawCamera) -> None:
    for _ in range(RUNS):
        run_live_once(browser, server, tmp_path, raw_frames)


@pytest.mark.slow
def test_training_page_first_chart_shows_the_shipped_runs_in_six_legend_entries_at_most(server: str, browser) -> None:
    from fer.chain import read_networks

    runs = [run.name for network in read_networks(ROOT / "models" / "config.yaml") for run in network.runs]
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(f"{server}/training")
        page.get_by_role("heading", name="Training metrics").wait_for(timeout=120_000)
        page.wait_for_function("() => document.querySelector('.js-plotly-plot')?.querySelector('.legendtext')",
                               timeout=120_000)
        # The page's first chart, its legend as Chromium laid it out; read again while the page may
        # still be drawing (a run failed reading an empty legend once).
        deadline = time.monotonic() + 60
        while True:
            shown = page.evaluate("() => [...document.querySelector('.js-plotly-plot').querySelectorAll('.legendtext')]"
                                  ".map(e => e.textContent)")
            if shown == runs or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert shown == runs and len(shown) <= 6
    finally:
        page.close()


def turn_on(page, key: str) -> None:
    """Turn on the Streamlit toggle whose widget key is ``key`` by clicking its label, as a user does
    (its input is covered)."""
    toggle = page.locator(f".st-key-{key}")
    if not toggle.get_by_role("switch").is_checked():
        toggle.locator("label").first.click()
    playwright_api.expect(toggle.get_by_role("switch")).to_be_checked()


def bulk_photos_csv(page, crops: list[Path], adapted: bool) -> pd.DataFrame:
    """The Bulk photos page's CSV for ``crops`` read as face crops, the page reached from another
    one by the sidebar (a URL would start a new session, without the tab's adapter)."""
    page.get_by_role("link", name="Bulk photos").click()
    page.get_by_role("heading", name="Bulk photos").wait_for(timeout=60_000)
    if adapted:
        page.get_by_text("Reading with your adapter").first.wait_for(timeout=60_000)
    turn_on(page, "photos-crops")
    page.locator("input[type=file]").set_input_files(
        [{"name": p.name, "mimeType": "image/png", "buffer": p.read_bytes()} for p in crops])
    page.get_by_text(f"{len(crops)} image(s) labelled").wait_for(timeout=120_000)
    page.locator("[data-testid=stStatusWidget]").wait_for(state="detached", timeout=60_000)  # the run is over
    with page.expect_download(timeout=120_000) as download:
        page.get_by_role("button", name="Download CSV").click(timeout=120_000)
    table = pd.read_csv(download.value.path())
    assert adapted == page.get_by_text("Reading with your adapter").first.is_visible()  # the page says which
    return table


def test_an_adapter_fit_in_the_browser_changes_the_bulk_photos_answers_until_dropped(server: str, browser,
                                                                                     sfew: Path) -> None:
    from test_app import crops_zip

    crops = sorted((sfew / "angry").glob("*.png"))[20:26]  # not among the 12 of each emotion the adapter is fit on
    assert len(crops) == 6
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(server)
        shipped = bulk_photos_csv(page, crops, adapted=False)
        assert (shipped.status == "ok").all()  # a face in every crop
        page.get_by_role("link", name="Training metrics").click()
        page.get_by_role("heading", name="Adapt it to your photos").wait_for(timeout=120_000)
        turn_on(page, "adapt-crops")
        page.get_by_label("A .zip of emotion folders to adapt the model to").locator("input[type=file]").set_input_files(
            {"name": "mine.zip", "mimeType": "application/zip", "buffer": crops_zip(sfew, 12)})
        page.get_by_role("button", name="Use it here").click(timeout=180_000)
        page.get_by_role("button", name="Back to the shipped model").first.wait_for(timeout=60_000)
        adapted = bulk_photos_csv(page, crops, adapted=True)
        assert adapted.file.tolist() == shipped.file.tolist()
        # Every face read with the head blended in: each one's probabilities move.
        probabilities = [c for c in shipped.columns if c.startswith("p_")]
        moved = (adapted[probabilities] - shipped[probabilities]).abs().max(axis=1)
        assert (moved > 0.01).all(), moved.tolist()
        page.get_by_role("button", name="Back to the shipped model").first.click()
        page.get_by_text("Reading with your adapter").first.wait_for(state="detached", timeout=60_000)
        page.get_by_role("link", name="Home").click()  # the Bulk photos page afresh, its uploads gone
        pd.testing.assert_frame_equal(bulk_photos_csv(page, crops, adapted=False), shipped)
    finally:
        page.close()
