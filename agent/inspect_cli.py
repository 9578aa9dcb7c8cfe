"""CLI commands that look and judge without changing anything.

``digibench inspect`` (this machine), ``disk-health`` (saved smartctl
outputs) and ``battery-health`` (saved battery dumps). A file that cannot be
read or understood gets a one-line error naming it; the others are still
judged, and the exit status is 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.cli import summary
from agent.errors import InputError

if TYPE_CHECKING:  # the inspection loads when a command runs, not for --help
    from agent.policy import Policy
    from agent.report.schema import Battery, Disk, DiskHealth, Reason, Report

EXIT_OK = 0
EXIT_BAD_INPUT = 2


def _size(n: int | None) -> str:
    if n is None:
        return "?"
    value = float(n)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{n} B"  # pragma: no cover


def _reason_lines(reasons: list[Reason], indent: str = "    ") -> list[str]:
    marks = {"error": "!!", "warning": "! ", "info": "- "}
    return [f"{indent}{marks[r.severity]} {r.message}" for r in reasons]


def _disk_text(disk: Disk) -> list[str]:
    flags = [
        flag
        for flag, on in (
            ("loop", disk.is_loop),
            ("virtual", disk.is_virtual),
            ("removable", disk.removable),
            ("boot medium", disk.is_boot_medium),
            ("holds /", disk.holds_root),
        )
        if on
    ]
    verdict = disk.health.verdict.value if disk.health else "not read"
    name = " ".join(x for x in (disk.vendor, disk.model) if x) or "unknown model"
    lines = [
        f"  {disk.path}: {name}, {_size(disk.size_bytes)}, {disk.media_type.value}"
        f"{', ' + disk.transport if disk.transport else ''}"
        f", serial {disk.serial or '?'}"
        f"{' [' + ', '.join(flags) + ']' if flags else ''}",
        f"    health: {verdict.upper()}",
    ]
    if disk.health:
        lines += _reason_lines(disk.health.reasons, "      ")
    if disk.in_use_reason:
        lines.append(f"      in use: {disk.in_use_reason}")
    return lines


def _battery_text(bat: Battery, label: str) -> list[str]:
    health = f"{bat.health_percent:.1f} %" if bat.health_percent is not None else "unknown"
    cycles = str(bat.cycle_count) if bat.cycle_count is not None else "unknown"
    lines = [
        f"{label}: {bat.verdict.value.upper()}  health {health}, cycles {cycles}"
        f"  ({' '.join(x for x in (bat.manufacturer, bat.model_name) if x) or 'unknown model'})"
    ]
    return lines + _reason_lines(bat.reasons)


def render_report(report: Report) -> str:
    """The plain-text summary of an inspection, for a terminal."""
    dev = report.device
    c = report.components
    ident = " ".join(x for x in (dev.vendor, dev.product_name, dev.product_version) if x)
    lines = [
        f"Machine:  {ident or 'unknown (no DMI data)'}",
        f"Serial:   {dev.serial or '?'}   chassis: {dev.chassis_type_name or '?'}",
    ]
    if c.cpu:
        lines.append(
            f"CPU:      {c.cpu.model or '?'} ({c.cpu.cores or '?'} cores, "
            f"{c.cpu.threads or '?'} threads)"
        )
    if c.memory:
        mods = f", {len(c.memory.modules)} module(s)" if c.memory.modules else ""
        lines.append(f"Memory:   {_size(c.memory.total_bytes)}{mods}")
    lines.append(f"Disks ({len(c.disks)}):")
    for disk in c.disks:
        lines += _disk_text(disk)
    lines.append(f"Batteries ({len(c.batteries)}):")
    for bat in c.batteries:
        lines += ["  " + line for line in _battery_text(bat, bat.name)]
    for gpu in c.gpus:
        lines.append(f"GPU:      {gpu.vendor or gpu.vendor_id} {gpu.name or gpu.device_id}")
    for nic in c.network:
        lines.append(f"Network:  {nic.name} ({nic.kind}) {nic.mac or ''}".rstrip())
    for disp in c.displays:
        lines.append(f"Display:  {disp.connector} {disp.name or ''} {disp.status or ''}".rstrip())
    if report.warnings:
        lines.append("Notes:")
        lines += [f"  - {w.message}" for w in report.warnings]
    return "\n".join(lines)


def _error(message: str) -> None:
    print(f"digibench: error: {message}", file=sys.stderr)


def _policy(args: argparse.Namespace) -> Policy:
    from agent.policy import load_policy

    override: Path | None = getattr(args, "policy", None)
    return load_policy(override)


def cmd_inspect(args: argparse.Namespace) -> int:
    from agent.inspect import inspect_machine
    from agent.report.schema import Mode
    from agent.runner import SystemRunner

    report = inspect_machine(
        runner=SystemRunner(),
        policy=_policy(args),
        root=args.root,
        mode=Mode.CHECK,
        asset_tag=args.asset_tag,
        station_name=args.station,
    )
    if args.json:
        print(report.model_dump_json(indent=2))
    else:
        print(render_report(report))
    return EXIT_OK


def _disk_entry(path: Path, health: DiskHealth, model: str | None, serial: str | None) -> Any:
    return {
        "file": str(path),
        "verdict": health.verdict.value,
        "reasons": [r.model_dump(mode="json") for r in health.reasons],
        "model": model,
        "serial": serial,
        "protocol": health.protocol,
        "smart_passed": health.smart_passed,
        "figures": health.figures.model_dump(mode="json", exclude_none=True),
    }


def cmd_disk_health(args: argparse.Namespace) -> int:
    from agent.health.disk_verdict import judge_disk
    from agent.health.smart_parse import read_smartctl_file

    policy = _policy(args)
    code = EXIT_OK
    results = []
    for path in args.files:
        try:
            data = read_smartctl_file(path)
        except InputError as exc:
            _error(str(exc))
            code = EXIT_BAD_INPUT
            continue
        health = judge_disk(data, policy.disk)
        results.append(_disk_entry(path, health, data.model, data.serial))
        if not args.json:
            who = " ".join(x for x in (data.model, data.serial) if x) or "unknown disk"
            print(f"{path}: {health.verdict.value.upper()}  {who} ({health.protocol or '?'})")
            print("\n".join(_reason_lines(health.reasons)))
    if args.json:
        print(json.dumps(results, indent=2))
    return code


def cmd_battery_health(args: argparse.Namespace) -> int:
    from agent.health.battery import judge_battery
    from agent.health.battery_parse import load_battery_file

    policy = _policy(args)
    code = EXIT_OK
    results = []
    for path in args.paths:
        try:
            readings = load_battery_file(path)
        except InputError as exc:
            _error(str(exc))
            code = EXIT_BAD_INPUT
            continue
        for reading in readings:
            bat = judge_battery(reading, policy.battery)
            entry = {"file": str(path), **bat.model_dump(mode="json", exclude={"raw"})}
            results.append(entry)
            if not args.json:
                print("\n".join(_battery_text(bat, f"{path} [{bat.name}]")))
    if args.json:
        print(json.dumps(results, indent=2))
    return code


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("inspect", help=summary("inspect"))
    p.add_argument("--json", action="store_true", help="print the full report (mode 'check')")
    p.add_argument("--asset-tag", help="the laptop's asset tag, if known")
    p.add_argument("--station", help="station name for the report (default: hostname)")
    p.add_argument("--policy", type=Path, help="policy TOML merged over the default")
    p.add_argument("--root", type=Path, default=Path("/"), help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_inspect)

    p = sub.add_parser("disk-health", help=summary("disk-health"))
    p.add_argument("--json", action="store_true", help="print a JSON list")
    p.add_argument("--policy", type=Path, help="policy TOML merged over the default")
    p.add_argument("files", nargs="+", type=Path, metavar="FILE")
    p.set_defaults(func=cmd_disk_health)

    p = sub.add_parser("battery-health", help=summary("battery-health"))
    p.add_argument("--json", action="store_true", help="print a JSON list")
    p.add_argument("--policy", type=Path, help="policy TOML merged over the default")
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    p.set_defaults(func=cmd_battery_health)
