"""Battery dump formats beyond the fixtures, and inputs that must fail cleanly."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.errors import InputError
from agent.health.battery import judge_battery, load_battery_file
from agent.health.battery_parse import parse_battery_text
from agent.policy import load_policy
from agent.report.schema import Battery, BatteryVerdict

BATTERY = Path(__file__).parent.parent / "fixtures" / "battery"
POLICY = load_policy().battery


def fixture_text(name: str) -> str:
    return (BATTERY / name).read_text()


# --------------------------------------------------------------------------- upower


def test_upower_localized_decimal_commas() -> None:
    text = fixture_text("dell_samsungsdi_7xfjja2_upower_68pct_jc_fixture.txt")
    localized = text.replace("33.4443", "33,4443").replace("48.84", "48,84")
    localized = localized.replace("68.4773%", "68,4773%").replace("12.446", "12,446")
    assert localized != text
    (reading,) = parse_battery_text(localized)
    battery = judge_battery(reading, POLICY)
    assert battery.energy_full_uwh == 33_444_300
    assert battery.health_percent == pytest.approx(68.5, abs=0.05)
    assert reading.reported_health_percent == pytest.approx(68.4773)
    assert battery.verdict == BatteryVerdict.WORN


UPOWER_DUMP = """\
Device: /org/freedesktop/UPower/devices/line_power_AC
  native-path:          AC
  power supply:         yes
  updated:              Fri 27 Nov 2026 10:00:00 UTC (5 seconds ago)
  has history:          no
  has statistics:       no
  line-power
    warning-level:       none
    online:              yes
    icon-name:          'ac-adapter-symbolic'

Device: /org/freedesktop/UPower/devices/battery_BAT0
  native-path:          BAT0
  vendor:               LGC
  model:                5B10W13930
  serial:               1234
  power supply:         yes
  updated:              Fri 27 Nov 2026 10:00:00 UTC (5 seconds ago)
  has history:          yes
  has statistics:       yes
  battery
    present:             yes
    rechargeable:        yes
    state:               charging
    warning-level:       none
    energy:              40,1 Wh
    energy-empty:        0 Wh
    energy-full:         45,6 Wh
    energy-full-design:  57 Wh
    energy-rate:         12,3 W
    voltage:             12,1 V
    charge-cycles:       412
    percentage:          88%
    capacity:            80%
    technology:          lithium-polymer
    icon-name:          'battery-full-charging-symbolic'

Device: /org/freedesktop/UPower/devices/mouse_hidpp_battery_0
  native-path:          hidpp_battery_0
  model:                MX Master 3
  serial:               abcd
  power supply:         no
  updated:              Fri 27 Nov 2026 10:00:00 UTC (5 seconds ago)
  has history:          yes
  has statistics:       yes
  mouse
    present:             yes
    rechargeable:        yes
    state:               discharging
    warning-level:       none
    battery-level:       normal
    percentage:          55% (should be ignored)
    icon-name:          'battery-good-symbolic'

Device: /org/freedesktop/UPower/devices/DisplayDevice
  power supply:         yes
  updated:              Fri 27 Nov 2026 10:00:00 UTC (5 seconds ago)
  has history:          no
  has statistics:       no
  battery
    present:             yes
    state:               charging
    energy:              40,1 Wh
    energy-full:         45,6 Wh
    energy-rate:         12,3 W
    percentage:          88%
    icon-name:          'battery-full-charging-symbolic'

Daemon:
  daemon-version:  1.90.2
  on-battery:      no
  lid-is-closed:   no
  lid-is-present:  yes
  critical-action: PowerOff
