"""Battery verdict rules: thresholds, cycles, odd values, policy overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.health.battery import judge_battery, load_battery_file
from agent.health.battery_parse import BatteryReading, parse_battery_text
from agent.policy import BatteryPolicy, load_policy
from agent.report.schema import Battery, BatteryVerdict

BATTERY = Path(__file__).parent.parent / "fixtures" / "battery"


@pytest.fixture(scope="module")
def policy() -> BatteryPolicy:
    return load_policy().battery


def uevent(**fields: str) -> BatteryReading:
    text = "POWER_SUPPLY_NAME=BAT0\nPOWER_SUPPLY_TYPE=Battery\n" + "".join(
        f"POWER_SUPPLY_{k.upper()}={v}\n" for k, v in fields.items()
    )
    (reading,) = parse_battery_text(text)
    return reading


def codes(battery: Battery) -> set[str]:
    return {r.code for r in battery.reasons}


@pytest.mark.parametrize(
    ("full", "verdict", "severity"),
    [
        ("80000000", "good", "info"),  # exactly 80 %: good (at or above)
        # 79.99 % is shown as 80.0 (one decimal) and judged on what is shown, so good.
        ("79990000", "good", "info"),
        ("79940000", "worn", "warning"),  # 79.9 %
        ("60000000", "worn", "warning"),  # exactly 60 %: worn
        ("59900000", "bad", "error"),
        ("0", "bad", "error"),  # a pack that holds nothing
    ],
)
def test_health_thresholds(full: str, verdict: str, severity: str, policy: BatteryPolicy) -> None:
    reading = uevent(energy_full=full, energy_full_design="100000000", cycle_count="10")
    battery = judge_battery(reading, policy)
    health = next(r for r in battery.reasons if r.code == "battery.health")
    assert battery.verdict == BatteryVerdict(verdict)
    assert health.severity == severity
    assert health.value == battery.health_percent
    assert codes(battery) == {"battery.health"}


def test_cycles_at_limit_make_a_healthy_battery_bad(policy: BatteryPolicy) -> None:
    reading = uevent(energy_full="95000000", energy_full_design="100000000", cycle_count="1000")
    battery = judge_battery(reading, policy)
    assert battery.verdict == BatteryVerdict.BAD
    assert battery.health_percent == 95.0
    hit = next(r for r in battery.reasons if r.code == "battery.cycles")
    assert (hit.value, hit.severity) == (1000, "error")
    below = judge_battery(
        uevent(energy_full="95000000", energy_full_design="100000000", cycle_count="999"), policy
    )
    assert below.verdict == BatteryVerdict.GOOD
    assert "battery.cycles" not in codes(below)


def test_cycles_bad_even_without_capacity_data(policy: BatteryPolicy) -> None:
    battery = judge_battery(uevent(cycle_count="1500"), policy)
    assert battery.verdict == BatteryVerdict.BAD
    assert codes(battery) == {"battery.cycles", "battery.no_capacity_data"}


@pytest.mark.parametrize("raw", ["0", "-1", "(not supported)", "N/A"])
def test_cycle_count_unknown(raw: str, policy: BatteryPolicy) -> None:
    reading = uevent(energy_full="90", energy_full_design="100", cycle_count=raw)
    battery = judge_battery(reading, policy)
    assert battery.cycle_count is None
    unknown = next(r for r in battery.reasons if r.code == "battery.cycles_unknown")
    assert unknown.value == raw
    assert unknown.severity == "info"
    assert battery.verdict == BatteryVerdict.GOOD


def test_charge_used_when_energy_missing_and_energy_preferred(policy: BatteryPolicy) -> None:
    both = uevent(
        energy_full="50000000",
        energy_full_design="100000000",
        charge_full="4000000",
        charge_full_design="4000000",
    )
    battery = judge_battery(both, policy)
    assert battery.health_percent == 50.0
    assert "energy_full" in next(r for r in battery.reasons if r.code == "battery.health").message
    charge = judge_battery(uevent(charge_full="3000000", charge_full_design="4000000"), policy)
    assert charge.health_percent == 75.0
    assert charge.verdict == BatteryVerdict.WORN


def test_design_zero_is_unknown_with_reason(policy: BatteryPolicy) -> None:
    battery = judge_battery(uevent(energy_full="40000000", energy_full_design="0"), policy)
    assert battery.verdict == BatteryVerdict.UNKNOWN
    assert battery.health_percent is None
    assert "battery.design_zero" in codes(battery)


def test_design_zero_falls_back_to_charge(policy: BatteryPolicy) -> None:
    reading = uevent(
        energy_full="4", energy_full_design="0", charge_full="3600000", charge_full_design="4000000"
    )
    battery = judge_battery(reading, policy)
    assert battery.health_percent == 90.0
    assert battery.verdict == BatteryVerdict.GOOD


@pytest.mark.parametrize("bad", ["-5000000", "abc", "12.5.3", "1e9", "40000000 [mAh]"])
def test_unusable_values_give_unknown_with_reasons(bad: str, policy: BatteryPolicy) -> None:
    battery = judge_battery(uevent(energy_full=bad, energy_full_design="50000000"), policy)
    assert battery.verdict == BatteryVerdict.UNKNOWN
    assert battery.energy_full_uwh is None
    assert {"battery.invalid_value", "battery.no_capacity_data"} <= codes(battery)
    invalid = next(r for r in battery.reasons if r.code == "battery.invalid_value")
    assert "energy_full" in invalid.message


def test_implausible_health_is_unknown(policy: BatteryPolicy) -> None:
    battery = judge_battery(uevent(energy_full="90000000", energy_full_design="100"), policy)
    assert battery.verdict == BatteryVerdict.UNKNOWN
    assert "battery.implausible" in codes(battery)
    assert battery.health_percent is not None and battery.health_percent > 150


def test_absent_battery_is_not_judged(policy: BatteryPolicy) -> None:
    reading = uevent(present="0", energy_full="10", energy_full_design="100")
    battery = judge_battery(reading, policy)
    assert battery.verdict == BatteryVerdict.UNKNOWN
    assert "battery.not_present" in codes(battery)


def test_peripheral_is_flagged(policy: BatteryPolicy) -> None:
    battery = judge_battery(uevent(scope="Device", capacity="40"), policy)
    assert "battery.peripheral" in codes(battery)


def test_name_argument_wins(policy: BatteryPolicy) -> None:
    battery = judge_battery(uevent(energy_full="1", energy_full_design="2"), policy, name="BAT9")
    assert battery.name == "BAT9"


def test_policy_override_changes_the_verdict(tmp_path: Path) -> None:
    strict = tmp_path / "policy.toml"
    strict.write_text("[battery]\ngood_percent = 90\ncycles_bad = 80\n")
    default = load_policy().battery
    custom = load_policy(strict).battery
    fastfetch = load_battery_file(BATTERY / "dell_smp_atl_pn1vn08_uevent_84pct_fastfetch118.txt")[0]
    assert judge_battery(fastfetch, default).verdict == BatteryVerdict.GOOD
    worn = judge_battery(fastfetch, custom)
    assert worn.verdict == BatteryVerdict.WORN
    assert "90 %" in next(r for r in worn.reasons if r.code == "battery.health").message
    smapi = load_battery_file(
        BATTERY / "thinkpad_t410_sony_42T4795_tlpstat_smapi_cycles89_99pct_tlp182.txt"
    )[0]
    assert judge_battery(smapi, default).verdict == BatteryVerdict.GOOD
    cycled = judge_battery(smapi, custom)
    assert cycled.verdict == BatteryVerdict.BAD
    assert "battery.cycles" in codes(cycled)


def test_many_bad_values_stay_within_schema_bounds(policy: BatteryPolicy) -> None:
    attrs = {
        "energy_full": "x",
        "energy_full_design": "y",
        "charge_full": "-1",
        "charge_full_design": "z",
        "voltage_min_design": "w",
        "cycle_count": "1.5",
    }
    text = "".join(f"{k}={v}\n" for k, v in attrs.items()) + "type=Battery\n"
    (reading,) = parse_battery_text(text)
    battery = judge_battery(reading, policy)
    assert battery.verdict == BatteryVerdict.UNKNOWN
    assert len([r for r in battery.reasons if r.code == "battery.invalid_value"]) == 6
    Battery.model_validate(battery.model_dump(mode="json"))
