"""New pictures per second on the live page, where the user sees them: in real Chromium.

    python -m bench.live --media ../shared/media                       # one user, 640x480 and 596x336
    python -m bench.live --media ../shared/media --users 2 --sizes 640x480
    python -m bench.live --media ../shared/media --seconds 600 --sizes 640x480 --curve docs/live_curve.csv
    python -m bench.live --media ../shared/media --root /tmp/before   # another checkout, e.g. a git worktree
    python -m bench.live --media ../shared/media --sizes 640x480 --delay   # camera-to-screen delay too
    python -m bench.live --media ../shared/media --sizes 640x480 --every-frame   # read every face on every frame
    python -m bench.live --media ../shared/media --sizes 640x480 --detect-every 2   # find faces on every other frame
    python -m bench.live --media ../shared/media --agreement          # offline: the shown label against reading every frame
    python -m bench.live --media ../shared/media --costs --sizes 640x480   # offline: the server's costs a frame

Chromium's fake camera plays a 30 frames/s ``.y4m`` made from ``test.mp4`` (it has a face), each
frame stamped with its index as a 12-bit barcode along its bottom edge. The page counts, for
every frame its ``<video>`` presents (``requestVideoFrameCallback``), whether the stamp it shows
is a new one: repeats of the last processed picture do not count. The server is a real
``streamlit run app.py`` with the production settings of ``.streamlit/config.toml``; its resident
memory is sampled every second. With ``--users 2`` two browser contexts stream at once.

Per stream it also reports what the server did (``bench/server_probe``, a ``sitecustomize`` put on
the server's ``PYTHONPATH`` only here): frames the server decoded (in), processed, encoded (out),
classifier calls and faces read, detector calls, decode and encode time; the CPU time of the server,
of the browser and of the whole machine (other work on it shows there), and the CPU's vector
extensions. ``--delay`` reads the camera's own stamp off the page's outgoing track as well: the
camera-to-screen delay of each new picture, in camera frames, is the camera's stamp when it is shown
less its own. ``--agreement`` plays the camera's frames through the library offline (every frame
processed): how often the live page's reading policy shows the label reading every frame shows.

The browser, the server and the encoder share this machine's cores, as on a laptop.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import sys
import time
from collections.abc import Iterator
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
CAMERA_FRAMES = 300  # the camera's loop: stamps 0..299, then 0 again
PROBE = Path(__file__).resolve().parent / "server_probe"

# Runs in each page: counts the distinct stamps its output <video> presents.
COUNTER_JS = """
([bits, strip, decoded, delay, period]) => {
  const frame = document.querySelector("iframe[title*='streamlit_webrtc']");
  const video = frame.contentDocument.querySelector('video');
  const canvas = document.createElement('canvas');
  const ctx = canvas.getContext('2d', {willReadFrequently: true});
  const state = {presented: 0, fresh: 0, last: -1, started: performance.now(), composited: 0, firstComposited: null,
                 decoded: 0, decodedFresh: 0, camera: -1, delays: []};
  window.__fer = state;
  const stampOf = (row, w) => {
    let value = 0;
    for (let b = 0; b < bits; b++) value = (value << 1) | (row[4 * Math.floor((b + 0.5) * w / bits)] > 127 ? 1 : 0);
    return value;
  };
  const read = () => {
    const w = video.videoWidth, h = video.videoHeight;
    if (!w) return -1;
    canvas.width = w; canvas.height = strip;
    ctx.drawImage(video, 0, h - strip, w, strip, 0, 0, w, strip);
    return stampOf(ctx.getImageData(0, strip / 2, w, 1).data, w);
  };
  const tick = (now, metadata) => {
    // presentedFrames counts every frame the compositor showed, also those between two callbacks
    // (callbacks run on the page's main thread and coalesce when it is busy; the video does not wait).
    if (state.firstComposited === null) state.firstComposited = metadata.presentedFrames;
    state.composited = metadata.presentedFrames - state.firstComposited;
    state.presented += 1;
    const value = read();
    if (value >= 0 && value !== state.last) {
      state.fresh += 1; state.last = value;
      // In camera frames: where the camera is now, less the picture shown (the camera loops over period).
      if (state.camera >= 0) state.delays.push((state.camera - value + period) % period);
    }
    video.requestVideoFrameCallback(tick);
  };
  video.requestVideoFrameCallback(tick);
  // The stamp of every frame of a track, as it comes: a clone of the track read with MediaStreamTrackProcessor.
  const stamps = (track, each) => {
    const reader = new MediaStreamTrackProcessor({track: track.clone(), maxBufferSize: 60}).readable.getReader();
    const offscreen = new OffscreenCanvas(1, strip);
    const octx = offscreen.getContext('2d', {willReadFrequently: true});
    const pump = async () => {
      for (;;) {
        const {value: frame, done} = await reader.read();
        if (done) return;
        const w = frame.displayWidth, h = frame.displayHeight;
        offscreen.width = w;
        octx.drawImage(frame, 0, h - strip, w, strip, 0, 0, w, strip);
        frame.close();
        each(stampOf(octx.getImageData(0, strip / 2, w, 1).data, w));
      }
    };
    pump();
  };
  if (delay) {
    // The camera as the page sends it: the outgoing track of the component's connection.
    const senders = (frame.contentWindow.__pcs || []).flatMap(pc => pc.getSenders());
    const camera = senders.map(s => s.track).find(t => t && t.kind === 'video');
    if (camera) stamps(camera, value => { state.camera = value; });
  }
  if (!decoded) return;
  // Every frame the browser decodes, read off its own clone of the received track: the stamps of all
  // of them, not only of those a main-thread callback happens to catch.
  state.decodedLast = -1;  // with --decoded only
  stamps(video.srcObject.getVideoTracks()[0], value => {
    state.decoded += 1;
    if (value !== state.decodedLast) { state.decodedFresh += 1; state.decodedLast = value; }
  });
}
"""


def write_stamped_y4m(video: Path, out: Path, width: int, height: int, frames: int = CAMERA_FRAMES) -> Path:
    """A ``frames``-long 30 frames/s camera at ``width`` x ``height`` from ``video``'s frames
    (looped, letterboxed), each stamped with its index."""
    with out.open("wb") as f:
        f.write(f"YUV4MPEG2 W{width} H{height} F{FPS}:1 Ip A1:1 C420jpeg\n".encode())
        for rgb in camera_frames(video, width, height, frames):
            f.write(b"FRAME\n" + cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420).tobytes())
    return out


def camera_frames(video: Path, width: int, height: int, frames: int = CAMERA_FRAMES) -> Iterator[np.ndarray]:
    """The camera's frames, as ``write_stamped_y4m`` writes them, one at a time."""
    source = [rgb for _, _, rgb in iter_frames(video)]
    for index in range(frames):
        rgb = letterbox(source[index % len(source)], width, height)
        stamp(rgb, index)
        yield rgb


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


