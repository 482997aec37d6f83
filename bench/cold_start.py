"""Cold start: one photo labelled by a fresh process, wall time and peak memory, ours beside the peer.

    python -m bench.cold_start --media ../shared/media                  # ours and the peer (bench/setup_peer.sh)
    python -m bench.cold_start --media ../shared/media --before /tmp/before   # ... and an older checkout

Each command is a new process (``python -m fer label PHOTO``; the peer's ``FER().detect_emotions``
from ``bench/peer_worker.py``), run ``--rounds`` times in turn, interleaved, so that a slow spell of
the machine does not land on one of them; the median wall time and the median peak resident set
(GNU time's ``%M``) are reported. ``--before`` names another checkout of this project (e.g. a
``git worktree`` of an older commit), run with this venv's Python.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PEER_PYTHON = ROOT / ".venv-peer" / "bin" / "python"


def run_once(command: list[str], cwd: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one process."""
    start = time.perf_counter()
    done = subprocess.run(["/usr/bin/time", "-f", "%M", *command], cwd=cwd, capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - start
    return seconds, int(done.stderr.strip().splitlines()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--media", type=Path, default=ROOT.parent / "shared" / "media")
    parser.add_argument("--photo", default="justin.jpg")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--before", type=Path, help="another checkout of this project, labelled the same way")
    args = parser.parse_args()
    photo = str((args.media / args.photo).resolve())
    commands = {"ours": ([sys.executable, "-m", "fer", "label", photo], ROOT)}
    if args.before:
        commands["ours, before"] = ([sys.executable, "-m", "fer", "label", photo], args.before.resolve())
    if PEER_PYTHON.is_file():
        commands["peer (fer 25.10.3)"] = ([str(PEER_PYTHON), "bench/peer_worker.py", "one_photo", photo], ROOT)
    else:
        print(f"no peer at {PEER_PYTHON}: run bash bench/setup_peer.sh to measure it too", file=sys.stderr)
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for _ in range(args.rounds):
        for name, (command, cwd) in commands.items():
            runs[name].append(run_once(command, cwd))
    for name, measured in runs.items():
        print(json.dumps({"command": name, "wall_s": round(statistics.median(s for s, _ in measured), 2),
                          "peak_rss_mib": round(statistics.median(m for _, m in measured)),
                          "rounds_wall_s": [round(s, 2) for s, _ in measured]}))


if __name__ == "__main__":
    main()
