"""The Digibench report, schema v1: what a station tells the server about one laptop.

One versioned set of pydantic models, owned by the agent and validated again by
the server. Parsed values travel next to the raw tool outputs they came from
(smartctl JSON, DMI fields, battery uevent), so the server can re-evaluate a
report later with a newer policy.

Rules that keep the schema safe to receive from the network: every model
forbids unknown fields, strings and lists are bounded, and numbers that are
sizes or counts cannot be negative.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from agent.report import vocabulary
from agent.report.vocabulary import INT64_MAX as INT64_MAX
from agent.report.vocabulary import Destination as Destination

SCHEMA_VERSION = "1.0"

ShortStr = Annotated[str, Field(max_length=256)]
LongStr = Annotated[str, Field(max_length=4096)]
NonNegInt = Annotated[int, Field(ge=0, le=INT64_MAX)]
#: Raw tool output: kept verbatim, bounded so a hostile report cannot be huge.
RawText = Annotated[str, Field(max_length=2_000_000)]


class Model(BaseModel):
    """Base for every report model: strict about unknown fields."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=True)


# --------------------------------------------------------------------------- enums


class Mode(StrEnum):
    """Why the laptop is on the bench."""

    INTAKE = "intake"  # donated laptop: inspect, wipe, flash, grade
    CHECK = "check"  # helpdesk: inspect only, never wipe


class DiskVerdict(StrEnum):
    HEALTHY = "healthy"
    WORN = "worn"
    FAILING = "failing"
    UNKNOWN = "unknown"


class BatteryVerdict(StrEnum):
    GOOD = "good"
    WORN = "worn"
    BAD = "bad"
    UNKNOWN = "unknown"


class MediaType(StrEnum):
    HDD = "hdd"
    SSD = "ssd"
    NVME = "nvme"
    EMMC = "emmc"
    USB = "usb"
    VIRTUAL = "virtual"
    UNKNOWN = "unknown"


class TestOutcome(StrEnum):
    __test__ = False  # not a pytest test class
    PASS = "pass"
    FAIL = "fail"
    SKIPPED = "skipped"


class SkipCause(StrEnum):
    """Why a check was not done: the three kinds of "skipped" the policy tells apart."""

    OPERATOR = "operator"  # the volunteer skipped it (or nobody was at the bench)
    POLICY = "policy"  # this programme does not do it
    NOT_AVAILABLE = "not_available"  # this laptop has nothing to check it with (no sensors)


class CheckKind(StrEnum):
    """Every check the grading judges, one row each on the result screen and the web page."""

    KEYBOARD = "keyboard"
    SCREEN = "screen"
    TOUCHPAD = "touchpad"
    CAMERA = "camera"
    AUDIO = "audio"
    WIFI = "wifi"
    BLUETOOTH = "bluetooth"
    USB_PORTS = "usb_ports"
    CHARGING = "charging"
    THERMAL = "thermal"
    MEMORY_TEST = "memory_test"
    FIRMWARE_PASSWORD = "firmware_password"
    SECURE_BOOT = "secure_boot"
    THEFT_RECOVERY = "theft_recovery"
    AMT = "amt"
    ASSET_TAG = "asset_tag"


class CheckOutcome(StrEnum):
    """A check's outcome as the grading sees it (a lock that is on is a ``fail``)."""

    PASS = "pass"
    FAIL = "fail"
    POLICY_SKIPPED = "policy_skipped"
    NOT_AVAILABLE = "not_available"
    OPERATOR_SKIPPED = "operator_skipped"


#: What an outcome does to the grade: never lend, repair list, note (B), or nothing.
Effect = Literal["block", "repair", "note", "ignore"]


class SanitizeLevel(StrEnum):
    """NIST SP 800-88 Rev.2 / IEEE 2883-2022 sanitization levels."""

    CLEAR = "clear"
    PURGE = "purge"


class ErasureResult(StrEnum):
    ERASED = "erased"
    ERASED_WITH_EXCEPTIONS = "erased_with_exceptions"
    FAILED = "failed"


# --------------------------------------------------------------------------- findings


