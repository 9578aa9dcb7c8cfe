"""Every real battery dump in tests/fixtures/battery, parsed and judged.

Expected values are the corpus table (tests/fixtures/battery/SOURCES.md),
checked by hand against each dump. Where we read the data differently from the
corpus, the row's comment says why.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from agent.health.battery import judge_battery, load_battery_file
from agent.policy import BatteryPolicy, load_policy
from agent.report.schema import Battery, BatteryVerdict

BATTERY = Path(__file__).parent.parent / "fixtures" / "battery"

UNKNOWN_CYCLES = "battery.cycles_unknown"

# file -> (format, health %, cycle_count, verdict, reason codes, index of the battery in the dump)
EXPECTED: dict[str, tuple[str, float | None, int | None, str, set[str]]] = {
    # No energy_full/charge_full nor design at all (an Android-style fuel gauge): nothing to judge.
    "android_like_no_design_capacity_sysfs_rustbattery_issue40.txt": (
        "sysfs-lines",
        None,
        None,
        "unknown",
        {"battery.no_capacity_data", UNKNOWN_CYCLES},
    ),
    "dell_samsungsdi_7xfjja2_upower_68pct_jc_fixture.txt": (
        "upower",
        68.5,
        None,
        "worn",
        {"battery.health", UNKNOWN_CYCLES},
    ),
    # cycle_count=0 on a pack at 97.8 %: Dell's driver does not count, so unknown, not zero.
    "dell_samsungsdi_m7r9677_uevent_98pct_cnx31.txt": (
        "uevent",
        97.8,
        None,
        "good",
        {"battery.health", UNKNOWN_CYCLES},
    ),
    "dell_smp_atl_pn1vn08_uevent_84pct_fastfetch118.txt": (
        "uevent",
        83.8,
        None,
        "good",
        {"battery.health", UNKNOWN_CYCLES},
    ),
    # upower says capacity 96.48 % while its own energy-full equals energy-full-design:
    # the energy figures win (100.0 %) and the mismatch is reported.
    "dell_xps15_smp_1p6kd54_upower_capacity_mismatch_yabar157.txt": (
        "upower",
        100.0,
        None,
        "good",
        {"battery.health", "battery.reported_mismatch", UNKNOWN_CYCLES},
    ),
    "dell_xps_lgc_t453x_tlpstat_charge_mah_97pct_tlp471.txt": (
        "tlp-stat",
        97.0,
        None,
        "good",
        {"battery.health", UNKNOWN_CYCLES},
    ),
    "hp_pabas0241231_sysfs_rustbattery_issue28.txt": (
        "sysfs-lines",
        95.1,
        None,
        "good",
        {"battery.health", UNKNOWN_CYCLES},
    ),
    "lenovo_ideapad_smp_l17m3pg1_upower_85pct_boostchanger2.txt": (
        "upower",
        84.8,
        None,
        "good",
        {"battery.health", UNKNOWN_CYCLES},
    ),
    "notebook_bat_generic_upower_85pct_jc_fixture.txt": (
        "upower",
        84.7,
        None,
        "good",
        {"battery.health", UNKNOWN_CYCLES},
    ),
    # The attribute files (energy_full 50.06 Wh -> 105.3 %) and the uevent (47.39 Wh -> 99.7 %)
    # come from different snapshots (energy_now, capacity and voltage differ too). We use the
    # uevent, a single consistent read of the driver, and say the sources disagree.
    "thinkpad_lgc_lnv45n1_sysfs_procfs_fixture.txt": (
        "sysfs-lines",
        99.7,
        None,
        "good",
        {"battery.health", "battery.sources_disagree", UNKNOWN_CYCLES},
    ),
    "thinkpad_sanyo_45N1173_tlpstat_101pct_tlp330.txt": (
        "tlp-stat",
        101.0,
        None,
        "good",
        {"battery.health", "battery.over_100", UNKNOWN_CYCLES},
    ),
    "thinkpad_smp_42T4977_uevent_worn_66pct_i3status186.txt": (
        "uevent",
        65.5,
        None,
        "worn",
        {"battery.health", UNKNOWN_CYCLES},
    ),
    # 79.2 % at only 88 cycles (an aftermarket pack): worn by capacity, cycles are no hit.
    "thinkpad_t410_sanyo_42T4763_tlpstat_smapi_cycles88_79pct_tlp853.txt": (
        "tlp-stat",
        79.2,
        88,
        "worn",
        {"battery.health"},
    ),
    "thinkpad_t410_sony_42T4795_tlpstat_smapi_cycles89_99pct_tlp182.txt": (
        "tlp-stat",
        98.6,
        89,
        "good",
        {"battery.health"},
    ),
    "thinkpad_t440p_sanyo_45N1779_upower_99pct_hobbsy.txt": (
        "upower",
        99.0,
        None,
        "good",
        {"battery.health", UNKNOWN_CYCLES},
    ),
    "thinkpad_t495s_lgc_5B10W139_tlpstat_cycle1_100pct_tlp566.txt": (
        "tlp-stat",
        100.0,
        1,
        "good",
        {"battery.health"},
    ),
    "thinkpad_t550_sanyo_45N1741_tlpstat_93pct_tlp300.txt": (
        "tlp-stat",
        92.7,
        None,
        "good",
        {"battery.health", UNKNOWN_CYCLES},
    ),
    "thinkpad_x1c6_lgc_01AV494_tlpstat_cycles69_101pct_tlp406.txt": (
        "tlp-stat",
        101.3,
        69,
        "good",
        {"battery.health", "battery.over_100"},
    ),
    # Battery 0 of this acpi -V dump; Battery 1 has no capacity line (tested below).
    "unknown_laptop_acpi_V_68pct_jc_fixture.txt": (
        "acpi",
        68.5,
        None,
        "worn",
        {"battery.health", UNKNOWN_CYCLES},
    ),
}


@pytest.fixture(scope="module")
def policy() -> BatteryPolicy:
    return load_policy().battery


def test_every_fixture_is_expected_and_has_a_source_row() -> None:
    files = {p.name for p in BATTERY.iterdir() if p.name != "SOURCES.md"}
    assert files == set(EXPECTED)
    assert len(files) >= 10
    sources = (BATTERY / "SOURCES.md").read_text()
    rows = dict(re.findall(r"^\| `([^`]+)` \|(.*)$", sources, re.M))
    assert set(rows) == files
    for name, row in rows.items():
        cells = [c.strip() for c in row.split("|")]
        source, license_ = cells[5], cells[7]
        assert source and license_, name


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_verdict(name: str, policy: BatteryPolicy) -> None:
    fmt, health, cycles, verdict, codes = EXPECTED[name]
    readings = load_battery_file(BATTERY / name)
    battery = judge_battery(readings[0], policy)
    assert isinstance(battery, Battery)
    assert readings[0].source_format == fmt
    assert battery.source_format == fmt
    if health is None:
        assert battery.health_percent is None
    else:
        assert battery.health_percent == pytest.approx(health, abs=0.05)
    assert battery.cycle_count == cycles
    assert battery.verdict == BatteryVerdict(verdict)
    assert {r.code for r in battery.reasons} == codes
    assert battery.raw, "the source fields travel with the verdict"
    # The report schema accepts it as is.
    Battery.model_validate(battery.model_dump(mode="json"))


def test_corpus_table_agrees_with_the_expectations() -> None:
    """The expected verdict column of SOURCES.md is the one asserted above."""
    sources = (BATTERY / "SOURCES.md").read_text()
    for line in sources.splitlines():
        match = re.match(r"^\| `([^`]+)` \|", line)
        if not match:
            continue
        cells = [c.strip() for c in line.split("|")[1:-1]]
        verdict = cells[5].strip("*")
        assert EXPECTED[match.group(1)][3] == verdict, match.group(1)


def test_units_are_converted_to_schema_units(policy: BatteryPolicy) -> None:
    def judged(name: str) -> Battery:
        return judge_battery(load_battery_file(BATTERY / name)[0], policy)

    upower = judged("dell_samsungsdi_7xfjja2_upower_68pct_jc_fixture.txt")
    assert (upower.energy_full_uwh, upower.energy_full_design_uwh) == (33_444_300, 48_840_000)
    assert upower.manufacturer == "Samsung SDI"
    assert upower.model_name == "DELL 7XFJJA2"
    assert upower.capacity_percent == 100
    assert upower.raw["capacity"] == "68.4773%"

    tlp_mah = judged("dell_xps_lgc_t453x_tlpstat_charge_mah_97pct_tlp471.txt")
    assert (tlp_mah.charge_full_uah, tlp_mah.charge_full_design_uah) == (8_253_000, 8_509_000)
    assert tlp_mah.energy_full_uwh is None
    assert tlp_mah.capacity_percent == 72
    assert tlp_mah.raw["/sys/class/power_supply/BAT0/cycle_count"] == "(not supported)"
    unknown = next(r for r in tlp_mah.reasons if r.code == UNKNOWN_CYCLES)
    assert unknown.value == "(not supported)"
    assert unknown.severity == "info"

    smapi = judged("thinkpad_t410_sanyo_42T4763_tlpstat_smapi_cycles88_79pct_tlp853.txt")
    assert (smapi.energy_full_uwh, smapi.energy_full_design_uwh) == (38_700_000, 48_840_000)
    assert smapi.manufacturer == "SANYO"
    assert smapi.model_name == "42T4763"

    uevent = judged("dell_smp_atl_pn1vn08_uevent_84pct_fastfetch118.txt")
    assert (uevent.charge_full_uah, uevent.charge_full_design_uah) == (3_750_000, 4_474_000)
    assert uevent.voltage_min_design_uv == 11_400_000
    assert uevent.serial == "2958"  # the uevent has " 2958": padding is not part of the serial
    assert uevent.raw["POWER_SUPPLY_SERIAL_NUMBER"] == " 2958"  # ... but raw stays verbatim
    assert uevent.technology == "Li-poly"
    assert uevent.name == "BAT0"

    acpi = judged("unknown_laptop_acpi_V_68pct_jc_fixture.txt")
    assert (acpi.charge_full_uah, acpi.charge_full_design_uah) == (3_013_000, 4_400_000)
    assert acpi.status == "Discharging"
    assert acpi.capacity_percent == 98


def test_acpi_second_battery_has_no_capacity_data(policy: BatteryPolicy) -> None:
    readings = load_battery_file(BATTERY / "unknown_laptop_acpi_V_68pct_jc_fixture.txt")
    assert [r.name for r in readings] == ["Battery 0", "Battery 1"]
    second = judge_battery(readings[1], policy)
    assert second.verdict == BatteryVerdict.UNKNOWN
    assert second.health_percent is None
    assert "battery.no_capacity_data" in {r.code for r in second.reasons}


def test_sysfs_and_uevent_disagreement_is_explained(policy: BatteryPolicy) -> None:
    (reading,) = load_battery_file(BATTERY / "thinkpad_lgc_lnv45n1_sysfs_procfs_fixture.txt")
    battery = judge_battery(reading, policy)
    assert battery.energy_full_uwh == 47_390_000
    disagree = [r for r in battery.reasons if r.code == "battery.sources_disagree"]
    assert len(disagree) == 1
    assert "50060000" in disagree[0].message and "47390000" in disagree[0].message
    # Both sources stay in raw.
    assert battery.raw["energy_full"] == "50060000"
    assert battery.raw["POWER_SUPPLY_ENERGY_FULL"] == "47390000"


def test_over_100_is_kept_and_flagged(policy: BatteryPolicy) -> None:
    name = "thinkpad_x1c6_lgc_01AV494_tlpstat_cycles69_101pct_tlp406.txt"
    battery = judge_battery(load_battery_file(BATTERY / name)[0], policy)
    assert battery.health_percent == pytest.approx(101.3, abs=0.05)
    flag = next(r for r in battery.reasons if r.code == "battery.over_100")
    assert flag.value == battery.health_percent
    assert "recalibrated" in flag.message
