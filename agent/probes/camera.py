"""Webcams: V4L2 capture devices under /sys/class/video4linux.

A UVC webcam makes two nodes (video capture and its metadata); only the
first node of each device (``index`` 0) is a camera a resident can use.
"""

from __future__ import annotations

from pathlib import Path

from agent.probes.sysfs import list_dir, read_int, read_text, under


def camera_nodes(root: Path) -> list[tuple[str, str]]:
    """(``/dev/videoN``, name) of each camera, in the kernel's order."""
    base = under(root, "/sys/class/video4linux")
    found: list[tuple[str, str]] = []
    for node in sorted(list_dir(base), key=lambda n: (len(n), n)):
        if not node.startswith("video") or read_int(base / node / "index") not in (None, 0):
            continue
        found.append((f"/dev/{node[:64]}", (read_text(base / node / "name") or node)[:256]))
    return found[:16]


def probe_cameras(root: Path) -> list[str]:
    return [name for _node, name in camera_nodes(root)]
