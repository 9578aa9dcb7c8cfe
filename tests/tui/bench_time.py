"""A volunteer's time at the bench, computed from the station's settings (issue #19).

"Under two minutes from asset tag to confirm" is a promise to the programmes: a
volunteer refreshes a laptop between two other tasks. The pilot tests count the
keys of the happy path; this adds up the seconds the same path takes, from the
values that set them (the screen test's interval, the tones' and recordings'
lengths, the charger's unplug wait) and from stated estimates where a person's
hands set the pace (moving the stick, pressing a key). Computed, never timed: the
tests must not depend on how fast the machine running them is.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.checks.audio_loopback import FLOOR_S, LISTEN_S
from agent.checks.camera_frame import SKIP_FRAMES
from agent.policy import ChecksPolicy
from agent.tui.screens.checks import SCREEN_COLOURS

#: the promise: asset tag to confirm within two minutes of the volunteer's time
BUDGET_S = 120.0
#: a key the volunteer presses: read the screen, find the key (a barcode scan counts as one)
KEY_S = 1.5
#: sweeping a finger along every row of the keyboard for the keyboard test
KEYBOARD_SWEEP_S = 20.0
#: opening a webcam and the frames skipped while its exposure settles, at the 15 frames
#: per second a laptop webcam falls to in a dim room, plus a second to open and set it
CAMERA_GRAB_S = 1.0 + (SKIP_FRAMES + 1) / 15
#: moving the stick to the next socket and the kernel seeing it there
USB_PORT_PLUG_S = 8.0


@dataclass(frozen=True)
class BenchTime:
    """Each part's seconds; ``total`` is what the budget is held against."""

    parts: dict[str, float]

    @property
    def total(self) -> float:
        return sum(self.parts.values())


def bench_time(
    policy: ChecksPolicy,
    *,
    keystrokes: int,
    screen_test_interval: float,
    usb_ports: int,
    camera: bool = True,
    audio: bool = True,
) -> BenchTime:
    """The happy path's seconds for a laptop with ``usb_ports`` sockets to plug."""
    parts = {
        "keys": keystrokes * KEY_S,
        "keyboard": 0.0 if policy.skips("keyboard") else KEYBOARD_SWEEP_S,
        "screen": 0.0 if policy.skips("screen") else screen_test_interval * len(SCREEN_COLOURS),
        "camera": CAMERA_GRAB_S if camera and not policy.skips("camera") else 0.0,
        # the noise floor, then both tones within one recording
        "audio": float(FLOOR_S + LISTEN_S) if audio and not policy.skips("audio") else 0.0,
        "usb_ports": 0.0 if policy.skips("usb_ports") else usb_ports * USB_PORT_PLUG_S,
        # the unplug is waited for at most this long (counted whole: the worst case)
        "charger_unplug": 0.0 if policy.skips("charging") else float(policy.charger_unplug_s),
    }
    return BenchTime(parts)
