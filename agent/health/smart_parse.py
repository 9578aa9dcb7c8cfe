"""Read saved or live smartctl output (JSON or text) into one normalized structure.

The verdict must not care whether a volunteer saved ``smartctl -x --json``, a
plain ``smartctl -a`` from a Windows build with locale digit grouping, or a USB
bridge's empty answer: every shape ends up as one :class:`SmartData`, with the
raw output kept next to it so a report can be re-judged later.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from agent.errors import InputError
from agent.inputfile import read_input_file
from agent.report.schema import INT64_MAX

#: Larger than any real smartctl -x output by far, and the report's raw-text bound.
MAX_INPUT_CHARS = 2_000_000
#: a file that big cannot decode to fewer than MAX_INPUT_CHARS characters either
MAX_INPUT_BYTES = 4 * MAX_INPUT_CHARS

#: smartctl exit-status bits (smartctl(8) "RETURN VALUES").
EXIT_CMDLINE = 1
EXIT_OPEN_FAILED = 2
EXIT_COMMAND_FAILED = 4
EXIT_DISK_FAILING = 8
EXIT_PREFAIL_NOW = 16
EXIT_PREFAIL_PAST = 32
EXIT_ERROR_LOG = 64
EXIT_SELFTEST_ERRORS = 128

Protocol = Literal["ATA", "NVMe", "SCSI"]
_PROTOCOLS: dict[str, Protocol] = {"ATA": "ATA", "NVMe": "NVMe", "SCSI": "SCSI"}


@dataclass(frozen=True)
class AtaAttribute:
    """One row of the ATA SMART attribute table."""

    id: int
    name: str
    value: int | None
    worst: int | None
    thresh: int | None
    raw_value: int
    raw_string: str
    when_failed: Literal["", "now", "past"] = ""

    @property
    def raw_count(self) -> int:
        """The counter a person means by "the raw value".

        smartctl's decoded string leads with the real figure ("31 (Min/Max 25/32)",
        "1369 (143 119 0)", "12345h+07m"); the 48-bit ``raw.value`` packs several
        counters on some vendors (Seagate), so only its low 32 bits are trusted.
        """
        text = self.raw_string.strip()
        if text.lower().startswith("0x"):
            try:
                return int(text.split()[0], 16) & 0xFFFF_FFFF
            except ValueError:
                pass
        match = re.match(r"\d{1,18}", text)
        if match:
            return int(match.group())
        return self.raw_value & 0xFFFF_FFFF


@dataclass(frozen=True)
class NvmeHealth:
    """The NVMe SMART/Health Information log page (02h)."""

    critical_warning: int | None = None
    temperature_c: int | None = None
    available_spare: int | None = None
    available_spare_threshold: int | None = None
    percentage_used: int | None = None
    data_units_read: int | None = None
    data_units_written: int | None = None
    power_cycles: int | None = None
    power_on_hours: int | None = None
    unsafe_shutdowns: int | None = None
    media_errors: int | None = None
    error_log_entries: int | None = None

    @property
    def data_written_bytes(self) -> int | None:
        # An NVMe "data unit" is 1000 blocks of 512 bytes (NVMe Base Spec, log 02h).
        if self.data_units_written is None:
            return None
        written = self.data_units_written * 512_000
        return written if written <= INT64_MAX else None


@dataclass(frozen=True)
class SelfTestEntry:
    """One self-test log row; ``read_failure`` marks a test the medium failed."""

    description: str
    status: str
    lifetime_hours: int | None
    read_failure: bool


@dataclass
class SmartData:
    """Everything the verdict needs from one smartctl run, whatever its format."""

    source: str
    format: Literal["json", "text"]
    protocol: Protocol | None = None
    device_type: str | None = None
    model: str | None = None
    serial: str | None = None
    firmware: str | None = None
    capacity_bytes: int | None = None
    rotation_rate: int | None = None  # rpm; 0 means solid state
    smartctl_version: str | None = None
    exit_status: int | None = None
    smart_passed: bool | None = None
    attributes: tuple[AtaAttribute, ...] = ()
    nvme: NvmeHealth | None = None
    scsi_grown_defects: int | None = None
    scsi_uncorrected_errors: dict[str, int] = field(default_factory=dict)
    self_tests: tuple[SelfTestEntry, ...] = ()
    power_on_hours: int | None = None
    power_cycles: int | None = None
    temperature_c: int | None = None
    messages: tuple[str, ...] = ()
    raw_json: dict[str, Any] | None = None
    raw_text: str | None = None

    def attribute(self, attr_id: int) -> AtaAttribute | None:
        for attr in self.attributes:
            if attr.id == attr_id:
                return attr
        return None

    @property
    def has_smart_data(self) -> bool:
        """Whether there is anything to judge (not just an identity or an error)."""
        return (
            self.smart_passed is not None
            or bool(self.attributes)
            or self.nvme is not None
            or self.scsi_grown_defects is not None
            or bool(self.scsi_uncorrected_errors)
        )

    @property
    def unknown_usb_bridge(self) -> str | None:
        """smartctl's "Unknown USB bridge [...]" message, if it gave one."""
        for message in self.messages:
            if "unknown usb bridge" in message.lower():
                return message
        return None


