"""The ``digibench`` command line: thin argument handling over the UI-free core.

Subcommands live in their own modules, which are only imported when their
command runs (or for ``--help``): a station, a flash or a script calling
``digibench`` does not pay for importing every other part.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import sys
import tempfile
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from agent import __version__
from agent.errors import DigibenchError

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2


def die(message: str, *, hint: str | None = None, code: int = EXIT_FAILURE) -> int:
    """Print a one-line error (and a hint) to stderr; return the exit code to use."""
    print(f"digibench: error: {message}", file=sys.stderr)
    if hint:
        print(f"digibench: hint: {hint}", file=sys.stderr)
    return code


class Command(NamedTuple):
    module: str  #: its ``register(sub)`` adds the command's parser
    summary: str  #: the line ``digibench --help`` shows


#: every command, in --help order; the top-level help reads this table and
#: imports no command module, so ``digibench --help`` starts in a blink
COMMANDS: dict[str, Command] = {
    "inspect": Command(
        "agent.inspect_cli", "inventory this machine and judge its disks and battery"
    ),
    "disk-health": Command("agent.inspect_cli", "judge saved smartctl outputs (JSON or text)"),
    "battery-health": Command(
        "agent.inspect_cli", "judge saved batteries (power_supply dir, uevent, upower -i, ...)"
    ),
    "run": Command(
        "agent.pipeline.cli", "run the station: the TUI, or --headless for unattended runs"
    ),
    "flash": Command(
        "agent.flash.cli",
        "write the standard OS image to a disk, read it back, fit and provision it",
    ),
    "image-compress": Command(
        "agent.flash.cli",
        "compress a raw image the way our image builds do (zstd frames + seek table)",
    ),
    "wipe": Command(
        "agent.erase.cli", "erase whole disks, verify, and write signed erasure records"
    ),
    "verify-record": Command("agent.erase.cli", "check the signature of erasure records"),
    "keygen": Command("agent.erase.cli", "make this station's signing key pair if it has none"),
    "outbox": Command("agent.uplink.cli", "show or send the reports waiting for the server"),
    "upload": Command("agent.uplink.cli", "queue saved reports and send the outbox"),
    "enrol": Command(
        "agent.uplink.enrol", "pair this station with a server (approved in its web UI)"
    ),
    "netboot": Command("agent.netboot.cli", "boot laptops from the network (a bench server)"),
    "demo": Command(
        "agent.demo.cli", "the station on loop-device disks with a local server (root; cleans up)"
    ),
    "label": Command(
        "agent.labels.cli", "a finished laptop's label (PNG; printed on a Brother QL)"
    ),
}


def summary(command: str) -> str:
    """The one-line help of ``command`` (its module's parser uses it too)."""
    return COMMANDS[command].summary


def _cmd_schema(args: argparse.Namespace) -> int:
    from agent.report.schema import json_schema

    print(json.dumps(json_schema(), indent=2, sort_keys=True))
    return EXIT_OK


def _command_of(argv: Sequence[str]) -> str | None:
    for arg in argv:
        if not arg.startswith("-"):
            return arg
    return None


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser; with ``argv`` naming a known command, only that command's module loads."""
    parser = argparse.ArgumentParser(
        prog="digibench",
        description="Refurbish donated laptops: inspect, wipe, flash, grade, report.",
    )
    parser.add_argument("--version", action="version", version=f"digibench {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what runs")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("schema", help="print the report JSON Schema (v1)")
    p.set_defaults(func=_cmd_schema)
    chosen = _command_of(argv) if argv is not None else None
    if chosen in COMMANDS:
        importlib.import_module(COMMANDS[chosen].module).register(sub)
        return parser
    for name, command in COMMANDS.items():  # only the list: no command module is imported
        sub.add_parser(name, help=command.summary, add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="digibench: %(levelname)s: %(message)s",
    )
    try:
        code: int = args.func(args)
    except DigibenchError as exc:
        return die(exc.message, hint=exc.hint)
    except KeyboardInterrupt:
        return die("interrupted", code=130)
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        return die(f"{where}{exc.strerror or exc}", hint=_os_hint(exc))
    except Exception as exc:
        log_file = _log_crash(exc)
        return die(
            f"unexpected error ({type(exc).__name__}: {exc})",
            hint=f"the details are in {log_file}; please report them",
        )
    return code


def _os_hint(exc: OSError) -> str | None:
    from agent.fsutil import StorageError

    return StorageError(Path(exc.filename or "?"), exc).hint


def _log_crash(exc: Exception) -> Path:
    """Write the traceback to the log file in use (or a new one); where it went."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler):
            logging.getLogger("digibench").error("unexpected error", exc_info=exc)
            return Path(handler.baseFilename)
    path = Path(tempfile.gettempdir()) / f"digibench-error-{os.getpid()}.log"
    with path.open("a") as fh:
        traceback.print_exception(exc, file=fh)
    return path


if __name__ == "__main__":
    sys.exit(main())
