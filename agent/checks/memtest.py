"""An optional userspace memory pattern test: write patterns, read them back.

It cannot reach the memory the kernel itself holds (memtest86+ from the boot
menu can), but it exercises ``size`` bytes of free RAM in seconds and any
mismatch is a hard fault: the policy blocks lending on one error.
Patterns: all zeros, all ones, 0x55/0xAA checkerboards, and each block's own
index (catches address lines that alias two blocks). Bounded twice: by size
(``[checks] memory_test_mib``) and by time (``memory_test_s``): on a slow laptop
the test stops at its time limit and says how many patterns it completed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from agent.report.schema import SkipCause, TestOutcome, TestResult

MIB = 1 << 20
BLOCK = 1 << 16
FIXED_PATTERNS = (b"\x00", b"\xff", b"\x55", b"\xaa")


@dataclass(frozen=True)
class MemtestResult:
    tested_bytes: int
    passes: int
    errors: int
    first_error_offset: int | None
    #: the time limit ended the test before every pattern was written and read back
    stopped_s: float | None = None
    patterns: int = len(FIXED_PATTERNS) + 1

    def result(self) -> TestResult:
        detail = f"{self.tested_bytes // MIB} MiB x {self.passes} patterns, {self.errors} errors"
        if self.first_error_offset is not None:
            detail += f" (first at offset {self.first_error_offset:#x})"
        if self.stopped_s is not None:
            detail += f"; time limit {self.stopped_s:.0f} s: {self.passes} of {self.patterns} done"
        if self.errors:
            return TestResult(name="memory_test", outcome=TestOutcome.FAIL, details=detail)
        if self.passes == 0:  # nothing read back: nothing is known
            return TestResult(
                name="memory_test",
                outcome=TestOutcome.SKIPPED,
                details=detail,
                skipped_by=SkipCause.NOT_AVAILABLE,
            )
        return TestResult(name="memory_test", outcome=TestOutcome.PASS, details=detail)


def _address_block(index: int) -> bytes:
    return index.to_bytes(8, "little") * (BLOCK // 8)


def _fixed(pattern: bytes) -> Callable[[int], bytes]:
    block = pattern * BLOCK
    return lambda _index: block


def run_memtest(
    size_mib: int,
    *,
    limit_s: float | None = None,
    after_write: Callable[[bytearray], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> MemtestResult:
    """Test ``size_mib`` MiB within ``limit_s`` seconds (None: no limit); ``after_write``
    sees the buffer between write and verify (tests use it to flip a bit, as a faulty
    module would). Errors read back before the time ran out count."""
    blocks = max(1, size_mib * MIB // BLOCK)
    buffer = bytearray(blocks * BLOCK)
    errors = 0
    first: int | None = None
    patterns: list[Callable[[int], bytes]] = [_fixed(p) for p in FIXED_PATTERNS]
    patterns.append(_address_block)
    deadline = None if limit_s is None else clock() + limit_s

    def time_up() -> bool:
        return deadline is not None and clock() >= deadline

    done = 0
    for make in patterns:
        for i in range(blocks):
            if time_up():
                return MemtestResult(len(buffer), done, errors, first, limit_s, len(patterns))
            buffer[i * BLOCK : (i + 1) * BLOCK] = make(i)
        if after_write is not None:
            after_write(buffer)
        for i in range(blocks):
            if time_up():
                return MemtestResult(len(buffer), done, errors, first, limit_s, len(patterns))
            expected = make(i)
            got = buffer[i * BLOCK : (i + 1) * BLOCK]
            if got != expected:
                pairs = list(zip(got, expected, strict=True))
                errors += sum(1 for a, b in pairs if a != b)
                if first is None:
                    first = i * BLOCK + next(j for j, (a, b) in enumerate(pairs) if a != b)
        done += 1
    return MemtestResult(len(buffer), done, errors, first, None, len(patterns))
