"""The run's saved state: what a restart after a power cut needs to resume.

Written (atomically, through the :class:`~agent.pipeline.storage.Keeper`, so a
full stick keeps it in memory) after every step; read by :meth:`RunState.load_run`.
"""

from __future__ import annotations

import base64
import contextlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from agent.pipeline.events import EventSink, Stage, notice
from agent.pipeline.laptop_run import LaptopRun
from agent.pipeline.lifecycle import RESUMABLE, Lifecycle, WrongStageError
from agent.pipeline.storage import Keeper
from agent.report.schema import Mode, Report

STATE_FILE = "run.json"
S = Stage


@dataclass
class ResumeInfo:
    """A run that was cut short: which laptop, how far it got."""

    asset_tag: str | None
    stage: Stage
    disks: list[str]


class RunState:
    def __init__(self, state_dir: Path, keeper: Keeper, emit: EventSink) -> None:
        self.state_dir = state_dir
        self.keeper = keeper
        self.emit = emit

    @property
    def path(self) -> Path:
        return self.state_dir / STATE_FILE

    def save(self, run: LaptopRun) -> None:
        report = run.require_report()
        state = {
            "stage": run.life.stage.value,
            "report": report.model_dump(mode="json"),
            "confirmed": run.identities(),
            "signed": base64.b64encode(run.signed).decode() if run.signed else None,
            "spooled": run.spooled,
        }
        self.keeper.write("the run state", self.path, json.dumps(state).encode())

    def clear(self) -> None:
        self.keeper.forget(self.path)
        with contextlib.suppress(OSError):  # a read-only stick: the next save replaces it
            self.path.unlink(missing_ok=True)

    def _load(self) -> dict[str, Any] | None:
        held = self.keeper.held.get(self.path)
        try:
            data = json.loads(held.data if held else self.path.read_bytes())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            self.emit(notice("warning", "notice.state_unreadable", detail=str(exc)))
            return None
        return data if isinstance(data, dict) else None

    def pending(self) -> ResumeInfo | None:
        state = self._load()
        if not state or state.get("stage") not in {s.value for s in RESUMABLE}:
            return None
        report = state.get("report") or {}
        return ResumeInfo(
            asset_tag=report.get("asset_tag"),
            stage=Stage(state["stage"]),
            disks=[str(d) for d in state.get("confirmed", [])],
        )

    def load_run(self) -> LaptopRun | None:
        """The interrupted run, its lifecycle set so the resumed steps follow the table."""
        state = self._load()
        info = self.pending()
        if state is None or info is None:
            return None
        try:
            report = Report.model_validate(state["report"])
        except ValidationError as exc:
            raise WrongStageError(f"the interrupted run's state is damaged: {exc}") from exc
        signed = state.get("signed")
        run = LaptopRun(report=report, confirmed_ids=info.disks)
        # a resident's laptop (helpdesk) keeps its own table: wiped only after REFRESH
        helpdesk = report.mode is Mode.CHECK
        if info.stage is S.REPORT and signed:
            # signed already: the same bytes are spooled (idempotently) and delivered, never
            # signed again, so the outbox never holds two versions of one report
            run.signed, run.spooled = base64.b64decode(signed), bool(state.get("spooled"))
            run.life = Lifecycle(S.GRADE, helpdesk=helpdesk)
        elif info.stage in (S.GRADE, S.REPORT):
            # grade and sign again, with the interruption noted
            run.life = Lifecycle(S.FLASH, helpdesk=helpdesk)
        else:
            run.life = Lifecycle(S.REFRESH if helpdesk else S.CONFIRM, helpdesk=helpdesk)
        return run
