"""Image tests: boot what `make os-image` / `make live-image` built, under QEMU.

They are slow (minutes of software emulation), so they run only when asked for
with ``-m images`` (``make test-images``); otherwise, and whenever the images,
root or QEMU are missing, they are skipped, never failed.
"""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "images" in (config.getoption("markexpr") or ""):
        return
    skip = pytest.mark.skip(reason="image boot test: run with -m images (make test-images)")
    for item in items:
        if "images" in item.keywords:
            item.add_marker(skip)
