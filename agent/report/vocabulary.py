"""The words a grade is made of, shared by the station and the server.

One enum for the grade letter and one for the station's proposal, and the one
mapping between them, so the grading, the report schema and the coordinator's
pages cannot drift apart (they used bare ``"A"``/``"parts"`` strings before).
"""

from __future__ import annotations

from enum import StrEnum

#: counts and sizes fit a signed 64-bit database column (here, not in schema.py: the
#: probes bound what they read by it without importing pydantic)
INT64_MAX = 2**63 - 1


class Grade(StrEnum):
    """``A`` lend-ready, ``B`` lendable with notes, ``C`` repair first, ``parts``, ``recycle``."""

    A = "A"
    B = "B"
    C = "C"
    PARTS = "parts"
    RECYCLE = "recycle"


class Destination(StrEnum):
    """What the station proposes; the coordinator decides (server/web/vocabulary.py)."""

    LEND = "lend"
    REPAIR = "repair"
    PARTS = "parts"
    RECYCLE = "recycle"


#: the proposal each grade makes
PROPOSAL: dict[Grade, Destination] = {
    Grade.A: Destination.LEND,
    Grade.B: Destination.LEND,
    Grade.C: Destination.REPAIR,
    Grade.PARTS: Destination.PARTS,
    Grade.RECYCLE: Destination.RECYCLE,
}

#: grades whose laptops may go out on loan (after repair for C)
LENDABLE_GRADES = frozenset({Grade.A, Grade.B, Grade.C})
#: grades that leave the laptop only as material
MATERIAL_GRADES = frozenset({Grade.PARTS, Grade.RECYCLE})
