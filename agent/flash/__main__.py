"""``python -m agent.flash IMAGE DEVICE``: ``digibench flash`` without loading the other commands.

Same options, same code path; it only skips importing every other subcommand at
start-up (about a second on a small machine), e.g. for a flash-only script.
"""

from __future__ import annotations

import argparse
import logging
import sys

from agent.errors import DigibenchError
from agent.flash.cli import register


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agent")
    sub = parser.add_subparsers(dest="command", required=True)
    register(sub)
    args = parser.parse_args(["flash", *(sys.argv[1:] if argv is None else argv)])
    logging.basicConfig(level=logging.WARNING, format="digibench: %(levelname)s: %(message)s")
    try:
        code: int = args.func(args)
    except DigibenchError as exc:
        print(f"digibench: error: {exc}", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
