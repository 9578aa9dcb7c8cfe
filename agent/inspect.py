"""Inspect the whole machine into one report: identity, components, health.

This is the first step of every station run and the whole of helpdesk
(check) mode. Every probe reads from ``root`` so tests run on recorded trees;
what cannot be read becomes a warning in the report, never a crash.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from agent import __version__
from agent.errors import DigibenchError, ToolMissingError
from agent.health.battery import probe_batteries
from agent.health.disk_verdict import judge_disk
from agent.health.smart import probe_disk_health
from agent.health.smart_parse import read_smartctl_file
from agent.policy import Policy
from agent.probes.block import list_disks
from agent.probes.cpu import probe_cpu
from agent.probes.display import probe_displays
from agent.probes.dmi import probe_dmi
from agent.probes.firmware_locks import probe_locks
from agent.probes.gpu import probe_gpus
from agent.probes.memory import probe_memory
from agent.probes.network import probe_network
from agent.probes.peripherals import probe_peripherals
from agent.report.reasons import ParamValue, reason, warning
from agent.report.schema import (
    Battery,
    Components,
    DeviceIdentity,
    Disk,
    DiskHealth,
    DiskVerdict,
    Display,
    Gpu,
    MediaType,
    Mode,
    NetworkInterface,
    Operator,
    Report,
    Station,
    Warning_,
)
from agent.runner import Runner

log = logging.getLogger(__name__)

T = TypeVar("T")


class _Warnings:
    """Collects what could not be read, once per code."""

    def __init__(self) -> None:
        self.items: list[Warning_] = []

    def add(self, code: str, **params: ParamValue) -> None:
        item = warning(code, **params)
        if all(w.code != code or w.message != item.message for w in self.items):
            self.items.append(item)

    def guard(self, code: str, probe: Callable[[], T], fallback: T) -> T:
        """Run one probe; a failure becomes a warning (``<part>.error``) and the fallback."""
        try:
            return probe()
        except DigibenchError as exc:
            self.add(code, error=str(exc))
        except OSError as exc:
            self.add(code, error=str(exc.strerror or exc))
        return fallback


def _disk_health(
    disk: Disk,
    runner: Runner,
    policy: Policy,
    warnings: _Warnings,
    smartctl_ok: list[bool],
    fixture: Path | None,
) -> DiskHealth | None:
    if fixture is not None:
        warnings.add("smart.replayed", path=disk.path, fixture=fixture.name)
        return judge_disk(read_smartctl_file(fixture), policy.disk)
    if disk.is_loop:
        return DiskHealth(verdict=DiskVerdict.UNKNOWN, reasons=[reason("smart.not_applicable")])
    if not smartctl_ok[0]:
        return None
    try:
        return probe_disk_health(runner, disk.path, policy.disk, transport=disk.transport)
    except ToolMissingError as exc:
        smartctl_ok[0] = False
        warnings.add("smartctl.missing", error=str(exc))
    except DigibenchError as exc:
        warnings.add("smart.error", path=disk.path, error=str(exc))
    return None


def _media_of(health: DiskHealth) -> MediaType:
    """The kind of drive a replayed SMART output describes (test setups play that drive)."""
    if health.protocol == "NVMe":
        return MediaType.NVME
    raw = health.raw_smartctl_json or {}
    rotation = raw.get("rotation_rate")
    if isinstance(rotation, int):
        return MediaType.SSD if rotation == 0 else MediaType.HDD
    return MediaType.UNKNOWN


def inspect_machine(
    *,
    runner: Runner,
    policy: Policy,
    root: Path = Path("/"),
    block_root: Path | None = None,
    smart_fixtures: Mapping[str, Path] | None = None,
    mode: Mode = Mode.CHECK,
    asset_tag: str | None = None,
    station_name: str | None = None,
    operator: Operator | None = None,
) -> Report:
    """Probe everything and judge disks and batteries; the report of a check run.

    ``root`` is where DMI, CPU, memory, batteries and the rest are read;
    ``block_root`` (default: ``root``) is where disks are found, so a test
    setup can pair a recorded laptop profile with real loop devices, whose
    SMART data may then be replayed from ``smart_fixtures`` (path -> file).
    """
    fixtures = dict(smart_fixtures or {})
    warnings = _Warnings()
    device = warnings.guard("dmi.error", lambda: probe_dmi(root), DeviceIdentity())
    if not device.raw_dmi:
        warnings.add("dmi.missing")
    cpu = warnings.guard("cpu.error", lambda: probe_cpu(root), None)
    memory = warnings.guard("memory.error", lambda: probe_memory(root, runner), None)
    no_disks: list[Disk] = []
    disks = warnings.guard("disks.error", lambda: list_disks(block_root or root), no_disks)

    smartctl_ok = [True]
    judged = []
    for disk in disks:
        fixture = fixtures.get(disk.path)
        health = _disk_health(disk, runner, policy, warnings, smartctl_ok, fixture)
        update: dict[str, object] = {"health": health}
        if fixture is not None and health is not None:
            update["media_type"] = _media_of(health)
        judged.append(disk.model_copy(update=update))
    real = [d for d in judged if not d.is_loop]
    known = [d for d in judged if d.health and d.health.verdict is not DiskVerdict.UNKNOWN]
    if not real:
        warnings.add("disks.none")
    elif smartctl_ok[0] and not known:
        warnings.add("smart.none")

    no_batteries: list[Battery] = []
    batteries = warnings.guard(
        "battery.error", lambda: probe_batteries(root, policy.battery), no_batteries
    )
    if not batteries:
        warnings.add("battery.none")

    components = Components(
        cpu=cpu,
        memory=memory,
        disks=judged,
        batteries=batteries,
        gpus=warnings.guard("gpu.error", lambda: probe_gpus(root), list[Gpu]()),
        network=warnings.guard(
            "network.error", lambda: probe_network(root), list[NetworkInterface]()
        ),
        displays=warnings.guard("display.error", lambda: probe_displays(root), list[Display]()),
        locks=warnings.guard("locks.error", lambda: probe_locks(root), None),
        peripherals=warnings.guard(
            "peripherals.error", lambda: probe_peripherals(root, runner), None
        ),
    )
    station = Station(
        name=station_name or socket.gethostname() or "station",
        hostname=socket.gethostname() or None,
        agent_version=__version__,
    )
    return Report(
        mode=mode,
        asset_tag=asset_tag,
        station=station,
        operator=operator or Operator(),
        device=device,
        components=components,
        warnings=warnings.items,
        finished_at=datetime.now(UTC),
    )
