"""GPU, network and display probes on the constructed laptop tree and on this VM."""

from __future__ import annotations

import shutil
from pathlib import Path

from agent.probes.gpu import probe_gpus
from agent.probes.network import probe_network
from agent.probes.pciids import lookup

from .conftest import SYSROOTS

LAPTOP = SYSROOTS / "laptop-devices"
VM = SYSROOTS / "vm-virtio-loop"


def test_optimus_laptop_gpus_named_from_pci_ids() -> None:
    gpus = {g.pci_slot: g for g in probe_gpus(LAPTOP)}
    assert sorted(gpus) == ["0000:00:02.0", "0000:01:00.0"]  # NIC and Wi-Fi are not GPUs
    igpu, dgpu = gpus["0000:00:02.0"], gpus["0000:01:00.0"]
    assert (igpu.vendor_id, igpu.device_id, igpu.driver) == ("8086", "5917", "i915")
    assert (igpu.vendor, igpu.name) == ("Intel Corporation", "UHD Graphics 620")
    assert (dgpu.vendor, dgpu.name, dgpu.driver) == (
        "NVIDIA Corporation",
        "GP108M [GeForce MX150]",
        "nouveau",
    )


def test_gpu_without_pci_ids_or_driver(tmp_path: Path) -> None:
    root = tmp_path / "root"
    shutil.copytree(LAPTOP, root, symlinks=True)
    (root / "usr/share/misc/pci.ids").unlink()
    (root / "sys/devices/pci0000:00/0000:00:1c.0/0000:01:00.0/driver").unlink()
    (root / "sys/devices/pci0000:00/0000:00:02.0/class").write_text("junk\n")
    gpus = probe_gpus(root)
    assert [(g.pci_slot, g.name, g.driver) for g in gpus] == [("0000:01:00.0", None, None)]


def test_vm_has_no_gpu() -> None:
    assert probe_gpus(VM) == []


def test_live_gpus_are_display_class_functions() -> None:
    for gpu in probe_gpus():
        dev = Path("/sys/bus/pci/devices") / str(gpu.pci_slot)
        assert (dev / "class").read_text().startswith("0x03")
        assert (dev / "vendor").read_text().strip() == f"0x{gpu.vendor_id}"


def test_pci_ids_lookup_on_the_real_database() -> None:
    if not Path("/usr/share/misc/pci.ids").exists():
        return
    assert lookup(Path("/"), "0x8086", "0x5917") == ("Intel Corporation", "UHD Graphics 620")
    # the same device id under another vendor must not match
    assert lookup(Path("/"), "10de", "1d10") == ("NVIDIA Corporation", "GP108M [GeForce MX150]")
    assert lookup(Path("/"), "1af4", "ffff") == ("Red Hat, Inc.", None)


def test_laptop_network_interfaces() -> None:
    nics = {n.name: n for n in probe_network(LAPTOP)}
    assert sorted(nics) == ["enp0s31f6", "enx00e04c680a1b", "wlp2s0"]  # no lo, no docker0
    assert nics["wlp2s0"].kind == "wireless" and nics["wlp2s0"].driver == "iwlwifi"
    assert nics["enp0s31f6"].mac == "54:e1:ad:3c:9a:10" and nics["enp0s31f6"].bus == "pci"
    usb = nics["enx00e04c680a1b"]
    assert (usb.kind, usb.driver, usb.bus) == ("wired", "r8152", "usb")


def test_vm_network_recorded_and_live() -> None:
    recorded = probe_network(VM)
    assert [(n.name, n.kind, n.driver, n.bus) for n in recorded] == [
        ("eth0", "wired", "virtio_net", "virtio")
    ]
    assert recorded[0].mac == "02:fc:00:00:00:01"
    live = {n.name for n in probe_network()}
    assert "lo" not in live and "ifb0" not in live


def test_network_tolerates_missing_address(tmp_path: Path) -> None:
    root = tmp_path / "root"
    shutil.copytree(LAPTOP, root, symlinks=True)
    (root / "sys/class/net/wlp2s0/address").unlink()
    (root / "sys/class/net/enp0s31f6/address").write_text("00:00:00:00:00:00\n")
    nics = {n.name: n for n in probe_network(root)}
    assert nics["wlp2s0"].mac is None and nics["enp0s31f6"].mac is None
