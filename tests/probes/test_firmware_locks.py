"""Firmware locks and theft-recovery markers, read from recorded/constructed sysfs trees."""

from __future__ import annotations

from pathlib import Path

from agent.probes.firmware_locks import probe_locks, read_efi_flag


def test_thinkpad_supervisor_password_and_computrace(sysroots: Path) -> None:
    locks = probe_locks(sysroots / "locks-thinkpad-lmi")
    enabled = [(p.name, p.role) for p in locks.passwords if p.enabled]
    assert enabled == [("Admin", "bios-admin")]
    assert {p.name for p in locks.passwords} == {"Admin", "HDD", "Power-on", "System"}
    [agent] = locks.theft_recovery
    assert (agent.driver, agent.name, agent.value, agent.active) == (
        "thinklmi",
        "ComputraceModuleActivation",
        "Enable",
        True,
    )
    assert locks.secure_boot is True and locks.setup_mode is False
    assert locks.asset_tag is None  # Lenovo's "No Asset Information" placeholder
    assert locks.mei_firmware == ["0:11.8.50.3425", "0:11.8.50.3425"]


def test_latitude_clean_but_tagged(sysroots: Path) -> None:
    locks = probe_locks(sysroots / "locks-latitude-sysman")
    assert locks.passwords and not any(p.enabled for p in locks.passwords)
    [agent] = locks.theft_recovery
    assert agent.value == "PermanentlyDisabled" and agent.active is False
    assert locks.secure_boot is False
    assert locks.asset_tag == "GEM-NL-004711"
    assert locks.mei_firmware == []


def test_vm_without_firmware_interfaces_says_unknown(sysroots: Path) -> None:
    locks = probe_locks(sysroots / "vm-virtio-loop")
    assert locks.passwords == [] and locks.theft_recovery == []
    assert locks.secure_boot is None and locks.setup_mode is None
    assert locks.asset_tag is None


def test_odd_efivar_and_flag_values_are_unknown(tmp_path: Path) -> None:
    efivars = tmp_path / "sys/firmware/efi/efivars"
    efivars.mkdir(parents=True)
    (efivars / "SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c").write_bytes(b"\x06\0\0\0\x07")
    (efivars / "SetupMode-8be4df61-93ca-11d2-aa0d-00e098032b8c").write_bytes(b"\x06")
    assert read_efi_flag(tmp_path, "SecureBoot") is None
    assert read_efi_flag(tmp_path, "SetupMode") is None
    auth = tmp_path / "sys/class/firmware-attributes/x/authentication/Admin"
    auth.mkdir(parents=True)
    (auth / "is_enabled").write_text("yes\n")
    attr = tmp_path / "sys/class/firmware-attributes/x/attributes/Computrace"
    attr.mkdir(parents=True)
    (attr / "current_value").write_text("Sometimes\n")
    locks = probe_locks(tmp_path)
    assert locks.passwords == []
    assert locks.theft_recovery[0].active is None