def start_stream(context, url: str, every_frame: bool = False, detect_every: int = 1):
    page = context.new_page()
    page.goto(f"{url}/live", wait_until="networkidle")
    if detect_every > 1:  # the sidebar's detector schedule: between detections the last boxes are reused
        slider = page.get_by_role("slider", name="Detect faces every k frames")
        slider.focus()
        for _ in range(detect_every - 1):
            slider.press("ArrowRight")
        page.wait_for_function(f"() => [...document.querySelectorAll('input[type=range]')].some("
                               f"e => e.getAttribute('aria-label') === 'Detect faces every k frames' && e.value === "
                               f"'{detect_every}')", timeout=60_000)
        page.wait_for_timeout(2000)  # the rerun that hands the setting to the session
    if every_frame:  # the sidebar's last reading rate: every face on every frame, as before 2026-12-07
        slider = page.get_by_role("slider", name="Emotion readings a second per face")
        slider.focus()
        slider.press("End")
        page.get_by_text("Every face's emotion is read on every frame.").wait_for(timeout=60_000)
    page.frame_locator("iframe[title*='streamlit_webrtc']").get_by_role("button", name="START").click(timeout=60_000)
    page.wait_for_function(
        "() => { const f = document.querySelector(\"iframe[title*='streamlit_webrtc']\");"
        " const v = f && f.contentDocument.querySelector('video');"
        " return v && v.videoWidth > 0 && v.currentTime > 1; }",
        timeout=90_000,
    )
    return page


