"""Camera, sound, Wi-Fi, Bluetooth, charging and temperature probes on sysfs trees."""

from __future__ import annotations

import shutil
from pathlib import Path

from agent.probes.peripherals import probe_peripherals
from agent.probes.power import probe_charging
from agent.probes.wireless import count_networks
from agent.runner import ReplayRunner

WIRELESS = Path(__file__).parent.parent / "fixtures" / "wireless"


def test_laptop_devices_are_found(sysroots: Path) -> None:
    found = probe_peripherals(sysroots / "laptop-peripherals")
    assert found.cameras == ["Integrated Camera: Integrated C"]  # metadata node not counted
    assert found.sound_cards == ["HDA Intel PCH"]
    assert found.wifi == ["wlp2s0"] and found.wifi_driver_bound is True
    assert found.wifi_networks is None  # no runner: no scan
    assert found.bluetooth == ["hci0"]
    assert (found.ac_online, found.battery_status) == (True, "Charging")
    assert found.temperatures_c == {"coretemp": 52.0, "acpitz": 45.0}  # -273 C dropped


def test_wifi_scan_counts_networks_through_the_runner(sysroots: Path) -> None:
    scan = (WIRELESS / "iw_scan_wlp2s0_5bss_excerpt.txt").read_text()
    assert count_networks(scan) == 5
    runner = ReplayRunner()
    runner.add(["iw", "dev", "wlp2s0", "scan"], scan)
    found = probe_peripherals(sysroots / "laptop-peripherals", runner)
    assert found.wifi_networks == 5
    assert runner.calls == [("iw", "dev", "wlp2s0", "scan")]


def test_failed_scan_or_missing_iw_is_unknown_not_zero(sysroots: Path) -> None:
    runner = ReplayRunner()
    runner.add(["iw", "dev", "wlp2s0", "scan"], "", 240, "command failed: Device or resource busy")
    assert probe_peripherals(sysroots / "laptop-peripherals", runner).wifi_networks is None
    no_iw = ReplayRunner(installed=set())
    assert probe_peripherals(sysroots / "laptop-peripherals", no_iw).wifi_networks is None
    assert no_iw.calls == []


def test_vm_has_none_of_them(sysroots: Path) -> None:
    found = probe_peripherals(sysroots / "vm-virtio-loop")
    assert found.cameras == [] and found.sound_cards == [] and found.wifi == []
    assert found.bluetooth == [] and found.ac_online is None and found.temperatures_c == {}


def test_a_scan_that_cannot_run_says_why(sysroots: Path) -> None:
    runner = ReplayRunner()
    runner.add(["iw", "dev", "wlp2s0", "scan"], "", 240, "command failed: Device or resource busy")
    busy = probe_peripherals(sysroots / "laptop-peripherals", runner)
    assert busy.wifi_networks is None
    assert busy.wifi_scan_error == "command failed: Device or resource busy"  # iw's stderr
    no_iw = probe_peripherals(sysroots / "laptop-peripherals", ReplayRunner(installed=set()))
    assert no_iw.wifi_scan_error == "iw is not installed"
    assert probe_peripherals(sysroots / "laptop-peripherals").wifi_scan_error is None  # not tried


def test_bluetooth_driver_and_radio_switch_where_sysfs_shows_them(
    sysroots: Path, tmp_path: Path
) -> None:
    root = tmp_path / "laptop"
    shutil.copytree(sysroots / "laptop-peripherals", root)
    found = probe_peripherals(root)  # the recorded layout has no device link: unknown
    assert (found.bluetooth_driver_bound, found.bluetooth_blocked) == (None, None)
    hci = root / "sys/class/bluetooth/hci0"
    (hci / "device").mkdir()  # the USB interface, its driver (btusb) not bound
    (hci / "rfkill0").mkdir()
    (hci / "rfkill0/hard").write_text("1\n")
    found = probe_peripherals(root)
    assert (found.bluetooth_driver_bound, found.bluetooth_blocked) == (False, True)
    (hci / "device/driver").mkdir()
    (hci / "rfkill0/hard").write_text("0\n")
    found = probe_peripherals(root)
    assert (found.bluetooth_driver_bound, found.bluetooth_blocked) == (True, False)


def test_a_headsets_charger_is_not_the_laptops(tmp_path: Path) -> None:
    supplies = tmp_path / "sys/class/power_supply"
    for name, files in {
        "AC": {"type": "Mains", "online": "0"},
        "headset-charger": {"type": "USB", "scope": "Device", "online": "1"},
        "BAT0": {"type": "Battery", "status": "Discharging"},
    }.items():
        (supplies / name).mkdir(parents=True)
        for attr, value in files.items():
            (supplies / name / attr).write_text(value + "\n")
    assert probe_charging(tmp_path) == (False, "Discharging")