#: The facts a message is formed from, by the field names of its code's wording
#: (agent/report/reasons.py), so a screen can say it in another language.
ReasonParams = Annotated[
    dict[Annotated[str, Field(max_length=64)], int | float | LongStr], Field(max_length=16)
]


class Reason(Model):
    """One rule hit, in words, with a stable code so a UI can translate it."""

    code: Annotated[str, Field(max_length=64, pattern=r"^[a-z0-9_.\-]+$")]
    message: LongStr
    severity: Literal["info", "warning", "error"] = "info"
    value: float | int | str | None = None
    params: ReasonParams = Field(default_factory=dict)


class Warning_(Model):
    """Something the station could not do or read (no SMART, no battery...)."""

    code: Annotated[str, Field(max_length=64)]
    message: LongStr
    params: ReasonParams = Field(default_factory=dict)


# --------------------------------------------------------------------------- identity


class Station(Model):
    name: ShortStr
    hostname: ShortStr | None = None
    agent_version: ShortStr
    public_key: Annotated[str, Field(max_length=128)] | None = None  # Ed25519, base64


class Operator(Model):
    name: ShortStr | None = None
    badge: ShortStr | None = None


class DeviceIdentity(Model):
    """Who the laptop is, from DMI (SMBIOS) as the kernel exposes it."""

    vendor: ShortStr | None = None
    product_name: ShortStr | None = None
    product_version: ShortStr | None = None
    product_family: ShortStr | None = None
    serial: ShortStr | None = None
    uuid: ShortStr | None = None
    sku: ShortStr | None = None
    chassis_type: Annotated[int, Field(ge=0, le=255)] | None = None
    chassis_type_name: ShortStr | None = None
    chassis_vendor: ShortStr | None = None
    chassis_serial: ShortStr | None = None
    board_vendor: ShortStr | None = None
    board_name: ShortStr | None = None
    board_serial: ShortStr | None = None
    bios_vendor: ShortStr | None = None
    bios_version: ShortStr | None = None
    bios_date: ShortStr | None = None
    #: every readable file of /sys/class/dmi/id, verbatim
    raw_dmi: dict[ShortStr, LongStr] = Field(default_factory=dict)


# --------------------------------------------------------------------------- components


class Cpu(Model):
    model: ShortStr | None = None
    vendor: ShortStr | None = None
    architecture: ShortStr | None = None
    cores: NonNegInt | None = None
    threads: NonNegInt | None = None
    max_mhz: Annotated[float, Field(ge=0)] | None = None
    flags: list[ShortStr] = Field(default_factory=list, max_length=1024)


class MemoryModule(Model):
    locator: ShortStr | None = None
    size_bytes: NonNegInt | None = None
    type: ShortStr | None = None
    form_factor: ShortStr | None = None
    speed_mts: NonNegInt | None = None
    manufacturer: ShortStr | None = None
    part_number: ShortStr | None = None
    serial: ShortStr | None = None


class Memory(Model):
    total_bytes: NonNegInt
    modules: list[MemoryModule] = Field(default_factory=list, max_length=64)
    slots: NonNegInt | None = None
    raw_dmidecode: RawText | None = None


class DiskFigures(Model):
    """The SMART numbers a verdict rests on; None where the drive does not say."""

    power_on_hours: NonNegInt | None = None
    power_cycles: NonNegInt | None = None
    temperature_c: int | None = None
    reallocated_sectors: NonNegInt | None = None
    pending_sectors: NonNegInt | None = None
    offline_uncorrectable: NonNegInt | None = None
    reported_uncorrect: NonNegInt | None = None
    crc_errors: NonNegInt | None = None
    percentage_used: NonNegInt | None = None
    available_spare: NonNegInt | None = None
    available_spare_threshold: NonNegInt | None = None
    media_errors: NonNegInt | None = None
    critical_warning: NonNegInt | None = None
    life_left_percent: NonNegInt | None = None
    grown_defects: NonNegInt | None = None
    data_written_bytes: NonNegInt | None = None