def measure(media: Path, size: tuple[int, int], users: int, seconds: float, warmup: float, scratch: Path,
            curve: Path | None = None, root: Path = ROOT, decoded: bool = False, delay: bool = False,
            every_frame: bool = False, detect_every: int = 1) -> dict:
    from playwright.sync_api import sync_playwright

    y4m = write_stamped_y4m(media / "test.mp4", scratch / f"camera_{size[0]}x{size[1]}.y4m", *size)
    probe = scratch / "fer_live_probe.json"
    probe.unlink(missing_ok=True)
    os.environ["FER_LIVE_PROBE"] = str(probe)  # read by bench/server_probe in the server only
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROBE), os.environ.get("PYTHONPATH")]))
    with streamlit_process(root=root) as (url, server), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=camera_args(y4m))
        try:
            pages = [start_stream(new_context(browser), url, every_frame, detect_every) for _ in range(users)]
            time.sleep(warmup)
            for page in pages:
                page.evaluate(COUNTER_JS, [BITS, STRIP, decoded, delay, CAMERA_FRAMES])
            rtc_before = [rtc_stats(page) for page in pages]
            cpu_before, counts_before = CpuSample(server.pid), read_probe(probe)
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
            cpu_after, counts_after = CpuSample(server.pid), read_probe(probe)
            shown = [page.evaluate("() => document.querySelector('[data-testid=\"stMetricValue\"]')?.textContent")
                     for page in pages]
            rtc_after = [rtc_stats(page) for page in pages]
            delays = [page.evaluate("() => window.__fer.delays") for page in pages]
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
        "size": f"{size[0]}x{size[1]}", "users": users, "seconds": duration, "cpu": vector_extensions(),
        "reading": "every frame" if every_frame else "the page's default",
        "detect_every": detect_every,
        "new_pictures_per_s": [round(samples[-1][f"fresh_{i}"] / duration, 1) for i in range(users)],
        "presented_per_s": [round(samples[-1][f"presented_{i}"] / duration, 1) for i in range(users)],
        "composited_per_s": [round(samples[-1][f"composited_{i}"] / duration, 1) for i in range(users)],
        "page_says_processed_fps": shown,
        # Per second over the measurement: frames the browser received, decoded and dropped of the
        # server's stream, and camera frames it encoded and sent.
        "webrtc_per_s": [{k: round((after[k] - before.get(k, 0)) / duration, 1) for k in after}
                         for before, after in zip(rtc_before, rtc_after, strict=True)],
        "server": probe_report(counts_before, counts_after, cpu_after.time - cpu_before.time),
        "cpu_percent": cpu_report(cpu_before, cpu_after),
        "server_peak_rss_mib": round(peak, 1),
        "server_rss_first_minute_mib": next((s["rss_mib"] for s in samples if s["t_s"] >= 60), None),
        "server_rss_last_mib": samples[-1]["rss_mib"],
    }
    if delay:
        result["delay_ms"] = [delay_summary(d) for d in delays]
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


def delay_summary(frames: list[int]) -> dict[str, float | int]:
    """Camera-to-screen delays of the new pictures shown, from camera frames to milliseconds."""
    ms = np.asarray(frames, float) * 1000 / FPS
    if not len(ms):
        return {"pictures": 0}
    return {"pictures": len(ms), "median": round(float(np.median(ms)), 1), "p90": round(float(np.percentile(ms, 90)), 1)}


