"""Firmware locks and theft-recovery markers, read from recorded/constructed sysfs trees."""

from __future__ import annotations

import shutil
from pathlib import Path

from agent.probes.firmware_locks import probe_locks, read_efi_flag, setting_value

SYSROOTS = Path(__file__).parent.parent / "fixtures" / "sysroots"


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


# Recorded third-party trees: fwupd's libfwupdplugin/tests/bios-attrs (sysroots/SOURCES.md).


def test_recorded_thinkstation_p620_absolute_module_is_seen_and_off(sysroots: Path) -> None:
    locks = probe_locks(sysroots / "locks-lenovo-p620-fwupd")
    # think-lmi (before Linux 6.3) writes "value;[Optional:choices]": the value is the first part
    [agent] = locks.theft_recovery
    assert (agent.driver, agent.name, agent.value, agent.active) == (
        "thinklmi",
        "AbsolutePersistenceModule",
        "Permanently Disable",
        False,
    )
    # "BIOSPasswordAtSystemBoot" is a setting (ask the password at boot), not a password state
    assert locks.passwords == []
    assert locks.secure_boot is None and locks.asset_tag is None


def test_recorded_thinkstation_format_with_the_module_on_is_active(tmp_path: Path) -> None:
    """The same real tree with the value flipped to one of its own listed choices."""
    shutil.copytree(SYSROOTS / "locks-lenovo-p620-fwupd", tmp_path, dirs_exist_ok=True)
    value = tmp_path / (
        "sys/class/firmware-attributes/thinklmi/attributes/AbsolutePersistenceModule/current_value"
    )
    value.write_text(value.read_text().replace("Permanently Disable;", "Enable;", 1))
    [agent] = probe_locks(tmp_path).theft_recovery
    assert (agent.value, agent.active) == ("Enable", True)


def test_recorded_xps13_absolute_setting_without_a_readable_state(sysroots: Path) -> None:
    locks = probe_locks(sysroots / "locks-dell-xps13-9310-fwupd")
    # the index holds no current_value for Absolute: the setting exists, its state is unknown
    [agent] = locks.theft_recovery
    assert (agent.driver, agent.name, agent.value, agent.active) == (
        "dell-wmi-sysman",
        "Absolute",
        None,
        None,
    )
    assert locks.passwords == []  # no authentication/ directory in the recorded tree


def test_setting_value_drops_the_listed_choices() -> None:
    assert setting_value("Yes;[Optional:No,Yes]") == "Yes"
    assert setting_value("Enabled") == "Enabled"
    assert setting_value(";[Optional:No,Yes]") is None
    assert setting_value(None) is None
