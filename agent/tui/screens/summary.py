"""Hardware summary: who the laptop is, and verdict badges with their reasons."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import Footer, Static

from agent.report.schema import BatteryVerdict, DiskVerdict, Mode, Reason, Report
from agent.tui.i18n import N_, _
from agent.tui.reasons import reason_text
from agent.tui.screens.base import StationScreen
from agent.tui.text import (
    battery_label,
    battery_verdict_text,
    disk_label,
    disk_verdict_text,
    health_summary,
)
from agent.tui.widgets import Badge


def _reasons(reasons: list[Reason]) -> str:
    return "\n".join(f"  - {reason_text(r)}" for r in reasons)


def identity_text(report: Report) -> str:
    dev = report.device
    name = " ".join(p for p in (dev.vendor, dev.product_version or dev.product_name) if p)
    lines = [
        name or _("unknown laptop"),
        _("serial {serial}, asset tag {tag}").format(
            serial=dev.serial or "?", tag=report.asset_tag or "?"
        ),
    ]
    cpu = report.components.cpu
    if cpu is not None:
        cores = f" ({cpu.cores}C/{cpu.threads}T)" if cpu.cores and cpu.threads else ""
        lines.append(_("CPU: {model}").format(model=(cpu.model or "?") + cores))
    memory = report.components.memory
    if memory is not None:
        lines.append(
            _("Memory: {gib:.0f} GiB in {n} module(s)").format(
                gib=memory.total_bytes / 2**30, n=len(memory.modules) or "?"
            )
        )
    return "\n".join(lines)


class SummaryScreen(StationScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "next", N_("Continue"), id="summary-continue"),
        Binding("f8", "reinstall", N_("Reinstall (erases!)"), id="helpdesk-reinstall"),
    ]

    class Next(Message):
        """The volunteer is done looking (intake: on to the tests; check: done)."""

    class Reinstall(Message):
        """Helpdesk: the resident asked for a reinstall (a confirm screen follows)."""

    def __init__(self, report: Report) -> None:
        super().__init__()
        self.report = report

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "reinstall":  # helpdesk only: intake always erases after the tests
            return self.report.mode is Mode.CHECK
        return True

    def compose(self) -> ComposeResult:
        report = self.report
        with VerticalScroll(id="summary"):
            yield Static(_("Hardware summary"), classes="title")
            yield Static(identity_text(report), markup=False)
            disks = [d for d in report.components.disks if d.internal and not d.is_boot_medium]
            yield Static(_("Disks"), classes="heading")
            if not disks:
                yield Static(_("No internal disk found."), classes="warning")
            for disk in disks:
                verdict = disk.health.verdict if disk.health else DiskVerdict.UNKNOWN
                with Horizontal(classes="row"):
                    yield Badge(verdict.value, disk_verdict_text(verdict))
                    yield Static(disk_label(disk), markup=False, classes="label")
                if disk.health and disk.health.reasons:
                    yield Static(_reasons(disk.health.reasons), markup=False, classes="reasons")
            yield Static(_("Battery"), classes="heading")
            if not report.components.batteries:
                yield Static(_("No battery found."), classes="warning")
            for battery in report.components.batteries:
                with Horizontal(classes="row"):
                    yield Badge(battery.verdict.value, battery_verdict_text(battery.verdict))
                    yield Static(battery_label(battery), markup=False, classes="label")
                if battery.reasons and battery.verdict is not BatteryVerdict.GOOD:
                    yield Static(_reasons(battery.reasons), markup=False, classes="reasons")
            if report.warnings:
                yield Static(
                    "\n".join(f"! {reason_text(w)}" for w in report.warnings[:6]),
                    markup=False,
                    classes="warning",
                )
            if report.mode is Mode.CHECK:
                yield Static(_("In plain words"), classes="heading")
                yield Static(
                    "\n".join(f"- {line}" for line in health_summary(report)), markup=False
                )
        yield Footer()

    def action_next(self) -> None:
        self.post_message(self.Next())

    def action_reinstall(self) -> None:
        self.post_message(self.Reinstall())
