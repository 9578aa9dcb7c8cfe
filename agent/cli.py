"""The ``digibench`` command line: thin argument handling over the UI-free core."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence

from agent import __version__
from agent.demo.cli import register as register_demo
from agent.erase.cli import register as register_erase
from agent.errors import DigibenchError
from agent.flash.cli import register as register_flash
from agent.inspect_cli import register as register_inspect
from agent.pipeline.cli import register as register_run
from agent.report.schema import json_schema
from agent.uplink.cli import register as register_uplink

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2


def die(message: str, *, hint: str | None = None, code: int = EXIT_FAILURE) -> int:
    """Print a one-line error (and a hint) to stderr; return the exit code to use."""
    print(f"digibench: error: {message}", file=sys.stderr)
    if hint:
        print(f"digibench: hint: {hint}", file=sys.stderr)
    return code


def _cmd_schema(args: argparse.Namespace) -> int:
    print(json.dumps(json_schema(), indent=2, sort_keys=True))
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="digibench",
        description="Refurbish donated laptops: inspect, wipe, flash, grade, report.",
    )
    parser.add_argument("--version", action="version", version=f"digibench {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what runs")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("schema", help="print the report JSON Schema (v1)")
    p.set_defaults(func=_cmd_schema)
    register_inspect(sub)
    register_run(sub)
    register_flash(sub)
    register_erase(sub)
    register_uplink(sub)
    register_demo(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
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
    return code


if __name__ == "__main__":
    sys.exit(main())
