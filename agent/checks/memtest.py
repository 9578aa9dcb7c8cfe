"""An optional userspace memory pattern test: write patterns, read them back.

It cannot reach the memory the kernel itself holds (memtest86+ from the boot
menu can), but it exercises ``size`` bytes of free RAM in seconds and any
mismatch is a hard fault: the policy blocks lending on one error.
Patterns: all zeros, all ones, 0x55/0xAA checkerboards, and each block's own
index (catches address lines that alias two blocks).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from agent.report.schema import TestOutcome, TestResult

MIB = 1 << 20
BLOCK = 1 << 16
FIXED_PATTERNS = (b"\x00", b"\xff", b"\x55", b"\xaa")


@dataclass(frozen=True)
class MemtestResult:
    tested_bytes: int
    passes: int
    errors: int
    first_error_offset: int | None

    def result(self) -> TestResult:
        detail = f"{self.tested_bytes // MIB} MiB x {self.passes} patterns, {self.errors} errors"
        if self.first_error_offset is not None:
            detail += f" (first at offset {self.first_error_offset:#x})"
        outcome = TestOutcome.FAIL if self.errors else TestOutcome.PASS
        return TestResult(name="memory_test", outcome=outcome, details=detail)


def _address_block(index: int) -> bytes:
    return index.to_bytes(8, "little") * (BLOCK // 8)


def _fixed(pattern: bytes) -> Callable[[int], bytes]:
    block = pattern * BLOCK
    return lambda _index: block


def run_memtest(
    size_mib: int,
    *,
    after_write: Callable[[bytearray], None] | None = None,
) -> MemtestResult:
    """Test ``size_mib`` MiB; ``after_write`` sees the buffer between write and verify
    (tests use it to flip a bit, as a faulty module would)."""
    blocks = max(1, size_mib * MIB // BLOCK)
    buffer = bytearray(blocks * BLOCK)
    errors = 0
    first: int | None = None
    patterns: list[Callable[[int], bytes]] = [_fixed(p) for p in FIXED_PATTERNS]
    patterns.append(_address_block)
    for make in patterns:
        for i in range(blocks):
            buffer[i * BLOCK : (i + 1) * BLOCK] = make(i)
        if after_write is not None:
            after_write(buffer)
        for i in range(blocks):
            expected = make(i)
            got = buffer[i * BLOCK : (i + 1) * BLOCK]
            if got != expected:
                bad = sum(1 for a, b in zip(got, expected, strict=True) if a != b)
                errors += bad
                if first is None:
                    offset = next(
                        j for j, (a, b) in enumerate(zip(got, expected, strict=True)) if a != b
                    )
                    first = i * BLOCK + offset
    return MemtestResult(len(buffer), len(patterns), errors, first)
