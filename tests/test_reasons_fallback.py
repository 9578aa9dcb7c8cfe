"""A wording bug never stops a station run: the reason keeps its code and facts."""

from __future__ import annotations

import logging

import pytest

from agent.report.reasons import fix_words, reason, words


def test_unknown_code_says_its_code_and_facts(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR):
        assert words("no.such.code", disk="sda", count=2) == "no.such.code (disk=sda, count=2)"
    assert "no.such.code" in caplog.text
    assert fix_words("no.such.code") == "no.such.code"


def test_missing_fact_does_not_raise() -> None:
    made = reason("grade.cpu", "info")  # its wording names the CPU model, not given here
    assert made.code == "grade.cpu" and made.message.startswith("grade.cpu")
