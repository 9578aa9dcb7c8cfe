"""``digibench outbox [list|flush]`` and ``digibench upload FILE...``."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from agent.cli import summary
from agent.errors import InputError

if TYPE_CHECKING:  # the uplink loads when a command runs, not for --help
    from agent.config import StationConfig
    from agent.uplink.client import Answer, FlushResult, UplinkConfig
    from agent.uplink.outbox import Outbox, OutboxEntry

EXIT_OK = 0
EXIT_FAILURE = 1


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, metavar="FILE", help="station config (TOML)")
    p.add_argument("--outbox", type=Path, metavar="DIR", help="outbox directory")
    p.add_argument("--server", metavar="URL", help="server URL, e.g. https://digibench.example")
    p.add_argument("--token", help="station token (or DIGIBENCH_TOKEN)")
    p.add_argument("--ca-file", type=Path, metavar="FILE", help="CA bundle for the server's TLS")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("outbox", help=summary("outbox"))
    p.add_argument("action", nargs="?", choices=["list", "flush"], default="list")
    _add_common(p)
    p.set_defaults(func=_cmd_outbox)

    p = sub.add_parser("upload", help=summary("upload"))
    p.add_argument("files", nargs="+", type=Path, metavar="FILE")
    p.add_argument(
        "--sign-with",
        type=Path,
        metavar="KEYDIR",
        help="sign unsigned reports with the station key in KEYDIR",
    )
    _add_common(p)
    p.set_defaults(func=_cmd_upload)


def _age(when: datetime) -> str:
    seconds = int((datetime.now(UTC) - when).total_seconds())
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}min"
    return f"{seconds // 3600}h"


def _print_sent(entry: OutboxEntry, answer: Answer) -> None:
    from agent.uplink.client import describe

    if answer.status in (200, 201):
        print(f"sent     {entry.report_id}")
    elif answer.status is None:
        print(f"waiting  {entry.report_id}: {answer.error}", file=sys.stderr)
    else:
        print(f"refused  {entry.report_id}: {describe(answer)}", file=sys.stderr)


def _settings(args: argparse.Namespace, config: StationConfig) -> UplinkConfig:
    from agent.uplink.config import uplink_config

    return uplink_config(config, server=args.server, token=args.token, ca_file=args.ca_file)


def _flush(outbox: Outbox, settings: UplinkConfig) -> FlushResult:
    from agent.uplink.client import Uploader, flush

    uploader = Uploader(settings)
    try:
        result = flush(outbox, uploader, on_sent=_print_sent)
    finally:
        uploader.close()
    if result.rejected:
        print(
            f"digibench: {len(result.rejected)} report(s) refused by the server, kept in "
            f"{outbox.rejected_dir} with the server's answer",
            file=sys.stderr,
        )
    for path, why in sorted(outbox.unreadable().items()):
        print(f"digibench: skipped {path}: {why}", file=sys.stderr)
    if result.error:
        print(f"digibench: upload stopped: {result.error}", file=sys.stderr)
    if result.remaining:
        print(
            f"digibench: {result.remaining} report(s) still wait in {outbox.root}", file=sys.stderr
        )
    return result


def _cmd_outbox(args: argparse.Namespace) -> int:
    from agent.config import load_station_config
    from agent.uplink.config import outbox_dir
    from agent.uplink.outbox import Outbox

    config = load_station_config(args.config)
    outbox = Outbox(outbox_dir(args.outbox, config))
    if args.action == "flush":
        return EXIT_OK if _flush(outbox, _settings(args, config)).ok else EXIT_FAILURE
    pending, rejected = outbox.pending(), outbox.rejected()
    for entry in pending:
        print(f"waiting  {entry.report_id}  {entry.size:>9} B  {_age(entry.queued_at)}")
    for entry in rejected:
        print(f"rejected {entry.report_id}  see {entry.path.with_suffix('')}.answer.json")
    for path, why in sorted(outbox.unreadable().items()):
        print(f"skipped  {path}: {why}")
    print(f"{len(pending)} waiting, {len(rejected)} rejected, in {outbox.root}")
    return EXIT_OK


def _cmd_upload(args: argparse.Namespace) -> int:
    from agent.config import load_station_config
    from agent.signing import load_or_create_key
    from agent.uplink.config import outbox_dir
    from agent.uplink.outbox import Outbox, parse_report
    from agent.uplink.signed import report_json, sign_report

    config = load_station_config(args.config)
    outbox = Outbox(outbox_dir(args.outbox, config))
    settings = _settings(args, config)  # complain about settings before queueing anything
    key = load_or_create_key(args.sign_with) if args.sign_with else None
    bodies: list[tuple[Path, bytes]] = []
    for path in args.files:  # check every file before queueing any
        try:
            body = path.read_bytes()
        except OSError as exc:
            raise InputError(f"{path}: cannot read: {exc.strerror}") from exc
        report = parse_report(body, source=str(path))
        if key is not None and report.signature is None:
            body = report_json(sign_report(report, key))
        bodies.append((path, body))
    wanted = {outbox.put(body, source=str(path)).report_id for path, body in bodies}
    result = _flush(outbox, settings)
    missing = wanted - set(result.acknowledged)
    return EXIT_OK if not missing else EXIT_FAILURE
