"""The Bulk photos page at the size of a real photo collection: server memory and wall time.

Makes N phone-sized photos (12 MP JPEGs, from the sample media, each one a little different) in one
or more zips, serves the app (`streamlit run app.py`), uploads them in real Chromium and waits for
the page's result, sampling the server's resident memory all along; then labels the same photos
with `python -m fer label --thorough` (what the page does by default) for the wall-time ratio.

    python -m bench.bulk_photos --photos 150                 # one zip
    python -m bench.bulk_photos --photos 300 --zips 2        # memory flat in the number of photos?
    python -m bench.bulk_photos --photos 150 --users 2       # two users at once
    python -m bench.bulk_photos --photos 150 --root /tmp/before   # another checkout (a git worktree)
    python -m bench.bulk_photos --photos 150 --download      # then the annotated ZIP made and downloaded
    python -m bench.bulk_photos --photos 1 --bomb 600 --no-cli   # plus a member that declares 100 bytes
                                                                 # and inflates to 600 MB
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import zipfile
from pathlib import Path

import cv2
import numpy as np

from bench.live import status_mib
from tests.browser import CHROMIUM, CHROMIUM_ARGS, ROOT, streamlit_process

PHOTO_SIZE = (4000, 3000)
DONE_TEXT = "image(s) labelled"


def make_photos(media: Path, count: int, out: Path, seed: int = 0) -> list[Path]:
    """``count`` 4000x3000 JPEGs: the sample photos upscaled, each shifted and re-lit a little so
    that no two files are alike."""
    rng = np.random.default_rng(seed)
    sources = [np.asarray(cv2.imread(str(media / name)))
               for name in ("justin.jpg", "couple.jpg", "portrait.jpg", "no-faces.jpg")]
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        big = cv2.resize(sources[i % len(sources)], PHOTO_SIZE, interpolation=cv2.INTER_CUBIC)
        gain, shift = rng.uniform(0.85, 1.15), int(rng.integers(-40, 41))
        big = np.roll(cv2.convertScaleAbs(big, alpha=gain), shift, axis=1)
        path = out / f"IMG_{i:04d}.jpg"
        # Quality 80: 0.68 MB a photo on average, as the phone photos of issue 57 (99 MB for 150).
        cv2.imwrite(str(path), big, [cv2.IMWRITE_JPEG_QUALITY, 80])
        paths.append(path)
    return paths


def make_zips(photos: list[Path], zips: int, out: Path) -> list[Path]:
    archives = []
    for z in range(zips):
        archive = out / f"photos_{z + 1}.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as f:
            for photo in photos[z::zips]:
                f.write(photo, f"trip/{photo.name}")
        archives.append(archive)
    return archives


def add_bomb(archive: Path, inflated_mb: int) -> Path:
    """A copy of ``archive`` that starts with a deflated member of ``inflated_mb`` MB of zeros whose
    headers declare 100 bytes (what a hostile upload does to make a server inflate it)."""
    from tests.test_uploads import _lying_deflate_zip

    bombed = archive.with_name(f"{archive.stem}_bomb{inflated_mb}.zip")
    bombed.write_bytes(_lying_deflate_zip(100, inflated_mb << 20))
    # Appending keeps the lying member's directory entry as it was read.
    with zipfile.ZipFile(archive) as src, zipfile.ZipFile(bombed, "a", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info))
    return bombed


class MemorySampler(threading.Thread):
    """The server's resident memory every ``interval`` seconds, until stopped."""

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.samples: list[float] = []
        self.times: list[float] = []
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.samples.append(status_mib(self.pid, "VmRSS"))
            self.times.append(time.monotonic())
            time.sleep(self.interval)

    def stop(self) -> list[float]:
        self._stop_event.set()
        self.join()
        return self.samples


def download_in_browser(page, url: str, timeout_s: float) -> dict:  # page: playwright's Page
    """Click "Make the annotated images (ZIP)", then fetch the link it offers as a browser would."""
    start = time.monotonic()
    page.get_by_text("Make the annotated images (ZIP)").click()
    link = page.get_by_role("link", name="Download annotated images (ZIP)")
    link.wait_for(timeout=timeout_s * 1000)
    made = time.monotonic() - start
    with urllib.request.urlopen(url + link.get_attribute("href"), timeout=timeout_s) as response:
        size = sum(len(chunk) for chunk in iter(lambda: response.read(1 << 20), b""))
    return {"zip_made_s": round(made, 1), "zip_downloaded_mb": round(size / 1e6, 1),
            "zip_total_s": round(time.monotonic() - start, 1)}


