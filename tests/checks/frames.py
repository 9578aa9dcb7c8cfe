"""Webcam frames for the tests, laid out as V4L2 defines them (no camera exists here)."""

from __future__ import annotations

import io
import random

from PIL import Image, ImageDraw

W, H = 640, 480


def scene() -> Image.Image:
    """A lit room with a face: bright disc, darker shoulders, a window."""
    image = Image.new("L", (W, H), 90)
    draw = ImageDraw.Draw(image)
    draw.rectangle((440, 40, 620, 200), fill=230)  # window
    draw.ellipse((230, 80, 410, 280), fill=200)  # face
    draw.rectangle((170, 300, 470, 480), fill=50)  # shoulders
    return image


def yuyv(image: Image.Image, noise: int = 0, seed: int = 7) -> bytes:
    """YUYV 4:2:2: Y0 U Y1 V for each pair of pixels (grey: U = V = 128)."""
    rng = random.Random(seed)
    luma = image.tobytes()
    out = bytearray()
    for i in range(0, len(luma), 2):
        y0, y1 = (min(255, max(0, v + rng.randint(-noise, noise))) for v in luma[i : i + 2])
        out += bytes((y0, 128, y1, 128))
    return bytes(out)


def covered(level: int = 6) -> bytes:
    """A hand over the lens: near black with sensor noise."""
    return yuyv(Image.new("L", (W, H), level), noise=3)


def flat() -> bytes:
    return yuyv(Image.new("L", (W, H), 128))


def mjpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=80)
    return buffer.getvalue()
