"""Take the README's screenshots of every page with headless chromium (Debian's) and Playwright.

    python docs/screenshots.py --media ../shared/media [--only training ...]

Starts ``streamlit run app.py`` on a free local port, feeds the live page a fake camera made
from test.mp4, uploads the sample photos and video, and writes docs/screenshots/*.png.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from browser import CHROMIUM, camera_args, streamlit_server, write_y4m

OUT = ROOT / "docs" / "screenshots"


def settle(page: Page, seconds: float = 2.0) -> None:
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(seconds * 1000)


def home(page: Page, url: str, media: Path) -> None:
    page.goto(url)
    # The first run of a fresh server imports TensorFlow: wait for the page, not for a timer.
    page.get_by_role("heading", name="Facial expression recognition").wait_for(timeout=120_000)
    settle(page)


def live(page: Page, url: str, media: Path) -> None:
    page.goto(f"{url}/live")
    settle(page)
    page.frame_locator("iframe[title*='streamlit_webrtc']").get_by_role("button", name="START").click()
    # The page running steadily, not warming up: 20 s of frames processed (the camera sends 25 a
    # second), then the 2-second window of "Processed frames/s" over steady frames only.
    page.wait_for_function(
        "() => { const m = [...document.querySelectorAll(\"[data-testid='stMetric']\")]"
        ".find(e => e.textContent.includes('Frames processed'));"
        " return m && Number(m.querySelector(\"[data-testid='stMetricValue']\").textContent) >= 500; }",
        timeout=180_000)
    page.wait_for_timeout(3_000)


def photos(page: Page, url: str, media: Path) -> None:
    page.goto(f"{url}/photos")
    settle(page)
    page.locator("input[type=file]").set_input_files(
        [str(media / n) for n in ("justin.jpg", "portrait.jpg", "couple.jpg", "no-faces.jpg")])
    page.get_by_text("image(s) labelled").wait_for(timeout=120_000)
    settle(page, 3)


def videos(page: Page, url: str, media: Path) -> None:
    page.goto(f"{url}/videos")
    settle(page)
    page.locator("input[type=file]").set_input_files(str(media / "test.mp4"))
    page.get_by_text("Dominant emotion overall").wait_for(timeout=180_000)
    settle(page, 3)


def training(page: Page, url: str, media: Path) -> None:
    page.goto(f"{url}/training")
    page.get_by_role("heading", name="Training metrics").wait_for(timeout=120_000)
    # Plotly draws after the page settles on a busy machine: wait for the first chart's legend.
    page.wait_for_function("() => document.querySelector('.js-plotly-plot .legendtext')", timeout=120_000)
    settle(page, 3)


SHOTS: dict[str, Callable[[Page, str, Path], None]] = {
    "home": home, "live": live, "photos": photos, "videos": videos, "training": training}
# Taller where a page's first screen needs it: the training curves with the caption under them.
HEIGHTS = {"training": 1300}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--media", type=Path, default=ROOT.parent / "shared" / "media")
    parser.add_argument("--only", nargs="+", choices=list(SHOTS), default=list(SHOTS),
                        help="retake these pages only (default: all)")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    with streamlit_server() as url, tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        y4m = write_y4m(args.media / "test.mp4", Path(tmp) / "camera.y4m")
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=camera_args(y4m))
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        for name in args.only:
            page.set_viewport_size({"width": 1400, "height": HEIGHTS.get(name, 1000)})
            SHOTS[name](page, url, args.media)
            page.screenshot(path=str(OUT / f"{name}.png"), full_page=True)
        browser.close()
    print("wrote", ", ".join(f"{name}.png" for name in args.only))


if __name__ == "__main__":
    main()
