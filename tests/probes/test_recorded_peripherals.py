"""Device probes on files recorded from real machines (tests/fixtures/sysroots/SOURCES.md).

The constructed ``laptop-peripherals`` tree covers every branch of the probes; these trees hold
the bytes real kernels wrote, copied from public reports, so a format the constructed tree got
subtly wrong (column widths, repeated lines, binary attributes) shows up here.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from agent.probes.audio import probe_sound_cards
from agent.probes.camera import camera_nodes
from agent.probes.firmware_locks import probe_locks, read_efi_flag
from agent.probes.peripherals import probe_peripherals
from agent.probes.power import probe_charging
from agent.probes.thermal import probe_temperatures


def test_sound_cards_of_a_thinkbook_with_sof_and_nvidia_hdmi(sysroots: Path) -> None:
    # Lenovo ThinkBook 16p G5 IRX, kernel 6.10: the GPU's HDMI audio is card 0, the laptop's
    # own speakers and microphones (SOF DSP) card 1; both are listed, in the kernel's order.
    assert probe_sound_cards(sysroots / "alsa-thinkbook-16p-g5") == ["HDA NVidia", "sof-hda-dsp"]


def test_sound_card_of_a_dell_vostro_with_legacy_hda(sysroots: Path) -> None:
    # Dell Vostro 15 3530, kernel 6.15: one HDA controller, its 64-bit MMIO address in the long name
    found = probe_peripherals(sysroots / "alsa-vostro-15-3530")
    assert found.sound_cards == ["HDA Intel PCH"]
    assert found.cameras == [] and found.wifi == [] and found.temperatures_c == {}


def test_mei_firmware_versions_as_a_dell_alder_lake_reports_them(sysroots: Path) -> None:
    # fw_ver repeats the CSME 16.0 version once per firmware partition it reports
    locks = probe_locks(sysroots / "mei-dell-adl-lkml", amt=None)
    assert locks.mei_firmware == ["0:16.0.15.1518"] * 3
    assert locks.amt_provisioning is None  # no AMTHI client entry: nothing asked
    assert locks.secure_boot is None and locks.passwords == [] and locks.theft_recovery == []


def test_secure_boot_on_from_a_real_efivarfs_file(sysroots: Path) -> None:
    # 06 00 00 00 = BOOTSERVICE_ACCESS | RUNTIME_ACCESS, then the value 01 (mokutil: enabled)
    root = sysroots / "efi-secureboot-on-salt66955"
    assert read_efi_flag(root, "SecureBoot") is True
    assert read_efi_flag(root, "SetupMode") is None  # not in the report: unknown, not "off"
    locks = probe_locks(root, amt=None)
    assert (locks.secure_boot, locks.setup_mode) == (True, None)
    assert locks.mei_firmware == []


def test_discharging_battery_without_a_mains_supply(sysroots: Path) -> None:
    # HP battery PABAS0241231 read on battery power: no Mains supply in the class, so whether a
    # charger is plugged in is unknown, not "no"
    root = sysroots / "power-hp-pabas-discharging"
    assert probe_charging(root) == (None, "Discharging")
    found = probe_peripherals(root)
    assert (found.ac_online, found.battery_status) == (None, "Discharging")


def test_two_uvc_webcams_each_with_a_metadata_node(sysroots: Path) -> None:
    # a Logitech C922 and a Sonix "USB 2.0 Camera" on video10..13: capture node index 0,
    # metadata node index 1; only the capture nodes are cameras, named as the driver names them
    assert camera_nodes(sysroots / "v4l2-two-uvc-webcams-rinkhals106") == [
        ("/dev/video10", "C922 Pro Stream Webcam"),
        ("/dev/video12", "USB 2.0 Camera: USB Camera"),
    ]


def test_thinkpad_t420_temperatures_and_fan(sysroots: Path) -> None:
    # acpitz 49 C; coretemp package 69 C, cores 59/67 C (the hottest per chip counts);
    # the thinkpad chip has a fan and no temperature on this model
    root = sysroots / "hwmon-thinkpad-t420-smartfan3"
    assert probe_temperatures(root) == {"acpitz": 49.0, "coretemp": 69.0}
    assert probe_peripherals(root).temperatures_c == {"acpitz": 49.0, "coretemp": 69.0}


def test_a_laptop_charged_over_usb_has_no_mains_supply(sysroots: Path) -> None:
    # GPD Pocket: its only charger is a bq24190 chip of type USB, online while plugged in; the
    # report showed no battery status, which stays unknown
    root = sysroots / "power-gpd-pocket-usb-charger-tlp320"
    assert probe_charging(root) == (True, None)


#: recorded file -> the sha256 prefix its SOURCES.md row gives: the bytes stay the ones copied
RECORDED = {
    "alsa-thinkbook-16p-g5/proc/asound/cards": "ccb13d9697e0",
    "alsa-vostro-15-3530/proc/asound/cards": "6d836d3003e9",
    "mei-dell-adl-lkml/sys/class/mei/mei0/fw_ver": "6c82b7575e19",
    "efi-secureboot-on-salt66955/sys/firmware/efi/efivars/"
    "SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c": "b401b4bd7e4f",
}


@pytest.mark.parametrize("relative", sorted(RECORDED))
def test_recorded_files_are_unchanged_and_documented(sysroots: Path, relative: str) -> None:
    digest = hashlib.sha256((sysroots / relative).read_bytes()).hexdigest()
    assert digest.startswith(RECORDED[relative])
    row = next(
        line
        for line in (sysroots / "SOURCES.md").read_text().splitlines()
        if line.startswith(f"| `{relative.split('/')[0]}/` |")
    )
    assert f"sha256 {RECORDED[relative]}" in row and "recorded (third party)" in row
