"""Fixtures: one real test image per session, compressed lazily, and loop devices."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.flash import stamps
from tests.flash.images import (
    BuiltImage,
    build_image,
    can_use_loops,
    compress,
    loop_device,
    missing_tools,
)

needs_loops = pytest.mark.skipif(
    not can_use_loops(), reason=f"needs root, loop devices and tools (missing: {missing_tools()})"
)


class ImageKit:
    """The session's image with its compressed variants, made on first use."""

    def __init__(self, image: BuiltImage) -> None:
        self.image = image
        self._compressed: dict[str, Path] = {}

    def file(self, kind: str) -> Path:
        if kind == "raw":
            return self.image.raw
        if kind not in self._compressed:
            self._compressed[kind] = compress(self.image.raw, kind)
        return self._compressed[kind]

    def manifest(self, kind: str, **extra: object) -> Path:
        return self.image.manifest(self.file(kind), **extra)


@pytest.fixture(autouse=True)
def _own_stamp_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Verification stamps go to the test's own directory, never /var/cache."""
    directory = tmp_path / "stamps"
    monkeypatch.setattr(stamps, "DEFAULT_DIR", directory)
    return directory


@pytest.fixture(scope="session")
def kit(tmp_path_factory: pytest.TempPathFactory) -> ImageKit:
    if missing_tools():
        pytest.skip(f"missing tools: {missing_tools()}")
    return ImageKit(build_image(tmp_path_factory.mktemp("image")))


@pytest.fixture
def loop(tmp_path: Path) -> Iterator[str]:
    """A 96 MiB loop device: larger than the 64 MiB image, so fitting has room."""
    if not can_use_loops():
        pytest.skip("needs root and loop devices")
    with loop_device(tmp_path, 96 << 20) as dev:
        yield dev
