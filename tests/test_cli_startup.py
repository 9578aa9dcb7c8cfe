"""``digibench`` starts fast: --help of a command imports only what that command needs.

Start-up time itself is measured by ``bench/startup.py`` (tests never assert
timings); here the cause is pinned down instead: which heavy libraries a
command's parser pulls in. A module-level import that sneaks back in fails.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from agent.cli import COMMANDS

#: libraries that cost tens of milliseconds or more to import
HEAVY = (
    "pydantic",
    "cryptography",
    "requests",
    "psutil",
    "PIL",
    "textual",
    "django",
    "reportlab",
    "zstandard",
    "agent.report.schema",
)

#: what a command's --help may still import, and why
ALLOWED: dict[str, set[str]] = {
    "flash": {"zstandard"},  # image-compress shares the module; its options come from there
    "image-compress": {"zstandard"},
    "demo": {"pydantic", "agent.report.schema"},  # --mode lists the schema's modes
}

_PROBE = """
import json, sys
from agent.cli import build_parser
argv = sys.argv[1:]
build_parser(argv)
heavy = json.loads(sys.stdin.read())
print(json.dumps(sorted(h for h in heavy if h in sys.modules)))
"""


def _heavy_after_parser(argv: list[str]) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, *argv],
        input=json.dumps(HEAVY),
        capture_output=True,
        text=True,
        check=True,
    )
    return set(json.loads(out.stdout))


def test_the_command_list_imports_no_command_module() -> None:
    assert _heavy_after_parser([]) == set()


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_commands_parser_imports_only_what_it_needs(command: str) -> None:
    assert _heavy_after_parser([command]) <= ALLOWED.get(command, set())


def test_every_command_is_listed_with_its_summary(capsys: pytest.CaptureFixture[str]) -> None:
    from agent.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    listing = " ".join(capsys.readouterr().out.split())
    for name, command in COMMANDS.items():
        assert f"{name} {' '.join(command.summary.split())}" in listing


def test_the_summary_is_the_one_the_command_module_uses() -> None:
    """One place for each command's summary: its module asks the table."""
    import argparse
    import importlib

    for name, command in COMMANDS.items():
        parser = argparse.ArgumentParser()
        sub = parser.add_subparsers()
        importlib.import_module(command.module).register(sub)
        helps = {a.dest: a.help for a in sub._choices_actions}
        assert helps[name] == command.summary, name


def test_a_flash_starts_writing_before_it_needs_pydantic() -> None:
    """The flash engine, its manifest and the target's safety checks import no pydantic:
    the record's schema is readied while the write runs (engine._ready_record_model)."""
    probe = (
        "import json, sys\n"
        "import agent.flash.engine, agent.flash.manifest, agent.probes.block\n"
        "print(json.dumps(sorted(h for h in json.loads(sys.stdin.read()) if h in sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        input=json.dumps(HEAVY),
        capture_output=True,
        text=True,
        check=True,
    )
    assert set(json.loads(out.stdout)) <= {"zstandard"}
