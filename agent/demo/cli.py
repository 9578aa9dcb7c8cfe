"""``digibench demo``: see :mod:`agent.demo.run`."""

from __future__ import annotations

import argparse

from agent.cli import summary
from agent.demo import ASSET_TAG
from agent.report.schema import Mode


def _cmd_demo(args: argparse.Namespace) -> int:
    from agent.demo.run import run_demo

    return run_demo(
        headless=True if args.headless else None,
        keep=args.keep,
        mode=Mode(args.mode),
        asset_tag=args.asset_tag,
    )


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("demo", help=summary("demo"))
    p.add_argument("--headless", action="store_true", help="no TUI, even on a terminal")
    p.add_argument("--keep", action="store_true", help="keep the loop devices and files")
    p.add_argument(
        "--mode",
        choices=[m.value for m in Mode],
        default=Mode.INTAKE.value,
        help="headless: an intake run (wipe, flash) or a helpdesk check (nothing wiped)",
    )
    p.add_argument("--asset-tag", default=ASSET_TAG, help="headless: the laptop's asset tag")
    p.set_defaults(func=_cmd_demo)
