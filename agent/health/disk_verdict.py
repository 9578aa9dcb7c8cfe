"""Turn parsed SMART data into a disk verdict a volunteer can act on.

Rules (BRIEF section 5, thresholds from the policy): the worst hit wins, in
the order failing, worn, healthy; no SMART data at all is ``unknown``. Every
hit becomes a :class:`Reason` with a stable code, so a UI can translate it and
a later policy can re-judge the stored raw output. Severity maps to the
verdict: ``error`` = failing, ``warning`` = worn (or unknown), ``info`` = a
figure or a note that changes nothing.

smartctl's own PASSED is weak evidence (drives report PASSED with a thousand
reallocated sectors), so it is one rule among many, never the answer.
"""

from __future__ import annotations

import re

from agent.health.smart_parse import (
    EXIT_CMDLINE,
    EXIT_COMMAND_FAILED,
    EXIT_OPEN_FAILED,
    AtaAttribute,
    SmartData,
)
from agent.policy import DiskPolicy
from agent.report.reasons import NVME_UNKNOWN_BIT, NVME_WARNING_BITS, ParamValue, reason
from agent.report.schema import DiskFigures, DiskHealth, DiskVerdict, Reason

#: SSD life attributes only count when their name says so: the same IDs mean
#: other things on other models (Kingston 233 Flash_Writes_GiB, MX500 173
#: Ave_Block-Erase_Count, Toshiba 173 Unknown_Attribute).
_LIFE_NAME = re.compile(r"wear|life|remain", re.IGNORECASE)
_VIRTUAL_MODELS = re.compile(r"VBOX|QEMU|VMware|Virtual", re.IGNORECASE)

Value = float | int | str | None


def _error(code: str, value: Value = None, **params: ParamValue) -> Reason:
    return reason(code, "error", value, **params)


def _warn(code: str, value: Value = None, **params: ParamValue) -> Reason:
    return reason(code, "warning", value, **params)


def _info(code: str, value: Value = None, **params: ParamValue) -> Reason:
    return reason(code, "info", value, **params)


def judge_disk(data: SmartData, policy: DiskPolicy) -> DiskHealth:
    """The verdict, its reasons and key figures for one disk."""
    figures = _figures(data, policy)
    if not data.has_smart_data:
        reasons = _unavailable(data)
        verdict = DiskVerdict.UNKNOWN
    else:
        reasons = [
            *_overall(data),
            *_ata(data, policy),
            *_self_tests(data),
            *_nvme(data, policy),
            *_scsi(data, policy),
        ]
        if any(r.severity == "error" for r in reasons):
            verdict = DiskVerdict.FAILING
        elif any(r.severity == "warning" for r in reasons):
            verdict = DiskVerdict.WORN
        else:
            verdict = DiskVerdict.HEALTHY
        if verdict is DiskVerdict.FAILING and data.smart_passed:
            reasons.append(_info("smart.passed_but_failing"))
        reasons.extend(_notes(data, figures))
    return DiskHealth(
        verdict=verdict,
        reasons=reasons[:64],
        figures=figures,
        smart_passed=data.smart_passed,
        protocol=data.protocol,
        smartctl_exit_status=data.exit_status,
        smartctl_version=data.smartctl_version,
        raw_smartctl_json=data.raw_json,
        raw_smartctl_text=data.raw_text if data.raw_json is None else None,
    )


# --------------------------------------------------------------------------- rules


def _unavailable(data: SmartData) -> list[Reason]:
    bridge = data.unknown_usb_bridge
    if bridge:
        return [
            _warn("smart.unavailable", variant="usb_bridge", bridge=bridge.split(": ", 1)[-1]),
            _info("usb.unknown_bridge", bridge=bridge),
        ]
    if data.model and _VIRTUAL_MODELS.search(data.model):
        return [
            _warn("smart.unavailable", variant="virtual", model=data.model),
            _info("disk.virtual", model=data.model),
        ]
    status = data.exit_status or 0
    said = "; ".join(data.messages)
    if status & (EXIT_CMDLINE | EXIT_OPEN_FAILED):
        if said:
            return [_warn("smart.unavailable", status, variant="unreadable", detail=said)]
        return [_warn("smart.unavailable", status, variant="exit_status", status=status)]
    if said:
        return [_warn("smart.unavailable", variant="no_data_said", detail=said)]
    return [_warn("smart.unavailable", variant="no_data")]


