"""How a report finds its device again: DMI serial, else DMI UUID, else asset tag.

Firmware vendors leave placeholders in DMI ("To Be Filled By O.E.M.", all-zero
UUIDs); two laptops sharing such a value are not one device, so placeholders
never identify anything.
"""

from __future__ import annotations

import re
import uuid

from agent.report.schema import Report

_PLACEHOLDERS = {
    "",
    "0",
    "none",
    "null",
    "n/a",
    "na",
    "not specified",
    "not applicable",
    "not available",
    "unknown",
    "default string",
    "to be filled by o.e.m.",
    "to be filled by oem",
    "system serial number",
    "chassis serial number",
    "serial number",
    "base board serial number",
    "0123456789",
    "123456789",
    "1234567890",
    "invalid",
    "oem",
    "xxxxxxxxxx",
}
_PLACEHOLDER_UUIDS = {
    "00000000-0000-0000-0000-000000000000",
    "ffffffff-ffff-ffff-ffff-ffffffffffff",
    "03000200-0400-0500-0006-000700080009",
}


def _norm(value: str | None) -> str:
    return re.sub(r"\s+", " ", (value or "").replace("\x00", "")).strip()


def usable_serial(value: str | None) -> str:
    """The serial if it can identify a machine, else ""."""
    serial = _norm(value)
    if serial.lower() in _PLACEHOLDERS or len(set(serial.lower())) == 1:
        return ""
    return serial


def usable_uuid(value: str | None) -> str:
    text = _norm(value).lower()
    try:
        parsed = str(uuid.UUID(text))
    except ValueError:
        return ""
    return "" if parsed in _PLACEHOLDER_UUIDS else parsed


def identity_key(report: Report) -> str:
    """A stable key for the laptop the report is about."""
    dev = report.device
    serial = usable_serial(dev.serial)
    if serial:
        return f"serial:{_norm(dev.vendor).lower()}:{serial}"
    dmi_uuid = usable_uuid(dev.uuid)
    if dmi_uuid:
        return f"uuid:{dmi_uuid}"
    tag = _norm(report.asset_tag)
    if tag:
        return f"asset:{tag}"
    # Nothing identifies this laptop: it becomes a device of its own.
    return f"report:{report.report_id}"
