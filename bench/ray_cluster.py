"""Bulk labelling on a real two-node Ray cluster on this machine, against the single process.

    python -m bench.ray_cluster --media ../shared/media --photos 200 --out docs/ray_cluster.json

Starts a cluster as one would across machines (``ray start --head --num-cpus 1``, then a second
node ``ray start --address ... --num-cpus 1``, token authentication on), labels the same photo set
through ``python -m fer label --engine ray --address ...`` with 1 and then 2 workers, stops the
cluster, and labels the photos with the local engine too. Each configuration labels ``--photos``
and twice as many photos, each a fresh command: the **marginal rate** ``photos / (t(2n) - t(n))``
is the labelling throughput with the fixed costs (start-up, connecting, loading the models in the
workers) cancelled out; those fixed costs are ``t(n) - n / rate``. Memory is the peak of the summed
resident sets of every Ray process and the driver (sampled every 0.2 s; shared pages counted in
each process, so an upper bound), and the local command's peak RSS.

The photo set cycles the media photos (one face, two faces, none: 0.03 to 3.6 megapixels).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Self

ROOT = Path(__file__).resolve().parents[1]
PHOTOS = ("portrait.jpg", "justin.jpg", "couple.jpg", "no-faces.jpg")
PORT = 6390
OBJECT_STORE = str(100 * 1000**2)


def photo_set(media: Path, folder: Path, count: int) -> Path:
    folder.mkdir(parents=True)
    for i in range(count):
        shutil.copy(media / PHOTOS[i % len(PHOTOS)], folder / f"photo-{i:05d}.jpg")
    return folder


def rss_mib(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                total += next(int(line.split()[1]) for line in f if line.startswith("VmRSS"))
        except (OSError, StopIteration):
            continue  # gone, or a kernel thread
    return total / 1024


def ray_pids() -> list[int]:
    """Ray's processes (GCS, raylets, agents, workers) and drivers of ``--engine ray``."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        command = cmdline(int(entry))
        if b"site-packages/ray/" in command or command.startswith(b"ray::") or b"--engine\x00ray" in command:
            pids.append(int(entry))
    return pids


class PeakSampler:
    """The peak of a process set's summed RSS while a command runs."""

    def __init__(self) -> None:
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_mib(ray_pids()))
            time.sleep(0.2)


def run(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True)
    seconds = time.perf_counter() - start
    # A finished job's actors are reaped after its driver exits; the next job would wait for their
    # CPUs, a cost that belongs to neither.
    while any(cmdline(pid).startswith(b"ray::MapWorker") for pid in ray_pids()):
        time.sleep(0.5)
    return seconds


def cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""  # gone already


def label_command(folder: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "fer", "label", str(folder), "--out", str(out), *extra]


def summary(n: int, t_n: float, t_2n: float, peak: float) -> dict:
    rate = n / (t_2n - t_n)
    return {"seconds": [round(t_n, 2), round(t_2n, 2)], "marginal_photos_per_s": round(rate, 2),
            "end_to_end_photos_per_s": round(2 * n / t_2n, 2), "fixed_cost_s": round(t_n - n / rate, 2),
            "peak_mib": round(peak)}


def measure_local(sets: dict[int, Path], scratch: Path, env: dict[str, str]) -> dict:
    times, peaks = [], []
    for n, folder in sets.items():
        start = time.perf_counter()
        done = subprocess.run(["/usr/bin/time", "-f", "%M", *label_command(folder, scratch / f"local-{n}.parquet")],
                              cwd=ROOT, env=env, capture_output=True, text=True, check=True)
        times.append(time.perf_counter() - start)
        peaks.append(int(done.stderr.strip().splitlines()[-1]) / 1024)
    n = min(sets)
    return summary(n, times[0], times[1], max(peaks))


def start_cluster(env: dict[str, str]) -> dict:
    ray = str(Path(sys.executable).with_name("ray"))
    start = time.perf_counter()
    subprocess.run([ray, "start", "--head", "--num-cpus", "1", "--port", str(PORT), "--object-store-memory", OBJECT_STORE,
                    "--include-dashboard", "false", "--disable-usage-stats"], env=env, check=True, capture_output=True)
    subprocess.run([ray, "start", "--address", f"127.0.0.1:{PORT}", "--num-cpus", "1", "--object-store-memory", OBJECT_STORE],
                   env=env, check=True, capture_output=True)
    seconds = time.perf_counter() - start
    time.sleep(5)  # let the agents settle before reading the idle memory
    return {"start_s": round(seconds, 2), "idle_mib": round(rss_mib(ray_pids()))}


def stop_cluster(env: dict[str, str]) -> None:
    subprocess.run([str(Path(sys.executable).with_name("ray")), "stop", "--force"], env=env, check=False, capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--media", type=Path, default=ROOT.parent / "shared" / "media")
    parser.add_argument("--photos", type=int, default=200, help="the smaller set; the larger has twice as many")
    parser.add_argument("--out", type=Path, help="write the results here as JSON")
    args = parser.parse_args()
    # Token authentication, as on a real cluster: every node and driver shares the token.
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)}
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        sets = {n: photo_set(args.media, scratch / f"photos-{n}", n) for n in (args.photos, 2 * args.photos)}
        results: dict = {"photos": list(sets), "cpus": os.cpu_count()}
        stop_cluster(env)
        try:
            results["cluster"] = start_cluster(env)
            for workers in (1, 2):
                times, peak = [], 0.0
                for n, folder in sets.items():
                    with PeakSampler() as sampler:
                        times.append(run(label_command(folder, scratch / f"ray-{workers}-{n}.parquet", "--engine", "ray",
                                                       "--address", f"127.0.0.1:{PORT}", "--workers", str(workers)), env))
                    peak = max(peak, sampler.peak)
                results[f"ray_{workers}_workers"] = summary(args.photos, times[0], times[1], peak)
                print(workers, "worker(s):", results[f"ray_{workers}_workers"], flush=True)
        finally:
            stop_cluster(env)
        results["local"] = measure_local(sets, scratch, env)
    one, two = results["ray_1_workers"]["marginal_photos_per_s"], results["ray_2_workers"]["marginal_photos_per_s"]
    results["two_over_one"] = round(two / one, 2)
    results["one_worker_over_local"] = round(one / results["local"]["marginal_photos_per_s"], 2)
    print(json.dumps(results, indent=2))
    if args.out:
        args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
