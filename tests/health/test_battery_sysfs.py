"""power_supply directories: saved ones (load_battery_file) and the live probe on recorded trees."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.errors import InputError
from agent.health.battery import judge_battery, load_battery_file, probe_batteries, resolve_within
from agent.policy import BatteryPolicy, load_policy
from agent.report.schema import BatteryVerdict

BATTERY = Path(__file__).parent.parent / "fixtures" / "battery"
ACPI_BAT = "sys/devices/LNXSYSTM:00/LNXSYBUS:00/PNP0C0A:00/power_supply"


@pytest.fixture(scope="module")
def policy() -> BatteryPolicy:
    return load_policy().battery


def attributes(name: str) -> tuple[dict[str, str], str | None]:
    """A name=value fixture as attribute files, and its uevent section if it has one."""
    files: dict[str, str] = {}
    uevent: list[str] = []
    for line in (BATTERY / name).read_text().splitlines():
        if line.startswith("POWER_SUPPLY_"):
            uevent.append(line)
        elif "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            files[key] = value
    return files, ("\n".join(uevent) + "\n") if uevent else None


def uevent_attributes(name: str) -> dict[str, str]:
    """A uevent fixture turned into the attribute files the kernel shows next to it."""
    files = {}
    for line in (BATTERY / name).read_text().splitlines():
        key, _, value = line.partition("=")
        files[key.removeprefix("POWER_SUPPLY_").lower()] = value
    files.pop("name", None)
    return files


def make_device(
    directory: Path, files: dict[str, str], uevent: str | None = None, links: bool = True
) -> Path:
    directory.mkdir(parents=True)
    for key, value in files.items():
        (directory / key).write_text(value + "\n")
    if uevent is not None:
        (directory / "uevent").write_text(uevent)
    if links:
        # What a real device folder also holds: links and subfolders that are not attributes.
        (directory / "power").mkdir()
        (directory / "power" / "runtime_status").write_text("unsupported\n")
        (directory / "subsystem").symlink_to("../../../../../../class/power_supply")
    return directory


# --------------------------------------------------------------------------- saved directories


def test_saved_charge_directory(tmp_path: Path, policy: BatteryPolicy) -> None:
    files, _ = attributes("hp_pabas0241231_sysfs_rustbattery_issue28.txt")
    device = make_device(tmp_path / "BAT0", files)
    (reading,) = load_battery_file(device)
    assert reading.source_format == "sysfs"
    battery = judge_battery(reading, policy)
    assert battery.name == "BAT0"
    assert battery.health_percent == pytest.approx(95.1, abs=0.05)
    assert battery.charge_full_uah == 3_424_000
    assert battery.cycle_count is None
    assert battery.verdict == BatteryVerdict.GOOD
    assert battery.raw["model_name"] == "PABAS0241231"
    assert "runtime_status" not in battery.raw and "subsystem" not in battery.raw


def test_saved_directory_with_disagreeing_uevent(tmp_path: Path, policy: BatteryPolicy) -> None:
    files, uevent = attributes("thinkpad_lgc_lnv45n1_sysfs_procfs_fixture.txt")
    device = make_device(tmp_path / "BAT0", files, uevent)
    battery = judge_battery(load_battery_file(device)[0], policy)
    assert battery.health_percent == pytest.approx(99.7, abs=0.05)  # the uevent's figure
    assert "battery.sources_disagree" in {r.code for r in battery.reasons}
    # Without the uevent the attribute files are all there is: 105.3 %, flagged over 100.
    (tmp_path / "BAT0" / "uevent").unlink()
    alone = judge_battery(load_battery_file(device)[0], policy)
    assert alone.health_percent == pytest.approx(105.3, abs=0.05)
    assert {r.code for r in alone.reasons} >= {"battery.health", "battery.over_100"}


def test_saved_uevent_file_inside_a_directory(tmp_path: Path, policy: BatteryPolicy) -> None:
    uevent = (BATTERY / "thinkpad_smp_42T4977_uevent_worn_66pct_i3status186.txt").read_text()
    device = make_device(tmp_path / "BAT0", {}, uevent, links=False)
    battery = judge_battery(load_battery_file(device)[0], policy)
    assert battery.verdict == BatteryVerdict.WORN
    assert battery.energy_full_uwh == 25_500_000


def test_saved_power_supply_folder(tmp_path: Path, policy: BatteryPolicy) -> None:
    folder = tmp_path / "power_supply"
    make_device(folder / "AC", {"type": "Mains", "online": "1"})
    files, _ = attributes("hp_pabas0241231_sysfs_rustbattery_issue28.txt")
    make_device(folder / "BAT0", files)
    (reading,) = load_battery_file(folder)
    assert reading.name == "BAT0"


@pytest.mark.parametrize(
    ("layout", "why"),
    [
        ({}, "no power_supply attributes"),
        ({"notes.txt": "hello", "sub/readme": "x"}, "no power_supply attributes"),
        ({"type": "Mains", "online": "1"}, r"no battery here, only .*Mains"),
        ({"AC/type": "Mains", "AC/online": "1"}, "no battery here"),
    ],
)
def test_useless_directories(tmp_path: Path, layout: dict[str, str], why: str) -> None:
    root = tmp_path / "dir"
    root.mkdir()
    for rel, value in layout.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(value)
    with pytest.raises(InputError, match=why) as info:
        load_battery_file(root)
    assert "\n" not in str(info.value)


def test_binary_attribute_values_do_not_crash(tmp_path: Path, policy: BatteryPolicy) -> None:
    device = tmp_path / "BAT0"
    device.mkdir()
    (device / "type").write_text("Battery\n")
    (device / "energy_full").write_bytes(b"\xff\xfe\x00\x01")
    (device / "energy_full_design").write_text("-3\n")
    (device / "model_name").write_bytes(b"\x00" * 10)
    battery = judge_battery(load_battery_file(device)[0], policy)
    assert battery.verdict == BatteryVerdict.UNKNOWN
    assert len([r for r in battery.reasons if r.code == "battery.invalid_value"]) == 2
    assert battery.model_name is None


# --------------------------------------------------------------------------- live probe


def recorded_machine(root: Path) -> Path:
    """A laptop's sysfs as the kernel lays it out: class entries are links into devices/."""
    links = root / "sys" / "class" / "power_supply"
    links.mkdir(parents=True)
    # BAT0: energy_* (ThinkPad, worn), linked relatively like the kernel does.
    energy = uevent_attributes("thinkpad_smp_42T4977_uevent_worn_66pct_i3status186.txt")
    energy.update(type="Battery", scope="System")
    make_device(root / ACPI_BAT / "BAT0", energy)
    (links / "BAT0").symlink_to(f"../../../{ACPI_BAT}/BAT0")
    # BAT1: charge_* (HP, good) behind an absolute link, which must resolve inside root.
    charge, _ = attributes("hp_pabas0241231_sysfs_rustbattery_issue28.txt")
    make_device(root / "sys/devices/platform/hp/power_supply/BAT1", charge)
    (links / "BAT1").symlink_to("/sys/devices/platform/hp/power_supply/BAT1")
    # BAT2: an empty second bay.
    make_device(root / ACPI_BAT / "BAT2", {"type": "Battery", "present": "0"})
    (links / "BAT2").symlink_to(f"../../../{ACPI_BAT}/BAT2")
    # A wireless mouse battery and the AC adapter: not the laptop's battery.
    mouse = {"type": "Battery", "scope": "Device", "capacity": "40", "model_name": "MX"}
    make_device(root / "sys/devices/hid/power_supply/hidpp_battery_0", mouse)
    (links / "hidpp_battery_0").symlink_to("../../devices/hid/power_supply/hidpp_battery_0")
    make_device(root / ACPI_BAT / "AC", {"type": "Mains", "online": "1"})
    (links / "AC").symlink_to(f"../../../{ACPI_BAT}/AC")
    return root


