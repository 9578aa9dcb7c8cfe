"""Sound cards, from ALSA's /proc/asound/cards (the card's long name is only there)."""

from __future__ import annotations

import re
from pathlib import Path

from agent.probes.sysfs import read_text, under

#: `` 0 [PCH            ]: HDA-Intel - HDA Intel PCH``
_CARD = re.compile(r"^\s*\d+\s+\[[^\]]*\]:\s*\S.*?\s+-\s+(?P<name>.+?)\s*$")


def probe_sound_cards(root: Path) -> list[str]:
    text = read_text(under(root, "/proc/asound/cards")) or ""
    names = [m.group("name")[:256] for line in text.splitlines() if (m := _CARD.match(line))]
    return names[:16]
