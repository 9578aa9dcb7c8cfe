"""Firmware locks and theft-recovery agents: what ties a donated laptop to its former owner.

A BIOS supervisor password, an active Absolute/Computrace persistence module or
a leftover asset tag mean the laptop cannot be handed to a resident as is: the
volunteer must clear them (or have the donor do it) first. Everything here is
read from the kernel's documented sysfs interfaces, never from a vendor tool:

* ``/sys/class/firmware-attributes/<driver>/authentication/<name>/is_enabled``
  and ``role`` (Documentation/ABI/testing/sysfs-class-firmware-attributes;
  drivers dell-wmi-sysman, think-lmi, hp-bioscfg);
* the same drivers' ``attributes/<setting>/current_value`` for the settings
  through which Lenovo, Dell and HP firmware expose the Absolute module;
* the UEFI ``SecureBoot`` and ``SetupMode`` variables in efivarfs (4 bytes of
  attributes, then one byte 0/1);
* ``/sys/class/dmi/id/chassis_asset_tag`` (placeholders dropped);
* ``/sys/class/mei/mei*/fw_ver`` (Intel ME/CSME present, its versions);
* the AMT provisioning state, asked from the ME (:mod:`agent.probes.amt`).
"""

from __future__ import annotations

from pathlib import Path

from agent.probes.amt import Transport, probe_amt
from agent.probes.dmi import clean_dmi
from agent.probes.sysfs import list_dir, read_bytes, read_flag, read_text, under
from agent.report.schema import (
    FirmwareLocks,
    FirmwarePassword,
    TheftRecoverySetting,
)

ROOT = Path("/")
FIRMWARE_ATTRIBUTES = "/sys/class/firmware-attributes"
EFI_GLOBAL = "8be4df61-93ca-11d2-aa0d-00e098032b8c"
EFIVARS = "/sys/firmware/efi/efivars"

#: Firmware settings that control the Absolute (formerly Computrace) persistence module:
#: Lenovo ``ComputraceModuleActivation`` / ``AbsolutePersistenceModuleActivation`` /
#: ``AbsolutePersistenceModule`` (the last as a ThinkStation P620 shows it, recorded in
#: fwupd's test tree), Dell ``Computrace`` / ``Absolute``, HP ``Absolute Persistence Module
#: Current State``.
THEFT_RECOVERY_SETTINGS = frozenset(
    {
        "computracemoduleactivation",
        "absolutepersistencemoduleactivation",
        "absolutepersistencemodule",
        "computrace",
        "absolute",
        "absolute persistence module current state",
    }
)
#: Asset tags firmware ships unset (Lenovo, HP, AMI and Gigabyte defaults), lower case.
ASSET_TAG_PLACEHOLDERS = frozenset(
    {
        "no asset information",
        "no asset tag",
        "asset tag",
        "asset tag:",
        "chassis asset tag",
        "asset-1234567890",
        "atn12345678901234567",
    }
)
#: Values that mean the module runs or will run (lower case; "permanently disabled" is off).
ACTIVE_VALUES = frozenset({"enable", "enabled", "activate", "activated", "active"})
INACTIVE_VALUES = frozenset(
    {
        "disable",
        "disabled",
        "deactivate",
        "deactivated",
        "inactive",
        "permanentlydisabled",
        "permanently disabled",
        "permanentlydisable",
        "permanently disable",
    }
)


def setting_value(raw: str | None) -> str | None:
    """The value itself of a ``current_value`` file. think-lmi before Linux 6.3 appends the
    choices to it (``Permanently Disable;[Optional:Disable,Enable,Permanently Disable]``);
    the value is what comes before the first ``;``."""
    if raw is None:
        return None
    value = raw.split(";", 1)[0].strip()
    return value or None


def _active(value: str | None) -> bool | None:
    if value is None:
        return None
    folded = value.strip().lower()
    if folded in ACTIVE_VALUES:
        return True
    if folded in INACTIVE_VALUES:
        return False
    return None


def _passwords(base: Path) -> list[FirmwarePassword]:
    found: list[FirmwarePassword] = []
    for driver in list_dir(base):
        auth = base / driver / "authentication"
        for name in list_dir(auth):
            enabled = read_flag(auth / name / "is_enabled")
            if enabled is None:
                continue
            role = read_text(auth / name / "role")
            found.append(
                FirmwarePassword(
                    driver=driver[:256],
                    name=name[:256],
                    role=role[:256] if role else None,
                    enabled=enabled,
                )
            )
    return found[:32]


def _theft_recovery(base: Path) -> list[TheftRecoverySetting]:
    found: list[TheftRecoverySetting] = []
    for driver in list_dir(base):
        attributes = base / driver / "attributes"
        for name in list_dir(attributes):
            if name.lower() not in THEFT_RECOVERY_SETTINGS:
                continue
            value = setting_value(read_text(attributes / name / "current_value"))
            found.append(
                TheftRecoverySetting(
                    driver=driver[:256],
                    name=name[:256],
                    value=value[:256] if value else None,
                    active=_active(value),
                )
            )
    return found[:16]


def read_efi_flag(root: Path, name: str) -> bool | None:
    """A one-byte UEFI global variable (SecureBoot, SetupMode); None when absent or odd."""
    data = read_bytes(under(root, f"{EFIVARS}/{name}-{EFI_GLOBAL}"))
    if data is None or len(data) != 5 or data[4] not in (0, 1):
        return None
    return data[4] == 1


def _mei_firmware(root: Path) -> list[str]:
    base = under(root, "/sys/class/mei")
    versions: list[str] = []
    for name in list_dir(base):
        text = read_text(base / name / "fw_ver")
        if text:
            versions.extend(line.strip()[:256] for line in text.splitlines() if line.strip())
        elif (base / name).exists():
            versions.append(f"{name[:200]}: unknown version")
    return versions[:8]


def probe_locks(root: Path = ROOT, amt: Transport | None = None) -> FirmwareLocks:
    """The firmware locks of the machine under ``root``; unknown parts stay None/empty.
    ``amt`` talks to the ME's AMT interface (default: /dev/mei0 on the live system)."""
    base = under(root, FIRMWARE_ATTRIBUTES)
    tag = clean_dmi(read_text(under(root, "/sys/class/dmi/id/chassis_asset_tag")))
    if tag and tag.lower() in ASSET_TAG_PLACEHOLDERS:
        tag = None
    return FirmwareLocks(
        passwords=_passwords(base),
        secure_boot=read_efi_flag(root, "SecureBoot"),
        setup_mode=read_efi_flag(root, "SetupMode"),
        theft_recovery=_theft_recovery(base),
        asset_tag=tag[:256] if tag else None,
        mei_firmware=_mei_firmware(root),
        amt_provisioning=probe_amt(root, amt),
    )
