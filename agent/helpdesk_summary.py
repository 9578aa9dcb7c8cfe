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
    Battery,
    BatteryVerdict,
    Diagnosis,
    DiskVerdict,
    ErasureResult,
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


def _watt_hours(bat: Battery) -> tuple[float, float] | None:
    """(now, new) in Wh: energy in µWh, or charge in µAh times the design voltage."""
    if bat.energy_full_uwh and bat.energy_full_design_uwh:
        return bat.energy_full_uwh / 1e6, bat.energy_full_design_uwh / 1e6
    volts = (bat.voltage_min_design_uv or 0) / 1e6
    if bat.charge_full_uah and bat.charge_full_design_uah and volts:
        return bat.charge_full_uah / 1e6 * volts, bat.charge_full_design_uah / 1e6 * volts
    return None


def _hours(wh: float, watts: float) -> float:
    """Hours at ``watts``, to the half hour (an estimate: more precision would mislead)."""
    return max(0.5, round(wh / watts * 2) / 2)


def _battery_time(bat: Battery, policy: Policy) -> list[Reason]:
    """How long it lasts now and new; for a worn or bad battery, what a new one costs."""
    h = policy.helpdesk
    lines = []
    wh = _watt_hours(bat)
    if wh is not None:
        now, new = wh
        lines.append(
            reason(
                "diagnosis.battery_runtime",
                now=_hours(now, h.typical_draw_w),
                new=_hours(new, h.typical_draw_w),
                watts=h.typical_draw_w,
            )
        )
    if bat.verdict in (BatteryVerdict.WORN, BatteryVerdict.BAD):
        lines.append(reason("diagnosis.battery_cost", **h.battery_cost()))
    return lines


def _battery_lines(report: Report, policy: Policy) -> list[Reason]:
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
            lines.extend(_battery_time(bat, policy))
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


def recommendations(report: Report, policy: Policy) -> list[Reason]:
    """What the volunteer recommends: replace the battery, replace the disk, a refresh, or keep.

    A worn or bad battery or disk is worth replacing; a new disk needs a system, so
    a refresh follows it when the programme's OS runs here. Nothing wrong: keep it.
    """
    found = []
    worn = (BatteryVerdict.WORN, BatteryVerdict.BAD)
    if any(b.verdict in worn for b in report.components.batteries):
        h = policy.helpdesk
        found.append(reason("diagnosis.recommend_battery", **h.battery_cost()))
    disks = [d for d in report.components.disks if d.internal and not d.is_boot_medium]
    bad = (DiskVerdict.WORN, DiskVerdict.FAILING)
    if any(d.health is not None and d.health.verdict in bad for d in disks):
        found.append(reason("diagnosis.recommend_disk"))
        if os_verdict(report, policy).code in ("diagnosis.os_yes", "diagnosis.os_no_disk"):
            found.append(reason("diagnosis.recommend_refresh"))
    return found or [reason("diagnosis.recommend_keep")]


def refresh_lines(report: Report) -> list[Reason]:
    """A refresh done at the helpdesk, for the resident: each disk's erasure and the new system."""
    if report.helpdesk is None or report.helpdesk.refresh is None:
        return []
    lines = []
    for record in report.erasures:
        gb = round(record.disk_size_bytes / GB)
        when = (record.finished_at or record.started_at).strftime("%d-%m-%Y")
        if record.result is ErasureResult.ERASED and record.verification_passed:
            lines.append(reason("diagnosis.erased", gb=gb, date=when))
        else:
            lines.append(reason("diagnosis.erase_failed", gb=gb))
    if report.images and report.images[-1].verified:
        lines.append(reason("diagnosis.reinstalled"))
    return lines or [reason("diagnosis.not_erased")]


def diagnose(
    report: Report, policy: Policy, advice: str | None = None, when: datetime | None = None
) -> Diagnosis:
    findings = report.grade.reasons if report.grade else []
    return Diagnosis(
        laptop=_laptop_name(report)[:256],
        visit=(report.asset_tag or "?")[:256],
        date=(when or report.finished_at or report.created_at).strftime("%d-%m-%Y"),
        battery=_battery_lines(report, policy)[:16],
        disk=_disk_lines(report)[:16],
        ram=_memory_line(report, policy),
        os=os_verdict(report, policy),
        findings=[r for r in findings if r.severity != "info"][:64],
        advice=advice.strip()[:2000] if advice and advice.strip() else None,
        recommendations=recommendations(report, policy)[:8],
        refresh=refresh_lines(report)[:16],
    )


def diagnosis_lines(d: Diagnosis) -> list[tuple[str, list[str]]]:
    """(heading, sentences) in the current language, in the order they are printed."""
    volunteer = [d.advice] if d.advice else []
    volunteer += advice_texts(list(d.findings)) or [_say("diagnosis.advice_none")]
    sections = [
        (_say("diagnosis.heading_battery"), [reason_text(r) for r in d.battery]),
        (_say("diagnosis.heading_disk"), [reason_text(r) for r in d.disk]),
        (_say("diagnosis.heading_ram"), [reason_text(d.ram)]),
        (_say("diagnosis.heading_os"), [reason_text(d.os)]),
    ]
    if d.refresh:
        sections.append((_say("diagnosis.heading_refresh"), [reason_text(r) for r in d.refresh]))
    if d.recommendations:
        recommended = [reason_text(r) for r in d.recommendations]
        sections.append((_say("diagnosis.heading_recommendation"), recommended))
    sections.append((_say("diagnosis.heading_advice"), volunteer[:8]))
    return sections


def summary_lines(
    report: Report, policy: Policy, advice: str | None = None
) -> list[tuple[str, list[str]]]:
    """:func:`diagnosis_lines` of this report."""
    return diagnosis_lines(diagnose(report, policy, advice))


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
    return write_diagnosis_pdf(diagnose(report, policy, advice, when), path, language=language)


def diagnosis_pdf(d: Diagnosis, *, language: str = "nl") -> bytes:
    """The one-page A4 summary in ``language`` (nl, fr or en), as PDF bytes."""
    previous = i18n.language()
    i18n.set_language(language)
    try:
        sections = diagnosis_lines(d)
        title = _say("diagnosis.title")
        laptop = _say("diagnosis.laptop", laptop=d.laptop, tag=d.visit, date=d.date)
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
    return bytes(pdf.output())


def write_diagnosis_pdf(d: Diagnosis, path: Path, *, language: str = "nl") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(diagnosis_pdf(d, language=language))
    return path