class CpuSample:
    """CPU seconds so far of the server, of the browser (every other process this bench started) and
    of the whole machine (busy and total, over all cores)."""

    def __init__(self, server_pid: int) -> None:
        self.time = time.monotonic()
        self.server = process_cpu_s(server_pid)
        self.browser = sum(process_cpu_s(pid) for pid in descendants(os.getpid()) if pid != server_pid)
        fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        self.machine_total = sum(fields[:8]) / os.sysconf("SC_CLK_TCK")
        self.machine_busy = self.machine_total - (fields[3] + fields[4]) / os.sysconf("SC_CLK_TCK")  # less idle, iowait



def process_cpu_s(pid: int) -> float:
    """User and system CPU seconds of one process, all its threads (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def descendants(pid: int) -> list[int]:
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError):
            continue
    found, frontier = [], [pid]
    while frontier:
        children = [child for child, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


def cpu_report(before: CpuSample, after: CpuSample) -> dict[str, float]:
    """Percent of one core: the server's and the browser's; the machine's busy share of all its cores."""
    wall = after.time - before.time
    return {
        "server_of_one_core": round(100 * (after.server - before.server) / wall, 1),
        "browser_of_one_core": round(100 * (after.browser - before.browser) / wall, 1),
        "machine_busy_of_all_cores": round(
            100 * (after.machine_busy - before.machine_busy) / (after.machine_total - before.machine_total), 1),
    }


def read_probe(path: Path) -> dict:
    try:
        return json.loads(path.read_text())["counts"]
    except (OSError, ValueError, KeyError):
        return {}


def probe_report(before: dict, after: dict, seconds: float) -> dict[str, list[dict]]:
    """Per stream thread: frames processed, classifier calls and faces read, detector calls; per
    codec object active in the window (one decoder and one encoder a stream): frames and time."""
    def deltas(kind: str) -> dict[str, tuple[float, float, float]]:
        old = before.get(kind, {})
        changed = {key: [a - b for a, b in zip(now, old.get(key, [0, 0, 0.0]), strict=True)]
                   for key, now in after.get(kind, {}).items()}
        return {key: tuple(v) for key, v in changed.items() if v[0] > 0}

    def per_s(n: float) -> float:
        return round(n / seconds, 1)

    def ms(total_s: float, calls: float) -> float:
        return round(1000 * total_s / calls, 2) if calls else float("nan")

    processed, classifier, detector = deltas("processed"), deltas("classifier"), deltas("detector")
    streams = [{
        "thread": name, "processed_per_s": per_s(calls), "process_ms": ms(busy, calls),
        "classifier_calls_per_s": per_s(classifier.get(name, (0, 0, 0))[0]),
        "faces_read_per_s": per_s(classifier.get(name, (0, 0, 0))[1]),
        "classifier_ms_per_call": ms(classifier.get(name, (0, 0, 0))[2], classifier.get(name, (0, 0, 0))[0]),
        "detector_calls_per_s": per_s(detector.get(name, (0, 0, 0))[0]),
        "detector_ms": ms(detector.get(name, (0, 0, 0))[2], detector.get(name, (0, 0, 0))[0]),
    } for name, (calls, _, busy) in sorted(processed.items())]
    codecs = {kind: [{"frames_per_s": per_s(calls), "ms_per_frame": ms(busy, calls), "busy_share": round(busy / seconds, 3)}
                     for calls, _, busy in deltas(kind).values()] for kind in ("decode", "encode")}
    return {"streams": streams, "frames_in_decoded": codecs["decode"], "frames_out_encoded": codecs["encode"]}


