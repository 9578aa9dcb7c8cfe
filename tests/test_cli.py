"""The command table that makes subcommands load lazily must name every command."""

from __future__ import annotations

import argparse

from agent.cli import COMMANDS, build_parser


def _choices(parser: argparse.ArgumentParser) -> set[str]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return set(action.choices)
    return set()


def test_every_registered_command_is_in_the_table() -> None:
    assert _choices(build_parser()) == set(COMMANDS) | {"schema"}


def test_a_command_loads_only_its_own_module() -> None:
    # agent.flash.cli registers both of its commands, and nothing else is imported
    assert _choices(build_parser(["flash", "--help"])) == {"schema", "flash", "image-compress"}
    assert _choices(build_parser(["-v", "inspect"])) == {
        "schema",
        "inspect",
        "disk-health",
        "battery-health",
    }
