"""While the TUI runs, log records go to the station's log folder, never to its screen."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.pipeline.cli import log_to_file


@pytest.fixture
def root_handlers() -> Iterator[None]:
    root = logging.getLogger()
    saved, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    for handler in saved:
        root.addHandler(handler)
    root.setLevel(level)


def test_warnings_go_to_the_log_file_not_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], root_handlers: None
) -> None:
    logging.basicConfig(level=logging.WARNING, force=True)  # what agent.cli sets up
    path = log_to_file(tmp_path / "logs")
    logging.getLogger("agent.probes").warning("udev database unreadable")
    for handler in logging.getLogger().handlers:
        handler.flush()
    assert path == tmp_path / "logs" / "agent.log"
    assert "udev database unreadable" in path.read_text()
    assert "udev database unreadable" not in capsys.readouterr().err


def test_unwritable_folder_still_keeps_the_screen_clean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], root_handlers: None
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    path = log_to_file(blocker / "logs")  # a file where the folder should be
    logging.getLogger("agent").warning("still logged")
    for handler in logging.getLogger().handlers:
        handler.flush()
    assert "still logged" in path.read_text()
    assert capsys.readouterr().err == ""
