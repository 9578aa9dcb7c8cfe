"""The drives' own erase commands: NVMe sanitize/format, ATA sanitize/security erase.

Parsers read what ``nvme id-ctrl``, ``nvme sanitize-log``, ``hdparm -I`` and
``hdparm --sanitize-status`` print; executors run the commands through the
shared runner and never trust an exit status alone: a sanitize is followed
until the drive's own log says it finished, an ATA password is checked
after it is set (QEMU drives refuse it yet hdparm exits 0) and removed again
if the erase fails, so no drive is left locked.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from agent.errors import DigibenchError
from agent.runner import CommandResult, Runner

# --------------------------------------------------------------------------- NVMe


@dataclass(frozen=True)
class NvmeCaps:
    """What an NVMe controller says it can erase (Identify Controller)."""

    model: str | None
    serial: str | None
    sanicap: int
    oacs: int
    fna: int

    @property
    def sanitize_crypto(self) -> bool:
        return bool(self.sanicap & 0x1)

    @property
    def sanitize_block(self) -> bool:
        return bool(self.sanicap & 0x2)

    @property
    def sanitize_overwrite(self) -> bool:
        return bool(self.sanicap & 0x4)

    @property
    def format_supported(self) -> bool:
        return bool(self.oacs & 0x2)

    @property
    def format_crypto(self) -> bool:
        """FNA bit 2: crypto erase is supported as part of a secure-erase format."""
        return bool(self.fna & 0x4)

    @property
    def format_all_namespaces(self) -> bool:
        """FNA bit 0: a format applies to every namespace of the controller."""
        return bool(self.fna & 0x1)


def _int(value: object) -> int:
    if isinstance(value, int):
        return value
    text = str(value).strip().replace(",", "")
    return int(text, 16) if text.lower().startswith("0x") else int(text)


def _text_fields(text: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in text.splitlines():
        m = re.match(r"^([a-z][a-z0-9]*)\s*:\s?(.*)$", line)
        if m and m.group(1) not in fields:
            fields[m.group(1)] = m.group(2).strip()
    return fields


def parse_nvme_id_ctrl(output: str) -> NvmeCaps:
    """``nvme id-ctrl`` output, JSON (``-o json``) or the normal text form."""
    data: dict[str, object]
    stripped = output.strip()
    if stripped.startswith("{"):
        try:
            loaded = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise DigibenchError(f"nvme id-ctrl printed broken JSON: {exc}") from exc
        if not isinstance(loaded, dict):
            raise DigibenchError("nvme id-ctrl JSON is not an object")
        data = loaded
    else:
        data = dict(_text_fields(output))
    try:
        return NvmeCaps(
            model=str(data.get("mn") or "").strip() or None,
            serial=str(data.get("sn") or "").strip() or None,
            sanicap=_int(data.get("sanicap", 0)),
            oacs=_int(data.get("oacs", 0)),
            fna=_int(data.get("fna", 0)),
        )
    except ValueError as exc:
        raise DigibenchError(f"cannot read nvme id-ctrl output: {exc}") from exc


@dataclass(frozen=True)
class SanitizeState:
    """Where a background sanitize stands, from the drive's own status."""

    state: str  # idle | in_progress | success | failed
    progress: float | None = None  # 0..1 while in progress
    detail: str = ""


_SSTAT = {0: "idle", 1: "success", 2: "in_progress", 3: "failed", 4: "success"}


def parse_nvme_sanitize_log(output: str) -> SanitizeState:
    """``nvme sanitize-log`` text: SPROG (n/65536) and SSTAT bits 2:0."""
    sprog = re.search(r"\(SPROG\)\s*:\s*(\d+)", output)
    sstat = re.search(r"\(SSTAT\)\s*:\s*(0x[0-9a-fA-F]+|\d+)", output)
    if sstat is None:
        raise DigibenchError("nvme sanitize-log printed no Sanitize Status (SSTAT)")
    status = _int(sstat.group(1))
    state = _SSTAT.get(status & 0x7, "failed")
    progress = int(sprog.group(1)) / 65536 if sprog and state == "in_progress" else None
    detail = f"SSTAT {status:#x}" + (f", SPROG {sprog.group(1)}" if sprog else "")
    if status & 0x100:
        detail += ", global data erased"
    return SanitizeState(state, progress, detail)


