"""Byte-compile the project's sources before a benchmark times anything.

An installed digibench (a wheel, the stick) brings its modules compiled; a
checkout compiles each changed module on its first import and, where
``PYTHONDONTWRITEBYTECODE`` is set (as in some CI and container shells), on
every start again. Without this, a benchmark of a command that starts Python
times the compiler too (about 40 ms for the flash engine's modules).
"""

from __future__ import annotations

import compileall
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def compile_sources() -> None:
    """Write the .pyc of every module of the agent and the server (py_compile writes them
    whatever ``PYTHONDONTWRITEBYTECODE`` says)."""
    for top in ("agent", "server"):
        compileall.compile_dir(REPO / top, quiet=1)
