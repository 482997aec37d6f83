"""The seven FER2013 emotion classes, in the order of the dataset's labels and the model's output."""

from __future__ import annotations

EMOTIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
NUM_CLASSES = len(EMOTIONS)

# The model's input: FER2013's own framing and resolution.
FACE_SIZE = 48
