"""One laptop's run: everything that must not outlive it.

The stop event, the confirmed targets, the upload flag, the signed report:
a new laptop gets a new :class:`LaptopRun`, so a cancel of the last one can
never stop this one's wipe.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from agent.erase.safety import Target
from agent.pipeline.lifecycle import Lifecycle, WrongStageError
from agent.pipeline.machine_checks import MachineChecks
from agent.report.schema import Disk, ErasureRecord, ErasureResult, Interruption, Report


def disk_label(disk: Disk) -> str:
    """How a volunteer recognises a disk: model and serial, never sdX alone."""
    name = " ".join(x for x in (disk.vendor, disk.model) if x) or disk.path
    return f"{name} ({disk.serial})" if disk.serial else name


@dataclass
class LaptopRun:
    life: Lifecycle = field(default_factory=Lifecycle)
    stop: threading.Event = field(default_factory=threading.Event)
    report: Report | None = None
    confirmed: list[Target] = field(default_factory=list)
    #: identities confirmed before an interruption (checked again on resume)
    confirmed_ids: list[str] = field(default_factory=list)
    uploaded: bool = False
    #: the signed report's exact bytes, once signed; spooled: in the outbox
    signed: bytes | None = None
    spooled: bool = False
    interruption: Interruption | None = None
    #: the memory and thermal checks running since the inspection (None: none asked)
    machine_checks: MachineChecks | None = None

    def require_report(self) -> Report:
        if self.report is None:
            raise WrongStageError("inspect the laptop first")
        return self.report

    def identities(self) -> list[str]:
        return [t.identity for t in self.confirmed] or list(self.confirmed_ids)

    def latest_erasure(self, identity: str) -> ErasureRecord | None:
        """This disk's latest erasure record in this run, if any."""
        report = self.report
        if report is None:
            return None
        return next((r for r in reversed(report.erasures) if r.disk_identity == identity), None)

    def verified_erased(self, identity: str) -> bool:
        """Whether this disk's latest erasure record says erased and verified."""
        record = self.latest_erasure(identity)
        return (
            record is not None
            and record.result is ErasureResult.ERASED
            and record.verification_passed is True
        )
