"""Disk health from SMART: the live probe, plus the parser and verdict re-exported.

The probe always asks for ``smartctl -x --json=c`` so that what a station
reads live is exactly what tests replay from recordings.
"""

from __future__ import annotations

from agent.errors import InputError
from agent.health.disk_verdict import judge_disk
from agent.health.smart_parse import (
    EXIT_CMDLINE,
    EXIT_OPEN_FAILED,
    MAX_INPUT_CHARS,
    AtaAttribute,
    NvmeHealth,
    SelfTestEntry,
    SmartData,
    parse_smartctl,
    read_smartctl_file,
)
from agent.policy import DiskPolicy
from agent.report.reasons import reason
from agent.report.schema import DiskHealth
from agent.runner import CommandResult, Runner

__all__ = [
    "AtaAttribute",
    "NvmeHealth",
    "SelfTestEntry",
    "SmartData",
    "judge_disk",
    "parse_smartctl",
    "probe_disk_health",
    "read_smartctl_file",
    "smartctl_argv",
]

#: A SMART read on a sleepy USB disk can take a while; a hung bridge must not hang the bench.
SMARTCTL_TIMEOUT_S = 120.0


def smartctl_argv(device: str, *, device_type: str | None = None) -> list[str]:
    """The one smartctl command the station runs to read a disk's health."""
    argv = ["smartctl", "-x", "--json=c"]
    if device_type:
        argv += ["-d", device_type]
    return [*argv, device]


def _exit_meaning(status: int) -> str:
    parts = []
    if status & EXIT_CMDLINE:
        parts.append("the device type was not recognised or the command line was refused")
    if status & EXIT_OPEN_FAILED:
        parts.append("the device could not be opened or did not answer")
    return "; ".join(parts)


def _read(result: CommandResult, device: str) -> SmartData:
    """Parse one smartctl run; output we cannot read becomes 'no data' with the reason."""
    source = " ".join(result.argv)
    try:
        data = parse_smartctl(result.text, source=source)
    except InputError as exc:
        stderr = result.error_text.strip().splitlines()
        detail = stderr[-1] if stderr else exc.message
        data = SmartData(
            source=source,
            format="text",
            messages=(f"{device}: smartctl output could not be read: {detail}",),
            raw_text=result.text[:MAX_INPUT_CHARS] or None,
        )
    # The process exit status is the authority (JSON may lack it when smartctl crashed).
    data.exit_status = result.returncode if result.returncode >= 0 else data.exit_status
    status = data.exit_status or 0
    if status & (EXIT_CMDLINE | EXIT_OPEN_FAILED) and not data.has_smart_data:
        meaning = _exit_meaning(status)
        if meaning and not any(meaning in m for m in data.messages):
            data.messages = (*data.messages, f"exit status {status}: {meaning}")
    return data


def probe_disk_health(
    runner: Runner,
    device: str,
    policy: DiskPolicy,
    *,
    transport: str | None = None,
) -> DiskHealth:
    """Read and judge one disk; a disk without SMART data is ``unknown``, not an error.

    Behind a USB adapter smartctl does not recognise, it retries once with
    ``-d sat`` (most USB-SATA bridges pass ATA commands through that way).
    Raises :class:`~agent.errors.ToolMissingError` when smartctl is not installed.
    """
    first = _read(runner.run(smartctl_argv(device), timeout=SMARTCTL_TIMEOUT_S), device)
    if first.has_smart_data or not first.unknown_usb_bridge or transport not in (None, "usb"):
        return judge_disk(first, policy)

    retry_argv = smartctl_argv(device, device_type="sat")
    retry = _read(runner.run(retry_argv, timeout=SMARTCTL_TIMEOUT_S), device)
    if retry.has_smart_data:
        health = judge_disk(retry, policy)
        note = reason("usb.sat_retry")
    else:
        health = judge_disk(first, policy)
        why = "; ".join(retry.messages) or f"exit status {retry.exit_status}"
        note = reason("usb.sat_retry_failed", "info", retry.exit_status, detail=why)
    return health.model_copy(update={"reasons": [*health.reasons, note][:64]})
