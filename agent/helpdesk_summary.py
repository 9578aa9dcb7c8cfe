"""The one-page summary a resident takes home after a helpdesk check of their own laptop.

Plain words, no grade and no destination: the laptop is theirs. Battery
health, disk health and size, memory, whether the programme's operating system
would run on it, and the volunteer's advice. Every sentence is a catalog code
(:mod:`agent.report.reasons`) said in the resident's language through the
station's gettext catalog, so the PDF and the screens never disagree.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from fpdf import FPDF

from agent.policy import Policy
from agent.report.reasons import ParamValue, reason
from agent.report.schema import (
    BatteryVerdict,
    DiskVerdict,
    Reason,
    Report,
)
from agent.tui import i18n
from agent.tui.reasons import advice_texts, reason_text

GIB = 1024**3
GB = 1000**3
#: A Unicode font from Debian's fonts-dejavu-core (scripts/setup-debian.sh); the
#: PDF core fonts cannot write every Dutch/French letter.
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
FONT_BOLD = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")


def _say(code: str, **params: ParamValue) -> str:
    return reason_text(reason(code, "info", None, **params))


def _battery_lines(report: Report) -> list[Reason]:
    batteries = report.components.batteries
    if not batteries:
        return [reason("diagnosis.battery_none")]
    lines = []
    for bat in batteries:
        health = round(bat.health_percent) if bat.health_percent is not None else None
        if health is None or bat.verdict is BatteryVerdict.UNKNOWN:
            lines.append(reason("diagnosis.battery_unknown"))
        else:
            code = {
                BatteryVerdict.GOOD: "diagnosis.battery_good",
                BatteryVerdict.WORN: "diagnosis.battery_worn",
                BatteryVerdict.BAD: "diagnosis.battery_bad",
            }[bat.verdict]
            lines.append(reason(code, health=health))
    return lines


def _disk_lines(report: Report) -> list[Reason]:
    disks = [d for d in report.components.disks if d.internal and not d.is_boot_medium]
    if not disks:
        return [reason("diagnosis.disk_none")]
    lines = []
    for disk in disks:
        gb = round(disk.size_bytes / GB)
        verdict = disk.health.verdict if disk.health else DiskVerdict.UNKNOWN
        code = {
            DiskVerdict.HEALTHY: "diagnosis.disk_healthy",
            DiskVerdict.WORN: "diagnosis.disk_worn",
            DiskVerdict.FAILING: "diagnosis.disk_failing",
            DiskVerdict.UNKNOWN: "diagnosis.disk_unknown",
        }[verdict]
        lines.append(reason(code, gb=gb))
    return lines


def _memory_line(report: Report, policy: Policy) -> Reason:
    memory = report.components.memory
    if memory is None:
        return reason("diagnosis.ram_unknown")
    gib = round(memory.total_bytes / GIB, 1)
    if gib < policy.grading.ram_lend_gib:
        return reason("diagnosis.ram_low", gib=gib)
    return reason("diagnosis.ram_ok", gib=gib)


def os_verdict(report: Report, policy: Policy) -> Reason:
    """Whether the programme's OS runs here: a 64-bit CPU, enough RAM, enough disk."""
    g = policy.grading
    cpu = report.components.cpu
    if cpu is None or not cpu.flags:
        return reason("diagnosis.os_unknown")
    if any(flag not in cpu.flags for flag in g.cpu_required_flags):
        return reason("diagnosis.os_no_cpu")
    memory = report.components.memory
    if memory is not None and memory.total_bytes / GIB < g.ram_lend_gib:
        return reason("diagnosis.os_no_ram", limit=g.ram_lend_gib)
    disks = [d for d in report.components.disks if d.internal and not d.is_boot_medium]
    if sum(d.size_bytes for d in disks) / GB < g.storage_lend_gb:
        return reason("diagnosis.os_no_disk", limit=g.storage_lend_gb)
    return reason("diagnosis.os_yes")


def summary_lines(
    report: Report, policy: Policy, advice: str | None = None
) -> list[tuple[str, list[str]]]:
    """(heading, sentences) in the current language, in the order they are printed."""
    findings = report.grade.reasons if report.grade else []
    volunteer = [advice.strip()] if advice and advice.strip() else []
    volunteer += advice_texts(list(findings)) or [_say("diagnosis.advice_none")]
    return [
        (_say("diagnosis.heading_battery"), [reason_text(r) for r in _battery_lines(report)]),
        (_say("diagnosis.heading_disk"), [reason_text(r) for r in _disk_lines(report)]),
        (_say("diagnosis.heading_ram"), [reason_text(_memory_line(report, policy))]),
        (_say("diagnosis.heading_os"), [reason_text(os_verdict(report, policy))]),
        (_say("diagnosis.heading_advice"), volunteer[:8]),
    ]


def _laptop_name(report: Report) -> str:
    device = report.device
    name = " ".join(x for x in (device.vendor, device.product_version or device.product_name) if x)
    return name or "?"


def write_summary_pdf(
    report: Report,
    policy: Policy,
    path: Path,
    *,
    language: str = "nl",
    advice: str | None = None,
    when: datetime | None = None,
) -> Path:
    """Write the resident's one-page summary to ``path`` (A4) and return it."""
    previous = i18n.language()
    i18n.set_language(language)
    try:
        sections = summary_lines(report, policy, advice)
        title = _say("diagnosis.title")
        laptop = _say(
            "diagnosis.laptop",
            laptop=_laptop_name(report),
            tag=report.asset_tag or "?",
            date=(when or report.finished_at or report.created_at).strftime("%d-%m-%Y"),
        )
    finally:
        i18n.set_language(previous)
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=False)
    pdf.add_page()
    family = "helvetica"
    if FONT.exists() and FONT_BOLD.exists():
        pdf.add_font("dejavu", "", str(FONT))
        pdf.add_font("dejavu", "B", str(FONT_BOLD))
        family = "dejavu"
    pdf.set_font(family, "B", 18)
    pdf.multi_cell(0, 10, title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, "", 11)
    pdf.multi_cell(0, 6, laptop, new_x="LMARGIN", new_y="NEXT")
    for heading, sentences in sections:
        pdf.ln(4)
        pdf.set_font(family, "B", 13)
        pdf.multi_cell(0, 8, heading, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(family, "", 11)
        for sentence in sentences:
            pdf.multi_cell(0, 6, f"- {sentence}", new_x="LMARGIN", new_y="NEXT")
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(path))
    return path
