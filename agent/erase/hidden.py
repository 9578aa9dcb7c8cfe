"""Hidden areas on ATA disks: HPA (``hdparm -N``) and DCO (``--dco-identify``).

An HPA makes the drive report fewer sectors than it has; a DCO can shrink
the native size too. Data hidden there survives an overwrite of the visible
disk, so both are reported, and the HPA is removed before wiping (station
policy, default on). ``hdparm -N`` alone can say "HPA is disabled" while a
DCO hides sectors (nwipe issue #444), so the DCO "Real max sectors" is
compared as well. A DCO is reported, never restored automatically.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent.runner import Runner


@dataclass(frozen=True)
class HiddenAreas:
    visible: int | None = None  # sectors the drive reports now
    native: int | None = None  # native max sectors (READ NATIVE MAX)
    dco_max: int | None = None  # DCO "Real max sectors"
    problem: str | None = None  # why it could not be read (USB bridge, not ATA...)

    @property
    def hpa(self) -> bool:
        return self.visible is not None and self.native is not None and self.visible < self.native

    @property
    def dco(self) -> bool:
        top = self.native if self.native is not None else self.visible
        return self.dco_max is not None and top is not None and self.dco_max > top

    def hpa_text(self) -> str:
        if self.visible is None or self.native is None:
            return f"unknown ({self.problem or 'not reported'})"
        if self.hpa:
            hidden = self.native - self.visible
            return f"present: {hidden} sectors hidden ({self.visible}/{self.native})"
        return f"none ({self.visible}/{self.native} sectors)"

    def dco_text(self) -> str:
        if self.dco_max is None:
            return f"unknown ({self.problem or 'not reported'})"
        top = self.native if self.native is not None else self.visible
        if top is None:
            return f"real max {self.dco_max} sectors; visible size unknown"
        if self.dco:
            return f"present: real max {self.dco_max} sectors, native max {top}"
        return f"none (real max {self.dco_max} sectors)"


def parse_max_sectors(output: str) -> tuple[int, int] | None:
    """``hdparm -N``: `` max sectors   = VISIBLE/NATIVE, HPA is ...``."""
    m = re.search(r"max sectors\s*=\s*(\d+)/(\d+)", output)
    return (int(m.group(1)), int(m.group(2))) if m else None


def parse_dco_real_max(output: str) -> int | None:
    m = re.search(r"Real max sectors:\s*(\d+)", output)
    return int(m.group(1)) if m else None


def detect(runner: Runner, dev: str, kernel_sectors: int | None = None) -> HiddenAreas:
    """Read HPA and DCO state; an unreadable answer is reported, not guessed.

    ``kernel_sectors`` (what the kernel shows) stands in for the visible size
    when ``hdparm -N`` gets no answer, as behind many USB bridges.
    """
    n = runner.run(["hdparm", "-N", dev], timeout=60)
    sectors = parse_max_sectors(n.text) if n.ok else None
    dco = runner.run(["hdparm", "--dco-identify", dev], timeout=60)
    dco_max = parse_dco_real_max(dco.text) if dco.ok else None
    problem = None
    if sectors is None:
        last = (n.error_text or n.text).strip().splitlines()
        problem = f"hdparm -N gave no answer: {last[-1] if last else 'no output'}"
    return HiddenAreas(
        visible=sectors[0] if sectors else kernel_sectors,
        native=sectors[1] if sectors else None,
        dco_max=dco_max,
        problem=problem,
    )


def remove_hpa(runner: Runner, dev: str, areas: HiddenAreas) -> tuple[bool, str]:
    """Make the native size visible again (permanently: the laptop goes to a new owner)."""
    if not areas.hpa or areas.native is None:
        return True, "no HPA to remove"
    runner.run(
        ["hdparm", "--yes-i-know-what-i-am-doing", "-N", f"p{areas.native}", dev], timeout=120
    )
    check = runner.run(["hdparm", "-N", dev], timeout=60)
    after = parse_max_sectors(check.text) if check.ok else None
    if after is not None and after[0] == areas.native:
        return True, f"HPA removed: visible size restored to {areas.native} sectors"
    seen = f"{after[0]}/{after[1]}" if after else "unreadable"
    return False, f"HPA removal did not take effect (now {seen}); hidden sectors stay unwiped"