class DiskHealth(Model):
    verdict: DiskVerdict
    reasons: list[Reason] = Field(default_factory=list, max_length=64)
    figures: DiskFigures = Field(default_factory=DiskFigures)
    smart_passed: bool | None = None
    protocol: ShortStr | None = None  # ATA, NVMe, SCSI
    smartctl_exit_status: NonNegInt | None = None
    smartctl_version: ShortStr | None = None
    #: the smartctl -x --json output, verbatim (parsed JSON)
    raw_smartctl_json: dict[str, Any] | None = None
    #: the smartctl text output, when only text was available
    raw_smartctl_text: RawText | None = None


class Disk(Model):
    name: ShortStr  # kernel name, e.g. nvme0n1; never the identity of the disk
    path: ShortStr
    by_id: list[ShortStr] = Field(default_factory=list, max_length=32)
    model: ShortStr | None = None
    vendor: ShortStr | None = None
    serial: ShortStr | None = None
    wwn: ShortStr | None = None
    firmware: ShortStr | None = None
    size_bytes: NonNegInt
    transport: ShortStr | None = None  # nvme, sata, ata, usb, mmc, virtio, scsi, loop
    media_type: MediaType = MediaType.UNKNOWN
    rotational: bool | None = None
    logical_sector_size: NonNegInt | None = None
    physical_sector_size: NonNegInt | None = None
    removable: bool = False
    read_only: bool = False
    is_loop: bool = False
    is_virtual: bool = False
    is_boot_medium: bool = False
    holds_root: bool = False
    mountpoints: list[ShortStr] = Field(default_factory=list, max_length=64)
    in_use_reason: LongStr | None = None
    internal: bool = True
    health: DiskHealth | None = None


class Battery(Model):
    name: ShortStr
    manufacturer: ShortStr | None = None
    model_name: ShortStr | None = None
    serial: ShortStr | None = None
    technology: ShortStr | None = None
    energy_full_uwh: NonNegInt | None = None
    energy_full_design_uwh: NonNegInt | None = None
    charge_full_uah: NonNegInt | None = None
    charge_full_design_uah: NonNegInt | None = None
    voltage_min_design_uv: NonNegInt | None = None
    capacity_percent: NonNegInt | None = None
    status: ShortStr | None = None
    cycle_count: NonNegInt | None = None  # None = not reported (0 in sysfs usually means that)
    health_percent: Annotated[float, Field(ge=0)] | None = None
    verdict: BatteryVerdict = BatteryVerdict.UNKNOWN
    reasons: list[Reason] = Field(default_factory=list, max_length=32)
    source_format: ShortStr | None = None  # sysfs, uevent, upower, tlp-stat, acpi
    #: the uevent (or other) fields verbatim
    raw: dict[ShortStr, LongStr] = Field(default_factory=dict)


class Gpu(Model):
    pci_slot: ShortStr | None = None
    vendor_id: ShortStr | None = None
    device_id: ShortStr | None = None
    vendor: ShortStr | None = None
    name: ShortStr | None = None
    driver: ShortStr | None = None


class NetworkInterface(Model):
    name: ShortStr
    mac: Annotated[str, Field(max_length=64)] | None = None
    kind: Literal["wired", "wireless", "other"] = "other"
    driver: ShortStr | None = None
    bus: ShortStr | None = None  # pci, usb, ...


class Display(Model):
    connector: ShortStr
    status: ShortStr | None = None
    manufacturer: ShortStr | None = None
    product_code: NonNegInt | None = None
    name: ShortStr | None = None
    serial: ShortStr | None = None
    width_mm: NonNegInt | None = None
    height_mm: NonNegInt | None = None
    preferred_mode: ShortStr | None = None
    internal: bool | None = None


class FirmwarePassword(Model):
    """One firmware (BIOS/UEFI) password slot, from /sys/class/firmware-attributes."""

    driver: ShortStr  # dell-wmi-sysman, thinklmi, hp-bioscfg
    name: ShortStr  # Admin, System, Power-on, HDD...
    role: ShortStr | None = None  # bios-admin, power-on, system-mgmt...
    enabled: bool


class TheftRecoverySetting(Model):
    """A firmware setting of a theft-recovery agent (Absolute/Computrace) and its value."""

    driver: ShortStr
    name: ShortStr
    value: ShortStr | None = None
    active: bool | None = None  # None: the value does not say


