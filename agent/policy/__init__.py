"""Station policy: the thresholds behind verdicts and grades, from TOML.

The package ships ``default.toml``; a station override only lists what it
changes and is merged over the default key by key.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agent.tomlfile import invalid, read_toml


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DiskPolicy(_Section):
    reallocated_failing: int = Field(ge=1)
    pending_failing: int = Field(ge=1)
    offline_uncorrectable_failing: int = Field(ge=1)
    reported_uncorrect_failing: int = Field(ge=1)
    nvme_percentage_used_worn: int = Field(ge=0)
    nvme_media_errors_failing: int = Field(ge=1)
    ssd_life_left_worn: int = Field(ge=0, le=100)
    ssd_life_attributes: tuple[int, ...]
    scsi_grown_defects_failing: int = Field(ge=1)
    scsi_uncorrected_errors_failing: int = Field(default=1, ge=1)
    ignored_attributes: tuple[int, ...] = ()


class BatteryPolicy(_Section):
    good_percent: float = Field(gt=0)
    worn_percent: float = Field(ge=0)
    cycles_bad: int = Field(ge=1)


class RepairCost(_Section):
    battery: int = Field(ge=0)
    disk: int = Field(ge=0)
    ram: int = Field(ge=0)
    keyboard: int = Field(ge=0)
    screen: int = Field(ge=0)
    cosmetic: int = Field(ge=0)
    touchpad: int = Field(ge=0)
    other_test: int = Field(ge=0)
    lock: int = Field(default=1, ge=0)


class GradingPolicy(_Section):
    parts_threshold: int = Field(ge=1)
    ram_lend_gib: float = Field(ge=0)
    ram_a_gib: float = Field(ge=0)
    ram_recycle_gib: float = Field(ge=0)
    storage_lend_gb: float = Field(ge=0)
    storage_a_gb: float = Field(ge=0)
    ssd_for_a: bool
    cpu_required_flags: tuple[str, ...]
    cosmetic_a_min: int = Field(ge=1, le=9)
    cosmetic_lend_min: int = Field(ge=1, le=9)
    key_tests: tuple[str, ...]
    repair_cost: RepairCost


#: What a finding does to the grade: never lend, repair list, note (B), or nothing.
Action = Literal["block", "repair", "note", "ignore"]


class LocksPolicy(_Section):
    firmware_password: Action = "block"
    theft_recovery: Action = "block"
    asset_tag: Action = "note"
    secure_boot_off: Action = "ignore"
    amt_provisioned: Action = "block"


#: The device checks, in the order the operator sees them.
DEVICE_CHECKS = ("camera", "audio", "wifi", "bluetooth", "charging", "thermal")
#: Every check the grading judges by ``[checks]``: the device checks and the memory test.
GRADED_CHECKS = (*DEVICE_CHECKS, "memory_test", "usb_ports")


class ChecksPolicy(_Section):
    camera: Action = "repair"
    audio: Action = "repair"
    wifi: Action = "repair"
    bluetooth: Action = "note"
    charging: Action = "repair"
    thermal: Action = "repair"
    #: a USB socket that saw no stick on the port map
    usb_ports: Action = "repair"
    skip: tuple[
        Literal["camera", "audio", "wifi", "bluetooth", "charging", "thermal", "usb_ports"], ...
    ] = ()
    thermal_limit_c: float = Field(default=90, gt=0, le=150)
    memory_test: Action = "block"
    #: MiB the optional memory pattern test covers; 0 = not run
    memory_test_mib: int = Field(default=0, ge=0, le=1 << 20)
    #: seconds of CPU stress on all cores while sensors are sampled; 0 = not run
    thermal_stress_s: int = Field(default=0, ge=0, le=3600)

    def action(self, check: str) -> str:
        return str(getattr(self, check))

    def enabled(self) -> tuple[str, ...]:
        return tuple(c for c in DEVICE_CHECKS if c not in self.skip)


class HelpdeskPolicy(_Section):
    """What the resident's summary says a new battery costs, in money and in days (issue #19).

    Each organisation sets its own prices and turnaround in its policy file.
    """

    #: watts a laptop draws in ordinary use (browsing, a video call): turns Wh into hours
    typical_draw_w: float = Field(default=8.0, gt=0, le=200)
    battery_price_low_eur: int = Field(default=40, ge=0)
    battery_price_high_eur: int = Field(default=90, ge=0)
    #: working days from ordering to fitting a new battery
    battery_turnaround_days: int = Field(default=5, ge=0, le=365)


class Policy(_Section):
    version: str
    disk: DiskPolicy
    battery: BatteryPolicy
    grading: GradingPolicy
    locks: LocksPolicy = LocksPolicy()
    checks: ChecksPolicy = ChecksPolicy()
    helpdesk: HelpdeskPolicy = HelpdeskPolicy()


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _default_data() -> dict[str, Any]:
    text = resources.files("agent.policy").joinpath("default.toml").read_text()
    return tomllib.loads(text)


def load_policy(override: Path | None = None) -> Policy:
    """The shipped policy, with ``override`` (a TOML file) merged over it."""
    data = _default_data()
    if override is not None:
        data = _merge(data, read_toml(override, "policy file"))
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        raise invalid(override, "policy value", exc) from exc
