"""frame -> faces -> FER2013-like crops -> one batched classification -> typed predictions."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fer.classifier import DEFAULT_MODEL, EmotionClassifier
from fer.detection import DEFAULT_DETECTOR, DEFAULT_MIN_SCORE, FaceDetector, make_detector
from fer.imaging import crop_face, to_gray, to_model_input
from fer.types import FaceBox, FacePrediction


class EmotionPipeline:
    """Detects and classifies every face of an RGB frame; holds the models, loaded once."""

    def __init__(self, detector: FaceDetector, classifier: EmotionClassifier, align: bool = True) -> None:
        self.detector = detector
        self.classifier = classifier
        self.align = align

    def analyse(self, rgb: np.ndarray) -> list[FacePrediction]:
        return self.classify(rgb, self.detector.detect(rgb))

    def classify(self, rgb: np.ndarray, boxes: list[FaceBox]) -> list[FacePrediction]:
        """Classify the faces at ``boxes``, found in this frame or, between detections, in a recent one."""
        if not boxes:
            return []
        gray = to_gray(rgb)
        crops = [crop_face(gray, box, self.detector.framing, self.align) for box in boxes]
        probabilities = self.classifier.predict(to_model_input(crops))
        return [FacePrediction(box, p, crop=c) for box, p, c in zip(boxes, probabilities, crops, strict=True)]


def load_pipeline(
    detector: str = DEFAULT_DETECTOR,
    model: str | Path = DEFAULT_MODEL,
    min_score: float = DEFAULT_MIN_SCORE,
    align: bool = True,
    thorough: bool = False,
    threads: int = 2,
) -> EmotionPipeline:
    """The shipped model behind the named detector; call once and reuse. ``thorough``: see
    ``EmotionClassifier``; ``threads``: each interpreter's."""
    classifier = EmotionClassifier.load(model, thorough, threads)
    return EmotionPipeline(make_detector(detector, min_score, threads), classifier, align)