# --------------------------------------------------------------------------- ATA


@dataclass(frozen=True)
class AtaCaps:
    """The security and sanitize feature sets from ``hdparm -I``."""

    model: str | None
    serial: str | None
    rotational: bool | None
    security_supported: bool = False
    security_enabled: bool = False
    locked: bool = False
    frozen: bool = False
    enhanced_erase: bool = False
    erase_minutes: int | None = None
    enhanced_erase_minutes: int | None = None
    sanitize: bool = False
    sanitize_crypto: bool = False
    sanitize_block: bool = False
    sanitize_overwrite: bool = False
    hpa_feature: bool = False
    dco_feature: bool = False
    lba48_sectors: int | None = None


def _flag(section: str, word: str) -> bool | None:
    """``supported`` / ``not supported`` lines in the Security section (tabs or spaces)."""
    for line in section.splitlines():
        parts = line.split()
        if parts == [word]:
            return True
        if parts == ["not", word]:
            return False
    return None


def parse_hdparm_identify(output: str) -> AtaCaps:
    """``hdparm -I`` text; missing sections simply mean "not supported"."""
    if not any(mark in output for mark in ("ATA device", "Model Number", "Security:")):
        raise DigibenchError("hdparm -I printed no ATA identify data (not an ATA disk?)")

    def field_(name: str) -> str | None:
        m = re.search(rf"{name}:\s*(.+)", output)
        return m.group(1).strip() if m else None

    rotation = field_("Nominal Media Rotation Rate")
    rotational = None if rotation is None else "Solid State" not in rotation
    security = output.split("Security:", 1)[1] if "Security:" in output else ""
    security = security.split("Logical Unit WWN", 1)[0].split("Checksum:", 1)[0]
    times = re.search(r"(\d+)min for SECURITY ERASE UNIT\. (\d+)min for ENHANCED", security)
    features = output.split("Commands/features:", 1)[1] if "Commands/features:" in output else ""
    features = features.split("Security:", 1)[0]

    listed = {line.strip().lstrip("*").strip() for line in features.splitlines()}

    def feature(name: str) -> bool:
        """hdparm lists only supported features; ``*`` marks enabled ones."""
        return name in listed

    lba48 = field_("LBA48  user addressable sectors")
    return AtaCaps(
        model=field_("Model Number"),
        serial=field_("Serial Number"),
        rotational=rotational,
        security_supported=_flag(security, "supported") is True,
        security_enabled=_flag(security, "enabled") is True,
        locked=_flag(security, "locked") is True,
        frozen=_flag(security, "frozen") is True,
        enhanced_erase=bool(re.search(r"^\s*supported: enhanced erase", security, re.M)),
        erase_minutes=int(times.group(1)) if times else None,
        enhanced_erase_minutes=int(times.group(2)) if times else None,
        sanitize=feature("SANITIZE feature set"),
        sanitize_crypto=feature("CRYPTO_SCRAMBLE_EXT command"),
        sanitize_block=feature("BLOCK_ERASE_EXT command"),
        sanitize_overwrite=feature("OVERWRITE_EXT command"),
        hpa_feature=feature("Host Protected Area feature set"),
        dco_feature=feature("Device Configuration Overlay feature set"),
        lba48_sectors=int(lba48) if lba48 and lba48.isdigit() else None,
    )


def parse_hdparm_sanitize_status(output: str) -> SanitizeState:
    """``hdparm --sanitize-status``: states SD0..SD4 as hdparm names them."""
    m = re.search(r"State:\s*(SD\d)[^\n]*", output)
    if m is None:
        raise DigibenchError("hdparm --sanitize-status printed no sanitize state")
    code = m.group(1)
    pct = re.search(r"Progress:\s*0x[0-9a-fA-F]+\s*\((\d+)%\)", output)
    failed_before = "completed unsuccessfully" in output or "Failed" in m.group(0)
    if code == "SD2":
        return SanitizeState("in_progress", int(pct.group(1)) / 100 if pct else None, m.group(0))
    if code == "SD3" or failed_before:
        return SanitizeState("failed", None, m.group(0))
    if code == "SD4" or "Completed Without Error" in output:
        return SanitizeState("success", None, m.group(0))
    if code == "SD1":
        return SanitizeState("failed", None, "sanitize is frozen (SD1): " + m.group(0))
    return SanitizeState("idle", None, m.group(0))


