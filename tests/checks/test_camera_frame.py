"""The webcam frame grab: recorded v4l2-ctl answers replayed, frames as V4L2 lays them out."""

from __future__ import annotations

from pathlib import Path

from agent.checks.camera_frame import CameraFrame, decode, grab_frame, parse_format
from agent.probes.camera import camera_nodes
from agent.report.schema import TestOutcome
from agent.runner import ReplayRunner

from .frames import covered, flat, mjpeg, scene, yuyv

CAMERA = Path(__file__).parent.parent / "fixtures" / "camera"
SYSROOTS = Path(__file__).parent.parent / "fixtures" / "sysroots"
FMT = (CAMERA / "v4l2_fmt_hp_wide_vision_fhd_yuyv_640x480.txt").read_text()
SET_GET = [
    "v4l2-ctl",
    "--device=/dev/video0",
    "--set-fmt-video=width=640,height=480,pixelformat=YUYV",
    "--get-fmt-video",
]
CAPTURE = [
    "v4l2-ctl",
    "--device=/dev/video0",
    "--stream-mmap",
    "--stream-skip=5",
    "--stream-count=1",
    "--stream-to=-",
]


def _runner(frame: bytes, fmt: str = FMT) -> ReplayRunner:
    runner = ReplayRunner(installed={"v4l2-ctl"})
    runner.add(SET_GET, fmt)
    runner.add(CAPTURE, frame)
    return runner


def test_the_webcam_format_is_read_from_a_real_laptop_camera() -> None:
    fmt = parse_format(FMT)
    assert fmt is not None
    assert (fmt.width, fmt.height, fmt.pixel_format, fmt.bytes_per_line) == (640, 480, "YUYV", 1280)


def test_a_lit_scene_is_grabbed_measured_and_previewed() -> None:
    runner = _runner(yuyv(scene(), noise=4))
    frame = grab_frame(runner, "/dev/video0")
    assert runner.calls == [tuple(SET_GET), tuple(CAPTURE)]
    assert frame.error is None and (frame.width, frame.height) == (640, 480)
    assert frame.verdict == "ok"
    assert 90 < (frame.brightness or 0) < 130
    rows = frame.preview(48, 18)
    assert len(rows) == 18 and all(len(r) == 48 for r in rows)
    top_right, face = rows[2][42][0], rows[6][24][0]
    assert top_right > 200 and face > 180  # the window and the face are bright
    assert rows[17][24][1] < 70  # the shoulders are dark
    result = frame.result(works=True)
    assert result.name == "camera" and result.outcome is TestOutcome.PASS
    assert "brightness" in (result.details or "")


def test_a_covered_lens_is_dark_and_a_flat_picture_is_flat() -> None:
    dark = grab_frame(_runner(covered()), "/dev/video0")
    assert dark.verdict == "dark" and (dark.brightness or 99) < 10
    grey = grab_frame(_runner(flat()), "/dev/video0")
    assert grey.verdict == "flat"


def test_no_frame_fails_whatever_the_operator_says() -> None:
    runner = ReplayRunner(installed={"v4l2-ctl"})
    err = (CAMERA / "v4l2_cannot_open_debian12.stderr.txt").read_text()
    runner.add(SET_GET, "", 1, err)
    frame = grab_frame(runner, "/dev/video0")
    assert frame.verdict == "no_frame"
    assert frame.error == "Cannot open device /dev/video0, exiting.\n"
    assert frame.result(works=True).outcome is TestOutcome.FAIL
    assert frame.result(works=None).outcome is TestOutcome.SKIPPED


def test_a_short_frame_or_a_missing_tool_is_an_error_not_a_crash() -> None:
    short = grab_frame(_runner(yuyv(scene())[:1000]), "/dev/video0")
    assert short.verdict == "no_frame" and "short frame" in (short.error or "")
    none = grab_frame(ReplayRunner(installed=set()), "/dev/video0")
    assert none.verdict == "no_frame" and "v4l-utils" in (none.error or "")


def test_a_motion_jpeg_frame_is_decoded() -> None:
    fmt = parse_format(FMT.replace("'YUYV' (YUYV 4:2:2)", "'MJPG' (Motion-JPEG)"))
    assert fmt is not None
    width, height, luma = decode(mjpeg(scene()), fmt)
    frame = CameraFrame("/dev/video0", width, height, luma)
    assert (width, height) == (640, 480) and frame.verdict == "ok"


def test_the_capture_node_of_each_camera_is_found() -> None:
    assert camera_nodes(SYSROOTS / "laptop-peripherals") == [
        ("/dev/video0", "Integrated Camera: Integrated C")
    ]
