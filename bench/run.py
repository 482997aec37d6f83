"""Speed and memory, this project against the `fer` PyPI package, side by side in one run.

    bash bench/setup_peer.sh                      # once: the peer in .venv-peer
    python -m bench.run --media ../shared/media   # prints tables, writes docs/benchmarks-pipeline.md

Every measurement runs in its own process (so peak memory is its own), on identical inputs made
from ../shared/media. Nothing else should be running: the numbers are wall-clock.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.inputs import FACE_COUNTS, WIDTHS, Inputs, prepare

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "docs" / "benchmarks-pipeline.md"
PLOT = ROOT / "docs" / "bench_scaling.png"


class Runner:
    def __init__(self, peer_python: Path | None, scratch: Path) -> None:
        self.peer_python = peer_python
        self.scratch = scratch

    def ours(self, section: str, *args: object) -> dict:
        return self._run([sys.executable, "-m", "bench.ours", section, *map(str, args)], ROOT)

    def peer(self, section: str, *args: object) -> dict | None:
        if self.peer_python is None:
            return None
        return self._run([str(self.peer_python), str(ROOT / "bench" / "peer_worker.py"), section, *map(str, args)],
                         self.scratch)  # not the repo root: there `import fer` would find this project

    @staticmethod
    def _run(command: list[str], cwd: Path) -> dict:
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
        done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])


def measure(runner: Runner, inputs: Inputs, repeats: int) -> dict:
    results: dict = {"ours": {}, "peer": {}}
    for side in ("ours", "peer") if runner.peer_python else ("ours",):
        run = getattr(runner, side)
        print(f"measuring {side}…", file=sys.stderr)
        results[side]["video_native"] = run("video", inputs.video_native, 3)
        results[side]["video_720p"] = run("video", inputs.video_720p, 2)
        results[side]["photos"] = run("photos", inputs.photos)
        results[side]["faces"] = {n: run("frame", path, repeats) for n, path in inputs.faces.items()}
        results[side]["sizes"] = {w: run("frame", path, repeats) for w, path in inputs.sizes.items()}
    results["ours"]["photos_thorough"] = runner.ours("photos", inputs.photos, 1)
    results["ours"]["classify"] = runner.ours("classify", 200)
    print("measuring fast paths…", file=sys.stderr)
    results["ours"]["fastpaths"] = {
        **{f"video_{key}_{runtime}": runner.ours("video", path, repeats, runtime)
           for runtime in ("keras", "litert")
           for key, path, repeats in (("native", inputs.video_native, 3), ("720p", inputs.video_720p, 2))},
        "schedules": runner.ours("schedules", inputs.video_native, 7),
        "held_boxes": runner.ours("held_boxes", inputs.video_native, 3),
    }
    return results


def cpu_name() -> str:
    """The processor's model name: frame rates here differ by 2x between two 2-core machines."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def ratio(ours: float, peer: float | None, higher_is_better: bool = True) -> str:
    if not peer:
        return "–"
    return f"{(ours / peer if higher_is_better else peer / ours):.2f}×"