"""


def test_upower_dump_keeps_only_the_laptop_battery() -> None:
    (reading,) = parse_battery_text(UPOWER_DUMP)
    battery = judge_battery(reading, POLICY)
    assert battery.name == "BAT0"
    assert battery.model_name == "5B10W13930"
    assert battery.cycle_count == 412
    assert battery.health_percent == 80.0
    assert battery.verdict == BatteryVerdict.GOOD
    assert battery.capacity_percent == 88


def test_upower_charge_cycles_not_available() -> None:
    (reading,) = parse_battery_text(UPOWER_DUMP.replace("412", "N/A"))
    battery = judge_battery(reading, POLICY)
    assert battery.cycle_count is None
    assert "battery.cycles_unknown" in {r.code for r in battery.reasons}


def test_upower_without_battery_is_an_input_error() -> None:
    ac_only = UPOWER_DUMP.split("Device: /org/freedesktop/UPower/devices/battery_BAT0")[0]
    with pytest.raises(InputError, match="no battery"):
        parse_battery_text(ac_only, "ac.txt")


# --------------------------------------------------------------------------- tlp-stat


TLP_TWO_BATTERIES = """\
+++ ThinkPad Battery Status: BAT0 (Main / Internal)
/sys/class/power_supply/BAT0/manufacturer                   = SMP
/sys/class/power_supply/BAT0/model_name                     = 01AV420
/sys/class/power_supply/BAT0/cycle_count                    =    412
/sys/class/power_supply/BAT0/energy_full_design             =  24000 [mWh]
/sys/class/power_supply/BAT0/energy_full                    =  13200 [mWh]
/sys/class/power_supply/BAT0/voltage_min_design             =  11460 [mV]
/sys/class/power_supply/BAT0/status                         = Discharging

Charge                                                      =   50.0 [%]
Capacity                                                    =   55.0 [%]

+++ ThinkPad Battery Status: BAT1 (Ultrabay / Slice / Replaceable)
/sys/class/power_supply/BAT1/manufacturer                   = LGC
/sys/class/power_supply/BAT1/model_name                     = 01AV421
/sys/class/power_supply/BAT1/cycle_count                    =   1203
/sys/class/power_supply/BAT1/energy_full_design             =  72000 [mWh]
/sys/class/power_supply/BAT1/energy_full                    =  66000 [mWh]
/sys/class/power_supply/BAT1/status                         = Unknown (threshold effective)

Charge                                                      =   80.0 [%]
Capacity                                                    =   91.7 [%]

