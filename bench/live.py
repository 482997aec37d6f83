"""New pictures per second on the live page, where the user sees them: in real Chromium.

    python -m bench.live --media ../shared/media                       # one user, 640x480 and 596x336
    python -m bench.live --media ../shared/media --users 2 --sizes 640x480
    python -m bench.live --media ../shared/media --seconds 600 --sizes 640x480 --curve docs/live_curve.csv
    python -m bench.live --media ../shared/media --root /tmp/before   # another checkout, e.g. a git worktree

Chromium's fake camera plays a 30 frames/s ``.y4m`` made from ``test.mp4`` (it has a face), each
frame stamped with its index as a 12-bit barcode along its bottom edge. The page counts, for
every frame its ``<video>`` presents (``requestVideoFrameCallback``), whether the stamp it shows
is a new one: repeats of the last processed picture do not count. The server is a real
``streamlit run app.py`` with the production settings of ``.streamlit/config.toml``; its resident
memory is sampled every second. With ``--users 2`` two browser contexts stream at once.

The browser, the server and the encoder share this machine's cores, as on a laptop.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the browser helpers the end-to-end test uses

from browser import CHROMIUM, camera_args, streamlit_process

from fer.video import iter_frames

FPS = 30
BITS = 12  # stamps 0..4095; the camera loops long before
STRIP = 24  # pixels: the barcode's height, at the bottom of the frame

# Runs in each page: counts the distinct stamps its output <video> presents.
COUNTER_JS = """
([bits, strip]) => {
  const frame = document.querySelector("iframe[title*='streamlit_webrtc']");
  const video = frame.contentDocument.querySelector('video');
  const canvas = document.createElement('canvas');
  const ctx = canvas.getContext('2d', {willReadFrequently: true});
  const state = {presented: 0, fresh: 0, last: -1, started: performance.now()};
  window.__fer = state;
  const read = () => {
    const w = video.videoWidth, h = video.videoHeight;
    if (!w) return -1;
    canvas.width = w; canvas.height = strip;
    ctx.drawImage(video, 0, h - strip, w, strip, 0, 0, w, strip);
    const row = ctx.getImageData(0, strip / 2, w, 1).data;
    let value = 0;
    for (let b = 0; b < bits; b++) {
      const x = Math.floor((b + 0.5) * w / bits);
      value = (value << 1) | (row[4 * x] > 127 ? 1 : 0);
    }
    return value;
  };
  const tick = () => {
    state.presented += 1;
    const value = read();
    if (value >= 0 && value !== state.last) { state.fresh += 1; state.last = value; }
    video.requestVideoFrameCallback(tick);
  };
  video.requestVideoFrameCallback(tick);
}
"""


def write_stamped_y4m(video: Path, out: Path, width: int, height: int, frames: int = 300) -> Path:
    """A ``frames``-long 30 frames/s camera at ``width`` x ``height`` from ``video``'s frames
    (looped, letterboxed), each stamped with its index."""
    source = [rgb for _, _, rgb in iter_frames(video)]
    with out.open("wb") as f:
        f.write(f"YUV4MPEG2 W{width} H{height} F{FPS}:1 Ip A1:1 C420jpeg\n".encode())
        for index in range(frames):
            rgb = letterbox(source[index % len(source)], width, height)
            stamp(rgb, index)
            f.write(b"FRAME\n" + cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420).tobytes())
    return out


def letterbox(rgb: np.ndarray, width: int, height: int) -> np.ndarray:
    scale = min(width / rgb.shape[1], (height - STRIP) / rgb.shape[0])
    resized = cv2.resize(rgb, (int(rgb.shape[1] * scale), int(rgb.shape[0] * scale)), interpolation=cv2.INTER_AREA)
    canvas = np.zeros((height, width, 3), np.uint8)
    top, left = (height - STRIP - resized.shape[0]) // 2, (width - resized.shape[1]) // 2
    canvas[top : top + resized.shape[0], left : left + resized.shape[1]] = resized
    return canvas


def stamp(rgb: np.ndarray, index: int) -> None:
    """``index`` as BITS black/white cells along the bottom ``STRIP`` rows, most significant first."""
    height, width = rgb.shape[:2]
    for bit in range(BITS):
        on = (index >> (BITS - 1 - bit)) & 1
        x0, x1 = bit * width // BITS, (bit + 1) * width // BITS
        rgb[height - STRIP :, x0:x1] = 255 if on else 0


def status_mib(pid: int, field: str) -> float:
    """A memory line of /proc/PID/status in MiB: ``VmRSS`` (now) or ``VmHWM`` (the peak)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_stream(context, url: str):
    page = context.new_page()
    page.goto(f"{url}/live", wait_until="networkidle")
    page.frame_locator("iframe[title*='streamlit_webrtc']").get_by_role("button", name="START").click(timeout=60_000)
    page.wait_for_function(
        "() => { const f = document.querySelector(\"iframe[title*='streamlit_webrtc']\");"
        " const v = f && f.contentDocument.querySelector('video');"
        " return v && v.videoWidth > 0 && v.currentTime > 1; }",
        timeout=90_000,
    )
    return page


