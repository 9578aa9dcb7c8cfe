"""Where the server keeps its files, shared by the settings and the CLI."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def data_dir() -> Path:
    return Path(os.environ.get("DIGIBENCH_DATA_DIR", "var")).resolve()


def secret_key_file() -> Path:
    return data_dir() / "secret_key"


def ensure_secret_key() -> None:
    """Make the Django secret key once (mode 0600), so sessions survive restarts."""
    path = secret_key_file()
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_urlsafe(50) + "\n")


def database_file() -> Path:
    return data_dir() / "digibench.sqlite3"


def ensure_private_database() -> None:
    """Create the SQLite file 0600 before SQLite does (its journals copy the mode)."""
    path = database_file()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)
        return
    os.close(fd)