# --------------------------------------------------------------------------- entry points


def parse_smartctl(text: str, *, source: str = "<input>") -> SmartData:
    """Parse smartctl output, JSON (``--json``) or text (``-x``/``-a``).

    Raises :class:`InputError` with a short reason when ``text`` is empty,
    truncated, binary, or not smartctl output at all.
    """
    if len(text) > MAX_INPUT_CHARS:
        raise InputError(f"{source}: too large to be smartctl output ({len(text)} characters)")
    stripped = text.strip().lstrip("\ufeff")
    if not stripped:
        raise InputError(f"{source}: empty input, no smartctl output")
    if _looks_binary(stripped):
        raise InputError(f"{source}: binary data, not smartctl output")
    if stripped[0] in "{[":
        return _parse_json(stripped, source)
    return _parse_text(text, source)


def read_smartctl_file(path: Path) -> SmartData:
    """Read a saved smartctl output file (any encoding a Windows or macOS build wrote)."""
    data = read_input_file(path, MAX_INPUT_BYTES, "smartctl output")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        # Windows builds write the console code page; its digit-grouping byte is
        # 0xA0 (no-break space), which latin-1 maps to U+00A0.
        text = data.decode("latin-1")
    return parse_smartctl(text, source=str(path))


def _looks_binary(text: str) -> bool:
    sample = text[:4096]
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\t\n\r\f\v")
    return "\x00" in sample or controls > len(sample) // 100 + 1


# --------------------------------------------------------------------------- JSON helpers


#: SMART counters are at most 64 bits wide; anything larger is garbage, not a reading
#: (and the report schema, like the server's database, holds 64-bit numbers).


def _plausible(number: int) -> int | None:
    return number if -INT64_MAX <= number <= INT64_MAX else None