def test_probe_recorded_machine(tmp_path: Path, policy: BatteryPolicy) -> None:
    root = recorded_machine(tmp_path / "root")
    batteries = probe_batteries(root, policy)
    assert [b.name for b in batteries] == ["BAT0", "BAT1"]
    bat0, bat1 = batteries
    assert bat0.source_format == "sysfs"
    assert bat0.energy_full_uwh == 25_500_000
    assert bat0.health_percent == pytest.approx(65.5, abs=0.05)
    assert bat0.verdict == BatteryVerdict.WORN
    assert bat1.charge_full_design_uah == 3_600_000
    assert bat1.health_percent == pytest.approx(95.1, abs=0.05)
    assert bat1.verdict == BatteryVerdict.GOOD
    assert bat1.raw["cycle_count"] == "0"


def test_probe_never_leaves_root(tmp_path: Path, policy: BatteryPolicy) -> None:
    root = recorded_machine(tmp_path / "root")
    # Real batteries outside root, reachable only by escaping it.
    files, _ = attributes("hp_pabas0241231_sysfs_rustbattery_issue28.txt")
    outside = make_device(tmp_path / "outside" / "EVIL", files, links=False)
    links = root / "sys" / "class" / "power_supply"
    (links / "EVIL1").symlink_to("../../../../outside/EVIL")  # .. past root
    (links / "EVIL2").symlink_to(outside)  # absolute host path
    (root / "sys" / "hop").symlink_to("../../outside")
    (links / "EVIL3").symlink_to("../../hop/EVIL")  # via an intermediate link
    assert (links / "EVIL1").resolve() == outside.resolve()  # the OS would escape
    assert [b.name for b in probe_batteries(root, policy)] == ["BAT0", "BAT1"]
    assert resolve_within(root, "/sys/class/power_supply/EVIL1") is None
    assert resolve_within(root, "/sys/class/power_supply/EVIL3") is None


def test_resolve_within_loops_and_missing(tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to("b")
    (tmp_path / "b").symlink_to("a")
    assert resolve_within(tmp_path, "/a") is None
    assert resolve_within(tmp_path, "/nothing/here") is None
    assert resolve_within(tmp_path / "missing-root", "/sys") is None
    (tmp_path / "real").mkdir()
    (tmp_path / "abs").symlink_to("/real")
    assert resolve_within(tmp_path, "/abs") == (tmp_path / "real").resolve()


def test_probe_without_power_supply(tmp_path: Path, policy: BatteryPolicy) -> None:
    assert probe_batteries(tmp_path, policy) == []
    assert probe_batteries(tmp_path / "missing", policy) == []


def test_probe_this_machine(policy: BatteryPolicy) -> None:
    """On the live system the probe finds exactly the system batteries sysfs lists (none in CI)."""
    expected = []
    class_dir = Path("/sys/class/power_supply")
    for entry in sorted(class_dir.iterdir()) if class_dir.is_dir() else []:

        def attr(name: str, entry: Path = entry) -> str | None:
            try:
                return (entry / name).read_text().strip()
            except OSError:
                return None

        if attr("type") == "Battery" and attr("scope") != "Device" and attr("present") != "0":
            expected.append(entry.name)
    batteries = probe_batteries(Path("/"), policy)
    assert [b.name for b in batteries] == expected
