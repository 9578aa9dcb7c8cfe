"""Screens: DRM connectors and what their EDID says about the attached panel.

The internal panel (eDP/LVDS/DSI connector) is what matters for a laptop: its
EDID names the panel maker (3-letter PNP ID), model and native mode, which the
grade and the spare-parts list use. EDID parsing follows VESA E-EDID 1.3/1.4
base block layout; extension blocks are not needed for these fields.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from agent.probes.sysfs import list_dir, read_bytes, read_text, under
from agent.report.schema import Display

ROOT = Path("/")
EDID_HEADER = bytes([0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x00])
INTERNAL_CONNECTORS = ("eDP", "LVDS", "DSI")
_CONNECTOR = re.compile(r"^card\d+-(.+)$")


@dataclass(frozen=True)
class Edid:
    """The base-block fields Digibench reports."""

    manufacturer: str | None
    product_code: int
    serial_number: int | None  # the 32-bit number in bytes 12-15, None when 0
    serial_text: str | None  # the 0xFF display serial descriptor
    name: str | None  # the 0xFC display name descriptor
    texts: tuple[str, ...]  # 0xFE unspecified text descriptors (panel maker/part no.)
    width_mm: int | None
    height_mm: int | None
    preferred_mode: str | None
    version: str
    checksum_ok: bool


def _pnp_id(word: int) -> str | None:
    letters = [(word >> 10) & 0x1F, (word >> 5) & 0x1F, word & 0x1F]
    if not all(1 <= c <= 26 for c in letters):
        return None
    return "".join(chr(ord("A") + c - 1) for c in letters)


def _descriptor_text(block: bytes) -> str:
    raw = block[5:18].split(b"\x0a", 1)[0]
    text = "".join(chr(b) for b in raw if 0x20 <= b < 0x7F)
    return text.strip()


def _mode(dtd: bytes) -> str | None:
    clock_10khz = dtd[0] | (dtd[1] << 8)
    h_active = dtd[2] | ((dtd[4] & 0xF0) << 4)
    h_blank = dtd[3] | ((dtd[4] & 0x0F) << 8)
    v_active = dtd[5] | ((dtd[7] & 0xF0) << 4)
    v_blank = dtd[6] | ((dtd[7] & 0x0F) << 8)
    total = (h_active + h_blank) * (v_active + v_blank)
    if not clock_10khz or not total or not h_active or not v_active:
        return None
    interlaced = bool(dtd[17] & 0x80)
    refresh = clock_10khz * 10_000 / total * (2 if interlaced else 1)
    return f"{h_active}x{v_active}{'i' if interlaced else ''}@{refresh:.2f}Hz"


def parse_edid(data: bytes) -> Edid | None:
    """The base block of an EDID blob; None when it is not an EDID at all."""
    if len(data) < 128 or data[:8] != EDID_HEADER:
        return None
    base = data[:128]
    serial = int.from_bytes(base[12:16], "little")
    width_mm: int | None = base[21] * 10 or None
    height_mm: int | None = base[22] * 10 or None
    name = serial_text = preferred = None
    texts: list[str] = []
    first_dtd = True
    for offset in (54, 72, 90, 108):
        block = base[offset : offset + 18]
        if block[0] or block[1]:  # a detailed timing descriptor
            if first_dtd:
                first_dtd = False
                preferred = _mode(block)
                w = block[12] | ((block[14] & 0xF0) << 4)
                h = block[13] | ((block[14] & 0x0F) << 8)
                if w and h:  # the timing's image size is in mm, finer than the cm fields
                    width_mm, height_mm = w, h
            continue
        tag, text = block[3], _descriptor_text(block)
        if tag == 0xFC and text:
            name = text
        elif tag == 0xFF and text:
            serial_text = text
        elif tag == 0xFE and text:
            texts.append(text)
    return Edid(
        manufacturer=_pnp_id(int.from_bytes(base[8:10], "big")),
        product_code=int.from_bytes(base[10:12], "little"),
        serial_number=serial or None,
        serial_text=serial_text,
        name=name,
        texts=tuple(texts),
        width_mm=width_mm,
        height_mm=height_mm,
        preferred_mode=preferred,
        version=f"{base[18]}.{base[19]}",
        checksum_ok=sum(base) % 256 == 0,
    )


def display_from_edid(connector: str, status: str | None, data: bytes | None) -> Display:
    internal = connector.startswith(INTERNAL_CONNECTORS)
    edid = parse_edid(data) if data else None
    if edid is None:
        return Display(connector=connector, status=status, internal=internal)
    serial = edid.serial_text or (str(edid.serial_number) if edid.serial_number else None)
    return Display(
        connector=connector,
        status=status,
        manufacturer=edid.manufacturer,
        product_code=edid.product_code,
        # Laptop panels rarely carry a 0xFC name; their part number is the last 0xFE text.
        name=edid.name or (edid.texts[-1] if edid.texts else None),
        serial=serial,
        width_mm=edid.width_mm,
        height_mm=edid.height_mm,
        preferred_mode=edid.preferred_mode,
        internal=internal,
    )


def probe_displays(root: Path = ROOT) -> list[Display]:
    """Connected outputs and every internal panel connector (a dead panel is a finding)."""
    base = under(root, "/sys/class/drm")
    displays = []
    for entry in list_dir(base):
        match = _CONNECTOR.match(entry)
        if not match or match.group(1).startswith("Writeback"):
            continue
        connector = match.group(1)
        status = read_text(base / entry / "status")
        if status != "connected" and not connector.startswith(INTERNAL_CONNECTORS):
            continue
        displays.append(display_from_edid(connector, status, read_bytes(base / entry / "edid")))
    return displays[:16]
