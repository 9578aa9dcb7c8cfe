"""Station policy: the thresholds behind verdicts and grades, from TOML.

The package ships ``default.toml``; a station override only lists what it
changes and is merged over the default key by key.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Any, Literal, TypedDict

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agent.report.schema import CheckKind, CheckOutcome, Effect
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
    repair_cost: RepairCost


#: What a finding does to the grade: never lend, repair list, note (B), or nothing.
Action = Effect


class OutcomeEffects(_Section):
    """What each outcome of one check does; a pass never does anything."""

    fail: Action
    not_available: Action = "ignore"
    operator_skipped: Action = "ignore"
    policy_skipped: Action = "ignore"

    def effect(self, outcome: CheckOutcome) -> Action:
        if outcome is CheckOutcome.PASS:
            return "ignore"
        value: Action = getattr(self, outcome.value)
        return value


class EffectsPolicy(_Section):
    """The one place that says what every check's every outcome does to the grade."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    keyboard: OutcomeEffects
    screen: OutcomeEffects
    touchpad: OutcomeEffects
    camera: OutcomeEffects
    audio: OutcomeEffects
    wifi: OutcomeEffects
    bluetooth: OutcomeEffects
    usb_ports: OutcomeEffects
    charging: OutcomeEffects
    thermal: OutcomeEffects
    memory_test: OutcomeEffects
    firmware_password: OutcomeEffects
    secure_boot: OutcomeEffects
    theft_recovery: OutcomeEffects
    amt: OutcomeEffects
    asset_tag: OutcomeEffects

    def effect(self, kind: CheckKind, outcome: CheckOutcome) -> Action:
        rules: OutcomeEffects = getattr(self, kind.value)
        return rules.effect(outcome)


#: The device checks, in the order the operator sees them.
DEVICE_CHECKS = ("camera", "audio", "wifi", "bluetooth", "charging", "thermal")
#: The operator's own tests, each a screen of its own.
OPERATOR_TESTS = ("keyboard", "screen", "touchpad")
#: The firmware locks (agent.checks.locks), found by the probes, never asked.
LOCK_CHECKS = ("firmware_password", "secure_boot", "theft_recovery", "amt", "asset_tag")


class ChecksPolicy(_Section):
    #: Checks this programme does not do at all: not asked, not run, graded as [effects] says
    skip: tuple[CheckKind, ...] = ()
    thermal_limit_c: float = Field(default=90, gt=0, le=150)
    #: a working Wi-Fi adapter whose scan sees no network: "warn" (shown as not measured,
    #: graded as [effects] wifi not_available says: a bench may have no Wi-Fi around) or
    #: "fail" (where the bench always has a network in reach)
    wifi_no_networks: Literal["warn", "fail"] = "warn"
    #: MiB the optional memory pattern test covers; 0 = not run
    memory_test_mib: int = Field(default=0, ge=0, le=1 << 20)
    #: seconds the memory test may take at most (it stops there and says how far it got)
    memory_test_s: int = Field(default=120, ge=1, le=86_400)
    #: seconds of CPU stress on all cores while sensors are sampled; 0 = not run
    thermal_stress_s: int = Field(default=0, ge=0, le=3600)
    #: seconds the station gives the volunteer to pull the charger out (the charging check
    #: then sees that the laptop notices); 0 = the unplug is not asked
    charger_unplug_s: int = Field(default=20, ge=0, le=600)

    def skips(self, check: str) -> bool:
        return check in {k.value for k in self.skip}

    def enabled(self) -> tuple[str, ...]:
        return tuple(c for c in DEVICE_CHECKS if not self.skips(c))


class BatteryCost(TypedDict):
    low: int
    high: int
    days: int


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

    def battery_cost(self) -> BatteryCost:
        """The catalogue's ``low``/``high``/``days`` for a new battery (a range never inverted)."""
        low = self.battery_price_low_eur
        return {
            "low": low,
            "high": max(self.battery_price_high_eur, low),
            "days": self.battery_turnaround_days,
        }


class Policy(_Section):
    version: str
    disk: DiskPolicy
    battery: BatteryPolicy
    grading: GradingPolicy
    checks: ChecksPolicy = ChecksPolicy()
    helpdesk: HelpdeskPolicy = HelpdeskPolicy()
    effects: EffectsPolicy


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


#: Keys of the old [locks] section, by the check kind they now name in [effects].
_LEGACY_LOCKS = {
    "firmware_password": "firmware_password",
    "theft_recovery": "theft_recovery",
    "asset_tag": "asset_tag",
    "secure_boot_off": "secure_boot",
    "amt_provisioned": "amt",
}
_LEGACY_CHECKS = (*DEVICE_CHECKS, "usb_ports", "memory_test")


def _legacy(data: dict[str, Any]) -> dict[str, Any]:
    """An override written for the earlier layout, moved into [effects].

    ``[checks] camera = "note"`` and ``[locks] firmware_password = "note"`` said
    what a failure does; ``[grading] key_tests`` made a failed operator test a
    repair (else a note) and an untested one a note. Keys already under
    [effects] in the same file win.
    """
    data = {k: dict(v) if isinstance(v, dict) else v for k, v in data.items()}
    moved: dict[str, dict[str, Any]] = {}
    checks = data.get("checks")
    if isinstance(checks, dict):
        for name in _LEGACY_CHECKS:
            if isinstance(checks.get(name), str):
                moved.setdefault(name, {})["fail"] = checks.pop(name)
    locks = data.pop("locks", None)
    if isinstance(locks, dict):
        for key, value in locks.items():
            moved.setdefault(_LEGACY_LOCKS.get(str(key), str(key)), {})["fail"] = value
    grading = data.get("grading")
    if isinstance(grading, dict) and "key_tests" in grading:
        key_tests = grading.pop("key_tests")
        for name in ("keyboard", "screen"):
            listed = isinstance(key_tests, list) and name in key_tests
            moved.setdefault(name, {}).update(
                fail="repair" if listed else "note",
                operator_skipped="note" if listed else "ignore",
            )
    if moved:
        data["effects"] = _merge(moved, data.get("effects") or {})
    return data


def load_policy(override: Path | None = None) -> Policy:
    """The shipped policy, with ``override`` (a TOML file) merged over it."""
    data = _default_data()
    if override is not None:
        data = _merge(data, _legacy(read_toml(override, "policy file")))
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        raise invalid(override, "policy value", exc) from exc
