"""The benchmark's inputs, made once from ../shared/media so both sides read identical files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from fer.detection import make_detector
from fer.imaging import rgb_to_bgr
from fer.sources import read_image
from fer.video import AnnotatedVideoWriter, iter_frames

FACE_COUNTS = (1, 2, 5, 10)
WIDTHS = (320, 640, 1280, 1920, 2560)


@dataclass(frozen=True)
class Inputs:
    video_native: Path
    video_720p: Path
    photos: Path  # 24 large single-face photos
    faces: dict[int, Path]  # frame with N faces
    sizes: dict[int, Path]  # the same photo at N pixels wide


def prepare(media: Path, out: Path) -> Inputs:
    out.mkdir(parents=True, exist_ok=True)
    video_720p = out / "test_720p.mp4"
    if not video_720p.exists():
        with AnnotatedVideoWriter(video_720p, fps=24.7) as writer:
            for _, _, rgb in iter_frames(media / "test.mp4"):
                writer.write(cv2.resize(rgb, (1280, 720), interpolation=cv2.INTER_LINEAR))
    return Inputs(media / "test.mp4", video_720p, _photos(media, out / "photos"),
                  _face_grid_frames(media, out), _sizes(media, out))


def _write(path: Path, rgb: np.ndarray) -> Path:
    cv2.imwrite(str(path), rgb_to_bgr(rgb), [cv2.IMWRITE_JPEG_QUALITY, 92])
    return path


def _photos(media: Path, folder: Path) -> Path:
    """24 single-face photos of 2400 px on the long side: two portraits, varied by mirroring,
    framing, brightness and scale, like a phone's photo set."""
    folder.mkdir(exist_ok=True)
    rng = np.random.default_rng(0)
    sources = [read_image(str(media / n)) for n in ("justin.jpg", "portrait.jpg")]
    for i in range(24):
        rgb = sources[i % 2]
        h, w = rgb.shape[:2]
        crop = rng.uniform(0.0, 0.08, 4)  # trim a little of each side
        rgb = rgb[int(crop[0] * h): h - int(crop[1] * h), int(crop[2] * w): w - int(crop[3] * w)]
        if i % 4 >= 2:
            rgb = rgb[:, ::-1]
        scale = 2400 / max(rgb.shape[:2])
        rgb = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
        rgb = np.clip(rgb.astype(np.float32) * rng.uniform(0.8, 1.2), 0, 255).astype(np.uint8)
        _write(folder / f"photo_{i:02d}.jpg", rgb)
    return folder


def _face_grid_frames(media: Path, out: Path) -> dict[int, Path]:
    """1280x720 frames with 1, 2, 5 and 10 copies of one face on a plain background."""
    portrait = read_image(str(media / "portrait.jpg"))
    (box,) = make_detector().detect(portrait)
    side = int(box.w * 1.8)
    cx, cy = box.x + box.w // 2, box.y + box.h // 2
    face = portrait[max(0, cy - side // 2): cy + side // 2, max(0, cx - side // 2): cx + side // 2]
    frames = {}
    for n in FACE_COUNTS:
        canvas = np.full((720, 1280, 3), 200, np.uint8)
        cols = min(n, 5)
        rows = (n + cols - 1) // cols
        cell = min(1280 // cols, 720 // rows)
        tile = cv2.resize(face, (cell - 16, cell - 16), interpolation=cv2.INTER_AREA)
        for k in range(n):
            r, c = divmod(k, cols)
            y, x = r * cell + 8, c * cell + 8
            canvas[y: y + tile.shape[0], x: x + tile.shape[1]] = tile
        frames[n] = _write(out / f"faces_{n:02d}.jpg", canvas)
    return frames


def _sizes(media: Path, out: Path) -> dict[int, Path]:
    justin = read_image(str(media / "justin.jpg"))
    return {
        w: _write(out / f"size_{w}.jpg", cv2.resize(justin, (w, round(w * justin.shape[0] / justin.shape[1])),
                                                     interpolation=cv2.INTER_CUBIC))
        for w in WIDTHS
    }
