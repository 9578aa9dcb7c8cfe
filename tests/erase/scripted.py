"""A replay runner that serves the same command's recordings in order.

Polling a drive runs one command many times with changing answers (a
sanitize log going from "in progress" to "completed"); each recording here
is used once, in order, and ``actions`` can run test code when a command is
"executed" (e.g. scramble a loop device the way a crypto erase would).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from agent.runner import CommandResult, Recording, ReplayRunner

FIXTURES = Path(__file__).parent.parent / "fixtures" / "erase"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


@dataclass
class ScriptedRunner(ReplayRunner):
    actions: dict[tuple[str, ...], Callable[[], None]] = field(default_factory=dict)

    def run(
        self,
        argv: Sequence[str],
        *,
        check: bool = False,
        timeout: float | None = None,
        input: bytes | None = None,
    ) -> CommandResult:
        key = tuple(argv)
        result = super().run(argv, check=check, timeout=timeout, input=input)
        for i, rec in enumerate(self.recordings):
            if rec.argv == key:
                del self.recordings[i]
                break
        action = self.actions.get(key)
        if action is not None:
            action()
        return result


def script(*steps: tuple[list[str], str, int]) -> ScriptedRunner:
    """Recordings from (argv, stdout, returncode) steps, in order."""
    return ScriptedRunner([Recording(tuple(a), rc, out.encode()) for a, out, rc in steps])


class FakeClock:
    """Time that passes only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
