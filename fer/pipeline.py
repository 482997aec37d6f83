"""frame -> faces -> FER2013-like crops -> one batched classification -> typed predictions.

Face crops (a labelled collection, a film still cut to the face) give the detector no context to
find a face in: where it finds none, the pipeline looks once more at the image on a wider canvas
(``fer.detection.detect_padded``), and in crops mode it skips detection and reads the image as the
face. Neither touches the live page, which schedules the detector itself.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from fer.adapter import Adapter
from fer.classifier import DEFAULT_MODEL, EmotionClassifier
from fer.detection import (
    DEFAULT_DETECTOR,
    DEFAULT_MIN_SCORE,
    RETRY_DETECTOR,
    RETRY_MIN_SCORE,
    FaceDetector,
    detect_padded,
    make_detector,
)
from fer.imaging import crop_face, crop_whole, to_gray, to_model_input
from fer.types import FaceBox, FacePrediction, Framing

# A face found on the second look whose box spans this share of the image's shorter side fills it:
# the image is a face crop (on sfew-train's film crops the median box spans all of it).
FILLS_IMAGE = 0.9


class EmotionPipeline:
    """Detects and classifies every face of an RGB frame; holds the models, loaded once."""

    def __init__(self, detector: FaceDetector, classifier: EmotionClassifier, align: bool = True,
                 crops: bool = False) -> None:
        self.detector = detector
        self.classifier = classifier
        self.align = align
        self.crops = crops  # every image is one face crop: no detection
        self._retry: FaceDetector | None = None
        self._retry_lock = threading.Lock()

    def analyse(self, rgb: np.ndarray) -> list[FacePrediction]:
        boxes, crops = self.locate(rgb)
        if not boxes:
            return []
        probabilities = self.classifier.predict(to_model_input(crops))
        return [FacePrediction(box, p, crop=c) for box, p, c in zip(boxes, probabilities, crops, strict=True)]

    def locate(self, rgb: np.ndarray) -> tuple[list[FaceBox], list[np.ndarray]]:
        """The faces ``analyse`` reads in ``rgb``: their boxes and the 48x48 crops the model reads
        (what ``fer.adapting`` fits on, found as every page and command finds them)."""
        if self.crops:
            return self._whole(rgb)
        boxes = self.detector.detect(rgb)
        if boxes:
            return boxes, self._crops(rgb, boxes, self.detector.framing)
        retry = self.retry_detector()
        boxes = detect_padded(retry, rgb)
        if any(box.w >= FILLS_IMAGE * min(rgb.shape[:2]) for box in boxes):
            # The face fills the image: a face crop, tighter than the framing the model learnt, which
            # the image cannot give; its whole square is the nearest, as crops mode reads it.
            return self._whole(rgb)
        return boxes, self._crops(rgb, boxes, retry.framing)

    def retry_detector(self) -> FaceDetector:
        """The detector of the second look (``fer.detection.RETRY_DETECTOR``), loaded on first need:
        a pipeline that never meets a face crop never loads it."""
        with self._retry_lock:
            if self._retry is None:
                self._retry = make_detector(RETRY_DETECTOR, RETRY_MIN_SCORE, threads=1)
            return self._retry

    def classify(self, rgb: np.ndarray, boxes: list[FaceBox], framing: Framing | None = None) -> list[FacePrediction]:
        """Classify the faces at ``boxes``, found in this frame or, between detections, in a recent
        one; ``framing``: that of the detector that found them, if not the pipeline's own."""
        if not boxes:
            return []
        crops = self._crops(rgb, boxes, framing or self.detector.framing)
        probabilities = self.classifier.predict(to_model_input(crops))
        return [FacePrediction(box, p, crop=c) for box, p, c in zip(boxes, probabilities, crops, strict=True)]

    def _whole(self, rgb: np.ndarray) -> tuple[list[FaceBox], list[np.ndarray]]:
        h, w = rgb.shape[:2]
        side = min(h, w)
        return [FaceBox((w - side) // 2, (h - side) // 2, side, side)], [crop_whole(to_gray(rgb))]

    def _crops(self, rgb: np.ndarray, boxes: list[FaceBox], framing: Framing) -> list[np.ndarray]:
        gray = to_gray(rgb)
        return [crop_face(gray, box, framing, self.align) for box in boxes]


def load_pipeline(
    detector: str = DEFAULT_DETECTOR,
    model: str | Path = DEFAULT_MODEL,
    min_score: float = DEFAULT_MIN_SCORE,
    align: bool = True,
    thorough: bool = False,
    threads: int = 2,
    crops: bool = False,
    adapter: Adapter | None = None,
    embeddings: bool = False,
) -> EmotionPipeline:
    """The shipped model behind the named detector; call once and reuse. ``thorough``: see
    ``EmotionClassifier``; ``threads``: each interpreter's; ``crops``: see ``EmotionPipeline``;
    ``adapter`` (``fer.adapter``): read every face with it; ``embeddings``: load the model's embedding
    file, which ``fer.adapting`` fits on (an adapter loads it too)."""
    classifier = EmotionClassifier.load(model, thorough, threads, adapter=adapter, embeddings=embeddings)
    return EmotionPipeline(make_detector(detector, min_score, threads), classifier, align, crops)