def report(results: dict, command: str) -> str:
    ours, peer = results["ours"], results["peer"] or {}

    def p(*keys: str | int) -> dict | None:
        node = peer
        for key in keys:
            node = node.get(key) if isinstance(node, dict) else None
        return node

    lines = [
        "# Benchmarks",
        "",
        (f"Measured {datetime.date.today()} on {cpu_name()} "
        f"({os.cpu_count()} cores), Python {platform.python_version()}, by `{command}`. "
        "Ours: the defaults (BlazeFace full range + our CNN with flip TTA, run by LiteRT with int8 weights). Peer: the `fer` PyPI package "
        "(25.10.3), `FER().detect_emotions` with its defaults (Haar cascade + its quantized TF Lite "
         "mini-Xception). Each row is one process; memory is its peak resident set."),
        "",
        "## Side by side",
        "",
        "| measurement | ours | peer | ours vs peer |",
        "|---|---|---|---|",
    ]
    for key, label in (("video_native", "test.mp4 596×336, frames/s"), ("video_720p", "test.mp4 upscaled to 1280×720, frames/s")):
        o, q = ours[key], p(key)
        lines.append(f"| {label} (decode→detect→classify→annotate) | {o['fps']:.1f} | "
                     f"{q['fps']:.1f} | {ratio(o['fps'], q['fps'])} |" if q else f"| {label} | {o['fps']:.1f} | – | – |")
    o, q = ours["photos"], p("photos")
    lines.append(f"| 24 single-face photos, 2400 px, photos/s | {o['per_s']:.1f} | {q['per_s']:.1f} | "
                 f"{ratio(o['per_s'], q['per_s'])} |" if q else f"| photos/s | {o['per_s']:.1f} | – | – |")
    thorough = ours["photos_thorough"]
    lines.append(f"| … with thorough mode (ten views per face, the Photos page's default), photos/s | "
                 f"{thorough['per_s']:.1f} | – | – |")
    if q:
        lines.append(f"| … faces too many / photos with no face found | {o['extra_faces']} / {o['missed']} | "
                     f"{q['extra_faces']} / {q['missed']} | |")
        for key, label in (("video_native", "596×336"), ("video_720p", "1280×720")):
            lines.append(f"| … video {label}: frames with a face, extra boxes | {ours[key]['frames_with_face']}/"
                         f"{ours[key]['frames']}, {ours[key]['extra_faces']} | {peer[key]['frames_with_face']}/"
                         f"{peer[key]['frames']}, {peer[key]['extra_faces']} | |")
    for key, label in (("video_native", "video 596×336"), ("video_720p", "video 1280×720"), ("photos", "photos")):
        q = p(key)
        lines.append(f"| peak memory, {label} (MiB) | {ours[key]['peak_rss_mib']:.0f} | "
                     f"{q['peak_rss_mib']:.0f} | |" if q else f"| peak memory, {label} | {ours[key]['peak_rss_mib']:.0f} | – | |")

    classify = ours["classify"]
    lines += ["", "## Classification alone (ours)", "",
              "| faces per call | ms per call (median of 3 interleaved rounds, each the median of 200 calls) | faces/s |", "|---|---|---|"]
    lines += [f"| {n} | {classify[str(n)]['ms']:.2f} | {classify[str(n)]['faces_per_s']:.0f} |" for n in (1, 2, 5, 10, 32, 128)]
    lines.append(f"\nFor comparison, Keras `model.predict` on one face: {classify['keras_predict_1']['ms']:.1f} ms "
                 "per call (it builds a dataset and a loop per call); `predict_on_batch` reuses one compiled function.")

    lines += fastpaths_report(ours)
    lines += ["", "## How cost grows", "", "![scaling](bench_scaling.png)", "",
              "| frame | ours ms (faces) | peer ms (faces) |", "|---|---|---|"]
    for n in FACE_COUNTS:
        q = p("faces", str(n)) or p("faces", n)
        lines.append(f"| 1280×720 with {n} face(s) | {ours['faces'][n]['ms']:.1f} ({ours['faces'][n]['faces']}) | "
                     + (f"{q['ms']:.1f} ({q['faces']}) |" if q else "– |"))
    for w in WIDTHS:
        q = p("sizes", str(w)) or p("sizes", w)
        lines.append(f"| justin.jpg at {w} px wide | {ours['sizes'][w]['ms']:.1f} ({ours['sizes'][w]['faces']}) | "
                     + (f"{q['ms']:.1f} ({q['faces']}) |" if q else "– |"))
    return "\n".join(lines) + "\n"


