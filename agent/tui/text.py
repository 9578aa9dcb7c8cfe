"""Plain-language pieces of the screens: sizes, disk labels, health summaries.

No Textual here, so the wording can be tested (and reused by headless mode)
without a terminal.
"""

from __future__ import annotations

from agent.report.schema import (
    Battery,
    BatteryVerdict,
    Disk,
    DiskVerdict,
    Report,
)
from agent.tui.i18n import _, number


def human_bytes(n: int | None) -> str:
    """Decimal units, as disk vendors print them on the label."""
    if n is None:
        return "?"
    value = float(n)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            spec = ".0f" if unit == "B" or value >= 100 else ".1f"
            return f"{number(value, spec)} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def human_duration(seconds: float | None) -> str:
    if seconds is None or seconds < 0:
        return "--:--"
    s = int(seconds + 0.5)
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


def disk_label(disk: Disk) -> str:
    """What a volunteer can match against the sticker on the drive."""
    model = disk.model or disk.vendor or _("unknown model")
    serial = disk.serial or _("no serial")
    return f"{model} / {serial} / {human_bytes(disk.size_bytes)}"


def disk_verdict_text(verdict: DiskVerdict) -> str:
    return {
        DiskVerdict.HEALTHY: _("healthy"),
        DiskVerdict.WORN: _("worn"),
        DiskVerdict.FAILING: _("failing"),
        DiskVerdict.UNKNOWN: _("unknown"),
    }[verdict]


def battery_verdict_text(verdict: BatteryVerdict) -> str:
    return {
        BatteryVerdict.GOOD: _("good"),
        BatteryVerdict.WORN: _("worn"),
        BatteryVerdict.BAD: _("bad"),
        BatteryVerdict.UNKNOWN: _("unknown"),
    }[verdict]


def battery_label(battery: Battery) -> str:
    parts = [battery.manufacturer or "", battery.model_name or battery.name]
    label = " ".join(p for p in parts if p).strip()
    if battery.health_percent is not None:
        label += " - " + _("capacity left: {percent:.0f}%").format(percent=battery.health_percent)
    return label


def health_summary(report: Report) -> list[str]:
    """Helpdesk mode: what is wrong and what a fix would bring, in plain words."""
    lines: list[str] = []
    disks = [d for d in report.components.disks if d.internal and not d.is_boot_medium]
    for disk in disks:
        verdict = disk.health.verdict if disk.health else DiskVerdict.UNKNOWN
        name = disk.model or disk.name
        if verdict is DiskVerdict.FAILING:
            lines.append(
                _(
                    "The disk {name} is failing: copy your files off it today. "
                    "A new disk makes the laptop reliable again."
                ).format(name=name)
            )
        elif verdict is DiskVerdict.WORN:
            lines.append(
                _("The disk {name} is worn: keep a backup; replace it within a year.").format(
                    name=name
                )
            )
        elif verdict is DiskVerdict.HEALTHY:
            lines.append(_("The disk {name} is healthy.").format(name=name))
        else:
            lines.append(_("The health of disk {name} could not be read.").format(name=name))
        if disk.media_type.value == "hdd":
            lines.append(_("Replacing the hard disk by an SSD would make the laptop much faster."))
    if not disks:
        lines.append(_("No internal disk was found."))
    for battery in report.components.batteries:
        if battery.verdict is BatteryVerdict.BAD:
            lines.append(
                _(
                    "The battery is worn out: a new battery gives back hours of use "
                    "away from the plug."
                )
            )
        elif battery.verdict is BatteryVerdict.WORN:
            lines.append(_("The battery has lost part of its capacity, but is still usable."))
        elif battery.verdict is BatteryVerdict.GOOD:
            lines.append(_("The battery is in good condition."))
        else:
            lines.append(_("The battery condition could not be read."))
    memory = report.components.memory
    if memory is not None:
        gib = memory.total_bytes / 2**30
        if gib < 7.5:
            lines.append(
                _("{gib:.0f} GiB of memory is little: more memory would make it faster.").format(
                    gib=gib
                )
            )
        else:
            lines.append(_("{gib:.0f} GiB of memory is enough for everyday use.").format(gib=gib))
    return lines