class FirmwareLocks(Model):
    """What keeps a laptop tied to its former owner: passwords, agents, tags, Secure Boot."""

    passwords: list[FirmwarePassword] = Field(default_factory=list, max_length=32)
    #: None: the firmware does not say (legacy BIOS, or no efivars)
    secure_boot: bool | None = None
    setup_mode: bool | None = None
    theft_recovery: list[TheftRecoverySetting] = Field(default_factory=list, max_length=16)
    asset_tag: ShortStr | None = None  # DMI chassis asset tag, placeholders dropped
    #: Intel ME/CSME firmware versions from /sys/class/mei; empty when no MEI device
    mei_firmware: list[ShortStr] = Field(default_factory=list, max_length=8)
    #: Intel AMT provisioning state (pre, in, post); None: no AMT, or it could not be asked
    amt_provisioning: Literal["pre", "in", "post"] | None = None


class Peripherals(Model):
    """The devices a resident uses every day, as the kernel sees them (issue #19 checks)."""

    #: V4L2 video capture devices (webcams), by name
    cameras: list[ShortStr] = Field(default_factory=list, max_length=16)
    #: ALSA sound cards, by name
    sound_cards: list[ShortStr] = Field(default_factory=list, max_length=16)
    #: Wi-Fi interfaces (nl80211) and whether their driver is bound (firmware loaded)
    wifi: list[ShortStr] = Field(default_factory=list, max_length=8)
    wifi_driver_bound: bool | None = None
    #: networks an ``iw dev <if> scan`` saw (a count only: names are nobody's business)
    wifi_networks: NonNegInt | None = None
    #: why the scan could not run (no iw, radio refused...); None: it ran or was not tried
    wifi_scan_error: ShortStr | None = None
    bluetooth: list[ShortStr] = Field(default_factory=list, max_length=8)
    #: every Bluetooth controller's driver bound (firmware loaded); None: sysfs does not say
    bluetooth_driver_bound: bool | None = None
    #: a Bluetooth radio switched off by its hardware switch (rfkill "hard"); None: unknown
    bluetooth_blocked: bool | None = None
    #: a charger (mains adapter, or a USB/USB-C charger) online; None when none is reported
    ac_online: bool | None = None
    battery_status: ShortStr | None = None
    #: hottest reading per hwmon chip (degrees C), at inspection
    temperatures_c: dict[ShortStr, float] = Field(default_factory=dict, max_length=32)


class Components(Model):
    cpu: Cpu | None = None
    memory: Memory | None = None
    disks: list[Disk] = Field(default_factory=list, max_length=64)
    batteries: list[Battery] = Field(default_factory=list, max_length=8)
    gpus: list[Gpu] = Field(default_factory=list, max_length=16)
    network: list[NetworkInterface] = Field(default_factory=list, max_length=64)
    displays: list[Display] = Field(default_factory=list, max_length=16)
    locks: FirmwareLocks | None = None
    peripherals: Peripherals | None = None


# --------------------------------------------------------------------------- bench work


class TestResult(Model):
    """An operator test (keyboard, screen, touchpad...) or question answered."""

    __test__ = False  # not a pytest test class

    name: Annotated[str, Field(max_length=64)]
    outcome: TestOutcome
    details: LongStr | None = None
    answers: dict[ShortStr, ShortStr] = Field(default_factory=dict)
    #: why a ``skipped`` test was skipped; None on a skip means the operator (older agents)
    skipped_by: SkipCause | None = None


class ErrorRange(Model):
    start_byte: NonNegInt
    length_bytes: NonNegInt
    message: LongStr


