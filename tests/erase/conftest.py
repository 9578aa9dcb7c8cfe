"""Loop devices for the wipe tests: sparse files under tmp_path, removed afterwards.

Only devices these fixtures attach are ever written to. Each is detached in
``finally`` (partitions dropped first); a backing file is planted with a
marker in every MiB so a test can prove, by reading the file independently of
the engine, that nothing of it is left.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from agent.erase.engine import WipeOptions
from agent.erase.safety import Target, resolve
from agent.runner import SystemRunner
from agent.signing import load_or_create_key

MiB = 1 << 20
MARKER = b"PLANTED-CHILD-DATA-"
run = SystemRunner().run

needs_root = [
    pytest.mark.root,
    pytest.mark.skipif(os.geteuid() != 0, reason="loop devices need root"),
]


@dataclass
class Loop:
    dev: str  # /dev/loopN
    image: Path

    @property
    def name(self) -> str:
        return Path(self.dev).name

    @property
    def size(self) -> int:
        return self.image.stat().st_size

    def plant(self) -> None:
        """A marker at a different spot in every MiB, written to the device itself."""
        with open(self.dev, "r+b", buffering=0) as fh:
            for i in range(self.size // MiB):
                fh.seek(i * MiB + (i * 4099) % (MiB - 64))
                fh.write(MARKER + b"%08d" % i)
            os.fsync(fh.fileno())

    def read_image(self) -> bytes:
        """The backing file's bytes, read without the engine (and without the loop device)."""
        return self.image.read_bytes()

    def target(self) -> Target:
        return resolve(self.dev)


def aes_ctr_stream(seed: bytes, n: int) -> bytes:
    """The expected random pattern, computed here independently of agent.erase.prng."""
    enc = Cipher(algorithms.AES(seed), modes.CTR(bytes(16))).encryptor()
    return enc.update(bytes(n)) + enc.finalize()


@pytest.fixture
def make_loop(tmp_path: Path) -> Iterator[Callable[..., Loop]]:
    made: list[Loop] = []

    def make(size: int = 64 * MiB, name: str = "disk") -> Loop:
        image = tmp_path / f"{name}-{len(made)}.img"
        with image.open("wb") as fh:
            fh.truncate(size)
        dev = run(["losetup", "--find", "--show", str(image)], check=True).text.strip()
        loop = Loop(dev, image)
        made.append(loop)
        return loop

    try:
        yield make
    finally:
        for loop in made:
            run(["partx", "-d", loop.dev])
            run(["losetup", "-d", loop.dev])


@pytest.fixture
def options(tmp_path: Path) -> Callable[..., WipeOptions]:
    key = load_or_create_key(tmp_path / "keys")

    def make(*targets: Target, **kw: object) -> WipeOptions:
        base: dict[str, object] = {
            "key": key,
            "record_dir": tmp_path / "records",
            "state_dir": tmp_path / "state",
            "operator": "test volunteer",
            "station": "test-station",
            "chunk": 4 * MiB,
            "progress_every_s": 0.0,
            "confirmed": frozenset(t.identity for t in targets),
        }
        base.update(kw)
        return WipeOptions(**base)  # type: ignore[arg-type]

    return make
