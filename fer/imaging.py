"""Every colour, dtype and geometry conversion between a file or frame and the model's input.

Training reads FER2013's 48x48 gray crops; serving must hand the model the same thing. Keeping
decode -> RGB -> gray -> crop -> 48x48 float32 in this one module is what stops the two drifting.
Frames inside the library are RGB uint8 (H, W, 3).
"""

from __future__ import annotations

import io
import math
import warnings

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from fer.emotions import FACE_SIZE
from fer.types import FaceBox, Framing

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp"})
# Decompression-bomb guard: a 50 MP limit admits any camera photo, not a 30000x30000 PNG.
MAX_PIXELS = 50_000_000


class ImageError(ValueError):
    """An input that is not a usable image; the message says why, for the user."""


def decode_image(data: bytes | bytearray, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Decode image bytes to RGB uint8, applying EXIF orientation; raise ImageError if unusable."""
    if not data:
        raise ImageError("empty file (0 bytes)")
    with warnings.catch_warnings():
        # Our own, lower limit answers first; Pillow's bomb warning would only add noise to the log.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))  # reads the header only
        except UnidentifiedImageError:
            raise ImageError("not an image in a format we read (JPEG, PNG, WebP, BMP)") from None
        except Image.DecompressionBombError:
            raise ImageError(f"image is over the {max_pixels / 1e6:.0f} MP limit (a possible decompression bomb)") from None
        except (OSError, SyntaxError, ValueError) as exc:  # what Pillow raises for damaged headers
            raise ImageError(f"corrupt or truncated image ({exc})") from None
    with image:
        _check_size(image.size, max_pixels)
        try:
            image.load()  # the full decode: raises on truncated or corrupt pixel data
            return np.asarray(ImageOps.exif_transpose(image).convert("RGB"))
        except (OSError, SyntaxError, ValueError) as exc:
            raise ImageError(f"corrupt or truncated image ({exc})") from None


def decode_rgb_writable(data: bytes | bytearray) -> np.ndarray:
    """An image ``decode_image`` already accepted (so within its pixel limit), decoded again as a
    writable RGB frame for drawing on and re-encoding at full size (the annotated download).
    OpenCV's decoder holds one frame where Pillow's path holds three (its image, the RGB
    conversion, the array); both turn the picture by its EXIF orientation (tests/test_imaging.py)."""
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:  # a format OpenCV's build does not read: Pillow's path, with its copy
        return decode_image(data).copy()
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB, dst=bgr)


def _check_size(size: tuple[int, int], max_pixels: int) -> None:
    width, height = size
    if width * height > max_pixels:
        raise ImageError(
            f"image is {width}x{height} = {width * height / 1e6:.0f} MP, over the {max_pixels / 1e6:.0f} MP limit"
        )


def bgr_to_rgb(bgr: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def rgb_to_bgr(rgb: np.ndarray, in_place: bool = False) -> np.ndarray:
    """OpenCV's channel order; ``in_place`` reuses a writable frame's memory (a 12 MP photo's 36 MB)."""
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR, dst=rgb if in_place else None)


def to_gray(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


def eye_angle(box: FaceBox) -> float:
    """Head roll in degrees from the eye keypoints; 0 where the detector gives none."""
    if "right_eye" not in box.keypoints or "left_eye" not in box.keypoints:
        return 0.0
    (rx, ry), (lx, ly) = box.keypoints["right_eye"], box.keypoints["left_eye"]
    # The subject's right eye is on the image's left.
    return math.degrees(math.atan2(ly - ry, lx - rx))


def crop_face(gray: np.ndarray, box: FaceBox, framing: Framing, align: bool = True) -> np.ndarray:
    """A 48x48 uint8 crop framed like FER2013, levelled by the eyes when ``align`` and keypoints allow."""
    side = box.w * framing.scale
    cx = box.x + box.w / 2
    cy = box.y + box.h / 2 + framing.shift_y * box.h
    # Cut a square 1.5x the crop so rotation never shows a corner, shrink it with area averaging
    # (a warp alone would alias a large face down to 48 px), then rotate and take the centre.
    outer = round(FACE_SIZE * 1.5)
    region = _square_region(gray, cx, cy, side * 1.5)
    region = cv2.resize(region, (outer, outer), interpolation=cv2.INTER_AREA)
    angle = eye_angle(box) if align else 0.0
    rotation = np.asarray(cv2.getRotationMatrix2D((outer / 2, outer / 2), angle, 1.0), dtype=np.float64)
    rotation[:, 2] -= (outer - FACE_SIZE) / 2
    return cv2.warpAffine(region, rotation, (FACE_SIZE, FACE_SIZE), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)


def crop_whole(gray: np.ndarray) -> np.ndarray:
    """A face crop's centre square at 48x48 (area averaging): the input for an image that is a face."""
    h, w = gray.shape[:2]
    side = min(h, w)
    y0, x0 = (h - side) // 2, (w - side) // 2
    return cv2.resize(gray[y0 : y0 + side, x0 : x0 + side], (FACE_SIZE, FACE_SIZE), interpolation=cv2.INTER_AREA)


def _square_region(gray: np.ndarray, cx: float, cy: float, side: float) -> np.ndarray:
    """The square of ``side`` centred at (cx, cy), edge pixels replicated where it leaves the frame."""
    half = max(1, round(side / 2))
    x0, y0 = round(cx) - half, round(cy) - half
    x1, y1 = x0 + 2 * half, y0 + 2 * half
    h, w = gray.shape[:2]
    inside = gray[max(0, y0) : min(h, y1), max(0, x0) : min(w, x1)]
    if inside.size == 0:
        return np.zeros((2 * half, 2 * half), dtype=gray.dtype)
    return cv2.copyMakeBorder(inside, max(0, -y0), max(0, y1 - h), max(0, -x0), max(0, x1 - w),
                              cv2.BORDER_REPLICATE)


def to_model_input(crops: list[np.ndarray] | np.ndarray) -> np.ndarray:
    """Stack 48x48 uint8 crops into the model contract's (N, 48, 48, 1) float32 in 0..255."""
    batch = np.asarray(crops, dtype=np.float32)
    return batch.reshape(-1, FACE_SIZE, FACE_SIZE, 1)