def _nvme_endurance_only(data: SmartData) -> bool:
    """Critical warning 0x04 set only because the rated endurance is used up.

    smartctl then says FAILED, but with no media errors and spare above its
    threshold the drive has worn out its warranty, not failed (smartmontools#537).
    """
    nvme = data.nvme
    if nvme is None or nvme.critical_warning != 0x04:
        return False
    spare_ok = (
        nvme.available_spare is None
        or nvme.available_spare_threshold is None
        or nvme.available_spare >= nvme.available_spare_threshold
    )
    return (nvme.percentage_used or 0) >= 100 and not nvme.media_errors and spare_ok


def _overall(data: SmartData) -> list[Reason]:
    if data.smart_passed is False and not _nvme_endurance_only(data):
        return [_error("smart.failed")]
    return []


def _ata(data: SmartData, policy: DiskPolicy) -> list[Reason]:
    ignored = set(policy.ignored_attributes)
    usable = {a.id: a for a in data.attributes if a.id not in ignored}
    reasons: list[Reason] = []
    for attr in usable.values():
        if attr.when_failed == "now":
            reasons.append(
                _error(
                    "ata.failing_now",
                    attr.id,
                    id=attr.id,
                    name=attr.name,
                    reading=_known(attr.value),
                    threshold=_known(attr.thresh),
                )
            )
        elif attr.when_failed == "past":
            reasons.append(_info("ata.failed_in_past", attr.id, id=attr.id, name=attr.name))

    realloc = usable.get(5)
    if realloc and realloc.raw_count > 0:
        count = realloc.raw_count
        limit = policy.reallocated_failing
        if count >= limit:
            reasons.append(
                _error("ata.reallocated", count, variant="failing", count=count, limit=limit)
            )
        else:
            reasons.append(
                _warn("ata.reallocated", count, variant="worn", count=count, limit=limit)
            )

    pending = usable.get(197)
    if pending and pending.raw_count >= policy.pending_failing:
        if "bogus" in pending.name.lower():
            count = pending.raw_count
            reasons.append(_info("ata.pending_bogus", count, count=count, name=pending.name))
        else:
            count = pending.raw_count
            limit = policy.pending_failing
            reasons.append(_error("ata.pending", count, count=count, limit=limit))
    _count_rule(
        reasons, usable.get(198), policy.offline_uncorrectable_failing, "ata.offline_uncorrectable"
    )
    _count_rule(
        reasons, usable.get(187), policy.reported_uncorrect_failing, "ata.reported_uncorrect"
    )

    crc = data.attribute(199)
    if crc and crc.raw_count > 0:
        reasons.append(_info("ata.crc_errors", crc.raw_count, count=crc.raw_count))

    life = _life_attributes(data, policy)
    for attr in life:
        value = attr.value if attr.value is not None else 0
        if value > 100:
            reasons.append(
                _info("ssd.life_vendor_scale", value, id=attr.id, name=attr.name, reading=value)
            )
    scaled = [a for a in life if a.value is not None and a.value <= 100]
    if scaled:
        worst = min(scaled, key=lambda a: a.value or 0)
        left = worst.value or 0
        if left <= policy.ssd_life_left_worn:
            limit = policy.ssd_life_left_worn
            reasons.append(_warn("ssd.life_left", left, left=left, name=worst.name, limit=limit))
    return reasons


def _count_rule(reasons: list[Reason], attr: AtaAttribute | None, limit: int, code: str) -> None:
    if attr is None or attr.raw_count < limit:
        return
    count = attr.raw_count
    reasons.append(_error(code, count, count=count, limit=limit))


def _known(value: int | None) -> int | str:
    return "?" if value is None else value


def _life_attributes(data: SmartData, policy: DiskPolicy) -> list[AtaAttribute]:
    wanted = set(policy.ssd_life_attributes) - set(policy.ignored_attributes)
    return [
        a
        for a in data.attributes
        if a.id in wanted and _LIFE_NAME.search(a.name) and a.value is not None
    ]


def _self_tests(data: SmartData) -> list[Reason]:
    failed = [t for t in data.self_tests if t.read_failure]
    if not failed:
        return []
    latest = failed[0]
    facts: dict[str, ParamValue] = {
        "count": len(failed),
        "test": latest.description or "test",
        "status": latest.status,
    }
    if latest.lifetime_hours is None:
        facts["variant"] = "no_hours"
    else:
        facts["hours"] = latest.lifetime_hours
    return [_error("selftest.read_failure", len(failed), **facts)]


