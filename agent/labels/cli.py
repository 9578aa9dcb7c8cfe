"""``digibench label``: a finished laptop's label from its report, saved and printed."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from agent.cli import summary
from agent.errors import DigibenchError

EXIT_OK = 0


def _cmd_label(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from agent.labels.finished import finished_label, save_and_print
    from agent.report.schema import Report
    from agent.tui import i18n
    from agent.tui.i18n import _

    i18n.set_language(args.language)
    try:
        report = Report.model_validate(json.loads(args.report.read_text(encoding="utf-8")))
    except (OSError, ValueError, ValidationError) as exc:
        raise DigibenchError(f"{args.report} is not a readable Digibench report: {exc}") from None
    label = finished_label(report, server_url=args.server, organisation=args.organisation, _=i18n._)
    outcome = save_and_print(label, args.out)
    printer = outcome.printed_on
    where = (
        _("printed on {printer}").format(printer=printer.product or printer.device)
        if printer
        else _("no Brother QL printer on USB")
    )
    print(f"{outcome.png} ({where})")
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("label", help=summary("label"))
    p.add_argument("report", type=Path, metavar="REPORT", help="the laptop's report (JSON)")
    p.add_argument("--out", type=Path, default=Path(), help="folder for the PNG")
    p.add_argument("--server", default="", help="server address for the QR code")
    p.add_argument("--organisation", default="", help="name printed on the label")
    p.add_argument("--language", default="nl", choices=["nl", "en"])
    p.set_defaults(func=_cmd_label)
