"""The random pattern: an AES-CTR keystream addressed by byte offset.

The data written at byte ``o`` is the keystream block ``o // 16`` under the
pass's seed, so any region can be regenerated on its own: a resumed pass
continues the same stream, and verification re-derives what must be on the
disk from the seed instead of keeping a copy. AES in OpenSSL runs at several
GB/s (``os.urandom`` is ~20x slower), yet at NVMe speed it is what a random
pass and its read-back spend their CPU on.

The seed's length is the key's: new passes use 16 bytes (AES-128, whose 10
rounds make ~35 % more keystream per core than AES-256's 14; 128 bits keep
the pattern unpredictable to a drive, which is all an overwrite needs), and a
pass saved with a 32-byte seed by an older agent resumes and verifies with
AES-256, the stream it started.
"""

from __future__ import annotations

import secrets
from functools import lru_cache

from cryptography.hazmat.primitives.ciphers import Cipher, CipherContext, algorithms, modes

SEED_BYTES = 16
#: seed lengths a saved pass may carry: 16 (AES-128, new passes) and 32 (AES-256, older agents)
SEED_LENGTHS = (16, 32)
_BLOCK = 16


def new_seed() -> bytes:
    return secrets.token_bytes(SEED_BYTES)


@lru_cache(maxsize=8)
def zeros(n: int) -> bytes:
    """A shared read-only run of ``n`` zero bytes."""
    return bytes(n)


class KeyStream:
    """Random-access AES-CTR keystream (AES-128 or AES-256, by the seed's length)."""

    def __init__(self, seed: bytes) -> None:
        if len(seed) not in SEED_LENGTHS:
            lengths = " or ".join(map(str, SEED_LENGTHS))
            raise ValueError(f"seed must be {lengths} bytes, got {len(seed)}")
        self.seed = seed
        self._algorithm = algorithms.AES(seed)

    @property
    def name(self) -> str:
        """How a record names the stream: ``AES-128-CTR keystream, ... seed <hex>``."""
        return (
            f"AES-{len(self.seed) * 8}-CTR keystream, counter = byte offset / 16,"
            f" seed {self.seed.hex()}"
        )

    def _encryptor(self, offset: int) -> CipherContext:
        if offset % _BLOCK:
            raise ValueError(f"keystream offset {offset} is not a multiple of {_BLOCK}")
        counter = ((offset // _BLOCK) % (1 << 128)).to_bytes(_BLOCK, "big")
        return Cipher(self._algorithm, modes.CTR(counter)).encryptor()

    def xor_into(self, offset: int, data: memoryview, out: memoryview) -> None:
        """``out[:len(data)] = data XOR keystream[offset:]``; ``out`` needs 16 bytes slack
        and must not overlap ``data`` (cryptography 51 refuses it)."""
        self._encryptor(offset).update_into(data, out)

    def fill(self, offset: int, out: memoryview, n: int) -> None:
        """Write ``n`` keystream bytes starting at ``offset`` into ``out``."""
        self.xor_into(offset, memoryview(zeros(n)), out)

    def block(self, offset: int, n: int) -> bytes:
        """``n`` keystream bytes at ``offset`` as bytes (tests, small reads)."""
        enc = self._encryptor(offset)
        return bytes(enc.update(zeros(n)) + enc.finalize())
