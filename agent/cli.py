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


#: command -> the module whose ``register(sub)`` adds it (in --help order)
COMMANDS: dict[str, str] = {
    "inspect": "agent.inspect_cli",
    "disk-health": "agent.inspect_cli",
    "battery-health": "agent.inspect_cli",
    "run": "agent.pipeline.cli",
    "flash": "agent.flash.cli",
    "image-compress": "agent.flash.cli",
    "wipe": "agent.erase.cli",
    "verify-record": "agent.erase.cli",
    "keygen": "agent.erase.cli",
    "outbox": "agent.uplink.cli",
    "upload": "agent.uplink.cli",
    "enrol": "agent.uplink.enrol",
    "netboot": "agent.netboot.cli",
    "demo": "agent.demo.cli",
    "label": "agent.labels.cli",
}


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
    wanted = [COMMANDS[chosen]] if chosen in COMMANDS else list(dict.fromkeys(COMMANDS.values()))
    for module in wanted:
        importlib.import_module(module).register(sub)
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
