"""Webcams: V4L2 capture devices under /sys/class/video4linux.

A UVC webcam makes two nodes (video capture and its metadata); only the
first node of each device (``index`` 0) is a camera a resident can use.
"""

from __future__ import annotations

from pathlib import Path

from agent.probes.sysfs import list_dir, read_int, read_text, under


def probe_cameras(root: Path) -> list[str]:
    base = under(root, "/sys/class/video4linux")
    names: list[str] = []
    for node in list_dir(base):
        if not node.startswith("video") or read_int(base / node / "index") not in (None, 0):
            continue
        names.append((read_text(base / node / "name") or node)[:256])
    return names[:16]
