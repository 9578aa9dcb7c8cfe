"""``digibench run``: the station, as the TUI or unattended (``--headless``)."""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
from pathlib import Path

from agent.cli import summary
from agent.errors import DigibenchError
from agent.paths import DEFAULT_CONFIG


def log_to_file(folder: Path) -> Path:
    """Send log records to ``folder/agent.log`` instead of stderr: the TUI owns the terminal
    (on the stick, tty1), and a warning printed there would tear its screen."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "agent.log"
        handler = logging.FileHandler(path, encoding="utf-8")
    except OSError:  # no writable data partition: keep the screen clean anyway
        path = Path(tempfile.gettempdir()) / "digibench-agent.log"
        handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    return path


def _cmd_run(args: argparse.Namespace) -> int:
    from agent.config import load_station_config
    from agent.labels.finished import LabelOnFinish
    from agent.pipeline.events import tee
    from agent.pipeline.headless import run_headless
    from agent.runner import SystemRunner

    config = load_station_config(args.config)
    if args.asset_tag:
        config.headless.asset_tag = args.asset_tag
    runner = SystemRunner()
    labels = LabelOnFinish(config.station.data_dir / "labels", server_url=config.server.url or "")
    if args.headless:
        from agent.uplink.heartbeat import for_station

        sender = for_station(config, lambda: config.headless.asset_tag or "")
        try:
            return run_headless(config, runner=runner, observe=tee(labels, sender))
        finally:
            if sender is not None:
                sender.close()
    if os.geteuid() != 0:
        raise DigibenchError(
            "the station needs root to read SMART data and to wipe disks",
            hint="run it as root (the Digibench stick does)",
        )
    from agent.tui.app import run_station  # the TUI is only imported when it is used

    log_to_file(config.station.data_dir / "logs")
    from agent.uplink.heartbeat import for_station

    sender = for_station(config, lambda: "")
    try:
        run_station(config, runner=runner, observe=sender, labels=labels)
    finally:
        if sender is not None:
            sender.close()
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("run", help=summary("run"))
    p.add_argument(
        "--config",
        type=Path,
        help=f"station config TOML (default: $DIGIBENCH_STATION_CONFIG or {DEFAULT_CONFIG})",
    )
    p.add_argument("--headless", action="store_true", help="no TUI: progress lines on stdout")
    p.add_argument("--asset-tag", help="the laptop's asset tag (headless; overrides the config)")
    p.set_defaults(func=_cmd_run)