# --------------------------------------------------------------------------- executing


class FirmwareEraseError(DigibenchError):
    """A firmware erase did not complete; the message says what the drive reported."""


@dataclass
class FirmwareOutcome:
    ok: bool
    message: str
    commands: list[tuple[str, ...]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


#: The temporary ATA user password. Printed in the record whenever it may be left set.
ATA_PASSWORD = "digibench"

Clock = Callable[[], float]
Sleep = Callable[[float], None]
Progress = Callable[[float | None, str], None]


def _no_progress(_: float | None, __: str) -> None:
    return None


@dataclass
class Executor:
    """Runs one firmware erase; ``clock``/``sleep`` are injectable so tests replay polling."""

    runner: Runner
    clock: Clock = time.monotonic
    sleep: Sleep = time.sleep
    poll_s: float = 10.0
    #: A sanitize whose progress does not move for this long is declared stuck
    #: (seen in the field: Intel 660p block erase sits at SPROG 655 for days).
    stall_s: float = 1800.0
    timeout_s: float = 6 * 3600.0
    progress: Progress = _no_progress
    ata_password: str = ATA_PASSWORD
    ran: list[tuple[str, ...]] = field(default_factory=list)

    def _run(self, argv: list[str], timeout: float | None = 600.0) -> CommandResult:
        self.ran.append(tuple(argv))
        return self.runner.run(argv, timeout=timeout)

    def _poll(self, argv: list[str], parse: Callable[[str], SanitizeState]) -> SanitizeState:
        start = last_change = self.clock()
        last: float | None = None
        while True:
            result = self._run(argv)
            if not result.ok:
                raise FirmwareEraseError(
                    f"'{' '.join(argv)}' failed ({result.returncode}): {result.error_text.strip()}"
                )
            state = parse(result.text)
            now = self.clock()
            if state.state != "in_progress":
                return state
            self.progress(state.progress, state.detail)
            if state.progress != last:
                last, last_change = state.progress, now
            if now - last_change >= self.stall_s:
                raise FirmwareEraseError(
                    f"sanitize made no progress for {int(now - last_change)} s ({state.detail});"
                    " the drive may be stuck: power-cycle it, then check its sanitize status"
                )
            if now - start >= self.timeout_s:
                raise FirmwareEraseError(f"sanitize still running after {int(now - start)} s")
            self.sleep(self.poll_s)

    # ------------------------------------------------------------------ NVMe

    def nvme_sanitize(self, dev: str, action: str) -> FirmwareOutcome:
        """``action`` crypto (sanact 4) or block (sanact 2); waits for the drive's log."""
        sanact = {"crypto": "4", "block": "2"}[action]
        notes: list[str] = []
        log = ["nvme", "sanitize-log", dev]
        start = self._run(["nvme", "sanitize", dev, f"--sanact={sanact}"])
        if not start.ok:
            why = (start.error_text or start.text).strip()
            # A sanitize survives power loss: after a crash the drive may still be at it,
            # and refuses a new one. Follow the running one instead of giving up.
            current = self._run(log)
            running = current.ok and parse_nvme_sanitize_log(current.text).state == "in_progress"
            if not running:
                return FirmwareOutcome(False, f"nvme sanitize refused: {why}", list(self.ran))
            notes.append("a sanitize was already running on the drive; followed it to the end")
        try:
            state = self._poll(log, parse_nvme_sanitize_log)
        except FirmwareEraseError as exc:
            return FirmwareOutcome(False, exc.message, list(self.ran), notes)
        ok = state.state == "success"
        msg = f"sanitize {action} erase {'completed' if ok else 'FAILED'} ({state.detail})"
        return FirmwareOutcome(ok, msg, list(self.ran), notes)

    def nvme_format(self, dev: str, ses: int) -> FirmwareOutcome:
        result = self._run(["nvme", "format", dev, f"--ses={ses}", "--force"], timeout=3 * 3600)
        if not result.ok:
            why = (result.error_text or result.text).strip()
            return FirmwareOutcome(False, f"nvme format --ses={ses} failed: {why}", list(self.ran))
        kind = "cryptographic erase" if ses == 2 else "user data erase"
        return FirmwareOutcome(True, f"format with secure erase ({kind}) completed", list(self.ran))

    # ------------------------------------------------------------------ ATA

    def identify(self, dev: str) -> AtaCaps:
        result = self._run(["hdparm", "-I", dev])
        if not result.ok:
            raise FirmwareEraseError(f"hdparm -I {dev} failed: {result.error_text.strip()}")
        return parse_hdparm_identify(result.text)

    def unfreeze(self, dev: str, seconds: int = 5) -> AtaCaps:
        """A short suspend-to-RAM: drives come back from sleep not frozen (Free Geek's trick)."""
        result = self._run(["rtcwake", "-m", "mem", "-s", str(seconds)], timeout=seconds + 120)
        if not result.ok:
            raise FirmwareEraseError(f"suspend to unfreeze failed: {result.error_text.strip()}")
        return self.identify(dev)

    def ata_sanitize(self, dev: str, action: str) -> FirmwareOutcome:
        flag = {"crypto": "--sanitize-crypto-scramble", "block": "--sanitize-block-erase"}[action]
        start = self._run(["hdparm", "--yes-i-know-what-i-am-doing", flag, dev])
        if not start.ok:
            why = (start.error_text or start.text).strip()
            return FirmwareOutcome(False, f"ATA sanitize refused: {why}", list(self.ran))
        try:
            state = self._poll(["hdparm", "--sanitize-status", dev], parse_hdparm_sanitize_status)
        except FirmwareEraseError as exc:
            return FirmwareOutcome(False, exc.message, list(self.ran))
        ok = state.state == "success"
        msg = f"ATA sanitize {action} {'completed' if ok else 'FAILED'} ({state.detail})"
        return FirmwareOutcome(ok, msg, list(self.ran))

    def ata_security_erase(self, dev: str, caps: AtaCaps) -> FirmwareOutcome:
        """Set a password, erase (enhanced when offered), and prove the password is gone."""
        notes: list[str] = []
        pw = ["--user-master", "u"]
        secret = self.ata_password
        self._run(["hdparm", *pw, "--security-set-pass", secret, dev])
        after_set = self.identify(dev)
        if not after_set.security_enabled:
            return FirmwareOutcome(
                False,
                "the drive did not accept a security password (hdparm exit status is not"
                " trusted); no ATA security erase possible",
                list(self.ran),
            )
        erase_flag = "--security-erase-enhanced" if caps.enhanced_erase else "--security-erase"
        minutes = (caps.enhanced_erase_minutes if caps.enhanced_erase else caps.erase_minutes) or 60
        result = self._run(["hdparm", *pw, erase_flag, secret, dev], timeout=minutes * 60 * 2 + 600)
        final = self.identify(dev)
        if final.security_enabled:
            self._run(["hdparm", *pw, "--security-disable", secret, dev])
            final = self.identify(dev)
            if final.security_enabled:
                notes.append(
                    f"WARNING: the drive is left with ATA user password '{secret}';"
                    f" unlock with: hdparm --user-master u --security-disable {secret} {dev}"
                )
            else:
                notes.append("the temporary ATA password was removed again")
            why = (result.error_text or result.text).strip() or "password still set afterwards"
            msg = f"ATA security erase failed: {why}"
            return FirmwareOutcome(False, msg, list(self.ran), notes)
        if not result.ok:
            why = (result.error_text or result.text).strip()
            return FirmwareOutcome(False, f"ATA security erase failed: {why}", list(self.ran))
        kind = "enhanced " if caps.enhanced_erase else ""
        return FirmwareOutcome(True, f"ATA {kind}security erase completed", list(self.ran), notes)
