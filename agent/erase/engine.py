"""Wipe disks: overwrite, verify, and certify each one, all disks in parallel.

Each disk runs in its own thread (the I/O releases the GIL, so disks proceed
at their own speed). Per disk: last-moment safety check by identity, an
exclusive O_DIRECT open, the overwrite pass with journal checkpoints, a
read-back verification, and a signed record. Whatever happens, a disk ends
with a record; only a wipe with no unresolved error says ``erased``.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agent import __version__
from agent.erase.device import BlockDevice, DiskVanishedError
from agent.erase.firmware import Executor, FirmwareOutcome
from agent.erase.hidden import HiddenAreas, detect, remove_hpa
from agent.erase.journal import Journal, JournalEntry
from agent.erase.overwrite import DEFAULT_CHUNK, Pattern, overwrite
from agent.erase.plan import DiskPlan, ErasePolicy, Method, plan_disk
from agent.erase.prng import KeyStream, new_seed
from agent.erase.progress import Meter, ProgressCallback, WipeProgress, ignore_progress
from agent.erase.record import decide_result, sign_record, write_record
from agent.erase.safety import ROOT, RefusedError, Target, opened_is, recheck
from agent.erase.verify import fingerprint, sample_regions, unchanged_blocks, verify
from agent.errors import DigibenchError
from agent.probes.sysfs import under
from agent.report.schema import ErasureRecord, ErasureResult, ErrorRange, SanitizeLevel
from agent.runner import Runner, SystemRunner

log = logging.getLogger(__name__)


@dataclass
class WipeOptions:
    """How to wipe; the same for every disk of one run."""

    pattern: Pattern = Pattern.ZERO
    verify_percent: float = 100.0  # 100 = full read-back
    key: Ed25519PrivateKey | None = None
    record_dir: Path | None = None
    state_dir: Path | None = None
    operator: str | None = None
    station: str | None = None
    host_serial: str | None = None
    host_asset_tag: str | None = None
    chunk: int = DEFAULT_CHUNK
    checkpoint_every_s: float = 2.0
    progress_every_s: float = 0.5
    root: Path = ROOT
    confirmed: frozenset[str] = field(default_factory=frozenset)
    #: firmware erases: the command runner, the station policy, polling
    runner: Runner | None = None
    policy: ErasePolicy | None = None
    firmware_poll_s: float = 10.0
    firmware_stall_s: float = 1800.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic

    def effective_policy(self) -> ErasePolicy:
        return self.policy or ErasePolicy(pattern=self.pattern)

    def effective_runner(self) -> Runner:
        return self.runner or SystemRunner()


@dataclass
class WipeOutcome:
    record: ErasureRecord
    path: Path | None = None


def _versions() -> dict[str, str]:
    return {
        "digibench": __version__,
        "cryptography": version("cryptography"),
        "linux": os.uname().release,
    }


def _now() -> datetime:
    return datetime.now(UTC)


def _tool_version(runner: Runner, argv: list[str]) -> str | None:
    try:
        result = runner.run(argv, timeout=30)
    except DigibenchError:
        return None
    text = (result.text or result.error_text).strip()
    return text.splitlines()[0][:200] if result.ok and text else None


class _DiskWipe:
    """The state of one disk's wipe, turned into a record at the end."""

    def __init__(
        self, target: Target, opts: WipeOptions, progress: ProgressCallback, plan: DiskPlan
    ) -> None:
        self.t = target
        self.o = opts
        self.plan = plan
        self.policy = opts.effective_policy()
        self.runner = opts.effective_runner()
        self.progress = progress
        self.started = _now()
        self.notes: list[str] = [f"plan: {plan.describe()}", *plan.notes]
        self.errors: list[ErrorRange] = []
        self.written = 0
        self.write_seconds = 0.0
        self.resumed = False
        self.seed: bytes | None = None
        self.verify_method: str | None = None
        self.coverage: float | None = None
        self.verify_passed: bool | None = None
        self.verify_problems: list[ErrorRange] = []
        self.failure: str | None = None
        self.journal = Journal(opts.state_dir) if opts.state_dir else None
        self.keep_journal = False
        self.firmware_done = False
        self.overwrite_pattern: Pattern | None = plan.overwrite
        self.hidden: HiddenAreas | None = None
        self.hidden_action: str | None = None
        self.expected_size = target.disk.size_bytes
        self.tools: dict[str, str] = {}
        self.hidden_unwiped = False

    @property
    def method(self) -> str:
        if self.firmware_done:
            extra = f"+overwrite-{self.overwrite_pattern.value}" if self.overwrite_pattern else ""
            return f"{self.plan.method.value}{extra}"
        return f"overwrite-{(self.overwrite_pattern or self.policy.pattern).value}"

    @property
    def level(self) -> SanitizeLevel:
        return self.plan.level if self.firmware_done else SanitizeLevel.CLEAR

    @property
    def pattern_kind(self) -> Pattern:
        return self.overwrite_pattern or self.policy.pattern

    def run(self, stop: threading.Event) -> None:
        t, o = self.t, self.o
        if t.identity not in o.confirmed:
            raise RefusedError(f"{t.name}: {t.identity} was not confirmed for wiping")
        disk = recheck(t, o.root)
        if disk.transport in ("sata", "ata"):
            self._hidden_areas(disk.path, disk.name)
        with BlockDevice(disk.path) as dev:
            if not opened_is(dev.fd, disk, o.root):
                raise RefusedError(f"{disk.path} changed between the check and the open")
            if dev.size != self.expected_size:
                raise RefusedError(
                    f"{disk.path} now has {dev.size} bytes, {self.expected_size} were confirmed"
                )
            if self.plan.method.is_firmware:
                self._firmware(dev, disk.path)
                if self.failure:
                    return
            if self.overwrite_pattern is None:
                return
            entry = self._start_entry(dev.size)
            self._write(dev, entry, stop)
            if self.failure:
                return
            self._verify(dev, entry, stop)

    # ------------------------------------------------------------------ hidden areas

    def _hidden_areas(self, path: str, name: str) -> None:
        self.tools.setdefault("hdparm", _tool_version(self.runner, ["hdparm", "-V"]) or "?")
        sector = self.t.disk.logical_sector_size or 512
        self.hidden = detect(self.runner, path, self.t.disk.size_bytes // sector)
        if not self.hidden.hpa:
            return
        if not self.policy.remove_hpa:
            self.hidden_action = "HPA left in place (station policy); its sectors are not wiped"
            self.hidden_unwiped = True
            return
        ok, message = remove_hpa(self.runner, path, self.hidden)
        self.hidden_action = message
        if not ok:
            self.hidden_unwiped = True
            return
        # The kernel keeps the old size until the SCSI device is rescanned.
        rescan = under(self.o.root, f"/sys/block/{name}/device/rescan")
        try:
            rescan.write_text("1")
        except OSError as exc:
            self.notes.append(f"could not rescan {name} after removing the HPA: {exc.strerror}")
        if self.hidden.native is not None:
            self.expected_size = self.hidden.native * sector

    # ------------------------------------------------------------------ firmware

    def _firmware(self, dev: BlockDevice, path: str) -> None:
        plan = self.plan
        tool = "nvme" if plan.method.value.startswith("nvme") else "hdparm"
        argv = ["nvme", "version"] if tool == "nvme" else ["hdparm", "-V"]
        self.tools.setdefault(tool, _tool_version(self.runner, argv) or "?")
        meter = Meter(
            self.progress,
            self.t.identity,
            "firmware",
            dev.size,
            interval_s=self.o.progress_every_s,
        )

        def on_progress(fraction: float | None, detail: str) -> None:
            meter.update(int((fraction or 0.0) * dev.size))

        ex = Executor(
            self.runner,
            clock=self.o.clock,
            sleep=self.o.sleep,
            poll_s=self.o.firmware_poll_s,
            stall_s=self.o.firmware_stall_s,
            progress=on_progress,
        )
        regions = sample_regions(dev.size, max(self.o.verify_percent, 1.0), sector=dev.sector)
        before = fingerprint(dev, regions, chunk=self.o.chunk)
        self._journal_firmware(dev.size)
        try:
            outcome = self._firmware_erase(ex, path)
        except DigibenchError as exc:
            outcome = FirmwareOutcome(False, exc.message, list(ex.ran))
        if self.journal is not None:
            self.journal.remove(self.t.identity)
        self.notes.append(outcome.message)
        self.notes.extend(outcome.notes)
        self.notes.append("commands: " + "; ".join(" ".join(c) for c in outcome.commands)[:3000])
        if outcome.ok:
            left = unchanged_blocks(dev, before, chunk=self.o.chunk)
            covered = sum(n for _, n in regions)
            if not left:
                self.firmware_done = True
                if self.overwrite_pattern is None:
                    self.verify_method = "sampled-fingerprint"
                    self.coverage = round(100.0 * covered / dev.size, 3)
                    self.verify_passed = True
                    self.notes.append(
                        f"verified: none of {len(before)} sampled 4 KiB blocks that held data"
                        " before the erase still holds it"
                    )
                    if not before:
                        self.notes.append("the sampled areas held no data before the erase")
                meter.update(dev.size, force=True)
                return
            outcome = FirmwareOutcome(
                False,
                f"the drive reported success but {len(left)} sampled range(s) still hold"
                f" their old content (first at byte {left[0].start_byte})",
            )
            self.notes.append(outcome.message)
        if self.policy.fallback_to_overwrite:
            self.notes.append("firmware erase failed: falling back to an overwrite (Clear)")
            self.overwrite_pattern = self.policy.pattern
            return
        self.failure = f"firmware erase failed: {outcome.message}"

    def _journal_firmware(self, size: int) -> None:
        """Note the firmware erase in the journal, so a rerun after a crash says so."""
        if self.journal is None:
            return
        old, problem = self.journal.load(self.t.identity)
        if problem:
            self.notes.append(problem)
        now = _now()
        if old is not None and old.phase == "firmware":
            self.resumed = True
            self.started = old.started_at
            self.notes.append(
                f"a {old.method} erase started {old.started_at:%Y-%m-%d %H:%M:%S} UTC was"
                " interrupted; it is run again"
            )
        self.journal.save(
            JournalEntry(
                identity=self.t.identity,
                serial=self.t.disk.serial,
                size_bytes=size,
                method=self.plan.method.value,
                pattern="firmware",
                phase="firmware",
                started_at=self.started,
                updated_at=now,
                interruptions=old.interruptions + 1 if old and old.phase == "firmware" else 0,
            )
        )

    def _firmware_erase(self, ex: Executor, path: str) -> FirmwareOutcome:
        m = self.plan.method
        if m is Method.NVME_SANITIZE_CRYPTO:
            return ex.nvme_sanitize(path, "crypto")
        if m is Method.NVME_SANITIZE_BLOCK:
            return ex.nvme_sanitize(path, "block")
        if m is Method.NVME_FORMAT_CRYPTO:
            return ex.nvme_format(path, 2)
        if m is Method.NVME_FORMAT_USER_DATA:
            return ex.nvme_format(path, 1)
        if m is Method.ATA_SANITIZE_CRYPTO:
            return ex.ata_sanitize(path, "crypto")
        if m is Method.ATA_SANITIZE_BLOCK:
            return ex.ata_sanitize(path, "block")
        caps = self.plan.ata
        if caps is None:
            raise DigibenchError("no ATA identify data for a security erase")
        if self.plan.needs_unfreeze:
            caps = ex.unfreeze(path)
            if caps.frozen:
                return FirmwareOutcome(False, "still frozen after a suspend; no security erase")
            self.notes.append("the drive was frozen; a suspend-to-RAM unfroze it")
        return ex.ata_security_erase(path, caps)

    def _start_entry(self, size: int) -> JournalEntry:
        now = _now()
        fresh = JournalEntry(
            identity=self.t.identity,
            serial=self.t.disk.serial,
            size_bytes=size,
            method=self.method,
            pattern=self.pattern_kind.value,
            started_at=self.started,
            updated_at=now,
        )
        if self.journal is None:
            return self._seeded(fresh)
        old, problem = self.journal.load(self.t.identity)
        if problem:
            self.notes.append(problem)
        if old is not None and old.method == self.method and old.size_bytes == size:
            self.resumed = True
            self.started = old.started_at
            self.errors = list(old.errors)
            self.seed = bytes.fromhex(old.seed_hex) if old.seed_hex else None
            where = "before verification" if old.phase == "verify" else f"at byte {old.offset}"
            self.notes.append(
                f"resumed an interrupted wipe {where} of {size}"
                f" (interruption {old.interruptions + 1},"
                f" first started {old.started_at:%Y-%m-%d %H:%M:%S} UTC)"
            )
            entry = old.model_copy(update={"interruptions": old.interruptions + 1})
            self.written = entry.offset
            self.journal.save(entry)
            return entry
        if old is not None:
            self.notes.append(
                f"an interrupted {old.method} wipe (at byte {old.offset}) was found;"
                f" restarted from the beginning with {self.method}"
            )
        entry = self._seeded(fresh)
        self.journal.save(entry)
        return entry

    def _seeded(self, entry: JournalEntry) -> JournalEntry:
        if self.pattern_kind is Pattern.RANDOM:
            self.seed = new_seed()
            return entry.model_copy(update={"seed_hex": self.seed.hex()})
        return entry

    def _save(self, entry: JournalEntry, **update: object) -> JournalEntry:
        entry = entry.model_copy(update={**update, "updated_at": _now()})
        if self.journal is not None:
            self.journal.save(entry)
        return entry

    def _write(self, dev: BlockDevice, entry: JournalEntry, stop: threading.Event) -> None:
        if entry.phase != "wipe":
            return
        stream = KeyStream(self.seed) if self.seed else None
        meter = Meter(
            self.progress,
            self.t.identity,
            "wipe",
            dev.size,
            start_done=entry.offset,
            interval_s=self.o.progress_every_s,
        )
        holder = [entry]

        def checkpoint(offset: int, errors: list[ErrorRange]) -> None:
            holder[0] = self._save(holder[0], offset=offset, errors=errors)

        out = overwrite(
            dev,
            stream,
            meter=meter,
            start=entry.offset,
            chunk=self.o.chunk,
            stop=stop,
            checkpoint=checkpoint if self.journal else None,
            checkpoint_every_s=self.o.checkpoint_every_s,
            errors=entry.errors,
        )
        self.written = out.end_offset
        self.write_seconds = out.seconds
        self.errors = out.errors
        if out.failure is not None:
            self._stopped(out.end_offset, dev.size, out.failure, out.errors)
            return
        if not out.completed:
            self.keep_journal = True
            self.failure = (
                f"wipe interrupted at byte {out.end_offset} of {dev.size};"
                " the journal keeps the place, a rerun resumes"
            )
            return
        holder[0] = self._save(holder[0], phase="verify", offset=dev.size)

    def _stopped(self, at: int, size: int, why: str, errors: list[ErrorRange]) -> None:
        """The pass could not go on: the record names every range that is not wiped."""
        self.keep_journal = True
        self.written = at
        self.failure = f"wipe stopped at byte {at}: {why}"
        unwritten = [
            ErrorRange(start_byte=at, length_bytes=size - at, message=f"not written: {why}")
        ]
        self.errors = [*errors, *(unwritten if at < size else [])]

    def _verify(self, dev: BlockDevice, entry: JournalEntry, stop: threading.Event) -> None:
        pct = self.o.verify_percent
        rng = random.Random()  # noqa: S311 - sample positions need spread, not secrecy
        regions = sample_regions(dev.size, pct, sector=dev.sector, rng=rng)
        method = "full" if regions == [(0, dev.size)] else "sampled"
        total = sum(n for _, n in regions)
        meter = Meter(
            self.progress, self.t.identity, "verify", total, interval_s=self.o.progress_every_s
        )
        stream = KeyStream(self.seed) if self.seed else None
        try:
            out = verify(
                dev, stream, regions, meter=meter, method=method, chunk=self.o.chunk, stop=stop
            )
        except DiskVanishedError as exc:
            self.keep_journal = True
            self.failure = f"verification stopped: {exc.message}"
            return
        self.verify_method = method
        self.coverage = out.coverage_percent
        self.verify_problems = out.problems
        self.verify_passed = out.completed and not out.problems
        if method == "sampled":
            self.notes.append(
                f"sampled verification: {len(regions)} windows incl. first and last MiB,"
                f" {out.checked_bytes} bytes read"
            )
        if not out.completed:
            self.keep_journal = True
            self.failure = "verification interrupted; a rerun verifies again"

    def record(self) -> ErasureRecord:
        result, why = decide_result(
            failure=self.failure,
            write_errors=self.errors,
            verify_problems=self.verify_problems,
            verified=bool(self.verify_method),
        )
        if result is ErasureResult.ERASED and self.hidden_unwiped:
            result = ErasureResult.ERASED_WITH_EXCEPTIONS
            why.append("a hidden area (HPA) was not wiped")
        d = self.t.disk
        pattern: str | None = "zeros (0x00)" if self.written or not self.firmware_done else None
        if self.seed is not None:
            pattern = KeyStream(self.seed).name
        done = _now()
        mb_s = self.written / self.write_seconds / 1e6 if self.write_seconds > 0 else None
        return ErasureRecord(
            record_id=uuid.uuid4(),
            disk_model=d.model,
            disk_vendor=d.vendor,
            disk_serial=d.serial,
            disk_identity=self.t.identity,
            disk_path=d.path,
            disk_size_bytes=self.expected_size,
            media_type=d.media_type,
            transport=d.transport,
            host_serial=self.o.host_serial,
            host_asset_tag=self.o.host_asset_tag,
            method=self.method,
            tool="digibench",
            tool_versions={**_versions(), **self.tools},
            level=self.level,
            passes=1 if self.written else 0,
            pattern=pattern,
            started_at=self.started,
            finished_at=done,
            bytes_written=self.written,
            throughput_mb_s=round(mb_s, 1) if mb_s is not None else None,
            resumed=self.resumed,
            hpa=self.hidden.hpa_text() if self.hidden else None,
            dco=self.hidden.dco_text() if self.hidden else None,
            hidden_area_action=self.hidden_action,
            verification_method=self.verify_method,
            verification_coverage_percent=self.coverage,
            verification_passed=self.verify_passed,
            errors=(self.errors + [p for p in self.verify_problems if p not in self.errors])[
                :10_000
            ],
            notes=[f"disk identity: {self.t.identity}", *self.notes, *why][:64],
            result=result,
            operator=self.o.operator,
            station=self.o.station,
        )


def wipe_one(
    target: Target,
    opts: WipeOptions,
    progress: ProgressCallback = ignore_progress,
    stop: threading.Event | None = None,
    plan: DiskPlan | None = None,
) -> WipeOutcome:
    """Wipe one disk and return its (signed, written) record; never raises for the disk's faults.

    ``plan`` is normally made beforehand (and shown to the operator); without
    one, :func:`~agent.erase.plan.plan_disk` decides now.
    """
    try:
        plan = plan or plan_disk(target.disk, opts.effective_runner(), opts.effective_policy())
    except DigibenchError as exc:
        plan = plan_disk(target.disk, opts.effective_runner(), ErasePolicy(force_overwrite=True))
        plan.notes.append(f"planning failed ({exc.message}); overwriting instead")
    job = _DiskWipe(target, opts, progress, plan)
    try:
        job.run(stop or threading.Event())
    except DigibenchError as exc:
        job.failure = job.failure or exc.message
        job.keep_journal = True
    except OSError as exc:
        job.failure = job.failure or f"{target.name}: {exc.strerror or exc}"
        job.keep_journal = True
    record = job.record()
    if job.journal is not None and not job.keep_journal:
        job.journal.remove(target.identity)
    if opts.key is not None:
        record = sign_record(record, opts.key)
    path = write_record(record, opts.record_dir) if opts.record_dir and record.signature else None
    progress(
        WipeProgress(
            target.identity,
            "done",
            job.written,
            target.disk.size_bytes,
            0.0,
            0.0,
            message=record.result.value,
        )
    )
    return WipeOutcome(record, path)


def wipe_all(
    targets: list[Target],
    opts: WipeOptions,
    progress: ProgressCallback = ignore_progress,
    stop: threading.Event | None = None,
    plans: dict[str, DiskPlan] | None = None,
) -> list[WipeOutcome]:
    """Wipe every target at the same time; outcomes in the order of ``targets``."""
    if not targets:
        return []
    identities = [t.identity for t in targets]
    if len(set(identities)) != len(identities):
        raise RefusedError("the same disk was named twice")
    stop = stop or threading.Event()
    with ThreadPoolExecutor(max_workers=len(targets), thread_name_prefix="wipe") as pool:
        plans = plans or {}
        futures = [
            pool.submit(wipe_one, t, opts, progress, stop, plans.get(t.identity)) for t in targets
        ]
        try:
            return [f.result() for f in futures]
        except KeyboardInterrupt:
            stop.set()
            return [f.result() for f in futures]


def all_erased(outcomes: list[WipeOutcome]) -> bool:
    return bool(outcomes) and all(o.record.result is ErasureResult.ERASED for o in outcomes)
