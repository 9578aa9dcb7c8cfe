"""Reading labels back as a scanner would: zbarimg (Debian's zbar-tools) on the pixels."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest


def scan(image: Path) -> list[str]:
    """Every symbol zbarimg finds, as ``TYPE:data``."""
    if shutil.which("zbarimg") is None:
        pytest.skip("zbarimg is not installed (apt-get install zbar-tools; make setup)")
    out = subprocess.run(
        ["zbarimg", "--quiet", "--nodbus", str(image)], capture_output=True, text=True, timeout=60
    )
    return sorted(out.stdout.split())
