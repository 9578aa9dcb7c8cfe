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
from agent.report.schema import DiskFigures, DiskHealth, DiskVerdict, Reason

#: SSD life attributes only count when their name says so: the same IDs mean
#: other things on other models (Kingston 233 Flash_Writes_GiB, MX500 173
#: Ave_Block-Erase_Count, Toshiba 173 Unknown_Attribute).
_LIFE_NAME = re.compile(r"wear|life|remain", re.IGNORECASE)
_VIRTUAL_MODELS = re.compile(r"VBOX|QEMU|VMware|Virtual", re.IGNORECASE)

_NVME_WARNING_BITS = {
    0x01: "spare space below its threshold",
    0x02: "temperature out of range",
    0x04: "reliability degraded",
    0x08: "media switched to read-only",
    0x10: "volatile memory backup failed",
    0x20: "persistent memory region unreliable",
}


def _error(code: str, message: str, value: float | int | str | None = None) -> Reason:
    return Reason(code=code, message=message, severity="error", value=value)


def _warn(code: str, message: str, value: float | int | str | None = None) -> Reason:
    return Reason(code=code, message=message, severity="warning", value=value)


def _info(code: str, message: str, value: float | int | str | None = None) -> Reason:
    return Reason(code=code, message=message, severity="info", value=value)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


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
            reasons.append(
                _info(
                    "smart.passed_but_failing",
                    "The drive's own self-assessment says PASSED, but the counts above "
                    "show it is failing; do not trust PASSED alone",
                )
            )
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
            _warn(
                "smart.unavailable",
                "No SMART data: smartctl does not know this USB adapter "
                f"({bridge.split(': ', 1)[-1]}); try again with 'smartctl -d sat'",
            ),
            _info("usb.unknown_bridge", bridge),
        ]
    if data.model and _VIRTUAL_MODELS.search(data.model):
        return [
            _warn("smart.unavailable", f"No SMART data: '{data.model}' is a virtual disk"),
            _info("disk.virtual", f"{data.model} is emulated by a virtual machine"),
        ]
    status = data.exit_status or 0
    if status & (EXIT_CMDLINE | EXIT_OPEN_FAILED):
        detail = "; ".join(data.messages) or f"smartctl exit status {status}"
        return [
            _warn(
                "smart.unavailable",
                f"No SMART data: smartctl could not read this device ({detail})",
                status,
            )
        ]
    detail = f" ({'; '.join(data.messages)})" if data.messages else ""
    return [
        _warn(
            "smart.unavailable",
            "No SMART data: the output has no health status and no SMART counters"
            f"{detail}; the disk cannot be graded",
        )
    ]


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
        return [
            _error(
                "smart.failed",
                "The drive's own SMART self-assessment says FAILED",
            )
        ]
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
                    f"Attribute {attr.id} {attr.name} is below the maker's failure threshold "
                    f"now (value {attr.value}, threshold {attr.thresh})",
                    attr.id,
                )
            )
        elif attr.when_failed == "past":
            reasons.append(
                _info(
                    "ata.failed_in_past",
                    f"Attribute {attr.id} {attr.name} was below the maker's failure threshold "
                    "at some time in the past",
                    attr.id,
                )
            )

    realloc = usable.get(5)
    if realloc and realloc.raw_count > 0:
        count = realloc.raw_count
        limit = policy.reallocated_failing
        if count >= limit:
            reasons.append(
                _error(
                    "ata.reallocated",
                    f"{_plural(count, 'reallocated sector')} (failing at {limit} or more)",
                    count,
                )
            )
        else:
            reasons.append(
                _warn(
                    "ata.reallocated",
                    f"{_plural(count, 'reallocated sector')} (worn from 1, "
                    f"failing at {limit} or more)",
                    count,
                )
            )

    pending = usable.get(197)
    if pending and pending.raw_count >= policy.pending_failing:
        if "bogus" in pending.name.lower():
            reasons.append(
                _info(
                    "ata.pending_bogus",
                    f"{_plural(pending.raw_count, 'pending sector')} on attribute 197, which "
                    "this model's firmware is known to report falsely "
                    f"({pending.name}); not counted",
                    pending.raw_count,
                )
            )
        else:
            reasons.append(
                _error(
                    "ata.pending",
                    f"{_plural(pending.raw_count, 'unreadable sector')} waiting to be "
                    f"remapped (failing at {policy.pending_failing} or more)",
                    pending.raw_count,
                )
            )
    _count_rule(
        reasons,
        usable.get(198),
        policy.offline_uncorrectable_failing,
        "ata.offline_uncorrectable",
        "sector",
        "that could not be read or repaired in the offline scan",
    )
    _count_rule(
        reasons,
        usable.get(187),
        policy.reported_uncorrect_failing,
        "ata.reported_uncorrect",
        "read error",
        "the drive could not correct",
    )

    crc = data.attribute(199)
    if crc and crc.raw_count > 0:
        reasons.append(
            _info(
                "ata.crc_errors",
                f"{_plural(crc.raw_count, 'transfer error')} on the cable or connector "
                "(attribute 199): check or replace the cable; this is not a disk fault",
                crc.raw_count,
            )
        )

    life = _life_attributes(data, policy)
    for attr in life:
        value = attr.value if attr.value is not None else 0
        if value > 100:
            reasons.append(
                _info(
                    "ssd.life_vendor_scale",
                    f"Attribute {attr.id} {attr.name} reads {value}, on the maker's own scale "
                    "above 100; not used as a percentage of life left",
                    value,
                )
            )
    scaled = [a for a in life if a.value is not None and a.value <= 100]
    if scaled:
        worst = min(scaled, key=lambda a: a.value or 0)
        left = worst.value or 0
        if left <= policy.ssd_life_left_worn:
            reasons.append(
                _warn(
                    "ssd.life_left",
                    f"{left} % of rated life left ({worst.name}; worn at "
                    f"{policy.ssd_life_left_worn} % or less)",
                    left,
                )
            )
    return reasons


