"""Everyday devices in one record: camera, sound, Wi-Fi, Bluetooth, charging, temperatures."""

from __future__ import annotations

from pathlib import Path

from agent.probes.audio import probe_sound_cards
from agent.probes.camera import probe_cameras
from agent.probes.power import probe_charging
from agent.probes.thermal import probe_temperatures
from agent.probes.wireless import (
    bluetooth_adapters,
    bluetooth_state,
    scan_networks,
    wifi_interfaces,
)
from agent.report.schema import Peripherals
from agent.runner import Runner


def probe_peripherals(root: Path, runner: Runner | None = None) -> Peripherals:
    """What the kernel under ``root`` shows; with a runner, also a Wi-Fi scan count."""
    wifi = wifi_interfaces(root)
    networks, scan_error = None, ""
    if runner is not None and wifi and wifi[0][1]:
        networks, scan_error = scan_networks(runner, wifi[0][0])
    ac_online, battery_status = probe_charging(root)
    bt_bound, bt_blocked = bluetooth_state(root)
    return Peripherals(
        cameras=probe_cameras(root),
        sound_cards=probe_sound_cards(root),
        wifi=[name for name, _bound in wifi],
        wifi_driver_bound=all(bound for _name, bound in wifi) if wifi else None,
        wifi_networks=networks,
        wifi_scan_error=scan_error or None,
        bluetooth=bluetooth_adapters(root),
        bluetooth_driver_bound=bt_bound,
        bluetooth_blocked=bt_blocked,
        ac_online=ac_online,
        battery_status=battery_status,
        temperatures_c=probe_temperatures(root),
    )