def measure(media: Path, size: tuple[int, int], users: int, seconds: float, warmup: float, scratch: Path,
            curve: Path | None = None, root: Path = ROOT) -> dict:
    from playwright.sync_api import sync_playwright

    y4m = write_stamped_y4m(media / "test.mp4", scratch / f"camera_{size[0]}x{size[1]}.y4m", *size)
    with streamlit_process(root=root) as (url, server), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=camera_args(y4m))
        try:
            pages = [start_stream(browser.new_context(viewport={"width": 1280, "height": 1100}), url) for _ in range(users)]
            time.sleep(warmup)
            for page in pages:
                page.evaluate(COUNTER_JS, [BITS, STRIP])
            samples = []
            start = time.monotonic()
            while (elapsed := time.monotonic() - start) < seconds:
                time.sleep(1.0)
                states = [page.evaluate("() => window.__fer") for page in pages]
                samples.append({"t_s": round(elapsed + 1, 1), "rss_mib": round(status_mib(server.pid, "VmRSS"), 1),
                                **{f"fresh_{i}": s["fresh"] for i, s in enumerate(states)},
                                **{f"presented_{i}": s["presented"] for i, s in enumerate(states)}})
            shown = [page.evaluate("() => document.querySelector('[data-testid=\"stMetricValue\"]')?.textContent")
                     for page in pages]
        finally:
            browser.close()
        peak = status_mib(server.pid, "VmHWM")
    if curve is not None:
        with curve.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(samples[0]))
            writer.writeheader()
            writer.writerows(samples)
        print(minute_table(samples), flush=True)
    duration = samples[-1]["t_s"]
    return {
        "size": f"{size[0]}x{size[1]}", "users": users, "seconds": duration,
        "new_pictures_per_s": [round(samples[-1][f"fresh_{i}"] / duration, 1) for i in range(users)],
        "presented_per_s": [round(samples[-1][f"presented_{i}"] / duration, 1) for i in range(users)],
        "page_says_processed_fps": shown,
        "server_peak_rss_mib": round(peak, 1),
        "server_rss_first_minute_mib": next((s["rss_mib"] for s in samples if s["t_s"] >= 60), None),
        "server_rss_last_mib": samples[-1]["rss_mib"],
    }


def minute_table(samples: list[dict]) -> str:
    """The curve by the minute: the server's memory at its end, and the first user's new pictures/s
    over it (a Markdown table)."""
    lines = ["| minute | server RSS at its end (MiB) | new pictures/s over it |", "|---|---|---|"]
    previous = {"t_s": 0.0, "fresh_0": 0}
    for sample in samples:
        if sample["t_s"] - previous["t_s"] >= 60 or sample is samples[-1]:
            rate = (sample["fresh_0"] - previous["fresh_0"]) / (sample["t_s"] - previous["t_s"])
            lines.append(f"| {sample['t_s'] / 60:.1f} | {sample['rss_mib']:.0f} | {rate:.1f} |")
            previous = sample
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--media", type=Path, default=ROOT.parent / "shared" / "media")
    parser.add_argument("--sizes", nargs="+", default=["640x480", "596x336"])
    parser.add_argument("--users", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--warmup", type=float, default=5)
    parser.add_argument("--curve", type=Path, help="write the per-second samples (memory, counts) here")
    parser.add_argument("--scratch", type=Path, default=Path("/tmp"))
    parser.add_argument("--root", type=Path, default=ROOT,
                        help="the checkout whose app is served (default: this one), e.g. a git worktree of an older commit")
    args = parser.parse_args()
    for size in args.sizes:
        width, height = (int(n) for n in size.split("x"))
        result = measure(args.media, (width, height), args.users, args.seconds, args.warmup, args.scratch, args.curve,
                         args.root.resolve())
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