def _count_rule(
    reasons: list[Reason],
    attr: AtaAttribute | None,
    limit: int,
    code: str,
    noun: str,
    what: str,
) -> None:
    if attr is None or attr.raw_count < limit:
        return
    count = attr.raw_count
    message = f"{_plural(count, noun)} {what} (failing at {limit} or more)"
    reasons.append(_error(code, message, count))


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
    when = f" at {latest.lifetime_hours} h" if latest.lifetime_hours is not None else ""
    return [
        _error(
            "selftest.read_failure",
            f"{_plural(len(failed), 'self-test')} in the drive's log could not read the whole "
            f"surface (latest: {latest.description or 'test'} '{latest.status}'{when})",
            len(failed),
        )
    ]


def _nvme(data: SmartData, policy: DiskPolicy) -> list[Reason]:
    nvme = data.nvme
    if nvme is None:
        return []
    reasons: list[Reason] = []
    warning = nvme.critical_warning or 0
    if _nvme_endurance_only(data):
        reasons.append(
            _warn(
                "nvme.endurance_used",
                f"Rated write endurance used up ({nvme.percentage_used} % used); the drive "
                "flags this as a critical warning, but it has no media errors and spare "
                "space left",
                nvme.percentage_used,
            )
        )
    elif warning:
        bits = [text for bit, text in _NVME_WARNING_BITS.items() if warning & bit]
        reasons.append(
            _error(
                "nvme.critical_warning",
                f"The drive raises critical warning 0x{warning:02x}: "
                f"{', '.join(bits) or 'unknown reason'}",
                warning,
            )
        )
    if nvme.media_errors is not None and nvme.media_errors >= policy.nvme_media_errors_failing:
        reasons.append(
            _error(
                "nvme.media_errors",
                f"{_plural(nvme.media_errors, 'media or data integrity error')} the drive "
                f"could not recover (failing at {policy.nvme_media_errors_failing} or more)",
                nvme.media_errors,
            )
        )
    spare, floor = nvme.available_spare, nvme.available_spare_threshold
    if spare is not None and floor is not None and spare < floor:
        reasons.append(
            _error(
                "nvme.available_spare",
                f"Only {spare} % spare space left, below the drive's own threshold of {floor} %",
                spare,
            )
        )
    used = nvme.percentage_used
    if used is not None and used >= policy.nvme_percentage_used_worn:
        reasons.append(
            _warn(
                "nvme.percentage_used",
                f"{used} % of rated write endurance used (worn at "
                f"{policy.nvme_percentage_used_worn} % or more)",
                used,
            )
        )
    return reasons


def _scsi(data: SmartData, policy: DiskPolicy) -> list[Reason]:
    reasons: list[Reason] = []
    defects = data.scsi_grown_defects
    if defects is not None and defects >= policy.scsi_grown_defects_failing:
        reasons.append(
            _error(
                "scsi.grown_defects",
                f"{_plural(defects, 'defective area')} found since the factory (grown "
                f"defect list; failing at {policy.scsi_grown_defects_failing} or more)",
                defects,
            )
        )
    uncorrected = {k: v for k, v in data.scsi_uncorrected_errors.items() if v > 0}
    total = sum(uncorrected.values())
    if total >= policy.scsi_uncorrected_errors_failing:
        detail = ", ".join(f"{v} on {k}" for k, v in uncorrected.items())
        reasons.append(
            _error(
                "scsi.uncorrected_errors",
                f"{_plural(total, 'uncorrected error')} ({detail}; failing at "
                f"{policy.scsi_uncorrected_errors_failing} or more)",
                total,
            )
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
        notes.append(
            _info(
                "info.power_on_hours",
                f"Powered on for {hours} hours (about {years:.1f} years of running time)",
                hours,
            )
        )
    if figures.power_cycles is not None:
        notes.append(
            _info(
                "info.power_cycles",
                f"Switched on {figures.power_cycles} times",
                figures.power_cycles,
            )
        )
    if figures.percentage_used is not None:
        notes.append(
            _info(
                "info.wear",
                f"{figures.percentage_used} % of rated write endurance used",
                figures.percentage_used,
            )
        )
    elif figures.life_left_percent is not None:
        notes.append(
            _info(
                "info.life_left",
                f"{figures.life_left_percent} % of rated life left",
                figures.life_left_percent,
            )
        )
    if figures.data_written_bytes is not None:
        tb = figures.data_written_bytes / 1e12
        written = figures.data_written_bytes
        notes.append(_info("info.data_written", f"{tb:.1f} TB written in its life", written))
    if data.nvme and data.nvme.error_log_entries:
        notes.append(
            _info(
                "info.nvme_error_log",
                f"{data.nvme.error_log_entries} entries in the error information log: these "
                "record rejected commands, not damage",
                data.nvme.error_log_entries,
            )
        )
    if data.exit_status is not None and data.exit_status & EXIT_COMMAND_FAILED:
        notes.append(
            _info(
                "smartctl.partial",
                "smartctl could not run every command on this drive (exit status "
                f"{data.exit_status}); the data it did read was used",
                data.exit_status,
            )
        )
    return notes