class ErasureRecord(Model):
    """One disk's erasure, per NIST SP 800-88 Appendix G and R2v3 Appendix B."""

    record_id: uuid.UUID
    disk_model: ShortStr | None = None
    disk_vendor: ShortStr | None = None
    disk_serial: ShortStr | None = None
    #: the disk's stable identity (serial, WWN, by-id or loop backing file, with model and size)
    disk_identity: LongStr | None = None
    #: its kernel path at the time of the wipe (for matching within one report only)
    disk_path: ShortStr | None = None
    disk_size_bytes: NonNegInt
    media_type: MediaType = MediaType.UNKNOWN
    transport: ShortStr | None = None
    host_serial: ShortStr | None = None
    host_asset_tag: ShortStr | None = None
    method: Annotated[
        str, Field(max_length=64)
    ]  # overwrite-zero, overwrite-random, nvme-sanitize-crypto, ...
    tool: ShortStr
    tool_versions: dict[ShortStr, ShortStr] = Field(default_factory=dict)
    level: SanitizeLevel
    standard: ShortStr = "NIST SP 800-88 Rev.2 / IEEE 2883-2022"
    passes: NonNegInt = 0
    pattern: ShortStr | None = None
    hpa: LongStr | None = None
    dco: LongStr | None = None
    hidden_area_action: LongStr | None = None
    started_at: datetime
    finished_at: datetime | None = None
    bytes_written: NonNegInt = 0
    throughput_mb_s: Annotated[float, Field(ge=0)] | None = None
    resumed: bool = False
    verification_method: ShortStr | None = None  # full, sampled
    verification_coverage_percent: Annotated[float, Field(ge=0, le=100)] | None = None
    verification_passed: bool | None = None
    errors: list[ErrorRange] = Field(default_factory=list, max_length=10_000)
    notes: list[LongStr] = Field(default_factory=list, max_length=64)
    result: ErasureResult
    operator: ShortStr | None = None
    station: ShortStr | None = None
    signature: Annotated[str, Field(max_length=256)] | None = None  # Ed25519, base64


class ImageRecord(Model):
    name: ShortStr
    version: ShortStr
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    target_disk_serial: ShortStr | None = None
    target_disk_path: ShortStr | None = None
    source: LongStr | None = None  # the image file or URL flashed
    image_size_bytes: NonNegInt | None = None  # raw (uncompressed) image size
    bytes_written: NonNegInt = 0
    ranges: NonNegInt = 0
    verified: bool = False
    verification_method: ShortStr | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_s: Annotated[float, Field(ge=0)] | None = None  # write + read-back
    throughput_mb_s: Annotated[float, Field(ge=0)] | None = None  # image MB per second
    fitted: bool = False  # root partition grown to fill the disk
    provisioned: bool = False
    hostname: ShortStr | None = None
    errors: list[LongStr] = Field(default_factory=list, max_length=64)


class HarvestItem(Model):
    kind: Annotated[str, Field(max_length=32)]  # ram, ssd, battery, ...
    description: LongStr


class CheckRow(Model):
    """One check as graded: its outcome, what the policy made of it, and why in words."""

    kind: CheckKind
    outcome: CheckOutcome
    effect: Effect
    reason: Reason


class Grade(Model):
    """What the grading found. A helpdesk check (mode ``check``) grades no resident's own
    laptop for lending: its ``grade`` and ``destination`` are None, the findings stay."""

    grade: vocabulary.Grade | None
    destination: Destination | None
    reasons: list[Reason] = Field(default_factory=list, max_length=64)
    to_fix: list[LongStr] = Field(default_factory=list, max_length=32)
    r2_function: Annotated[str, Field(max_length=8)] | None = None  # F3-F5
    r2_cosmetic: Annotated[str, Field(max_length=8)] | None = None  # C1-C6
    harvest: list[HarvestItem] = Field(default_factory=list, max_length=32)
    policy_version: ShortStr | None = None
    #: every check kind, in CheckKind order (empty in reports from older agents)
    checks: list[CheckRow] = Field(default_factory=list, max_length=32)

    @model_validator(mode="after")
    def _both_or_neither(self) -> Grade:
        if (self.grade is None) != (self.destination is None):
            raise ValueError("a grade and its destination come together (or neither)")
        return self

    @property
    def lending(self) -> bool:
        """Whether this is a lending grade (False: a helpdesk diagnosis, no grade)."""
        return self.grade is not None


class Signature(Model):
    algorithm: Literal["ed25519"] = "ed25519"
    public_key: Annotated[str, Field(max_length=128)]
    value: Annotated[str, Field(max_length=256)]


# --------------------------------------------------------------------------- the report


def _now() -> datetime:
    return datetime.now(UTC)