def _int(value: object) -> int | None:
    """A JSON number or digit string as int; None for anything else or out of range."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return _plausible(value)
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer():
            return _plausible(int(value))
        return None
    if isinstance(value, str) and value.strip().isdigit() and len(value) < 40:
        return _plausible(int(value.strip()))
    return None


def _nonneg(value: object) -> int | None:
    number = _int(value)
    return number if number is not None and number >= 0 else None


def _str(value: object) -> str | None:
    if isinstance(value, str):
        value = value.strip()
        return value[:256] if value else None
    return None


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


# --------------------------------------------------------------------------- JSON


def _parse_json(text: str, source: str) -> SmartData:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.pos >= len(text) - 1 or exc.msg.startswith("Unterminated string"):
            reason = "truncated JSON (it ends early)"
        else:
            reason = f"invalid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        raise InputError(f"{source}: {reason}") from exc
    except (ValueError, RecursionError) as exc:
        raise InputError(f"{source}: invalid JSON ({type(exc).__name__})") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("smartctl"), dict):
        raise InputError(
            f"{source}: JSON, but not smartctl --json output (no 'smartctl' section)",
            hint="save the output of: smartctl -x --json /dev/DISK",
        )
    ctl = doc["smartctl"]
    version = _list(ctl.get("version"))
    data = SmartData(source=source, format="json", raw_json=doc)
    if version and all(_int(v) is not None for v in version):
        data.smartctl_version = ".".join(str(v) for v in version)[:64]
    data.exit_status = _nonneg(ctl.get("exit_status"))
    data.messages = tuple(
        msg for m in _list(ctl.get("messages")) if (msg := _str(_dict(m).get("string"))) is not None
    )

    device = _dict(doc.get("device"))
    protocol = _str(device.get("protocol"))
    data.device_type = _str(device.get("type"))
    data.protocol = _PROTOCOLS.get(protocol or "")
    data.model = _str(doc.get("model_name")) or _scsi_model(doc)
    data.serial = _str(doc.get("serial_number"))
    data.firmware = _str(doc.get("firmware_version")) or _str(doc.get("scsi_revision"))
    data.capacity_bytes = _nonneg(_dict(doc.get("user_capacity")).get("bytes")) or _nonneg(
        doc.get("nvme_total_capacity")
    )
    data.rotation_rate = _nonneg(doc.get("rotation_rate"))

    support = _dict(doc.get("smart_support"))
    if support.get("available") is False:
        data.messages = (*data.messages, "SMART support is: Unavailable - device lacks SMART")
    elif support.get("enabled") is False:
        data.messages = (*data.messages, "SMART is disabled on this drive (smartctl -s on)")
    status = doc.get("smart_status")
    if isinstance(status, dict) and isinstance(status.get("passed"), bool):
        data.smart_passed = status["passed"]

    data.power_on_hours = _nonneg(_dict(doc.get("power_on_time")).get("hours"))
    data.power_cycles = _nonneg(doc.get("power_cycle_count"))
    data.temperature_c = _int(_dict(doc.get("temperature")).get("current"))

    table = _dict(doc.get("ata_smart_attributes")).get("table")
    data.attributes = tuple(_json_attributes(_list(table)))
    if data.attributes and data.protocol is None:
        data.protocol = "ATA"

    log = doc.get("nvme_smart_health_information_log")
    if isinstance(log, dict):
        data.nvme = NvmeHealth(
            critical_warning=_nonneg(log.get("critical_warning")),
            temperature_c=_int(log.get("temperature")),
            available_spare=_nonneg(log.get("available_spare")),
            available_spare_threshold=_nonneg(log.get("available_spare_threshold")),
            percentage_used=_nonneg(log.get("percentage_used")),
            data_units_read=_nonneg(log.get("data_units_read")),
            data_units_written=_nonneg(log.get("data_units_written")),
            power_cycles=_nonneg(log.get("power_cycles")),
            power_on_hours=_nonneg(log.get("power_on_hours")),
            unsafe_shutdowns=_nonneg(log.get("unsafe_shutdowns")),
            media_errors=_nonneg(log.get("media_errors")),
            error_log_entries=_nonneg(log.get("num_err_log_entries")),
        )
        data.protocol = data.protocol or "NVMe"

    if "scsi_grown_defect_list" in doc:
        data.scsi_grown_defects = _nonneg(doc.get("scsi_grown_defect_list"))
    counters = _dict(doc.get("scsi_error_counter_log"))
    for kind in ("read", "write", "verify"):
        count = _nonneg(_dict(counters.get(kind)).get("total_uncorrected_errors"))
        if count is not None:
            data.scsi_uncorrected_errors[kind] = count
    if data.protocol is None and (data.scsi_grown_defects is not None or counters):
        data.protocol = "SCSI"
    if data.power_on_hours is None and data.nvme is not None:
        data.power_on_hours = data.nvme.power_on_hours

    data.self_tests = tuple(_json_self_tests(doc))
    return data


def _scsi_model(doc: Mapping[str, Any]) -> str | None:
    model = _str(doc.get("scsi_model_name"))
    if model:
        return model
    parts = [_str(doc.get("scsi_vendor")), _str(doc.get("scsi_product"))]
    joined = " ".join(p for p in parts if p)
    return joined or None


def _json_attributes(table: list[Any]) -> Iterator[AtaAttribute]:
    for row in table:
        row = _dict(row)
        attr_id = _int(row.get("id"))
        if attr_id is None or not 0 < attr_id < 256:
            continue
        raw = _dict(row.get("raw"))
        when = _str(row.get("when_failed")) or ""
        yield AtaAttribute(
            id=attr_id,
            name=_str(row.get("name")) or f"Attribute_{attr_id}",
            value=_nonneg(row.get("value")),
            worst=_nonneg(row.get("worst")),
            thresh=_nonneg(row.get("thresh")),
            raw_value=_nonneg(raw.get("value")) or 0,
            raw_string=_str(raw.get("string")) or str(_nonneg(raw.get("value")) or 0),
            when_failed=_when_failed(when),
        )


def _when_failed(text: str) -> Literal["", "now", "past"]:
    lowered = text.lower()
    if "now" in lowered:
        return "now"
    if "past" in lowered:
        return "past"
    return ""


def _json_self_tests(doc: Mapping[str, Any]) -> Iterator[SelfTestEntry]:
    ata_log = _dict(doc.get("ata_smart_self_test_log"))
    for part in ("extended", "standard"):
        rows = _list(_dict(ata_log.get(part)).get("table"))
        for row in rows:
            row = _dict(row)
            status = _dict(row.get("status"))
            text = _str(status.get("string")) or ""
            value = _nonneg(status.get("value"))
            yield SelfTestEntry(
                description=_str(_dict(row.get("type")).get("string")) or "",
                status=text,
                lifetime_hours=_nonneg(row.get("lifetime_hours")),
                read_failure="read failure" in text.lower()
                or (value is not None and value >> 4 == 7),
            )
        if rows:
            return  # the extended log repeats the standard one
    for row in _list(_dict(doc.get("nvme_self_test_log")).get("table")):
        row = _dict(row)
        result = _dict(row.get("self_test_result"))
        text = _str(result.get("string")) or ""
        yield SelfTestEntry(
            description=_str(_dict(row.get("self_test_code")).get("string")) or "",
            status=text,
            lifetime_hours=_nonneg(row.get("power_on_hours")),
            # 6 and 7: completed with failed segments (NVMe Base Spec, log 06h)
            read_failure=_nonneg(result.get("value")) in (6, 7) or "failed segment" in text,
        )


# --------------------------------------------------------------------------- text

_HEADER = re.compile(r"^smartctl\s+(\S+)\s", re.MULTILINE)
_FIELD = re.compile(r"^([A-Za-z][A-Za-z0-9 /.()_-]*?):\s+(.*?)\s*$")
#: digit-grouping characters seen in the wild: comma, dot, (no-break) space,
#: apostrophe, and the replacement char a mis-decoded 0xA0 becomes.
_GROUP = " ,.'\u00a0\u202f\u2019\ufffd"
_NUMBER = re.compile(rf"^\d{{1,3}}(?:[{_GROUP}]\d{{3}})+(?!\d)|^\d+")
# -a/--all: "  5 Reallocated_Sector_Ct 0x0033 100 100 010 Pre-fail Always - 0"
_ATTR_OLD = re.compile(
    r"^\s*(\d{1,3})\s+(\S+)\s+0x[0-9a-fA-F]{4}\s+(\d+|---)\s+(\d+|---)\s+(\d+|---)"
    r"\s+\S+\s+\S+\s+(\S+)\s+(.*?)\s*$"
)
# -x (brief format): "  5 Reallocated_Sector_Ct PO--CK 100 100 010 - 0"
_ATTR_BRIEF = re.compile(
    r"^\s*(\d{1,3})\s+(\S+)\s+([A-Z+-]{6,7})\s+(\d+|---)\s+(\d+|---)\s+(\d+|---)"
    r"\s+(\S+)\s+(.*?)\s*$"
)


def _count(text: str) -> int | None:
    """A count as printed by any smartctl build: "3,441", "10.188", "500 107 862 016"."""
    match = _NUMBER.match(text.strip())
    if not match:
        return None
    digits = "".join(ch for ch in match.group() if ch.isdigit())
    return int(digits) if 0 < len(digits) <= 18 else None


def _parse_text(text: str, source: str) -> SmartData:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    header = _HEADER.search(text[:2000])
    has_section = "=== START OF" in text
    if header is None and not has_section:
        raise InputError(
            f"{source}: not smartctl output (no 'smartctl' header line, no '=== START OF' section)",
            hint="save the output of: smartctl -x --json /dev/DISK",
        )
    lines = text.split("\n")
    data = SmartData(source=source, format="text", raw_text=text)
    if header is not None:
        data.smartctl_version = header.group(1)[:64]
    body = [
        line
        for line in lines
        if line.strip() and not line.startswith(("smartctl ", "Copyright (C)"))
    ]
    if not has_section and not any(":" in line for line in body):
        raise InputError(f"{source}: smartctl output ends after its header (truncated?)")

    fields: dict[str, str] = {}
    for line in lines:
        match = _FIELD.match(line)
        if match:
            fields.setdefault(match.group(1).strip().lower(), match.group(2))
    data.messages = tuple(
        line.strip()
        for line in body
        if re.search(
            r"unknown usb bridge|unable to detect device type|smartctl open device"
            r"|smart support is:\s+unavailable|device lacks smart|smart disabled",
            line,
            re.I,
        )
        or line.lstrip().startswith(("Read Device Identity failed", "Warning:"))
    )

    data.model = _field(fields, "device model", "model number")
    vendor, product = _field(fields, "vendor"), _field(fields, "product")
    if data.model is None and product:
        data.model = f"{vendor} {product}" if vendor else product
    data.serial = _field(fields, "serial number")
    data.firmware = _field(fields, "firmware version", "revision")
    for key in ("user capacity", "total nvm capacity", "namespace 1 size/capacity"):
        if key in fields:
            data.capacity_bytes = _count(fields[key].split("[")[0].replace("bytes", ""))
            if data.capacity_bytes:
                break
    rotation = fields.get("rotation rate", "")
    if "solid state" in rotation.lower():
        data.rotation_rate = 0
    elif rotation:
        data.rotation_rate = _count(rotation)

    verdict = fields.get("smart overall-health self-assessment test result")
    if verdict is not None:
        word = verdict.strip().upper()
        # "UNKNOWN!" (status not supported) says nothing either way
        data.smart_passed = True if word.startswith("PASSED") else False if "FAIL" in word else None
    scsi_status = fields.get("smart health status")
    if scsi_status is not None and data.smart_passed is None:
        data.smart_passed = scsi_status.strip().upper() == "OK"

    data.attributes = tuple(_text_attributes(lines))
    if "smart/health information (nvme log 0x02" in text.lower():
        data.nvme = _text_nvme(fields)
    if "elements in grown defect list" in fields:
        data.scsi_grown_defects = _count(fields["elements in grown defect list"])
    for line in lines:
        match = re.match(r"^(read|write|verify):\s+(.*\S)\s*$", line)
        if match:
            count = _count(match.group(2).split()[-1])
            if count is not None:
                data.scsi_uncorrected_errors[match.group(1)] = count

    if data.nvme is not None or "model number" in fields or "nvme version" in fields:
        data.protocol = "NVMe"
    elif data.attributes or "device model" in fields or "ata version is" in fields:
        data.protocol = "ATA"
    elif (
        "product" in fields
        or "smart health status" in fields
        or data.scsi_grown_defects is not None
    ):
        data.protocol = "SCSI"

    if data.nvme is not None:
        data.power_on_hours = data.nvme.power_on_hours
        data.power_cycles = data.nvme.power_cycles
        data.temperature_c = data.nvme.temperature_c
    else:
        hours = data.attribute(9)
        cycles = data.attribute(12)
        temp = data.attribute(194) or data.attribute(190)
        data.power_on_hours = hours.raw_count if hours else None
        data.power_cycles = cycles.raw_count if cycles else None
        data.temperature_c = temp.raw_count if temp else None
        accumulated = re.search(r"^Accumulated power on time, hours:minutes (\d{1,9})", text, re.M)
        if data.power_on_hours is None and accumulated:
            data.power_on_hours = int(accumulated.group(1))
    data.self_tests = tuple(_text_self_tests(lines))
    return data


def _field(fields: Mapping[str, str], *keys: str) -> str | None:
    for key in keys:
        value = fields.get(key)
        if value:
            return value.strip()[:256] or None
    return None


def _text_attributes(lines: list[str]) -> Iterator[AtaAttribute]:
    in_table = False
    for line in lines:
        if line.startswith("ID# ATTRIBUTE_NAME"):
            in_table = True
            continue
        if not in_table:
            continue
        if not line.strip():
            in_table = False
            continue
        match = _ATTR_OLD.match(line) or _ATTR_BRIEF.match(line)
        if match is None:
            continue  # the -x legend lines ("||||||_ K auto-keep")
        attr_id = int(match.group(1))
        if not 0 < attr_id < 256:
            continue
        if match.re is _ATTR_OLD:
            name, value, worst, thresh, when, raw = (match.group(i) for i in range(2, 8))
        else:
            name, _, value, worst, thresh, when, raw = (match.group(i) for i in range(2, 9))
        # smartctl prints raw values without digit grouping, whatever the locale
        raw_first = re.match(r"\d{1,18}", raw)
        yield AtaAttribute(
            id=attr_id,
            name=name,
            value=_count(value),
            worst=_count(worst),
            thresh=_count(thresh),
            raw_value=int(raw_first.group()) if raw_first else 0,
            raw_string=raw,
            when_failed=_when_failed("" if when == "-" else when),
        )


_NVME_FIELDS = {
    "critical_warning": "critical warning",
    "temperature_c": "temperature",
    "available_spare": "available spare",
    "available_spare_threshold": "available spare threshold",
    "percentage_used": "percentage used",
    "data_units_read": "data units read",
    "data_units_written": "data units written",
    "power_cycles": "power cycles",
    "power_on_hours": "power on hours",
    "unsafe_shutdowns": "unsafe shutdowns",
    "media_errors": "media and data integrity errors",
    "error_log_entries": "error information log entries",
}


def _text_nvme(fields: Mapping[str, str]) -> NvmeHealth:
    values: dict[str, int | None] = {}
    for attr, key in _NVME_FIELDS.items():
        raw = fields.get(key)
        if raw is None:
            values[attr] = None
        elif raw.strip().lower().startswith("0x"):
            try:
                values[attr] = int(raw.split()[0], 16)
            except ValueError:
                values[attr] = None
        else:
            values[attr] = _count(raw)
    return NvmeHealth(**values)


def _text_self_tests(lines: list[str]) -> Iterator[SelfTestEntry]:
    section: Literal["", "ata", "nvme"] = ""
    for line in lines:
        if line.startswith("SMART Self-test log") or line.startswith(
            "SMART Extended Self-test Log"
        ):
            section = "ata"
            continue
        if line.startswith("Self-test Log (NVMe Log 0x06)"):
            section = "nvme"
            continue
        if not section:
            continue
        if not line.strip():
            section = ""
            continue
        cells = re.split(r"\s{2,}", line.strip())
        if section == "ata" and line.startswith("#") and len(cells) >= 4:
            status = cells[2]
            yield SelfTestEntry(
                description=cells[1],
                status=status,
                lifetime_hours=_count(cells[4]) if len(cells) > 4 else None,
                read_failure="read failure" in status.lower(),
            )
        elif section == "nvme" and cells[0].isdigit() and len(cells) >= 3:
            status = cells[2]
            yield SelfTestEntry(
                description=cells[1],
                status=status,
                lifetime_hours=_count(cells[3]) if len(cells) > 3 else None,
                read_failure="failed segment" in status.lower(),
            )
