"""Which erase each disk gets, from what the drive reports and the station policy.

NIST SP 800-88 Rev.2 points to IEEE 2883-2022 for per-media techniques:
an overwrite of the addressable space is *Clear*; the drive's own sanitize
(crypto or block erase), and a cryptographic-erase format, reach remapped
and over-provisioned areas and count as *Purge*. A format with user-data
erase (SES=1) is recorded as Clear: IEEE 2883 does not accept it as Purge.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from agent.erase.firmware import (
    ATA_PASSWORD,
    AtaCaps,
    NvmeCaps,
    parse_hdparm_identify,
    parse_nvme_id_ctrl,
)
from agent.erase.overwrite import Pattern
from agent.errors import DigibenchError
from agent.report.schema import Disk, MediaType, SanitizeLevel
from agent.runner import Runner


class Method(StrEnum):
    NVME_SANITIZE_CRYPTO = "nvme-sanitize-crypto"
    NVME_SANITIZE_BLOCK = "nvme-sanitize-block"
    NVME_FORMAT_CRYPTO = "nvme-format-crypto"
    NVME_FORMAT_USER_DATA = "nvme-format-user-data"
    ATA_SANITIZE_CRYPTO = "ata-sanitize-crypto"
    ATA_SANITIZE_BLOCK = "ata-sanitize-block"
    ATA_SECURITY_ERASE_ENHANCED = "ata-security-erase-enhanced"
    ATA_SECURITY_ERASE = "ata-security-erase"
    OVERWRITE_ZERO = "overwrite-zero"
    OVERWRITE_RANDOM = "overwrite-random"

    @property
    def is_firmware(self) -> bool:
        return not self.value.startswith("overwrite")


PURGE = {
    Method.NVME_SANITIZE_CRYPTO,
    Method.NVME_SANITIZE_BLOCK,
    Method.NVME_FORMAT_CRYPTO,
    Method.ATA_SANITIZE_CRYPTO,
    Method.ATA_SANITIZE_BLOCK,
    Method.ATA_SECURITY_ERASE_ENHANCED,
}


@dataclass(frozen=True)
class ErasePolicy:
    """Station choices; the defaults follow the brief (section 3)."""

    force_overwrite: bool = False
    overwrite_after_firmware: bool = False
    pattern: Pattern = Pattern.ZERO
    remove_hpa: bool = True
    unfreeze_by_suspend: bool = True
    fallback_to_overwrite: bool = True


@dataclass
class DiskPlan:
    method: Method
    level: SanitizeLevel
    reason: str
    #: the command that starts the erase (what a dry run would show)
    start_command: tuple[str, ...] | None = None
    overwrite: Pattern | None = None  # overwrite pass to run (alone, or after firmware)
    needs_unfreeze: bool = False
    nvme: NvmeCaps | None = None
    ata: AtaCaps | None = None
    notes: list[str] = field(default_factory=list)

    def describe(self) -> str:
        extra = (
            f", then overwrite with {self.overwrite.value}s"
            if (self.overwrite and self.method.is_firmware)
            else ""
        )
        return f"{self.method.value} ({self.level.value}){extra}: {self.reason}"


def _overwrite(policy: ErasePolicy, reason: str, notes: list[str] | None = None) -> DiskPlan:
    method = Method.OVERWRITE_RANDOM if policy.pattern is Pattern.RANDOM else Method.OVERWRITE_ZERO
    level = SanitizeLevel.CLEAR
    return DiskPlan(method, level, reason, overwrite=policy.pattern, notes=notes or [])


def _firmware(method: Method, reason: str, start: list[str], policy: ErasePolicy) -> DiskPlan:
    level = SanitizeLevel.PURGE if method in PURGE else SanitizeLevel.CLEAR
    after = policy.pattern if policy.overwrite_after_firmware else None
    return DiskPlan(method, level, reason, tuple(start), overwrite=after)


def plan_nvme(caps: NvmeCaps, dev: str, policy: ErasePolicy) -> DiskPlan:
    if caps.sanitize_crypto:
        return _firmware(
            Method.NVME_SANITIZE_CRYPTO,
            "the drive supports sanitize crypto erase (sanicap bit 0)",
            ["nvme", "sanitize", dev, "--sanact=4"],
            policy,
        )
    if caps.sanitize_block:
        return _firmware(
            Method.NVME_SANITIZE_BLOCK,
            "the drive supports sanitize block erase (sanicap bit 1)",
            ["nvme", "sanitize", dev, "--sanact=2"],
            policy,
        )
    if caps.format_supported and caps.format_crypto:
        plan = _firmware(
            Method.NVME_FORMAT_CRYPTO,
            "no sanitize (sanicap 0); format with cryptographic erase is supported (fna bit 2)",
            ["nvme", "format", dev, "--ses=2", "--force"],
            policy,
        )
    elif caps.format_supported:
        plan = _firmware(
            Method.NVME_FORMAT_USER_DATA,
            "no sanitize and no crypto erase; format with user data erase",
            ["nvme", "format", dev, "--ses=1", "--force"],
            policy,
        )
        plan.overwrite = plan.overwrite or policy.pattern
        plan.notes.append("user-data-erase format counts as Clear only; an overwrite follows")
    else:
        return _overwrite(policy, "the NVMe drive offers neither sanitize nor format")
    if caps.format_all_namespaces:
        plan.notes.append("this drive formats all namespaces at once (fna bit 0)")
    return plan


def plan_ata(caps: AtaCaps, dev: str, policy: ErasePolicy) -> DiskPlan:
    if caps.locked:
        return _overwrite(
            policy,
            "the drive is locked with an ATA password",
            ["unlock it first (BIOS or hdparm --security-unlock); an overwrite will fail"],
        )
    if caps.sanitize_crypto:
        return _firmware(
            Method.ATA_SANITIZE_CRYPTO,
            "the drive supports ATA SANITIZE crypto scramble",
            ["hdparm", "--yes-i-know-what-i-am-doing", "--sanitize-crypto-scramble", dev],
            policy,
        )
    if caps.sanitize_block:
        return _firmware(
            Method.ATA_SANITIZE_BLOCK,
            "the drive supports ATA SANITIZE block erase",
            ["hdparm", "--yes-i-know-what-i-am-doing", "--sanitize-block-erase", dev],
            policy,
        )
    if caps.security_supported:
        method = (
            Method.ATA_SECURITY_ERASE_ENHANCED if caps.enhanced_erase else Method.ATA_SECURITY_ERASE
        )
        plan = _firmware(
            method,
            "no SANITIZE; ATA SECURITY ERASE UNIT is supported"
            + (" (enhanced)" if caps.enhanced_erase else ""),
            ["hdparm", "--user-master", "u", "--security-set-pass", ATA_PASSWORD, dev],
            policy,
        )
        if method is Method.ATA_SECURITY_ERASE:
            plan.overwrite = plan.overwrite or policy.pattern
            plan.notes.append("normal (not enhanced) security erase may skip remapped sectors")
        if caps.frozen:
            if not policy.unfreeze_by_suspend:
                return _overwrite(policy, "security is frozen and the policy forbids a suspend")
            plan.needs_unfreeze = True
            plan.notes.append("the drive is frozen: a short suspend-to-RAM will unfreeze it")
        return plan
    return _overwrite(policy, "the drive offers neither SANITIZE nor SECURITY ERASE")


def plan_disk(disk: Disk, runner: Runner, policy: ErasePolicy = ErasePolicy()) -> DiskPlan:
    """The erase for one disk; runs only read-only identify commands."""
    dev = disk.path
    if policy.force_overwrite:
        return _overwrite(policy, "the station policy forces an overwrite")
    if disk.transport == "nvme":
        result = runner.run(["nvme", "id-ctrl", dev, "--output-format=json"], timeout=60)
        if not result.ok:
            return _overwrite(policy, f"nvme id-ctrl failed: {result.error_text.strip()}")
        try:
            plan = plan_nvme(parse_nvme_id_ctrl(result.text), dev, policy)
        except DigibenchError as exc:
            return _overwrite(policy, f"nvme id-ctrl unreadable: {exc.message}")
        return plan
    if disk.transport in ("sata", "ata") and disk.media_type is MediaType.SSD:
        result = runner.run(["hdparm", "-I", dev], timeout=60)
        if not result.ok:
            return _overwrite(policy, f"hdparm -I failed: {result.error_text.strip()}")
        try:
            return plan_ata(parse_hdparm_identify(result.text), dev, policy)
        except DigibenchError as exc:
            return _overwrite(policy, f"hdparm -I unreadable: {exc.message}")
    kind = {
        MediaType.HDD: "a hard disk: one verified overwrite pass",
        MediaType.USB: "a USB disk: bridges hide firmware commands",
        MediaType.EMMC: "eMMC: overwrite",
        MediaType.VIRTUAL: "a virtual or loop disk: overwrite",
    }.get(disk.media_type, f"no firmware erase for transport {disk.transport or 'unknown'}")
    return _overwrite(policy, kind)
