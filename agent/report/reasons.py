"""The words of every reason and warning the agent emits, by stable code.

Producers do not write sentences themselves: they name a code and give the
facts (``params``), and the English message is formed here from the code's
wording. So each :class:`~agent.report.schema.Reason` carries what a screen
needs to say the same thing in another language (the station TUI translates
these wordings through its gettext catalog), and a code that is not in this
catalog cannot be emitted at all (:func:`reason` raises ``KeyError``), which
keeps the list of codes complete by construction.

A code with several sentences names the one it used in ``params["variant"]``.
Counts choose between a singular and a plural sentence by ``params["count"]``
(English and Dutch share the rule: one, or other). Codes named after an
operator test (``grade.test_keyboard``) share the wording of their family.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Literal

from agent.report.schema import Reason, Warning_

log = logging.getLogger(__name__)

ParamValue = int | float | str
Severity = Literal["info", "warning", "error"]

#: Most facts a reason carries (the schema's bound).
MAX_PARAMS = 16
#: Longest text of one fact (the schema's bound).
MAX_PARAM_CHARS = 4096


@dataclass(frozen=True)
class Wording:
    """One English sentence with ``str.format`` fields named after the params."""

    text: str
    #: the sentence when ``params["count"]`` is not 1
    plural: str | None = None
    #: what to do about it (grading: a line of ``to_fix``), same fields
    fix: str | None = None

    def sentence(self, params: Mapping[str, ParamValue]) -> str:
        """The unformatted sentence these params pick (singular or plural)."""
        if self.plural is not None and params.get("count") != 1:
            return self.plural
        return self.text

    def render(self, params: Mapping[str, ParamValue]) -> str:
        return self.sentence(params).format(**params)


def _w(text: str, plural: str | None = None, fix: str | None = None) -> Wording:
    return Wording(text, plural, fix)


#: What each NVMe critical-warning bit means; the ``bits`` fact lists them, ", "-separated.
NVME_WARNING_BITS: dict[int, str] = {
    0x01: "spare space below its threshold",
    0x02: "temperature out of range",
    0x04: "reliability degraded",
    0x08: "media switched to read-only",
    0x10: "volatile memory backup failed",
    0x20: "persistent memory region unreliable",
}
NVME_UNKNOWN_BIT = "unknown reason"

#: Facts that are themselves words to translate, as ", "-separated lists of these.
WORD_LISTS: dict[str, tuple[str, ...]] = {
    "bits": (*NVME_WARNING_BITS.values(), NVME_UNKNOWN_BIT),
    "result": ("erased", "erased_with_exceptions", "failed"),
    "what": ("the run state", "the report", "the erasure record"),
    "level": ("clear", "purge"),
}

#: Code families: every code starting with the key uses its wording.
FAMILIES = ("grade.test_", "grade.untested_", "grade.unchecked_", "grade.unavailable_")

CATALOG: dict[str, Wording] = {
    # ---------------------------------------------------------------- grading
    "grade.cpu_unknown": _w("CPU features unknown; not judged."),
    "grade.cpu_too_old": _w("CPU {model} lacks {flags}: it cannot run the standard OS."),
    "grade.cpu_too_old/no_model": _w("CPU lacks {flags}: it cannot run the standard OS."),
    "grade.cpu": _w("CPU: {model}."),
    "grade.cpu/no_model": _w("CPU: unknown model."),
    "grade.ram_unknown": _w("Memory size unknown."),
    "grade.ram_too_small": _w("Only {gib:.1f} GiB RAM (less than {limit:g} GiB)."),
    "grade.ram_low": _w(
        "{gib:.1f} GiB RAM is below the {limit:g} GiB needed to lend.", fix="add RAM"
    ),
    "grade.ram_ok": _w("{gib:.1f} GiB RAM: enough, not plenty."),
    "grade.ram_good": _w("{gib:.1f} GiB RAM."),
    "grade.no_disk": _w("No internal disk found.", fix="fit a disk"),
    "grade.disk_failing": _w("Disk {disk} is failing.", fix="replace disk {disk}"),
    "grade.disk_worn": _w("Disk {disk} is worn; it works but has less life left."),
    "grade.disk_unknown": _w("Health of disk {disk} could not be read."),
    "grade.storage_small": _w(
        "{gb:.0f} GB of usable storage is below the {limit:g} GB needed to lend.",
        fix="fit a larger disk",
    ),
    "grade.storage_ok": _w("{gb:.0f} GB of storage: enough, not plenty."),
    "grade.no_ssd": _w("Hard disk, no SSD: works, but slowly; an SSD would make it A."),
    "grade.no_battery": _w("No battery found.", fix="fit a battery"),
    "grade.battery_bad": _w(
        "Battery {battery} is bad (health {health:.0f} %).", fix="replace the battery"
    ),
    "grade.battery_bad/no_health": _w(
        "Battery {battery} is bad (health unknown).", fix="replace the battery"
    ),
    "grade.battery_worn": _w("Battery {battery} is worn (health {health:.0f} %): shorter runtime."),
    "grade.battery_worn/no_health": _w(
        "Battery {battery} is worn (health unknown): shorter runtime."
    ),
    "grade.battery_unknown": _w("Health of battery {battery} is unknown."),
    "grade.battery_good": _w("Battery {battery} is good (health {health:.0f} %)."),
    "grade.battery_good/no_health": _w("Battery {battery} is good (health unknown)."),
    "grade.test_": _w("The {test} test failed{detail}.", fix="repair the {test}"),
    "grade.untested_": _w("The {test} was not tested."),
    "grade.unchecked_": _w("The {test} was not checked.", fix="check the {test}"),
    "grade.unavailable_": _w(
        "The {test} is not available on this laptop.", fix="fit or repair the {test}"
    ),
    "grade.memory_errors": _w(
        "The memory test found errors{detail}.", fix="replace the faulty memory module"
    ),
    "grade.thermal_hot": _w(
        "The laptop runs too hot{detail}.", fix="clean the fan and replace the thermal paste"
    ),
    "grade.cosmetic_unknown": _w("Cosmetic condition not recorded."),
    "grade.cosmetic_damaged": _w("Chassis damaged (C1): materials recovery only."),
    "grade.cosmetic_poor": _w(
        "Cosmetic condition {cosmetic} is too poor to lend.",
        fix="repair the casing (hinges, latches, missing parts)",
    ),
    "grade.cosmetic_fair": _w("Cosmetic condition {cosmetic}: visible wear."),
    "grade.cosmetic_good": _w("Cosmetic condition {cosmetic}."),
    "grade.wipe_missing": _w("Disk {disk} has no erasure record.", fix="wipe disk {disk}"),
    "grade.wipe_failed": _w(
        "Wiping disk {disk} failed.", fix="wipe disk {disk} again, or remove and destroy it"
    ),
    "grade.wipe_exceptions": _w(
        "Disk {disk} was wiped with {count} unreadable or unwritable area.",
        "Disk {disk} was wiped with {count} unreadable or unwritable areas.",
        fix="remove and destroy disk {disk}",
    ),
    "grade.wipe_unverified": _w(
        "The wipe of disk {disk} was not verified.", fix="verify the wipe of disk {disk}"
    ),
    "grade.wiped": _w("Disk {disk} erased ({level}, {method}) and verified."),
    "grade.not_flashed": _w(
        "No operating system was installed.", fix="install the standard OS image"
    ),
    "grade.flash_failed": _w(
        "Installing {image} {version} failed or was not verified.",
        fix="install the standard OS image again",
    ),
    "grade.flashed": _w("{image} {version} installed and verified."),
    "grade.repairs_too_costly": _w(
        "Repairs add up to {cost} points (parts from {limit}): not worth repairing."
    ),
    # ---------------------------------------------------------------- check rows (Grade.checks)
    "check.pass": _w("Works."),
    "check.pass/lock": _w("None found."),
    "check.pass/secure_boot": _w("Secure Boot is on."),
    "check.fail": _w("Does not work."),
    "check.fail/thermal": _w(
        "Too hot or slows down under load: clean the fan, replace the thermal paste."
    ),
    "check.fail/memory_test": _w("The memory test found errors."),
    "check.fail/usb_ports": _w("A USB port did not see the stick."),
    "check.fail/charging": _w("The adapter does not charge the battery."),
    "check.not_available": _w("Not available on this laptop."),
    "check.not_available/lock": _w("The firmware does not say."),
    "check.operator_skipped": _w("Skipped by the volunteer."),
    "check.policy_skipped": _w("Not done in this programme."),
    # ---------------------------------------------------------------- firmware locks
    "lock.firmware_password": _w(
        "A firmware password ({name}) is set: the borrower cannot change firmware settings.",
        fix="remove the firmware {name} password (ask the donor for it)",
    ),
    "lock.theft_recovery": _w(
        "Theft-recovery module {name} is {state}: Absolute/Computrace can reinstall the former "
        "owner's tracking software.",
        fix="have the donor release the laptop from Absolute, then switch {name} off",
    ),
    "lock.asset_tag": _w(
        "The firmware still holds the former owner's asset tag '{tag}'.",
        fix="clear asset tag '{tag}' in the firmware",
    ),
    "lock.secure_boot_off": _w("Secure Boot is off.", fix="switch Secure Boot on in the firmware"),
    "lock.amt_provisioned": _w(
        "Intel AMT is provisioned ({state}): the former owner can manage this laptop remotely.",
        fix="unprovision Intel AMT in the firmware (MEBx)",
    ),
    # ---------------------------------------------------------------- helpdesk summary (resident)
    "diagnosis.title": _w("Your laptop's check-up"),
    "diagnosis.laptop": _w("Laptop: {laptop}. Visit {tag}, {date}."),
    "diagnosis.heading_battery": _w("Battery"),
    "diagnosis.heading_disk": _w("Disk"),
    "diagnosis.heading_ram": _w("Memory"),
    "diagnosis.heading_os": _w("Operating system"),
    "diagnosis.heading_advice": _w("Advice from the volunteer"),
    "diagnosis.battery_good": _w("The battery is good: its capacity is still {health} %."),
    "diagnosis.battery_worn": _w(
        "The battery is worn: its capacity is {health} %, so it runs out sooner."
    ),
    "diagnosis.battery_bad": _w(
        "The battery is bad: its capacity is only {health} %; a new battery is needed to "
        "work without the charger."
    ),
    "diagnosis.battery_unknown": _w("The battery's condition could not be read."),
    "diagnosis.battery_none": _w("No battery found: the laptop only works on the charger."),
    "diagnosis.disk_healthy": _w("The disk ({gb} GB) is healthy."),
    "diagnosis.disk_worn": _w(
        "The disk ({gb} GB) is worn: it works, but make a backup of your files."
    ),
    "diagnosis.disk_failing": _w("The disk ({gb} GB) is failing: make a backup of your files now."),
    "diagnosis.disk_unknown": _w("The health of the disk ({gb} GB) could not be read."),
    "diagnosis.disk_none": _w("No disk found."),
    "diagnosis.ram_ok": _w("{gib:.1f} GB of memory: enough for everyday use."),
    "diagnosis.ram_low": _w("{gib:.1f} GB of memory: little; the laptop will be slow."),
    "diagnosis.ram_unknown": _w("The amount of memory could not be read."),
    "diagnosis.os_yes": _w("This laptop can run the programme's operating system."),
    "diagnosis.os_no_cpu": _w(
        "This laptop cannot run the programme's operating system: its processor is too old."
    ),
    "diagnosis.os_no_ram": _w(
        "This laptop cannot run the programme's operating system as it is: it needs at least "
        "{limit:g} GB of memory."
    ),
    "diagnosis.os_no_disk": _w(
        "This laptop cannot run the programme's operating system as it is: it needs a disk of "
        "at least {limit:g} GB."
    ),
    "diagnosis.os_unknown": _w("Whether the programme's operating system runs here is unknown."),
    "diagnosis.advice_none": _w("Nothing needs repairing."),
    "diagnosis.battery_runtime": _w(
        "Fully charged it lasts about {now:g} hours now; with a new battery about {new:g} hours "
        "(an estimate, at {watts:g} W of ordinary use)."
    ),
    "diagnosis.battery_cost": _w(
        "A new battery costs about {low}-{high} euros; the helpdesk fits it in about {days} "
        "working days."
    ),
    "diagnosis.heading_recommendation": _w("What we recommend"),
    "diagnosis.recommend_keep": _w("Keep using the laptop as it is."),
    "diagnosis.recommend_battery": _w(
        "Replace the battery (about {low}-{high} euros, {days} working days)."
    ),
    "diagnosis.recommend_disk": _w("Replace the disk: make a copy of your files first."),
    "diagnosis.recommend_refresh": _w(
        "Bring it in for a refresh: the helpdesk erases it and installs the programme's "
        "operating system. Your files will be gone, so make a copy first."
    ),
    "diagnosis.heading_refresh": _w("Refresh"),
    "diagnosis.erased": _w(
        "The disk ({gb} GB) was erased on {date} and the erasure was checked: the files that "
        "were on it are gone for good."
    ),
    "diagnosis.erase_failed": _w(
        "The disk ({gb} GB) could not be erased completely: ask the helpdesk."
    ),
    "diagnosis.reinstalled": _w("The programme's operating system was installed."),
    "diagnosis.not_erased": _w("Nothing was erased."),
    # ---------------------------------------------------------------- disk health (SMART)
    "smart.passed_but_failing": _w(
        "The drive's own self-assessment says PASSED, but the counts above show it is "
        "failing; do not trust PASSED alone"
    ),
    "smart.unavailable/usb_bridge": _w(
        "No SMART data: smartctl does not know this USB adapter ({bridge}); try again with "
        "'smartctl -d sat'"
    ),
    "smart.unavailable/virtual": _w("No SMART data: '{model}' is a virtual disk"),
    "smart.unavailable/unreadable": _w(
        "No SMART data: smartctl could not read this device ({detail})"
    ),
    "smart.unavailable/exit_status": _w(
        "No SMART data: smartctl could not read this device (smartctl exit status {status})"
    ),
    "smart.unavailable/no_data": _w(
        "No SMART data: the output has no health status and no SMART counters; "
        "the disk cannot be graded"
    ),
    "smart.unavailable/no_data_said": _w(
        "No SMART data: the output has no health status and no SMART counters ({detail}); "
        "the disk cannot be graded"
    ),
    "usb.unknown_bridge": _w("{bridge}"),
    "disk.virtual": _w("{model} is emulated by a virtual machine"),
    "smart.failed": _w("The drive's own SMART self-assessment says FAILED"),
    "ata.failing_now": _w(
        "Attribute {id} {name} is below the maker's failure threshold now "
        "(value {reading}, threshold {threshold})"
    ),
    "ata.failed_in_past": _w(
        "Attribute {id} {name} was below the maker's failure threshold at some time in the past"
    ),
    "ata.reallocated/failing": _w(
        "{count} reallocated sector (failing at {limit} or more)",
        "{count} reallocated sectors (failing at {limit} or more)",
    ),
    "ata.reallocated/worn": _w(
        "{count} reallocated sector (worn from 1, failing at {limit} or more)",
        "{count} reallocated sectors (worn from 1, failing at {limit} or more)",
    ),
    "ata.pending_bogus": _w(
        "{count} pending sector on attribute 197, which this model's firmware is known to "
        "report falsely ({name}); not counted",
        "{count} pending sectors on attribute 197, which this model's firmware is known to "
        "report falsely ({name}); not counted",
    ),
    "ata.pending": _w(
        "{count} unreadable sector waiting to be remapped (failing at {limit} or more)",
        "{count} unreadable sectors waiting to be remapped (failing at {limit} or more)",
    ),
    "ata.offline_uncorrectable": _w(
        "{count} sector that could not be read or repaired in the offline scan "
        "(failing at {limit} or more)",
        "{count} sectors that could not be read or repaired in the offline scan "
        "(failing at {limit} or more)",
    ),
    "ata.reported_uncorrect": _w(
        "{count} read error the drive could not correct (failing at {limit} or more)",
        "{count} read errors the drive could not correct (failing at {limit} or more)",
    ),
    "ata.crc_errors": _w(
        "{count} transfer error on the cable or connector (attribute 199): check or replace "
        "the cable; this is not a disk fault",
        "{count} transfer errors on the cable or connector (attribute 199): check or replace "
        "the cable; this is not a disk fault",
    ),
    "ssd.life_vendor_scale": _w(
        "Attribute {id} {name} reads {reading}, on the maker's own scale above 100; not used as "
        "a percentage of life left"
    ),
    "ssd.life_left": _w("{left} % of rated life left ({name}; worn at {limit} % or less)"),
    "selftest.read_failure": _w(
        "{count} self-test in the drive's log could not read the whole surface "
        "(latest: {test} '{status}' at {hours} h)",
        "{count} self-tests in the drive's log could not read the whole surface "
        "(latest: {test} '{status}' at {hours} h)",
    ),
    "selftest.read_failure/no_hours": _w(
        "{count} self-test in the drive's log could not read the whole surface "
        "(latest: {test} '{status}')",
        "{count} self-tests in the drive's log could not read the whole surface "
        "(latest: {test} '{status}')",
    ),
    "nvme.endurance_used": _w(
        "Rated write endurance used up ({used} % used); the drive flags this as a critical "
        "warning, but it has no media errors and spare space left"
    ),
    "nvme.critical_warning": _w("The drive raises critical warning 0x{warning:02x}: {bits}"),
    "nvme.media_errors": _w(
        "{count} media or data integrity error the drive could not recover "
        "(failing at {limit} or more)",
        "{count} media or data integrity errors the drive could not recover "
        "(failing at {limit} or more)",
    ),
    "nvme.available_spare": _w(
        "Only {spare} % spare space left, below the drive's own threshold of {threshold} %"
    ),
    "nvme.percentage_used": _w(
        "{used} % of rated write endurance used (worn at {limit} % or more)"
    ),
    "scsi.grown_defects": _w(
        "{count} defective area found since the factory (grown defect list; failing at "
        "{limit} or more)",
        "{count} defective areas found since the factory (grown defect list; failing at "
        "{limit} or more)",
    ),
    "scsi.uncorrected_errors": _w(
        "{count} uncorrected error ({detail}; failing at {limit} or more)",
        "{count} uncorrected errors ({detail}; failing at {limit} or more)",
    ),
    "info.power_on_hours": _w(
        "Powered on for {hours} hours (about {years:.1f} years of running time)"
    ),
    "info.power_cycles": _w("Switched on {count} times"),
    "info.wear": _w("{used} % of rated write endurance used"),
    "info.life_left": _w("{left} % of rated life left"),
    "info.data_written": _w("{tb:.1f} TB written in its life"),
    "info.nvme_error_log": _w(
        "{count} entries in the error information log: these record rejected commands, not damage"
    ),
    "smartctl.partial": _w(
        "smartctl could not run every command on this drive (exit status {status}); the data "
        "it did read was used"
    ),
    "smart.not_applicable": _w("Loop device: a file, not a drive; no SMART."),
    "usb.sat_retry": _w(
        "smartctl did not know this USB adapter; its SMART data was read with '-d sat' instead"
    ),
    "usb.sat_retry_failed": _w(
        "Retried with '-d sat': still no SMART data ({detail}); this adapter hides the disk's "
        "health, connect the disk directly to read it"
    ),
    # ---------------------------------------------------------------- battery
    "battery.invalid_value": _w("Unusable value: {problem}."),
    "battery.invalid_value/more": _w(
        "{count} more unusable value.", "{count} more unusable values."
    ),
    "battery.sources_disagree": _w("Sources disagree: {conflict}."),
    "battery.peripheral": _w(
        "This battery powers a peripheral (mouse, keyboard...), not the laptop."
    ),
    "battery.not_present": _w(
        "The battery slot reports no battery present; its figures are not judged."
    ),
    "battery.design_zero": _w(
        "Design capacity is 0, so health (full / design) cannot be computed."
    ),
    "battery.no_capacity_data": _w(
        "No full-charge and design capacity figures, so health cannot be judged."
    ),
    "battery.implausible": _w(
        "Reports {health:g} % of design capacity ({full:.2f} of {design:.2f} {unit}, from "
        "{source}); no pack holds that much more than designed, so the figures are wrong and "
        "health is unknown."
    ),
    "battery.health/good": _w(
        "Holds {health:g} % of its design capacity ({full:.2f} of {design:.2f} {unit}, from "
        "{source}): good ({good:g} % or more)."
    ),
    "battery.health/worn": _w(
        "Holds {health:g} % of its design capacity ({full:.2f} of {design:.2f} {unit}, from "
        "{source}): worn ({worn:g} % to {good:g} %)."
    ),
    "battery.health/bad": _w(
        "Holds {health:g} % of its design capacity ({full:.2f} of {design:.2f} {unit}, from "
        "{source}): bad (below {worn:g} %)."
    ),
    "battery.over_100": _w(
        "Reports {health:g} % of design capacity: usual for a new or freshly recalibrated "
        "pack; kept as reported."
    ),
    "battery.reported_mismatch": _w(
        "{source} says {reported:g} %, but the full and design figures give {health:g} %; "
        "the figures are used."
    ),
    "battery.reported_mismatch/no_source": _w(
        "The tool says {reported:g} %, but the full and design figures give {health:g} %; "
        "the figures are used."
    ),
    "battery.cycles_unknown/missing": _w(
        "This output has no cycle count; the number of charge cycles is unknown."
    ),
    "battery.cycles_unknown/unreadable": _w(
        "The driver does not report a cycle count ({raw}); it is unknown."
    ),
    "battery.cycles_unknown/placeholder": _w(
        "Cycle count {cycles} is what drivers report when they do not count cycles; treated "
        "as unknown, not as a new battery."
    ),
    "battery.cycles": _w(
        "{cycles} charge cycles: at or above the limit of {limit}, bad whatever its capacity."
    ),
    # ---------------------------------------------------------------- inspection warnings
    "dmi.error": _w("DMI: {error}"),
    "cpu.error": _w("CPU: {error}"),
    "memory.error": _w("memory: {error}"),
    "disks.error": _w("disks: {error}"),
    "battery.error": _w("battery: {error}"),
    "gpu.error": _w("GPU: {error}"),
    "network.error": _w("network: {error}"),
    "display.error": _w("displays: {error}"),
    "locks.error": _w("firmware locks: {error}"),
    "peripherals.error": _w("devices: {error}"),
    "dmi.missing": _w(
        "No DMI/SMBIOS data (/sys/class/dmi/id): vendor, model and serial are unknown "
        "(normal in a virtual machine)."
    ),
    "smart.replayed": _w("Test setup: the SMART data of {path} is replayed from {fixture}."),
    "smartctl.missing": _w("Disk health not read: {error}"),
    "smart.error": _w("{path}: SMART could not be read: {error}"),
    "disks.none": _w("No disk found besides loop devices."),
    "smart.none": _w(
        "No disk reported SMART data (virtual disks and some USB adapters have none)."
    ),
    "battery.none": _w("No battery found (a desktop, a virtual machine, or a missing pack)."),
    # ---------------------------------------------------------------- station run
    "run.resumed": _w("This run was interrupted during '{stage}' and resumed."),
    "testing.device": _w("Test setup: {path} is treated as an internal disk."),
    "refuse.not_allowed": _w("not in this test setup's allowed devices"),
    "refuse.not_internal": _w("not an internal disk (USB, removable or virtual)"),
    "refuse.holds_root": _w("the running system lives on it ({detail})"),
    "refuse.boot_medium": _w("it is the Digibench boot medium ({detail})"),
    "refuse.mounted": _w("it is mounted, so in use ({detail})"),
    "refuse.in_use": _w("in use ({detail})"),
    "refuse.gone": _w("the disk is no longer there"),
    # ---------------------------------------------------------------- run notices
    "notice.state_unreadable": _w("Ignoring an unreadable run state: {detail}"),
    "notice.resume_disk_gone": _w("Disk {disk} from the interrupted run is gone."),
    "notice.resuming": _w("Resuming the interrupted run of {tag}."),
    "notice.resume_kept": _w("Disk {disk} was already verified erased: not wiped again."),
    "notice.resume_refused": _w("Disk {disk} is refused on resume: {why}"),
    "notice.modprobe_device": _w("Test setup: /dev/{name} appeared after modprobe."),
    "notice.machine_checks": _w("The memory and thermal checks run in the background."),
    "notice.usb_ports_plug": _w(
        "USB ports: plug a USB stick into each USB port of the laptop in turn "
        "({count} to go, at most {seconds} s)."
    ),
    "notice.usb_ports_plug/any": _w(
        "USB ports: plug a USB stick into each USB port of the laptop in turn "
        "(at most {seconds} s)."
    ),
    "notice.usb_port_seen": _w("USB port {port} seen ({done} of {count})."),
    "notice.charger_unplug": _w(
        "Charging: pull the charger out of the laptop now (at most {seconds} s), "
        "then plug it back in."
    ),
    "notice.charger_unplugged": _w("Charger unplug noticed: plug the charger back in."),
    "notice.usb_port_seen/any": _w("USB port {port} seen."),
    "notice.usb_ports_none": _w("No USB controller found: the USB port check is not done."),
    "notice.usb_ports_unreadable": _w("The station cannot follow the USB ports: {error}"),
    "notice.confirmed": _w("Confirmed: {disks}"),
    "notice.wipe_done": _w("{disk}: the wipe ended: {result}."),
    "notice.no_image": _w("No OS image configured: not flashing."),
    "notice.no_flash_target": _w("No verified-erased disk to install the OS on."),
    "notice.flash_failed": _w("Installing the OS failed: {detail}"),
    "notice.delivered": _w("Report delivered to the server."),
    "notice.waiting": _w(
        "{count} report from earlier runs waits on the stick.",
        "{count} reports from earlier runs wait on the stick.",
    ),
    "notice.delivered_waiting": _w(
        "Delivered {count} waiting report.", "Delivered {count} waiting reports."
    ),
    "notice.no_server": _w("No server configured: the report stays in the outbox."),
    "notice.upload_impossible": _w("Cannot upload: {detail}"),
    "notice.kept_in_outbox": _w("Report(s) kept in the outbox: {detail}"),
    "notice.station_revoked": _w(
        "This station is revoked on the server: it may no longer send reports. Reports wait"
        " on the stick; pair the stick again (an admin approves it in Stations)."
    ),
    "notice.station_suspended": _w(
        "This station is suspended on the server: reports wait on the stick until an admin"
        " resumes it in Stations."
    ),
    "notice.station_unknown": _w(
        "The server does not know this station's token: reports wait on the stick. Pair the"
        " stick again (an admin approves it in Stations)."
    ),
    "notice.not_touching": _w("Not touching {disk}: {why}"),
    "notice.cancelled": _w("The run was stopped; nothing more is done to this laptop."),
    "notice.storage_failed": _w(
        "Cannot save {what} on the stick: {detail}. It is kept in memory; {todo}"
    ),
    "notice.storage_fallback": _w("{what} saved to the spare location {path}."),
    "notice.storage_saved": _w("{what} saved on the stick again."),
    "notice.disk_appeared": _w(
        "A new disk appeared: {disk}. It is not touched unless inspected and confirmed."
    ),
    "notice.disk_vanished": _w("Disk {disk} disappeared."),
    "notice.stick_gone": _w(
        "The stick's data partition is gone: the run is kept in memory until it is back."
    ),
    "notice.stick_back": _w("The stick's data partition is back."),
    # ---------------------------------------------------------------- run warnings
    "run.target_refused": _w(
        "Disk {disk} was refused when the run resumed ({why}): it was not wiped."
    ),
    "run.storage_failed": _w("Saving {what} failed during the run: {detail}"),
}


def _key(code: str, variant: str | None) -> str:
    for family in FAMILIES:
        if code.startswith(family) and len(code) > len(family):
            code = family
            break
    return f"{code}/{variant}" if variant else code


def lookup(code: str, variant: str | int | float | None = None) -> Wording | None:
    """The wording of ``code`` (and its variant); None for a code this agent does not know."""
    return CATALOG.get(_key(code, variant if isinstance(variant, str) else None))


def wordings() -> Iterator[tuple[str, Wording]]:
    """Every (catalog key, wording), for translators and their tests."""
    yield from CATALOG.items()


def _variant(params: Mapping[str, ParamValue]) -> str | None:
    variant = params.get("variant")
    if variant is not None and not isinstance(variant, str):
        raise TypeError("a wording variant is named by a string")
    return variant


def _facts(params: Mapping[str, ParamValue]) -> dict[str, ParamValue]:
    if len(params) > MAX_PARAMS:
        raise ValueError(f"a reason carries at most {MAX_PARAMS} facts")
    return {k: v[:MAX_PARAM_CHARS] if isinstance(v, str) else v for k, v in params.items()}


def _fallback(code: str, params: Mapping[str, ParamValue], exc: Exception) -> str:
    """A wording bug must never stop a run (the disks may be wiped already): say the facts."""
    log.error("no wording for reason %s with facts %s: %r", code, sorted(params), exc)
    facts = ", ".join(f"{k}={v}" for k, v in params.items() if k != "variant")
    return f"{code} ({facts})"[:4096] if facts else code


def words(code: str, **params: ParamValue) -> str:
    """The English sentence for ``code`` with these facts (the code and facts if none fits)."""
    try:
        return CATALOG[_key(code, _variant(params))].render(params)[:4096]
    except (KeyError, IndexError, ValueError, TypeError) as exc:
        return _fallback(code, params, exc)


def fix_words(code: str, **params: ParamValue) -> str:
    """The English repair line for ``code`` (the code and facts if it has none)."""
    try:
        fix = CATALOG[_key(code, _variant(params))].fix
        if fix is None:
            raise KeyError(f"{code} has no repair wording")
        return fix.format(**params)
    except (KeyError, IndexError, ValueError, TypeError) as exc:
        return _fallback(code, params, exc)


def reason(
    code: str,
    severity: Severity = "info",
    value: float | int | str | None = None,
    **params: ParamValue,
) -> Reason:
    """A reason in words, formed from its code's wording; ``KeyError`` for an unknown code.

    ``params`` are the facts the wording names, plus ``variant`` for a code
    with several wordings.
    """
    return Reason(
        code=code,
        message=words(code, **params),
        severity=severity,
        value=value,
        params=_facts(params),
    )


def warning(code: str, **params: ParamValue) -> Warning_:
    """An inspection warning in words, formed like :func:`reason`."""
    return Warning_(code=code, message=words(code, **params), params=_facts(params))
