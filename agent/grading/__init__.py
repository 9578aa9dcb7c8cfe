"""Grade a laptop from its report: a grade, a destination, and every reason in words.

Grades: ``A`` lend-ready, ``B`` lendable with notes, ``C`` repair first,
``parts`` and ``recycle``. The thresholds live in the policy file
(``[grading]``), so coordinators tune outcomes without touching code.

How it decides, in order:
1. Every finding becomes a reason; a finding that needs a repair adds its
   repair cost (points) and a line to ``to_fix``; one that only lowers the
   grade to B adds a note.
2. A 32-bit CPU or hopelessly little RAM means ``recycle``; a damaged
   chassis (C1) or repairs costing ``parts_threshold`` points or more mean
   ``parts``; any repair means ``C``; any note means ``B``; else ``A``.
3. In intake mode a wipe that is missing, failed or has exceptions always
   blocks lending, whatever else is right.
Healthy parts of a ``parts``/``recycle`` laptop are listed for harvest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from agent.grading.check_table import LOCK_KEYS, Checked, check_row, checked, effect_of
from agent.policy import GradingPolicy, Policy
from agent.report.reasons import ParamValue, fix_words, reason
from agent.report.schema import (
    BatteryVerdict,
    CheckKind,
    CheckOutcome,
    CheckRow,
    Disk,
    DiskVerdict,
    Effect,
    ErasureRecord,
    ErasureResult,
    Grade,
    HarvestItem,
    MediaType,
    Mode,
    Reason,
    Report,
    TestOutcome,
)
from agent.report.vocabulary import MATERIAL_GRADES, PROPOSAL, Destination
from agent.report.vocabulary import Grade as GradeLetter

GIB = 1024**3
GB = 1000**3

#: kept for callers that map a grade to the station's proposal
DESTINATIONS: dict[GradeLetter, Destination] = PROPOSAL


@dataclass
class _Findings:
    reasons: list[Reason] = field(default_factory=list)
    to_fix: list[str] = field(default_factory=list)
    repair_cost: int = 0
    notes: int = 0
    blocks_lending: bool = False
    recycle: bool = False
    parts: bool = False

    def info(self, code: str, value: float | int | str | None = None, **params: ParamValue) -> None:
        self.reasons.append(reason(code, "info", value, **params))

    def note(self, code: str, value: float | int | str | None = None, **params: ParamValue) -> None:
        """Lendable, but the borrower or coordinator should know: at most B."""
        self.notes += 1
        self.reasons.append(reason(code, "warning", value, **params))

    def repair(
        self, code: str, cost: int, value: float | int | str | None = None, **params: ParamValue
    ) -> None:
        """Must be fixed before lending: C, or parts when the repairs add up."""
        self.repair_cost += cost
        self.to_fix.append(fix_words(code, **params))
        self.reasons.append(reason(code, "error", value, **params))

    def block(self, code: str, **params: ParamValue) -> None:
        """Never lend as is (wipe problems): at best C."""
        self.blocks_lending = True
        self.to_fix.append(fix_words(code, **params))
        self.reasons.append(reason(code, "error", **params))

    def refuse(
        self, code: str, value: float | int | str | None = None, **params: ParamValue
    ) -> None:
        """Not worth repairing: the caller decides between parts and recycle."""
        self.reasons.append(reason(code, "error", value, **params))


def _internal_disks(report: Report) -> list[Disk]:
    return [d for d in report.components.disks if d.internal and not d.is_boot_medium]


def _disk_label(disk: Disk) -> str:
    name = " ".join(x for x in (disk.vendor, disk.model) if x) or disk.name
    return f"{name} ({disk.serial})" if disk.serial else name


def _check_cpu(report: Report, policy: GradingPolicy, f: _Findings) -> None:
    cpu = report.components.cpu
    if cpu is None or not cpu.flags:
        f.info("grade.cpu_unknown")
        return
    missing = [flag for flag in policy.cpu_required_flags if flag not in cpu.flags]
    model = (cpu.model or "").strip()
    if missing:
        f.recycle = True
        flags = ", ".join(missing)
        if model:
            f.refuse("grade.cpu_too_old", model=model, flags=flags)
        else:
            f.refuse("grade.cpu_too_old", variant="no_model", flags=flags)
    elif model:
        f.info("grade.cpu", model=model)
    else:
        f.info("grade.cpu", variant="no_model")


def _check_memory(report: Report, policy: GradingPolicy, f: _Findings) -> None:
    memory = report.components.memory
    if memory is None:
        f.note("grade.ram_unknown")
        return
    gib = memory.total_bytes / GIB
    if gib < policy.ram_recycle_gib:
        f.recycle = True
        f.refuse("grade.ram_too_small", round(gib, 2), gib=gib, limit=policy.ram_recycle_gib)
    elif gib < policy.ram_lend_gib:
        f.repair(
            "grade.ram_low",
            policy.repair_cost.ram,
            round(gib, 2),
            gib=gib,
            limit=policy.ram_lend_gib,
        )
    elif gib < policy.ram_a_gib:
        f.note("grade.ram_ok", round(gib, 2), gib=gib)
    else:
        f.info("grade.ram_good", round(gib, 2), gib=gib)


def _check_disks(report: Report, policy: GradingPolicy, f: _Findings) -> None:
    disks = _internal_disks(report)
    if not disks:
        f.repair("grade.no_disk", policy.repair_cost.disk)
        return
    healthy_gb = 0.0
    has_ssd = False
    for disk in disks:
        label = _disk_label(disk)
        verdict = disk.health.verdict if disk.health else DiskVerdict.UNKNOWN
        if verdict is DiskVerdict.FAILING:
            f.repair("grade.disk_failing", policy.repair_cost.disk, disk=label)
            continue
        if verdict is DiskVerdict.WORN:
            f.note("grade.disk_worn", disk=label)
        elif verdict is DiskVerdict.UNKNOWN:
            f.note("grade.disk_unknown", disk=label)
        healthy_gb += disk.size_bytes / GB
        has_ssd = has_ssd or disk.media_type in (MediaType.SSD, MediaType.NVME, MediaType.EMMC)
    if healthy_gb == 0:
        return
    if healthy_gb < policy.storage_lend_gb:
        f.repair(
            "grade.storage_small",
            policy.repair_cost.disk,
            round(healthy_gb),
            gb=healthy_gb,
            limit=policy.storage_lend_gb,
        )
    elif healthy_gb < policy.storage_a_gb:
        f.note("grade.storage_ok", gb=healthy_gb)
    if policy.ssd_for_a and not has_ssd:
        f.note("grade.no_ssd")


def _check_battery(report: Report, policy: Policy, f: _Findings) -> None:
    batteries = report.components.batteries
    cost = policy.grading.repair_cost.battery
    if not batteries:
        f.repair("grade.no_battery", cost)
        return
    for bat in batteries:
        health = bat.health_percent
        facts: dict[str, ParamValue] = {"battery": bat.name}
        if health is None:
            facts["variant"] = "no_health"
        else:
            facts["health"] = health
        if bat.verdict is BatteryVerdict.BAD:
            f.repair("grade.battery_bad", cost, health, **facts)
        elif bat.verdict is BatteryVerdict.WORN:
            f.note("grade.battery_worn", health, **facts)
        elif bat.verdict is BatteryVerdict.UNKNOWN:
            f.note("grade.battery_unknown", battery=bat.name)
        else:
            f.info("grade.battery_good", None, **facts)


_COSMETIC = re.compile(r"^C([0-9])$")


def _check_operator(report: Report, policy: GradingPolicy, f: _Findings) -> int | None:
    """Tests that are no check kind, and the cosmetic answer; returns its level (1-9)."""
    cosmetic: int | None = None
    kinds = {k.value for k in CheckKind}
    for test in report.tests:
        if test.name in kinds:
            continue  # a check row: graded by _check_rows, as [effects] says
        if test.name == "cosmetic":
            match = _COSMETIC.match(test.answers.get("code", ""))
            if match:
                cosmetic = int(match.group(1))
            continue
        if test.outcome is TestOutcome.FAIL:  # a test this agent does not know: a note
            detail = f": {test.details}" if test.details else ""
            f.note(f"grade.test_{test.name}", test=test.name, detail=detail)
    if cosmetic is None:
        f.note("grade.cosmetic_unknown")
    elif cosmetic <= 1:
        f.parts = True
        f.refuse("grade.cosmetic_damaged")
    elif cosmetic < policy.cosmetic_lend_min:
        level = f"C{cosmetic}"
        f.repair("grade.cosmetic_poor", policy.repair_cost.cosmetic, level, cosmetic=level)
    elif cosmetic < policy.cosmetic_a_min:
        f.note("grade.cosmetic_fair", f"C{cosmetic}", cosmetic=f"C{cosmetic}")
    else:
        f.info("grade.cosmetic_good", f"C{cosmetic}", cosmetic=f"C{cosmetic}")
    return cosmetic


def _act(f: _Findings, action: str, code: str, cost: int, **params: ParamValue) -> None:
    """Apply a policy effect (block, repair, note, ignore) to one finding."""
    if action == "block":
        f.block(code, **params)
    elif action == "repair":
        f.repair(code, cost, **params)
    elif action == "note":
        f.note(code, **params)
    else:
        f.info(code, **params)


#: Checks whose failure has its own wording (and repair) instead of "the X test failed".
_CHECK_CODES = {"thermal": "grade.thermal_hot", "memory_test": "grade.memory_errors"}


def _cost(kind: CheckKind, policy: GradingPolicy) -> int:
    if kind in LOCK_KEYS:
        return policy.repair_cost.lock
    cost: int = getattr(policy.repair_cost, kind.value, policy.repair_cost.other_test)
    return cost


def _grade_row(row: Checked, effect: Effect, policy: GradingPolicy, f: _Findings) -> None:
    """One check's outcome on the grade, as the policy's [effects] says."""
    kind, cost, test = row.kind, _cost(row.kind, policy), row.kind.value
    if row.outcome is CheckOutcome.PASS:
        return
    if row.outcome is CheckOutcome.FAIL:
        for _key, code, facts in row.findings:  # a lock that is on
            _act(f, effect, code, cost, **facts)
        if not row.findings:
            details = row.test.details if row.test else None
            code = _CHECK_CODES.get(test, f"grade.test_{test}")
            _act(f, effect, code, cost, test=test, detail=f": {details}" if details else "")
        return
    if effect == "ignore":
        return  # shown on the check row only
    if row.outcome is CheckOutcome.NOT_AVAILABLE:
        _act(f, effect, f"grade.unavailable_{kind.value}", cost, test=test)
    elif effect in ("block", "repair"):
        _act(f, effect, f"grade.unchecked_{kind.value}", cost, test=test)
    else:
        _act(f, effect, f"grade.untested_{kind.value}", cost, test=test)


def _check_rows(report: Report, policy: Policy, f: _Findings) -> list[CheckRow]:
    """Every check kind (operator tests, device checks, locks) graded by [effects]."""
    rows = []
    for row in checked(report, policy):
        effect = effect_of(row, policy, report.mode)
        _grade_row(row, effect, policy.grading, f)
        rows.append(check_row(row, effect))
    return rows


def _erasure_of(disk: Disk, report: Report) -> ErasureRecord | None:
    """The latest erasure record of ``disk``: by serial, else by its path in this run."""
    for record in reversed(report.erasures):
        if disk.serial and record.disk_serial == disk.serial:
            return record
        if not disk.serial and record.disk_path == disk.path:
            return record
    return None


def _check_erasure(report: Report, f: _Findings) -> bool:
    """Intake mode only. Returns True when every internal disk is verified erased."""
    disks = _internal_disks(report)
    all_erased = bool(disks)
    for disk in disks:
        label = _disk_label(disk)
        record = _erasure_of(disk, report)
        if record is None:
            all_erased = False
            f.block("grade.wipe_missing", disk=label)
        elif record.result is ErasureResult.FAILED:
            all_erased = False
            f.block("grade.wipe_failed", disk=label)
        elif record.result is ErasureResult.ERASED_WITH_EXCEPTIONS:
            all_erased = False
            f.block("grade.wipe_exceptions", disk=label, count=len(record.errors))
        elif record.verification_passed is not True:
            all_erased = False
            f.block("grade.wipe_unverified", disk=label)
        else:
            f.info("grade.wiped", disk=label, level=record.level.value, method=record.method)
    return all_erased


def _check_image(report: Report, policy: GradingPolicy, f: _Findings) -> bool:
    if not report.images:
        f.repair("grade.not_flashed", policy.repair_cost.other_test)
        return False
    image = report.images[-1]
    if image.errors or not image.verified:
        f.repair(
            "grade.flash_failed",
            policy.repair_cost.other_test,
            image=image.name,
            version=image.version,
        )
        return False
    f.info("grade.flashed", image=image.name, version=image.version)
    return True


def _harvest(report: Report) -> list[HarvestItem]:
    items: list[HarvestItem] = []
    memory = report.components.memory
    if memory and memory.modules:
        for mod in memory.modules:
            if mod.size_bytes:
                desc = f"{mod.size_bytes // GIB} GiB {mod.type or ''} {mod.form_factor or ''}"
                where = f" in {mod.locator}" if mod.locator else ""
                items.append(HarvestItem(kind="ram", description=" ".join(desc.split()) + where))
    elif memory:
        items.append(HarvestItem(kind="ram", description=f"{memory.total_bytes / GIB:.1f} GiB RAM"))
    for disk in _internal_disks(report):
        ok = disk.health is not None and disk.health.verdict is DiskVerdict.HEALTHY
        if ok and disk.media_type in (MediaType.SSD, MediaType.NVME):
            items.append(
                HarvestItem(
                    kind=disk.media_type.value,
                    description=f"{_disk_label(disk)}, {disk.size_bytes / GB:.0f} GB, healthy",
                )
            )
    for bat in report.components.batteries:
        if bat.verdict is BatteryVerdict.GOOD:
            items.append(
                HarvestItem(
                    kind="battery",
                    description=f"{bat.model_name or bat.name}, "
                    f"{bat.health_percent or 0:.0f} % health",
                )
            )
    return items


def _function_code(
    report: Report, f: _Findings, grade: GradeLetter, erased: bool, flashed: bool
) -> str | None:
    """R2v3 REC functional code: F5 tested + OS loaded, F4 hardware tested, F3 key functions."""
    if grade in MATERIAL_GRADES:
        return None
    codes = {r.code.split("_")[0] for r in f.reasons}
    if "grade.test" in codes:
        return None  # a function does not work: not categorised for reuse yet
    if f.repair_cost == 0 and not f.blocks_lending and "grade.untested" not in codes:
        return "F5" if (erased and flashed) else "F4"
    return "F3"


def grade_report(report: Report, policy: Policy) -> Grade:
    """The grade, destination and reasons for one laptop; for a helpdesk check (a
    resident's own laptop) the reasons and checks only, without grade or destination."""
    g = policy.grading
    f = _Findings()
    intake = report.mode is Mode.INTAKE
    _check_cpu(report, g, f)
    _check_memory(report, g, f)
    _check_disks(report, g, f)
    _check_battery(report, policy, f)
    cosmetic = _check_operator(report, g, f)
    rows = _check_rows(report, policy, f)
    erased = _check_erasure(report, f) if intake else False
    flashed = _check_image(report, g, f) if intake else False

    if f.recycle:
        grade = GradeLetter.RECYCLE
    elif f.parts or f.repair_cost >= g.parts_threshold:
        grade = GradeLetter.PARTS
        if not f.parts:
            f.refuse(
                "grade.repairs_too_costly",
                f.repair_cost,
                cost=f.repair_cost,
                limit=g.parts_threshold,
            )
    elif f.repair_cost or f.blocks_lending:
        grade = GradeLetter.C
    elif f.notes:
        grade = GradeLetter.B
    else:
        grade = GradeLetter.A
    if report.mode is Mode.CHECK:
        # a resident's own laptop goes home: the diagnosis (reasons, checks, what to fix),
        # never a lending grade, a destination or a reuse code
        return Grade(
            grade=None,
            destination=None,
            reasons=f.reasons[:64],
            to_fix=f.to_fix[:32],
            policy_version=policy.version,
            checks=rows,
        )
    return Grade(
        grade=grade,
        destination=DESTINATIONS[grade],
        reasons=f.reasons[:64],
        to_fix=f.to_fix[:32] if grade is GradeLetter.C else [],
        r2_function=_function_code(report, f, grade, erased, flashed),
        r2_cosmetic=f"C{cosmetic}" if cosmetic is not None else None,
        harvest=_harvest(report)[:32] if grade in MATERIAL_GRADES else [],
        policy_version=policy.version,
        checks=rows,
    )
