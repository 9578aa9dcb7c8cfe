"""The random pattern: an AES-256-CTR keystream addressed by byte offset.

The data written at byte ``o`` is the keystream block ``o // 16`` under the
pass's 32-byte seed, so any region can be regenerated on its own: a resumed
pass continues the same stream, and verification re-derives what must be on
the disk from the seed instead of keeping a copy. AES in OpenSSL runs at
several GB/s, far above disk speed (``os.urandom`` is ~20x slower).
"""

from __future__ import annotations

import secrets
from functools import lru_cache

from cryptography.hazmat.primitives.ciphers import Cipher, CipherContext, algorithms, modes

SEED_BYTES = 32
_BLOCK = 16


def new_seed() -> bytes:
    return secrets.token_bytes(SEED_BYTES)


@lru_cache(maxsize=8)
def zeros(n: int) -> bytes:
    """A shared read-only run of ``n`` zero bytes."""
    return bytes(n)


class KeyStream:
    """Random-access AES-256-CTR keystream."""

    def __init__(self, seed: bytes) -> None:
        if len(seed) != SEED_BYTES:
            raise ValueError(f"seed must be {SEED_BYTES} bytes, got {len(seed)}")
        self.seed = seed
        self._algorithm = algorithms.AES(seed)

    def _encryptor(self, offset: int) -> CipherContext:
        if offset % _BLOCK:
            raise ValueError(f"keystream offset {offset} is not a multiple of {_BLOCK}")
        counter = ((offset // _BLOCK) % (1 << 128)).to_bytes(_BLOCK, "big")
        return Cipher(self._algorithm, modes.CTR(counter)).encryptor()

    def xor_into(self, offset: int, data: memoryview, out: memoryview) -> None:
        """``out[:len(data)] = data XOR keystream[offset:]``; ``out`` needs 16 bytes slack."""
        self._encryptor(offset).update_into(data, out)

    def fill(self, offset: int, out: memoryview, n: int) -> None:
        """Write ``n`` keystream bytes starting at ``offset`` into ``out``."""
        self.xor_into(offset, memoryview(zeros(n)), out)

    def block(self, offset: int, n: int) -> bytes:
        """``n`` keystream bytes at ``offset`` as bytes (tests, small reads)."""
        enc = self._encryptor(offset)
        return bytes(enc.update(zeros(n)) + enc.finalize())
