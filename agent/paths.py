"""Where a station keeps its files by default (light to import: ``--help`` uses it)."""

from __future__ import annotations

from pathlib import Path

#: where a station keeps its config unless told otherwise
DEFAULT_CONFIG = Path("/etc/digibench/station.toml")
