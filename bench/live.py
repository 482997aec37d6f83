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
([bits, strip, decoded]) => {
  const frame = document.querySelector("iframe[title*='streamlit_webrtc']");
  const video = frame.contentDocument.querySelector('video');
  const canvas = document.createElement('canvas');
  const ctx = canvas.getContext('2d', {willReadFrequently: true});
  const state = {presented: 0, fresh: 0, last: -1, started: performance.now(), composited: 0, firstComposited: null,
                 decoded: 0, decodedFresh: 0};
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
  const tick = (now, metadata) => {
    // presentedFrames counts every frame the compositor showed, also those between two callbacks
    // (callbacks run on the page's main thread and coalesce when it is busy; the video does not wait).
    if (state.firstComposited === null) state.firstComposited = metadata.presentedFrames;
    state.composited = metadata.presentedFrames - state.firstComposited;
    state.presented += 1;
    const value = read();
    if (value >= 0 && value !== state.last) { state.fresh += 1; state.last = value; }
    video.requestVideoFrameCallback(tick);
  };
  video.requestVideoFrameCallback(tick);
  if (!decoded) return;
  // Every frame the browser decodes, read off its own clone of the received track: the stamps of all
  // of them, not only of those a main-thread callback happens to catch.
  state.decoded = 0; state.decodedFresh = 0; state.decodedLast = -1;  // with --decoded only
  const track = video.srcObject.getVideoTracks()[0].clone();
  const reader = new MediaStreamTrackProcessor({track, maxBufferSize: 60}).readable.getReader();
  const stamps = new OffscreenCanvas(1, strip);
  const sctx = stamps.getContext('2d', {willReadFrequently: true});
  const pump = async () => {
    for (;;) {
      const {value: frame, done} = await reader.read();
      if (done) return;
      const w = frame.displayWidth, h = frame.displayHeight;
      stamps.width = w;
      sctx.drawImage(frame, 0, h - strip, w, strip, 0, 0, w, strip);
      frame.close();
      const row = sctx.getImageData(0, strip / 2, w, 1).data;
      let value = 0;
      for (let b = 0; b < bits; b++) value = (value << 1) | (row[4 * Math.floor((b + 0.5) * w / bits)] > 127 ? 1 : 0);
      state.decoded += 1;
      if (value !== state.decodedLast) { state.decodedFresh += 1; state.decodedLast = value; }
    }
  };
  pump();
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


# In every frame, before the page's scripts: keep each RTCPeerConnection, for its stats.
KEEP_CONNECTIONS_JS = """
(() => {
  const Native = window.RTCPeerConnection;
  if (!Native) return;
  window.__pcs = [];
  window.RTCPeerConnection = function (...args) { const pc = new Native(...args); window.__pcs.push(pc); return pc; };
  window.RTCPeerConnection.prototype = Native.prototype;
})();
"""

# The video the browser receives (inbound) and the camera it sends (outbound), summed over the
# page's connections: where between the server's encoder and the screen frames go missing.
RTC_STATS_JS = """
async () => {
  const totals = {framesReceived: 0, framesDecoded: 0, framesDropped: 0, framesSent: 0, framesEncoded: 0};
  for (const pc of window.__pcs || []) {
    (await pc.getStats()).forEach(r => {
      if (r.kind !== 'video') return;
      if (r.type === 'inbound-rtp') for (const k of ['framesReceived', 'framesDecoded', 'framesDropped']) totals[k] += r[k] || 0;
      if (r.type === 'outbound-rtp') for (const k of ['framesSent', 'framesEncoded']) totals[k] += r[k] || 0;
    });
  }
  return totals;
}
"""


def rtc_stats(page) -> dict[str, int]:
    """The WebRTC frame counters of the page's stream (from the component's frame)."""
    for frame in page.frames:
        if frame.evaluate("() => Array.isArray(window.__pcs) && window.__pcs.length > 0"):
            return frame.evaluate(RTC_STATS_JS)
    return {}


def status_mib(pid: int, field: str) -> float:
    """A memory line of /proc/PID/status in MiB: ``VmRSS`` (now) or ``VmHWM`` (the peak)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def new_context(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 1100})
    context.add_init_script(KEEP_CONNECTIONS_JS)
    return context


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
            curve: Path | None = None, root: Path = ROOT, decoded: bool = False) -> dict:
    from playwright.sync_api import sync_playwright

    y4m = write_stamped_y4m(media / "test.mp4", scratch / f"camera_{size[0]}x{size[1]}.y4m", *size)
    with streamlit_process(root=root) as (url, server), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=camera_args(y4m))
        try:
            pages = [start_stream(new_context(browser), url) for _ in range(users)]
            time.sleep(warmup)
            for page in pages:
                page.evaluate(COUNTER_JS, [BITS, STRIP, decoded])
            rtc_before = [rtc_stats(page) for page in pages]
            samples = []
            start = time.monotonic()
            while (elapsed := time.monotonic() - start) < seconds:
                time.sleep(1.0)
                states = [page.evaluate("() => window.__fer") for page in pages]
                samples.append({"t_s": round(elapsed + 1, 1), "rss_mib": round(status_mib(server.pid, "VmRSS"), 1),
                                **{f"fresh_{i}": s["fresh"] for i, s in enumerate(states)},
                                **{f"presented_{i}": s["presented"] for i, s in enumerate(states)},
                                **{f"composited_{i}": s["composited"] for i, s in enumerate(states)},
                                **{f"decoded_{i}": s["decoded"] for i, s in enumerate(states)},
                                **{f"decoded_fresh_{i}": s["decodedFresh"] for i, s in enumerate(states)}})
            shown = [page.evaluate("() => document.querySelector('[data-testid=\"stMetricValue\"]')?.textContent")
                     for page in pages]
            rtc_after = [rtc_stats(page) for page in pages]
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
    result = {
        "size": f"{size[0]}x{size[1]}", "users": users, "seconds": duration,
        "new_pictures_per_s": [round(samples[-1][f"fresh_{i}"] / duration, 1) for i in range(users)],
        "presented_per_s": [round(samples[-1][f"presented_{i}"] / duration, 1) for i in range(users)],
        "composited_per_s": [round(samples[-1][f"composited_{i}"] / duration, 1) for i in range(users)],
        "page_says_processed_fps": shown,
        # Per second over the measurement: frames the browser received, decoded and dropped of the
        # server's stream, and camera frames it encoded and sent.
        "webrtc_per_s": [{k: round((after[k] - before.get(k, 0)) / duration, 1) for k in after}
                         for before, after in zip(rtc_before, rtc_after, strict=True)],
        "server_peak_rss_mib": round(peak, 1),
        "server_rss_first_minute_mib": next((s["rss_mib"] for s in samples if s["t_s"] >= 60), None),
        "server_rss_last_mib": samples[-1]["rss_mib"],
    }
    if decoded:
        result |= {
            "decoded_per_s": [round(samples[-1][f"decoded_{i}"] / duration, 1) for i in range(users)],
            "decoded_new_pictures_per_s": [round(samples[-1][f"decoded_fresh_{i}"] / duration, 1) for i in range(users)],
            # A floor on the new pictures the user saw: every new decoded picture, less every decoded frame
            # the compositor did not show (as if each of those had been a new one).
            "new_pictures_shown_at_least_per_s": [
                round((samples[-1][f"decoded_fresh_{i}"] - max(0, samples[-1][f"decoded_{i}"] - samples[-1][f"composited_{i}"]))
                      / duration, 1) for i in range(users)],
        }
    return result


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
    parser.add_argument("--decoded", action="store_true",
                        help="also read the stamp of every decoded frame (off a clone of the received track), for a floor "
                             "on the new pictures shown; it costs the page's main thread a canvas read a frame")
    parser.add_argument("--root", type=Path, default=ROOT,
                        help="the checkout whose app is served (default: this one), e.g. a git worktree of an older commit")
    args = parser.parse_args()
    for size in args.sizes:
        width, height = (int(n) for n in size.split("x"))
        result = measure(args.media, (width, height), args.users, args.seconds, args.warmup, args.scratch, args.curve,
                         args.root.resolve(), args.decoded)
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
