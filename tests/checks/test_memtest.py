"""The userspace memory pattern test finds a flipped bit and passes clean memory."""

from __future__ import annotations

from agent.checks.memtest import BLOCK, run_memtest
from agent.report.schema import TestOutcome


def test_clean_memory_passes() -> None:
    result = run_memtest(2)
    assert (result.tested_bytes, result.passes, result.errors) == (2 << 20, 5, 0)
    assert result.result().outcome is TestOutcome.PASS
    assert result.result().details == "2 MiB x 5 patterns, 0 errors"


def test_a_stuck_bit_is_found_in_every_pattern_that_disagrees() -> None:
    offset = 3 * BLOCK + 17

    def stuck_high(buffer: bytearray) -> None:  # bit 0 of one byte always reads 1
        buffer[offset] |= 0x01

    result = run_memtest(1, after_write=stuck_high)
    # 0x00 and 0xaa have bit 0 clear; the block index pattern of block 3 has it set at byte 0
    # of each 8, but offset 17 is byte 1 of its word (0x00): three patterns catch it.
    assert result.errors == 3
    assert result.first_error_offset == offset
    test = result.result()
    assert test.outcome is TestOutcome.FAIL
    assert test.details == f"1 MiB x 5 patterns, 3 errors (first at offset {offset:#x})"


def test_aliased_address_lines_are_caught_by_the_index_pattern() -> None:
    def alias(buffer: bytearray) -> None:  # block 5 reads what block 4 holds
        buffer[5 * BLOCK : 6 * BLOCK] = buffer[4 * BLOCK : 5 * BLOCK]

    result = run_memtest(1, after_write=alias)
    assert result.errors > 0 and result.first_error_offset == 5 * BLOCK


def test_any_memory_error_blocks_lending() -> None:
    from agent.grading import grade_report
    from agent.policy import load_policy
    from agent.report.samples import sample_report

    def flip(buffer: bytearray) -> None:
        buffer[0] ^= 0x80

    report = sample_report(7)
    assert report.components.cpu is not None
    report.components.cpu.flags.append("lm")
    report.tests.append(run_memtest(1, after_write=flip).result())
    grade = grade_report(report, load_policy())
    assert grade.destination != "lend"
    errors = [r for r in grade.reasons if r.code == "grade.memory_errors"]
    assert errors and errors[0].severity == "error"
    assert "replace the faulty memory module" in grade.to_fix


def test_the_time_limit_stops_the_test_and_says_how_far_it_got() -> None:
    ticks = iter(range(1_000_000))
    # each block write or read-back takes "one second": 2 MiB = 32 blocks, so one pattern
    # (32 writes + 32 reads) fits in 70 s, the second does not
    result = run_memtest(2, limit_s=70, clock=lambda: float(next(ticks)))
    assert result.passes == 1 and result.errors == 0 and result.stopped_s == 70
    checked = result.result()
    assert checked.outcome is TestOutcome.PASS
    assert checked.details == "2 MiB x 1 patterns, 0 errors; time limit 70 s: 1 of 5 done"


def test_an_error_before_the_time_limit_still_fails_and_none_done_is_not_measured() -> None:
    ticks = iter(range(1_000_000))

    def flip(buffer: bytearray) -> None:
        buffer[5] ^= 0x01

    failed = run_memtest(1, limit_s=20, after_write=flip, clock=lambda: float(next(ticks)))
    assert failed.passes == 0 and failed.errors == 1
    assert failed.result().outcome is TestOutcome.FAIL
    slow = run_memtest(1, limit_s=3, clock=lambda: float(next(ticks))).result()
    assert slow.outcome is TestOutcome.SKIPPED and slow.skipped_by == "not_available"