def fastpaths_report(ours: dict) -> list[str]:
    fast, classify = ours["fastpaths"], ours["classify"]
    keras_ms, litert_ms, int8_ms = (classify[f"runtime_{r}"] for r in ("keras", "litert", "litert-int8"))
    lines = ["", "## Fast paths, each kept only where it pays", "",
             ("**Compiled inference.** The same `.keras` graph exported to LiteRT at load time (XNNPACK kernels, "
              "no Python dispatch per call), with float weights and with int8 weights (dynamic-range quantization: "
              "activations quantized on the fly), against Keras `predict_on_batch`:"), "",
             "| | Keras `predict_on_batch` | LiteRT | LiteRT, int8 weights | int8 against Keras |",
             "|---|---|---|---|---|"]
    lines += [f"| classify {n} face(s), ms per call | {keras_ms[n]:.2f} | {litert_ms[n]:.2f} | {int8_ms[n]:.2f} | "
              f"{keras_ms[n] / int8_ms[n]:.2f}× |" for n in ("1", "5", "32")]
    for key, label in (("native", "596×336"), ("720p", "1280×720")):
        keras_fps, litert_fps = (fast[f"video_{key}_{r}"]["fps"] for r in ("keras", "litert"))
        int8_fps = ours[f"video_{key}"]["fps"]
        lines.append(f"| test.mp4 {label}, end-to-end frames/s | {keras_fps:.1f} | {litert_fps:.1f} | {int8_fps:.1f} | "
                     f"{int8_fps / keras_fps:.2f}× |")
    lines += ["", ("Kept: LiteRT with int8 weights is the default runtime (`EmotionClassifier(..., runtime=...)`: "
                   "`\"litert-int8\"`, `\"litert\"`, `\"keras\"`). Its probabilities differ from the float model's by "
                   "a few hundredths at most; on PublicTest it scores as the float model does "
                   "(`python -m fer evaluate --runtime litert-int8`, in the README's model card)."), "",
              ("**Detection every k frames, boxes held between** (`fer.tracking.DetectionSchedule`, the live page's "
               "*Detect faces every k frames*). Held boxes are compared with a fresh detection on the same frame:"), "",
              ("| k | frames/s, test.mp4 596×336 (detect→classify→annotate, median of 7 interleaved rounds) | "
               "held frames | mean IoU (min) with a fresh box | same label as with a fresh box |"),
              "|---|---|---|---|---|",
              f"| 1 | {fast['schedules']['1']:.1f} | – | – | – |"]
    for k in (2, 3):
        held = fast["held_boxes"][str(k)]
        lines.append(f"| {k} | {fast['schedules'][str(k)]:.1f} | {held['held_frames']} | "
                     f"{held['mean_iou']:.3f} ({held['min_iou']:.3f}) | {held['same_label']:.1%} |")
    lines += ["", ("Kept as an option, off by default: with detection on every frame we already process several "
                   "times a 30 frames/s camera's rate, and a held box changes the unsmoothed label of some held frames "
                   "(the last column). On a slower machine, the live page's slider trades that for frame rate.")]
    lines += ["", ("**Detector input downscaling** is built in: BlazeFace sees every frame letterboxed to 192×192 "
                   "(full range) or 128×128 (short range), so its cost hardly grows with the frame; what grows is "
                   "decoding and the resize itself (the scaling plot below).")]
    return lines


def plot(results: dict, path: Path) -> bool:
    """Two panels, ms per frame against faces and against width, rendered by headless chromium."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=2, subplot_titles=("1280×720 frame, by number of faces", "one face, by image width"))
    for side, colour in (("ours", "#ff006e"), ("peer", "#3a86ff")):
        data = results.get(side) or {}
        if not data:
            continue
        fig.add_trace(go.Scatter(x=list(FACE_COUNTS), y=[data["faces"][n]["ms"] for n in FACE_COUNTS], name=side,
                                 line={"color": colour}, mode="lines+markers"), 1, 1)
        fig.add_trace(go.Scatter(x=list(WIDTHS), y=[data["sizes"][w]["ms"] for w in WIDTHS], name=side,
                                 line={"color": colour}, mode="lines+markers", showlegend=False), 1, 2)
    fig.update_yaxes(title_text="ms per frame", rangemode="tozero")
    fig.update_xaxes(title_text="faces", row=1, col=1)
    fig.update_xaxes(title_text="pixels wide", row=1, col=2)
    fig.update_layout(width=1100, height=420, margin={"t": 50, "b": 40})
    try:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1120, "height": 440})
            page.set_content(fig.to_html(include_plotlyjs=True, full_html=True))
            page.wait_for_timeout(500)
            page.screenshot(path=str(path))
            browser.close()
        return True
    except Exception as exc:  # noqa: BLE001 - any failure: the table still stands without the picture
        print(f"no plot: {exc}", file=sys.stderr)
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--media", type=Path, default=ROOT.parent / "shared" / "media")
    parser.add_argument("--peer-python", type=Path, default=ROOT / ".venv-peer" / "bin" / "python")
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    peer_python = args.peer_python.absolute() if args.peer_python.is_file() else None  # not resolve(): a venv's python is a symlink
    if peer_python is None:
        print(f"no peer at {args.peer_python}: run bench/setup_peer.sh; measuring ours only", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="fer-bench-") as tmp:
        # Absolute: the peer runs in the scratch folder, where a relative path names nothing.
        inputs = prepare(args.media.resolve(), Path(tmp) / "inputs")
        results = measure(Runner(peer_python, Path(tmp)), inputs, args.repeats)
    text = report(results, "python -m bench.run --media ../shared/media")
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text(text)
    (REPORT.parent / "benchmarks.json").write_text(json.dumps(results, indent=1, default=str))
    plot(results, PLOT)
    print(text)


if __name__ == "__main__":
    main()