class Interruption(Model):
    """A run cut short (power cut, crash) and resumed: where it stopped, what was redone."""

    stage: ShortStr
    resumed_at: datetime
    #: steps done again: "wipe <disk>", "flash", "grade", "report"
    redone: list[ShortStr] = Field(default_factory=list, max_length=64)
    #: disks whose verified erasure was kept, not wiped again
    kept: list[ShortStr] = Field(default_factory=list, max_length=64)
    #: disks refused when the run resumed (no longer allowed, mounted, gone), not wiped
    refused: list[ShortStr] = Field(default_factory=list, max_length=64)


class Diagnosis(Model):
    """A helpdesk check's one-page summary, as catalog codes and facts (issue #19).

    No language, no grade, no serials: the station prints it at once, and the
    server keeps it (only when the resident agreed) to print again in Dutch,
    French or English.
    """

    laptop: ShortStr
    visit: ShortStr
    date: Annotated[str, Field(max_length=16)]  # dd-mm-yyyy, as the resident reads it
    battery: list[Reason] = Field(max_length=16)
    disk: list[Reason] = Field(max_length=16)
    ram: Reason
    os: Reason
    #: the problems found that have a repair wording (the volunteer's advice)
    findings: list[Reason] = Field(default_factory=list, max_length=64)
    advice: Annotated[str, Field(max_length=2000)] | None = None
    #: keep, replace the battery, replace the disk, bring it in for a refresh
    recommendations: list[Reason] = Field(default_factory=list, max_length=8)
    #: a refresh done at the helpdesk: each disk's verified erasure, said for the resident
    refresh: list[Reason] = Field(default_factory=list, max_length=16)


class HelpdeskConsent(Model):
    """What the resident agreed the server may keep of their visit, asked through the volunteer.

    Every answer starts on "no": without a yes the server keeps only the
    anonymous minimum (which station, when, and a refresh's erasure evidence).
    """

    #: the summary with hardware facts (battery, disk, memory, OS fit, the advice)
    diagnosis: bool = False
    #: what the volunteer typed for the visit (a first name, a ticket number)
    label: bool = False


class RefreshConfirmation(Model):
    """The resident's separate yes to wiping and reinstalling their own laptop."""

    files_gone_understood: Literal[True]
    copy_made: Literal[True]
    confirmed_at: datetime


class Helpdesk(Model):
    """A check-mode (helpdesk) run: the resident's consent and, for a refresh, their yes."""

    consent: HelpdeskConsent = Field(default_factory=HelpdeskConsent)
    refresh: RefreshConfirmation | None = None
    #: only in what is uploaded, and only with ``consent.diagnosis``
    diagnosis: Diagnosis | None = None


class Report(Model):
    """Everything one station run found out and did to one laptop."""

    schema_version: Literal["1.0"] = "1.0"
    report_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    created_at: datetime = Field(default_factory=_now)
    finished_at: datetime | None = None
    mode: Mode
    asset_tag: ShortStr | None = None
    station: Station
    operator: Operator = Field(default_factory=Operator)
    device: DeviceIdentity = Field(default_factory=DeviceIdentity)
    components: Components = Field(default_factory=Components)
    tests: list[TestResult] = Field(default_factory=list, max_length=64)
    erasures: list[ErasureRecord] = Field(default_factory=list, max_length=64)
    images: list[ImageRecord] = Field(default_factory=list, max_length=8)
    grade: Grade | None = None
    warnings: list[Warning_] = Field(default_factory=list, max_length=256)
    #: each time this run was cut short and resumed (absent in older reports)
    interruptions: list[Interruption] = Field(default_factory=list, max_length=32)
    #: helpdesk (check) mode only: consent, refresh confirmation (absent in older reports)
    helpdesk: Helpdesk | None = None
    signature: Signature | None = None

    @model_validator(mode="after")
    def _graded_for_lending(self) -> Report:
        # only a resident's own laptop (check mode) goes without a lending grade
        if self.grade is not None and not self.grade.lending and self.mode is not Mode.CHECK:
            raise ValueError(f"a {self.mode.value} report's grade needs a grade and destination")
        return self


def json_schema() -> dict[str, Any]:
    """The report's JSON Schema, as published for the server and third parties."""
    schema = Report.model_json_schema()
    schema["$id"] = "urn:digibench:report:1.0"
    schema["title"] = "Digibench report v1"
    return schema