def _nvme(data: SmartData, policy: DiskPolicy) -> list[Reason]:
    nvme = data.nvme
    if nvme is None:
        return []
    reasons: list[Reason] = []
    warning = nvme.critical_warning or 0
    if _nvme_endurance_only(data):
        reasons.append(
            _warn("nvme.endurance_used", nvme.percentage_used, used=nvme.percentage_used or 0)
        )
    elif warning:
        bits = [text for bit, text in NVME_WARNING_BITS.items() if warning & bit]
        said = ", ".join(bits) or NVME_UNKNOWN_BIT
        reasons.append(_error("nvme.critical_warning", warning, warning=warning, bits=said))
    if nvme.media_errors is not None and nvme.media_errors >= policy.nvme_media_errors_failing:
        count, limit = nvme.media_errors, policy.nvme_media_errors_failing
        reasons.append(_error("nvme.media_errors", count, count=count, limit=limit))
    spare, floor = nvme.available_spare, nvme.available_spare_threshold
    if spare is not None and floor is not None and spare < floor:
        reasons.append(_error("nvme.available_spare", spare, spare=spare, threshold=floor))
    used = nvme.percentage_used
    if used is not None and used >= policy.nvme_percentage_used_worn:
        worn = policy.nvme_percentage_used_worn
        reasons.append(_warn("nvme.percentage_used", used, used=used, limit=worn))
    return reasons


def _scsi(data: SmartData, policy: DiskPolicy) -> list[Reason]:
    reasons: list[Reason] = []
    defects = data.scsi_grown_defects
    if defects is not None and defects >= policy.scsi_grown_defects_failing:
        limit = policy.scsi_grown_defects_failing
        reasons.append(_error("scsi.grown_defects", defects, count=defects, limit=limit))
    uncorrected = {k: v for k, v in data.scsi_uncorrected_errors.items() if v > 0}
    total = sum(uncorrected.values())
    if total >= policy.scsi_uncorrected_errors_failing:
        detail = ", ".join(f"{v} on {k}" for k, v in uncorrected.items())
        limit = policy.scsi_uncorrected_errors_failing
        reasons.append(
            _error("scsi.uncorrected_errors", total, count=total, detail=detail, limit=limit)
        )
    return reasons


# --------------------------------------------------------------------------- figures and notes


def _figures(data: SmartData, policy: DiskPolicy) -> DiskFigures:
    def raw(attr_id: int) -> int | None:
        attr = data.attribute(attr_id)
        return attr.raw_count if attr else None

    scaled = [a.value for a in _life_attributes(data, policy) if (a.value or 0) <= 100]
    nvme = data.nvme
    temperature = data.temperature_c
    return DiskFigures(
        power_on_hours=data.power_on_hours,
        power_cycles=data.power_cycles,
        temperature_c=temperature if temperature is not None and -60 < temperature < 200 else None,
        reallocated_sectors=raw(5),
        pending_sectors=raw(197),
        offline_uncorrectable=raw(198),
        reported_uncorrect=raw(187),
        crc_errors=raw(199),
        percentage_used=nvme.percentage_used if nvme else None,
        available_spare=nvme.available_spare if nvme else None,
        available_spare_threshold=nvme.available_spare_threshold if nvme else None,
        media_errors=nvme.media_errors if nvme else None,
        critical_warning=nvme.critical_warning if nvme else None,
        life_left_percent=min(v for v in scaled if v is not None) if scaled else None,
        grown_defects=data.scsi_grown_defects,
        data_written_bytes=nvme.data_written_bytes if nvme else None,
    )


def _notes(data: SmartData, figures: DiskFigures) -> list[Reason]:
    notes: list[Reason] = []
    hours = figures.power_on_hours
    if hours is not None:
        years = hours / (24 * 365)
        notes.append(_info("info.power_on_hours", hours, hours=hours, years=years))
    cycles = figures.power_cycles
    if cycles is not None:
        notes.append(_info("info.power_cycles", cycles, count=cycles))
    if figures.percentage_used is not None:
        used = figures.percentage_used
        notes.append(_info("info.wear", used, used=used))
    elif figures.life_left_percent is not None:
        left = figures.life_left_percent
        notes.append(_info("info.life_left", left, left=left))
    if figures.data_written_bytes is not None:
        written = figures.data_written_bytes
        notes.append(_info("info.data_written", written, tb=written / 1e12))
    if data.nvme and data.nvme.error_log_entries:
        entries = data.nvme.error_log_entries
        notes.append(_info("info.nvme_error_log", entries, count=entries))
    if data.exit_status is not None and data.exit_status & EXIT_COMMAND_FAILED:
        status = data.exit_status
        notes.append(_info("smartctl.partial", status, status=status))
    return notes
