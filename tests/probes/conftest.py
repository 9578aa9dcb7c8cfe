"""Recorded and constructed system trees the probes read instead of '/'."""

from __future__ import annotations

from pathlib import Path

import pytest

SYSROOTS = Path(__file__).parent.parent / "fixtures" / "sysroots"


@pytest.fixture
def sysroots() -> Path:
    return SYSROOTS