+++ Charge total
Charge total                                                =   70.0 [%]
Capacity total                                              =   82.1 [%]
"""


def test_tlp_stat_two_batteries() -> None:
    readings = parse_battery_text(TLP_TWO_BATTERIES)
    assert [r.name for r in readings] == ["BAT0", "BAT1"]
    bat0, bat1 = (judge_battery(r, POLICY) for r in readings)
    assert bat0.health_percent == 55.0
    assert bat0.verdict == BatteryVerdict.BAD
    assert bat0.voltage_min_design_uv == 11_460_000
    assert bat0.capacity_percent == 50
    assert bat0.raw["Capacity"] == "55.0 [%]"
    assert bat1.health_percent == pytest.approx(91.7)
    assert bat1.cycle_count == 1203
    assert bat1.verdict == BatteryVerdict.BAD  # capacity is fine but 1203 cycles
    assert "Capacity total" not in bat1.raw


def test_tlp_stat_wrong_unit_is_reported() -> None:
    text = TLP_TWO_BATTERIES.replace("13200 [mWh]", "13200 [mA]")
    battery = judge_battery(parse_battery_text(text)[0], POLICY)
    assert battery.verdict == BatteryVerdict.UNKNOWN
    invalid = [r for r in battery.reasons if r.code == "battery.invalid_value"]
    assert invalid and "energy_full" in invalid[0].message


# --------------------------------------------------------------------------- uevent, acpi


AC_UEVENT = "POWER_SUPPLY_NAME=AC\nPOWER_SUPPLY_TYPE=Mains\nPOWER_SUPPLY_ONLINE=1\n"


def test_concatenated_uevents_keep_batteries_only() -> None:
    bat0 = fixture_text("dell_smp_atl_pn1vn08_uevent_84pct_fastfetch118.txt")
    bat1 = fixture_text("thinkpad_smp_42T4977_uevent_worn_66pct_i3status186.txt")
    readings = parse_battery_text(AC_UEVENT + bat0 + bat1.replace("=BAT0", "=BAT1"))
    assert [r.name for r in readings] == ["BAT0", "BAT1"]
    assert [judge_battery(r, POLICY).verdict for r in readings] == [
        BatteryVerdict.GOOD,
        BatteryVerdict.WORN,
    ]


def test_acpi_in_mwh() -> None:
    text = (
        "Battery 0: Full, 100%\n"
        "Battery 0: design capacity 57000 mWh, last full capacity 51300 mWh = 90%\n"
        "Adapter 0: on-line\n"
    )
    (reading,) = parse_battery_text(text)
    battery = judge_battery(reading, POLICY)
    assert (battery.energy_full_uwh, battery.energy_full_design_uwh) == (51_300_000, 57_000_000)
    assert battery.health_percent == 90.0
    assert battery.status == "Full"


# --------------------------------------------------------------------------- bad input


def write(tmp_path: Path, data: bytes | str, name: str = "dump.txt") -> Path:
    path = tmp_path / name
    if isinstance(data, str):
        path.write_text(data)
    else:
        path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"", "empty file"),
        (b"  \n\n\t\n", "empty file"),
        (bytes(range(256)) * 8, "binary"),
        (b"\x7fELF\x02\x01\x01\x00" + os.urandom(512), "binary"),
        ("Lorem ipsum dolor sit amet.\nNothing to see here.\n", "not a recognised"),
        ('{"json_format_version": [1, 0], "smartctl": {}}\n', "not a recognised"),
        ("[core]\n\trepositoryformatversion = 0\n", "not a recognised"),
        ("status=ok\nname=server\n", "no battery"),  # two sysfs-like names, nothing battery
        (AC_UEVENT, "no battery"),
        ("Adapter 0: on-line\nThermal 0: ok, 40.0 degrees C\n", "not a recognised"),
        ("\xff\xfe garbage \u2603 text".encode("latin-1", errors="replace"), "not a recognised"),
    ],
)
def test_bad_files_are_input_errors(tmp_path: Path, data: bytes | str, why: str) -> None:
    path = write(tmp_path, data)
    with pytest.raises(InputError, match=why) as info:
        load_battery_file(path)
    message = str(info.value)
    assert str(path) in message
    assert "\n" not in message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        load_battery_file(tmp_path / "nope.txt")


def test_oversized_file(tmp_path: Path) -> None:
    path = tmp_path / "huge.txt"
    with path.open("wb") as fh:
        fh.truncate(5 << 20)  # sparse: no real 5 MiB written
    with pytest.raises(InputError, match="too large for a battery dump"):
        load_battery_file(path)


def test_unreadable_file(tmp_path: Path) -> None:
    # A directory entry we cannot open as a file: a FIFO would block, so use a dangling symlink.
    link = tmp_path / "dangling"
    link.symlink_to(tmp_path / "gone")
    with pytest.raises(InputError):
        load_battery_file(link)


def test_crlf_and_stray_bytes_are_tolerated(tmp_path: Path) -> None:
    text = fixture_text("hp_pabas0241231_sysfs_rustbattery_issue28.txt").replace("\n", "\r\n")
    data = text.replace("Hewlett-Packard", "Hewlett-Pack\xe4rd").encode("latin-1")
    (reading,) = load_battery_file(write(tmp_path, data))
    battery = judge_battery(reading, POLICY)
    assert battery.health_percent == pytest.approx(95.1, abs=0.05)
    assert battery.manufacturer is not None and battery.manufacturer.startswith("Hewlett-Pack")


# --------------------------------------------------------------------------- never a crash


def _judge_all(text: str) -> None:
    try:
        readings = parse_battery_text(text)
    except InputError as exc:
        assert "\n" not in str(exc)
        return
    assert readings
    for reading in readings:
        battery = judge_battery(reading, POLICY)
        Battery.model_validate(battery.model_dump(mode="json"))


FIXTURE_LINES = sorted(
    {
        line
        for path in BATTERY.glob("*.txt")
        for line in path.read_text().splitlines()
        if line.strip()
    }
)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=2000))
def test_arbitrary_text_raises_nothing_but_input_error(text: str) -> None:
    _judge_all(text)


def _mutate(line: str, junk: str, cut: int) -> str:
    key, sep, _ = line.partition("=") if "=" in line else line.partition(":")
    return f"{key}{sep}{junk}" if sep else line[:cut] + junk


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.sampled_from(FIXTURE_LINES),
            st.builds(
                _mutate,
                st.sampled_from(FIXTURE_LINES),
                st.one_of(
                    st.text(max_size=40),
                    st.integers(-(10**40), 10**40).map(str),
                    st.sampled_from(["0", "-1", "", " [mWh]", "1,5 Wh", "(not supported)"]),
                ),
                st.integers(0, 60),
            ),
        ),
        max_size=40,
    )
)
def test_mutated_real_dumps_raise_nothing_but_input_error(lines: list[str]) -> None:
    _judge_all("\n".join(lines))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4000))
def test_arbitrary_bytes_raise_nothing_but_input_error(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "dump"
        path.write_bytes(data)
        try:
            readings = load_battery_file(path)
        except InputError:
            return
        for reading in readings:
            judge_battery(reading, POLICY)
