"""USB port map: recorded uevent blocks replayed; a constructed laptop's root hub ports."""

from __future__ import annotations

import os
import re
from pathlib import Path

from agent.checks.usb_ports import (
    expected_ports,
    parse_blocks,
    parse_datagram,
    port_of,
    result,
    watch,
)
from agent.report.schema import TestOutcome

USB = Path(__file__).parent.parent / "fixtures" / "usb"
FT232 = (USB / "udevadm_monitor_ft232_behind_hub_3-12.txt").read_text()
TUNER = (USB / "udevmonitor_2008_usb1_1-2.txt").read_text()


def laptop_ports(tmp_path: Path) -> Path:
    """usb1 (USB 2): ports 1-2 on the case, 3 the webcam, 4 unused; usb2 (SuperSpeed):
    ports 1-2, the twins of usb1's."""
    root = tmp_path / "root"
    for bus, ports in (
        ("1", {"1": "hotplug", "2": "hotplug", "3": "hardwired", "4": "not used"}),
        ("2", {"1": "hotplug", "2": "hotplug"}),
    ):
        interface = root / f"sys/bus/usb/devices/usb{bus}/{bus}-0:1.0"
        for port, kind in ports.items():
            (interface / f"usb{bus}-port{port}").mkdir(parents=True)
            (interface / f"usb{bus}-port{port}" / "connect_type").write_text(kind + "\n")
    for port in ("1", "2"):
        os.symlink(
            f"../../../usb1/1-0:1.0/usb1-port{port}",
            root / f"sys/bus/usb/devices/usb2/2-0:1.0/usb2-port{port}/peer",
        )
        os.symlink(
            f"../../../usb2/2-0:1.0/usb2-port{port}",
            root / f"sys/bus/usb/devices/usb1/1-0:1.0/usb1-port{port}/peer",
        )
    return root


def moved(block: str, old: str, new: str) -> str:
    """A recorded block with its bus-port renamed (the same event in another socket)."""
    bus_old, bus_new = old.split("-")[0], new.split("-")[0]
    text = re.sub(rf"\b{re.escape(old)}\b", new, block)
    return text.replace(f"/usb{bus_old}/", f"/usb{bus_new}/")


def test_recorded_insertions_name_the_laptops_socket(tmp_path: Path) -> None:
    ft232 = parse_blocks(FT232)
    assert [e["DEVTYPE"] for e in ft232] == ["usb_interface", "usb_device"]
    assert [port_of(e, tmp_path) for e in ft232] == [None, "3-12"]  # behind a hub: its socket
    tuner = parse_blocks(TUNER)
    assert [port_of(e, tmp_path) for e in tuner] == ["1-2", None]


def test_the_sockets_on_the_case_are_expected_and_usb3_twins_are_one(tmp_path: Path) -> None:
    root = laptop_ports(tmp_path)
    assert expected_ports(root) == ["1-1", "1-2"]
    superspeed = parse_blocks(moved(FT232, "3-12", "2-1"))[1]
    assert port_of(superspeed, root) == "1-1"  # a USB 3 stick in socket 1


def test_a_stick_in_each_socket_ticks_them_off_once(tmp_path: Path) -> None:
    root = laptop_ports(tmp_path)
    plugs = moved(TUNER, "1-2", "1-1") + "\n\n" + moved(FT232, "3-12", "2-1") + "\n\n" + TUNER
    seen: list[str] = []
    watch(parse_blocks(plugs), root, seen.append)
    assert seen == ["1-1", "1-2"]  # the second stick in socket 1 (USB 3) is the same socket
    passed = result(expected_ports(root), set(seen))
    assert passed.name == "usb_ports" and passed.outcome is TestOutcome.PASS
    assert passed.details == "2 ports seen of 2 expected"


def test_a_dead_socket_fails_and_is_named(tmp_path: Path) -> None:
    root = laptop_ports(tmp_path)
    seen: list[str] = []
    watch(parse_blocks(TUNER), root, seen.append)
    failed = result(expected_ports(root), set(seen))
    assert failed.outcome is TestOutcome.FAIL
    assert failed.details == "1 ports seen of 2 expected; no insertion in 1-1"


def test_unknown_port_types_map_what_is_seen(tmp_path: Path) -> None:
    assert expected_ports(tmp_path) == []
    assert result([], {"1-2"}).outcome is TestOutcome.PASS
    assert result([], set()).outcome is TestOutcome.FAIL
    assert result([], set(), skipped=True).outcome is TestOutcome.SKIPPED


def test_the_kernels_datagram_carries_the_same_properties() -> None:
    device = parse_blocks(TUNER)[0]
    body = "\0".join(f"{k}={v}" for k, v in device.items())
    datagram = f"add@{device['DEVPATH']}\0{body}\0".encode()
    assert parse_datagram(datagram) == device
    assert parse_datagram(b"libudev\0\xfe\xed") is None
    assert parse_datagram(b"garbage") is None


def test_a_machine_without_usb_root_hubs_has_no_port_map(tmp_path: Path) -> None:
    from agent.checks.usb_ports import PortWatch

    assert not PortWatch(tmp_path).available()  # a container, some VMs: no screen
    assert PortWatch(laptop_ports(tmp_path)).available()
