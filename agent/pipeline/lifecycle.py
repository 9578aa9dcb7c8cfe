"""The run's stages as a transition table: every step of the pipeline goes through it.

A step asked for in the wrong stage (``run()`` before ``confirm()``, ``confirm()``
during a wipe) raises :class:`WrongStageError` instead of doing something half.
One :class:`Lifecycle` belongs to one laptop's run; the next laptop gets a new one.
"""

from __future__ import annotations

import threading

from agent.errors import DigibenchError
from agent.pipeline.events import Stage

S = Stage
#: stage -> the stages it may go to. DONE, CANCELLED and FAILED end a laptop's run.
TRANSITIONS: dict[Stage, frozenset[Stage]] = {
    S.START: frozenset({S.INSPECT}),
    S.INSPECT: frozenset({S.TESTS, S.CANCELLED, S.FAILED}),
    S.TESTS: frozenset({S.CONFIRM, S.GRADE, S.CANCELLED, S.FAILED}),
    S.CONFIRM: frozenset({S.CONFIRM, S.WIPE, S.GRADE, S.CANCELLED, S.FAILED}),
    S.REFRESH: frozenset(),  # helpdesk only
    S.WIPE: frozenset({S.FLASH, S.CANCELLED, S.FAILED}),
    S.FLASH: frozenset({S.GRADE, S.CANCELLED, S.FAILED}),
    S.GRADE: frozenset({S.REPORT, S.FAILED}),
    S.REPORT: frozenset({S.DONE, S.FAILED}),
    S.DONE: frozenset(),
    S.CANCELLED: frozenset(),
    S.FAILED: frozenset(),
}
#: Helpdesk (check mode): a resident's own laptop. Nothing is wiped unless the resident's
#: separate refresh confirmation (REFRESH) came first: the tests or the check's end never
#: lead to a wipe, and disks are confirmed (REFRESH -> REFRESH) only after it.
HELPDESK_TRANSITIONS: dict[Stage, frozenset[Stage]] = {
    **TRANSITIONS,
    S.TESTS: frozenset({S.CONFIRM, S.GRADE, S.REFRESH, S.CANCELLED, S.FAILED}),
    S.CONFIRM: frozenset({S.GRADE, S.REFRESH, S.CANCELLED, S.FAILED}),
    S.REFRESH: frozenset({S.REFRESH, S.WIPE, S.GRADE, S.CANCELLED, S.FAILED}),
}
#: stages a power cut can interrupt with something to resume
RESUMABLE = frozenset({S.WIPE, S.FLASH, S.GRADE, S.REPORT})
ENDED = frozenset({S.DONE, S.CANCELLED, S.FAILED})


class WrongStageError(DigibenchError):
    """A step was asked for out of order."""


class Lifecycle:
    """Where one run stands; thread-safe, since a screen may cancel while a worker runs."""

    def __init__(self, stage: Stage = S.START, *, helpdesk: bool = False) -> None:
        self._stage = stage
        self._lock = threading.Lock()
        #: a resident's own laptop (check mode): wiped only after a refresh confirmation
        self.helpdesk = helpdesk
        self._table = HELPDESK_TRANSITIONS if helpdesk else TRANSITIONS

    @property
    def stage(self) -> Stage:
        return self._stage

    def move(self, to: Stage, *, action: str | None = None) -> Stage:
        """Go to ``to`` or raise; returns the stage left."""
        with self._lock:
            here = self._stage
            if to not in self._table[here]:
                what = action or f"going to '{to.value}'"
                raise WrongStageError(
                    f"{what} is not possible while the run is in '{here.value}'",
                    hint=_HINTS.get(to),
                )
            self._stage = to
            return here

    def can(self, to: Stage) -> bool:
        return to in self._table[self._stage]


_HINTS = {
    S.TESTS: "inspect the laptop first",
    S.CONFIRM: "inspect the laptop and record the tests first",
    S.WIPE: "confirm the disks first",
    S.REFRESH: "a refresh is for a resident's own laptop (helpdesk), after the check",
    S.GRADE: "a run with confirmed disks continues with run()",
}
