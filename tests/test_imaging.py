from __future__ import annotations

import io
import struct
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image

from fer.imaging import ImageError, crop_face, decode_image, decode_rgb_writable, eye_angle, rgb_to_bgr, to_model_input
from fer.types import FaceBox, Framing


def encode(rgb: np.ndarray, fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "BMP"])
def test_decode_supported_formats_to_rgb(fmt: str) -> None:
    rgb = np.zeros((20, 30, 3), np.uint8)
    rgb[..., 0] = 200  # red
    decoded = decode_image(encode(rgb, fmt))
    assert decoded.shape == (20, 30, 3) and decoded.dtype == np.uint8
    assert decoded[10, 15, 0] > 180 and decoded[10, 15, 2] < 40  # still red: channels not swapped


def test_decode_rejects_empty_non_image_and_truncated() -> None:
    with pytest.raises(ImageError, match="empty"):
        decode_image(b"")
    with pytest.raises(ImageError, match="not an image"):
        decode_image(b"%PDF-1.4 this is not a picture")
    jpeg = encode(np.random.default_rng(0).integers(0, 255, (200, 200, 3), dtype=np.uint8), "JPEG")
    for cut in (200, len(jpeg) // 2):  # inside the header, inside the pixel data
        with pytest.raises(ImageError, match="corrupt or truncated"):
            decode_image(jpeg[:cut])


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims a huge size: what a decompression bomb looks like before decoding."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 10)) + chunk(b"IEND", b"")


def test_decode_refuses_pixel_bombs_before_decoding() -> None:
    with pytest.raises(ImageError, match=r"^image is 10000x10000 = 100 MP, over the 50 MP limit$"):
        decode_image(png_header_only(10000, 10000))
    with pytest.raises(ImageError, match=r"^image is over the 50 MP limit"):  # Pillow's own guard trips first
        decode_image(png_header_only(30000, 30000))


def test_exif_orientation_is_applied() -> None:
    rgb = np.zeros((10, 40, 3), np.uint8)  # landscape
    image = Image.fromarray(rgb)
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90 degrees on display
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif.tobytes())
    assert decode_image(buffer.getvalue()).shape[:2] == (40, 10)


def test_crop_is_48x48_uint8_even_at_the_frame_edge() -> None:
    gray = np.full((100, 100), 128, np.uint8)
    crop = crop_face(gray, FaceBox(80, 80, 40, 40), Framing(1.2, -0.1))
    assert crop.shape == (48, 48) and crop.dtype == np.uint8
    assert crop.min() == 128  # replicated edge, not black padding


def test_crop_framing_scales_around_the_box() -> None:
    gray = np.zeros((400, 400), np.uint8)
    gray[150:250, 150:250] = 255  # the "face": a white 100 px square
    tight = crop_face(gray, FaceBox(150, 150, 100, 100), Framing(1.0, 0.0))
    loose = crop_face(gray, FaceBox(150, 150, 100, 100), Framing(2.0, 0.0))
    assert tight[4:-4, 4:-4].min() > 200  # the box fills the crop
    assert (loose > 128).mean() == pytest.approx(0.25, abs=0.03)  # half the side: a quarter of the area


def test_alignment_levels_a_tilted_face() -> None:
    box = FaceBox(0, 0, 100, 100, keypoints={"right_eye": (30.0, 40.0), "left_eye": (70.0, 60.0)})
    assert eye_angle(box) == pytest.approx(np.degrees(np.arctan2(20, 40)))
    assert eye_angle(FaceBox(0, 0, 10, 10)) == 0.0
    # A bar along the eye line comes out horizontal after alignment.
    gray = np.zeros((100, 100), np.uint8)
    cv2.line(gray, (10, 30), (90, 70), 255, 5)
    crop = crop_face(gray, FaceBox(0, 0, 100, 100, keypoints={"right_eye": (10.0, 30.0), "left_eye": (90.0, 70.0)}), Framing())
    rows = np.flatnonzero(crop[:, 10:38].mean(axis=1) > 100)
    assert rows.size and rows.max() - rows.min() <= 6


def test_model_input_follows_the_contract() -> None:
    batch = to_model_input([np.full((48, 48), 7, np.uint8)] * 3)
    assert batch.shape == (3, 48, 48, 1) and batch.dtype == np.float32 and batch.max() == 7.0


def test_rgb_to_bgr_in_place_reuses_the_frame() -> None:
    rgb = np.random.default_rng(0).integers(0, 256, (30, 40, 3), dtype=np.uint8)
    expected = rgb[..., ::-1].copy()
    bgr = rgb_to_bgr(rgb, in_place=True)
    assert np.shares_memory(bgr, rgb) and np.array_equal(bgr, expected)
    assert not np.shares_memory(rgb_to_bgr(expected), expected)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
def test_the_writable_decode_turns_the_picture_as_decode_image_does(fmt: str, orientation: int) -> None:
    """The annotated download redraws boxes found on decode_image's frame: both decoders must agree
    on the EXIF orientation, or the boxes land on the wrong part of the photo."""
    from PIL import Image

    ramp = (np.indices((60, 80)).sum(0) % 256).astype(np.uint8)
    image = Image.fromarray(np.stack([ramp, 255 - ramp, np.full_like(ramp, 90)], -1))
    exif = image.getexif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    image.save(buffer, fmt, exif=exif.tobytes(), **({} if fmt == "PNG" else {"quality": 95}))
    reference, writable = decode_image(buffer.getvalue()), decode_rgb_writable(buffer.getvalue())
    assert writable.flags.writeable and writable.shape == reference.shape
    assert np.abs(writable.astype(int) - reference).mean() < 3