def vector_extensions() -> dict[str, str]:
    """The CPU's name and vector extensions, as ``lscpu`` lists them (from /proc/cpuinfo's flags)."""
    text = Path("/proc/cpuinfo").read_text()
    model = re.search(r"^model name\s*:\s*(.+)$", text, re.MULTILINE)
    flags = re.search(r"^flags\s*:\s*(.+)$", text, re.MULTILINE)
    vector = [f for f in (flags.group(1).split() if flags else []) if re.match(r"(avx|fma|amx|sse4|f16c)", f)]
    return {"model": model.group(1) if model else "?", "cores": str(os.cpu_count()), "vector": " ".join(vector)}


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
    parser.add_argument("--delay", action="store_true",
                        help="also read the camera's stamp off the outgoing track, for the camera-to-screen delay of each "
                             "new picture; it costs the page's main thread a canvas read a camera frame")
    parser.add_argument("--detect-every", type=int, default=1, metavar="K",
                        help="set the page's 'Detect faces every k frames' to K (1: the default, every frame)")
    parser.add_argument("--every-frame", action="store_true",
                        help="set the page's reading rate to every frame (the behaviour before 2026-12-07) before starting")
    parser.add_argument("--costs", action="store_true",
                        help="no browser: the server's per-frame library costs, reading every frame and as the page does")
    parser.add_argument("--agreement", action="store_true",
                        help="no browser: the camera's frames through the library, the shown label against reading every frame")
    args = parser.parse_args()
    for size in args.sizes:
        width, height = (int(n) for n in size.split("x"))
        if args.agreement or args.costs:
            for row in (agreement if args.agreement else costs)(args.media, (width, height)):
                print(json.dumps(row), flush=True)
            continue
        result = measure(args.media, (width, height), args.users, args.seconds, args.warmup, args.scratch, args.curve,
                         args.root.resolve(), args.decoded, args.delay, args.every_frame, args.detect_every)
        print(json.dumps(result), flush=True)


class FrameClock:
    """The clock of a camera played frame by frame: the time of the frame being processed."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def costs(media: Path, size: tuple[int, int], rounds: int = 3) -> Iterator[dict]:
    """Milliseconds a frame, wall and CPU (all threads of this process), of ``LiveSession.process`` on
    150 camera frames played as a 30 frames/s camera (every frame processed), reading every frame and
    as the page does, in turns."""
    from fer.live import LiveSession
    from fer.pipeline import load_pipeline
    from fer.tracking import ReadingPolicy

    frames = [cv2.cvtColor(cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420), cv2.COLOR_YUV2RGB_I420)
              for rgb in camera_frames(media / "test.mp4", *size, frames=150)]
    pipeline = load_pipeline()
    for round_ in range(rounds):
        for name, policy in (("every frame", ReadingPolicy.every_frame()), ("the page's default", ReadingPolicy())):
            clock = FrameClock()
            session = LiveSession(pipeline, clock=clock, reading=policy)
            wall, cpu = time.perf_counter(), time.process_time()
            for index, rgb in enumerate(frames):
                clock.now = index / FPS
                session.process(rgb)
            yield {"round": round_, "reading": name, "process_ms": round(1000 * (time.perf_counter() - wall) / len(frames), 2),
                   "process_cpu_ms": round(1000 * (time.process_time() - cpu) / len(frames), 2),
                   "faces_read_per_frame": round(session.snapshot().faces_read / len(frames), 3)}


# (readings a second per face, smoothing): the page's default first, then the sidebar's other rates
# and other smoothing values at the default rate.
AGREEMENT_SETTINGS = [(10, 0.6), (5, 0.6), (15, 0.6), (10, 0.0), (10, 0.3), (10, 0.8), (10, 0.95)]


def agreement(media: Path, size: tuple[int, int]) -> Iterator[dict]:
    """The camera's frames as the server receives them (before the codec), every one processed at 30
    frames/s, through the shipped model: per setting, the share of faces whose shown label is the one
    reading every face on every frame shows, and the readings per face shown."""
    from fer.live import label_agreement
    from fer.pipeline import load_pipeline
    from fer.tracking import ReadingPolicy

    pipeline = load_pipeline()
    for rate, smoothing in AGREEMENT_SETTINGS:
        frames = (cv2.cvtColor(cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420), cv2.COLOR_YUV2RGB_I420)
                  for rgb in camera_frames(media / "test.mp4", *size))
        result = label_agreement(frames, pipeline, ReadingPolicy.per_second(rate), smoothing, FPS)
        yield {"size": f"{size[0]}x{size[1]}", "readings_per_s_per_face": rate, "smoothing": smoothing,
               "frames": result.frames, "faces": result.faces, "agreement": round(result.share, 4),
               "readings_per_face_shown": round(result.readings_per_face, 3)}


if __name__ == "__main__":
    main()
