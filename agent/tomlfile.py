"""Reading the TOML files people edit (policy, station config) with errors that name the spot."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from agent.errors import InputError


def read_toml(path: Path, what: str) -> dict[str, Any]:
    """The file's table; unreadable or malformed files are one clear error naming it."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"{path}: cannot read {what}: {exc.strerror}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not valid TOML: {exc}") from exc


def invalid(path: Path | None, what: str, exc: ValidationError) -> InputError:
    """The first validation problem as ``FILE: invalid WHAT at 'a.b': why``."""
    first = exc.errors()[0]
    loc = ".".join(str(p) for p in first["loc"])
    where = f"{path}: " if path is not None else ""
    return InputError(f"{where}invalid {what} at '{loc}': {first['msg']}")
