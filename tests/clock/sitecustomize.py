"""A freshly booted machine for the tests: ``time.monotonic()`` starts near 0.

``make test`` puts this folder on ``PYTHONPATH`` with ``DIGIBENCH_TEST_CLOCK=fresh-boot``, so
pytest and every Python process the tests start see a clock whose origin is their own
start, as on a stick or CI machine booted seconds ago. Code that treats 0.0 as "long ago"
(a throttle starting from ``last = 0.0``) fails here instead of on a volunteer's bench.
Without that variable this module does nothing.
"""

from __future__ import annotations

import os
import time

if os.environ.get("DIGIBENCH_TEST_CLOCK") == "fresh-boot":
    _real = time.monotonic
    _origin = _real() - 0.5  # as if the machine booted half a second ago

    def _fresh_boot_monotonic() -> float:
        return _real() - _origin

    time.monotonic = _fresh_boot_monotonic
