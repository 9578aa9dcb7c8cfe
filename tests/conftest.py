"""Shared test helpers: where the fixtures live."""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


#: Slow proofs that run only when asked for with ``-m`` (otherwise skipped, never failed).
OPT_IN_MARKERS = {
    "images": "image boot test: run with -m images (make test-images)",
    "e2e": "end-to-end VM test: run with -m e2e (make e2e)",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    wanted = config.getoption("markexpr") or ""
    for marker, why in OPT_IN_MARKERS.items():
        if marker in wanted:
            continue
        skip = pytest.mark.skip(reason=why)
        for item in items:
            if marker in item.keywords:
                item.add_marker(skip)
