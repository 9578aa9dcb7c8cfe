"""One frame from the webcam: does the camera deliver pictures, and how bright are they.

``v4l2-ctl`` (v4l-utils) asks the camera for 640x480 YUYV (every UVC webcam
offers it), skips a few frames while the auto exposure settles, and writes one
frame to stdout. The frame's luma gives a brightness (a covered lens or a dead
sensor is black; a broken one is flat) and a coarse preview the volunteer sees
on screen, drawn with half blocks (two pixels per character cell). Motion-JPEG
frames, from a camera that refused YUYV, are decoded with Pillow.
"""

from __future__ import annotations

import io
import re
import statistics
from dataclasses import dataclass
from typing import Literal

from PIL import Image, UnidentifiedImageError

from agent.errors import DigibenchError
from agent.report.schema import TestOutcome, TestResult
from agent.runner import Runner

WIDTH, HEIGHT = 640, 480
#: frames thrown away while the exposure settles (the first ones are often black)
SKIP_FRAMES = 5
#: mean luma (0-255) below which the picture is dark: lens covered, shutter closed, dead sensor
DARK_LUMA = 20.0
#: luma spread below which the picture is flat: no image at all
FLAT_SPREAD = 2.0

_SIZE = re.compile(r"Width/Height\s*:\s*(\d+)/(\d+)")
_FORMAT = re.compile(r"Pixel Format\s*:\s*'([^']+)'")
_LINE = re.compile(r"Bytes per Line\s*:\s*(\d+)")

Verdict = Literal["ok", "dark", "flat", "no_frame"]


@dataclass(frozen=True)
class Format:
    width: int
    height: int
    pixel_format: str
    bytes_per_line: int


@dataclass(frozen=True)
class CameraFrame:
    """A grabbed frame as grey levels (row by row), or why there is none."""

    device: str
    width: int = 0
    height: int = 0
    luma: bytes = b""
    error: str | None = None

    @property
    def brightness(self) -> float | None:
        return statistics.fmean(self.luma) if self.luma else None

    @property
    def spread(self) -> float | None:
        return statistics.pstdev(self.luma[::97]) if self.luma else None

    @property
    def verdict(self) -> Verdict:
        brightness, spread = self.brightness, self.spread
        if brightness is None or spread is None:
            return "no_frame"
        if brightness < DARK_LUMA:
            return "dark"
        if spread < FLAT_SPREAD:
            return "flat"
        return "ok"

    def detail(self) -> str:
        if self.error is not None or self.brightness is None:
            return f"{self.device}: no frame ({self.error or 'empty'})"
        return (
            f"{self.device}: {self.width}x{self.height} frame, "
            f"brightness {self.brightness:.0f}/255, {self.verdict}"
        )

    def result(self, works: bool | None) -> TestResult:
        """The camera test: no frame always fails; else the operator's look decides
        (``None``: skipped)."""
        if works is None:
            outcome = TestOutcome.SKIPPED
        elif self.verdict == "no_frame" or not works:
            outcome = TestOutcome.FAIL
        else:
            outcome = TestOutcome.PASS
        detail = self.detail() + ("" if works is not False else "; operator: broken")
        return TestResult(name="camera", outcome=outcome, details=detail)

    def unattended(self) -> TestResult:
        """Nobody looked: a camera that delivers no frame fails; a frame is not judged
        (skipped, with its brightness): only a person can say the picture is right."""
        outcome = TestOutcome.FAIL if self.verdict == "no_frame" else TestOutcome.SKIPPED
        detail = f"{self.detail()}; unattended run: nobody looked"
        return TestResult(name="camera", outcome=outcome, details=detail)

    def preview(self, columns: int, rows: int) -> list[list[tuple[int, int]]]:
        """``rows`` lines of ``columns`` cells, each (top, bottom) grey level for a half block."""
        if not self.luma:
            return []
        image = Image.frombytes("L", (self.width, self.height), self.luma)
        small = image.resize((columns, rows * 2), Image.Resampling.BOX)
        px = small.tobytes()
        return [
            [(px[(2 * r) * columns + c], px[(2 * r + 1) * columns + c]) for c in range(columns)]
            for r in range(rows)
        ]


def parse_format(text: str) -> Format | None:
    """``v4l2-ctl --get-fmt-video``: size, pixel format, bytes per line."""
    size, pixel = _SIZE.search(text), _FORMAT.search(text)
    if size is None or pixel is None:
        return None
    width, height = int(size.group(1)), int(size.group(2))
    line = _LINE.search(text)
    return Format(width, height, pixel.group(1), int(line.group(1)) if line else width * 2)


def decode(raw: bytes, fmt: Format) -> tuple[int, int, bytes]:
    """(width, height, luma) of one frame; raises ValueError for one it cannot read."""
    if fmt.pixel_format == "YUYV":
        if fmt.width <= 0 or fmt.height <= 0 or len(raw) < fmt.bytes_per_line * fmt.height:
            raise ValueError(f"short frame: {len(raw)} bytes for {fmt.width}x{fmt.height} YUYV")
        rows = (
            raw[y * fmt.bytes_per_line : y * fmt.bytes_per_line + 2 * fmt.width : 2]
            for y in range(fmt.height)
        )
        return fmt.width, fmt.height, b"".join(rows)
    if fmt.pixel_format in ("MJPG", "JPEG"):
        try:
            image = Image.open(io.BytesIO(raw)).convert("L")
        except (UnidentifiedImageError, OSError) as exc:
            raise ValueError(f"unreadable JPEG frame: {exc}") from exc
        return image.width, image.height, image.tobytes()
    raise ValueError(f"pixel format {fmt.pixel_format} is not read here")


def grab_frame(runner: Runner, device: str, timeout: float = 20) -> CameraFrame:
    """Set the format, read it back, and capture one frame; failures are in ``error``."""
    set_and_get = [
        "v4l2-ctl",
        f"--device={device}",
        f"--set-fmt-video=width={WIDTH},height={HEIGHT},pixelformat=YUYV",
        "--get-fmt-video",
    ]
    capture = [
        "v4l2-ctl",
        f"--device={device}",
        "--stream-mmap",
        f"--stream-skip={SKIP_FRAMES}",
        "--stream-count=1",
        "--stream-to=-",
    ]
    try:
        answer = runner.run(set_and_get, timeout=timeout)
        fmt = parse_format(answer.text) if answer.ok else None
        if fmt is None:
            return CameraFrame(device, error=answer.error_text or "no video format")
        frame = runner.run(capture, timeout=timeout)
        if not frame.ok:
            return CameraFrame(device, error=frame.error_text or "capture failed")
        width, height, luma = decode(frame.stdout, fmt)
    except DigibenchError as exc:
        return CameraFrame(device, error=str(exc))
    except ValueError as exc:
        return CameraFrame(device, error=str(exc))
    return CameraFrame(device, width, height, luma)