def upload_in_browser(archives: list[Path], users: int, root: Path, timeout_s: float, download_zip: bool = False) -> dict:
    from playwright.sync_api import sync_playwright

    with streamlit_process(root=root) as (url, server), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            pages = []
            for _ in range(users):
                page = browser.new_context(viewport={"width": 1280, "height": 1100}).new_page()
                page.goto(f"{url}/photos", wait_until="networkidle")
                page.locator("input[type=file]").wait_for(state="attached", timeout=60_000)
                pages.append(page)
            idle = status_mib(server.pid, "VmRSS")
            sampler = MemorySampler(server.pid)
            sampler.start()
            start = time.monotonic()
            for page in pages:  # each user's upload starts without waiting for the other's result
                page.locator("input[type=file]").set_input_files([str(a) for a in archives])
            # The upload is in the server once the page shows its first photo's progress.
            # (A batch of one may be done before its progress was ever drawn.)
            pages[0].get_by_text("1/", exact=False).or_(pages[0].get_by_text(DONE_TEXT)).first.wait_for(
                timeout=timeout_s * 1000)
            uploaded_at = time.monotonic()
            walls = []
            for page in pages:
                page.get_by_text(DONE_TEXT).wait_for(timeout=timeout_s * 1000)
                walls.append(round(time.monotonic() - start, 1))
            said = [page.get_by_text(DONE_TEXT).inner_text() for page in pages]
            said += [w.inner_text() for w in pages[0].locator("[data-testid=stAlert]").all()]
            labelled_at = time.monotonic()
            download = download_in_browser(pages[0], url, timeout_s) if download_zip else {}
            samples = sampler.stop()
        finally:
            browser.close()
        before = [m for m, t in zip(samples, sampler.times, strict=False) if t <= uploaded_at] or [idle]
        labelling = [m for m, t in zip(samples, sampler.times, strict=False) if uploaded_at < t <= labelled_at] or [idle]
        if download:
            download["server_peak_while_downloading_mib"] = round(max(
                [m for m, t in zip(samples, sampler.times, strict=False) if t > labelled_at] or [idle]), 1)
        return {"server_idle_rss_mib": round(idle, 1), "server_peak_rss_mib": round(max(samples), 1),
                "server_peak_while_uploading_mib": round(max(before), 1),
                "server_peak_while_labelling_mib": round(max(labelling), 1),
                "server_peak_vmhwm_mib": round(status_mib(server.pid, "VmHWM"), 1),
                "page_wall_s": walls, "page_says": said, "alive": server.poll() is None, **download}


def cli_wall(photos: Path, root: Path) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        start = time.monotonic()
        subprocess.run([sys.executable, "-m", "fer", "label", str(photos), "--thorough", "--out", f"{tmp}/r.csv"],
                       cwd=root, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return round(time.monotonic() - start, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--media", type=Path, default=ROOT.parent / "shared" / "media")
    parser.add_argument("--photos", type=int, default=150)
    parser.add_argument("--zips", type=int, default=1)
    parser.add_argument("--users", type=int, default=1)
    parser.add_argument("--scratch", type=Path, default=Path("/tmp/bench_bulk_photos"))
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout whose app is served")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds to wait for the page's result")
    parser.add_argument("--no-cli", action="store_true", help="skip the `fer label --thorough` comparison")
    parser.add_argument("--download", action="store_true", help="then make and download the annotated ZIP")
    parser.add_argument("--bomb", type=int, metavar="MB", help="put in the zip a member that declares 100 bytes "
                        "and inflates to MB megabytes")
    args = parser.parse_args()

    photos_dir = args.scratch / f"photos_{args.photos}"
    photos = sorted(photos_dir.glob("*.jpg")) if photos_dir.is_dir() else []
    if len(photos) != args.photos:
        photos = make_photos(args.media, args.photos, photos_dir)
    archives = make_zips(photos, args.zips, args.scratch)
    if args.bomb:
        archives[0] = add_bomb(archives[0], args.bomb)
    result = {"photos": args.photos, "zips": args.zips, "users": args.users,
              "zip_mb": round(sum(a.stat().st_size for a in archives) / 1e6, 1), "root": str(args.root)}
    result |= upload_in_browser(archives, args.users, args.root.resolve(), args.timeout, args.download)
    if not args.no_cli:
        result["cli_thorough_wall_s"] = cli_wall(photos_dir, args.root.resolve())
        result["page_over_cli"] = round(max(result["page_wall_s"]) / args.users / result["cli_thorough_wall_s"], 2)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
